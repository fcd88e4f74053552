/* thread.c: guest tests of the thread family: arch_prctl TLS, thread ids, robust lists, futex, pthreads and preemption. */
#include "guest.h"

#include <asm/prctl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts, uint32_t *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static __thread int tls_var = 42;

static void test_arch_prctl(void)
{
    unsigned long fs = 0, gs = 1;
    CHECK("arch_get_fs", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0 && fs != 0);
    CHECK("tls_variable", tls_var == 42);
    CHECK("arch_set_fs_same", syscall(SYS_arch_prctl, ARCH_SET_FS, fs) == 0 && tls_var == 42);
    CHECK("arch_set_gs", syscall(SYS_arch_prctl, ARCH_SET_GS, 0x12345000UL) == 0);
    CHECK("arch_get_gs", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) == 0 && gs == 0x12345000UL);
    syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL);
    EXPECT_ERR("arch_set_fs_kernel_address", syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffff800000000000UL), EPERM);
    EXPECT_ERR("arch_prctl_bad_code", syscall(SYS_arch_prctl, 0x9999, 0UL), EINVAL);
}

static void test_tid(void)
{
    static int clear_word;
    CHECK("set_tid_address", syscall(SYS_set_tid_address, &clear_word) == syscall(SYS_gettid));
    static long head[3];
    CHECK("set_robust_list", syscall(SYS_set_robust_list, head, 24) == 0);
    void *got = NULL;
    size_t len = 0;
    CHECK("get_robust_list", syscall(SYS_get_robust_list, 0, &got, &len) == 0 && got == head && len == 24);
    EXPECT_ERR("set_robust_list_bad_len", syscall(SYS_set_robust_list, head, 23), EINVAL);
}

static void test_futex(void)
{
    static uint32_t word = 5, other = 1;
    CHECK("futex_wake_nobody", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
    EXPECT_ERR("futex_wait_value_changed", futex(&word, FUTEX_WAIT_PRIVATE, 6, NULL, NULL, 0), EAGAIN);
    struct timespec ts = {0, 20 * 1000 * 1000};
    EXPECT_ERR("futex_wait_timeout", futex(&word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0), ETIMEDOUT);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 10 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    EXPECT_ERR("futex_wait_bitset_absolute", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &now, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    EXPECT_ERR("futex_wait_bitset_zero", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0), EINVAL);
    CHECK("futex_wake_op_sets", futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &other,
                                      FUTEX_OP(FUTEX_OP_SET, 9, FUTEX_OP_CMP_EQ, 0)) == 0 && other == 9);
    CHECK("futex_wake_op_adds", futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &other,
                                      FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 0)) == 0 && other == 12);
    EXPECT_ERR("futex_cmp_requeue_mismatch", futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 4), EAGAIN);
    CHECK("futex_cmp_requeue_match", futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 5) == 0);
    EXPECT_ERR("futex_unaligned", futex((uint32_t *)((char *)&word + 1), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), EINVAL);
}


/* -- threads --------------------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int counter;
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

static void *add_one(void *arg)
{
    pthread_mutex_lock(&counter_lock);
    counter += (int)(intptr_t)arg;
    pthread_mutex_unlock(&counter_lock);
    return arg;
}

static void test_create_join(void)
{
    enum { N = 100 };
    pthread_t t[N];
    int created = 0;
    for (int i = 0; i < N; i++)
        created += pthread_create(&t[i], NULL, add_one, (void *)(intptr_t)(i + 1)) == 0;
    long sum = 0;
    for (int i = 0; i < created; i++) {
        void *ret;
        if (pthread_join(t[i], &ret) == 0)
            sum += (intptr_t)ret;
    }
    CHECK("pthread_create_100", created == N);
    CHECK("pthread_join_results", sum == N * (N + 1) / 2);
    CHECK("pthread_shared_counter", counter == N * (N + 1) / 2);
}

static volatile int spin_started, spin_flag;

static void *spinner(void *arg)
{
    spin_started = 1;
    while (!spin_flag) /* no syscall: only preemption lets the main thread set it */
        ;
    return NULL;
}

static void test_preemption(void)
{
    pthread_t t;
    int ok = pthread_create(&t, NULL, spinner, NULL) == 0;
    while (ok && !spin_started) /* spins too: the spinner must preempt us to start */
        ;
    spin_flag = 1;
    CHECK("preempt_spinning_threads", ok && pthread_join(t, NULL) == 0);
}

static volatile int slept_flag;

static void *sleeper(void *arg)
{
    sleep_ms(30);
    slept_flag = 1;
    return NULL;
}

static void test_sleep_blocks_only_thread(void)
{
    pthread_t t;
    int ok = pthread_create(&t, NULL, sleeper, NULL) == 0;
    while (ok && !slept_flag) /* spinning here while the other thread sleeps */
        ;
    CHECK("nanosleep_in_thread_while_main_spins", ok && pthread_join(t, NULL) == 0 && slept_flag);
}

static volatile int polled_flag;

static void *poller(void *arg)
{
    struct timeval tv = {0, 20000};
    int p = poll(NULL, 0, 20);
    int s = select(0, NULL, NULL, NULL, &tv);
    polled_flag = p == 0 && s == 0 ? 1 : 2;
    return NULL;
}

static void test_poll_blocks_only_thread(void)
{
    pthread_t t;
    int ok = pthread_create(&t, NULL, poller, NULL) == 0;
    while (ok && !polled_flag)
        ;
    CHECK("poll_select_timeout_in_thread_while_main_spins", ok && pthread_join(t, NULL) == 0 && polled_flag == 1);
}

static __thread long tls_slot;

static void *tls_worker(void *arg)
{
    long mine = (long)(intptr_t)arg;
    tls_slot = mine;
    double acc = 0;
    for (int i = 1; i <= 2000000; i++) { /* long enough to be preempted mid-way */
        acc += (double)mine / i;
        if (tls_slot != mine)
            return (void *)0;
    }
    double expect = 0;
    for (int i = 1; i <= 2000000; i++)
        expect += (double)mine / i;
    return (void *)(intptr_t)(acc == expect && tls_slot == mine);
}

static void test_tls_and_fpu(void)
{
    enum { N = 4 };
    pthread_t t[N];
    int good = 0;
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, tls_worker, (void *)(intptr_t)(i + 3));
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        good += r != NULL;
    }
    CHECK("thread_local_and_fpu_state_per_thread", good == N);
}

static long tid_in_thread;

static void *report_tid(void *arg)
{
    tid_in_thread = syscall(SYS_gettid);
    return NULL;
}

static void test_gettid(void)
{
    pthread_t t;
    pthread_create(&t, NULL, report_tid, NULL);
    pthread_join(t, NULL);
    CHECK("gettid_main_is_pid", syscall(SYS_gettid) == getpid());
    CHECK("gettid_thread_differs", tid_in_thread > 0 && tid_in_thread != getpid());
}

#ifdef __GLIBC__
/* glibc only: musl's threads exit holding its thread-list lock, which their CLEARTID
 * word is; moving that word would leave the lock held (musl's pthread_create after
 * any thread exit is already the CLEARTID test there). */
static uint32_t cleartid_word = 1;

static void *set_clear_word(void *arg)
{
    syscall(SYS_set_tid_address, &cleartid_word);
    return NULL;
}

static void test_cleartid(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int ok = pthread_create(&t, &attr, set_clear_word, NULL) == 0;
    struct timespec two_s = {2, 0};
    uint32_t v;
    while (ok && (v = __atomic_load_n(&cleartid_word, __ATOMIC_SEQ_CST)) != 0)
        if (futex(&cleartid_word, FUTEX_WAIT, v, &two_s, NULL, 0) != 0 && errno == ETIMEDOUT)
            break;
    CHECK("cleartid_cleared_and_woken_at_exit", ok && cleartid_word == 0);
}
#else
static void test_cleartid(void) {}
#endif

static volatile int turn;

static void *yielder(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < 200; i++) {
        while (turn % 2 != me)
            sched_yield();
        turn++;
    }
    return NULL;
}

static void test_sched_yield(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, yielder, (void *)0);
    pthread_create(&b, NULL, yielder, (void *)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK("sched_yield_alternation", turn == 400);
    CHECK("sched_yield_returns_0", sched_yield() == 0);
}

static void *affinity_in_thread(void *arg)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    return (void *)(intptr_t)(sched_getaffinity((pid_t)syscall(SYS_gettid), sizeof(set), &set) == 0 &&
                              CPU_ISSET(0, &set));
}

static void test_affinity(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK("sched_getaffinity_cpu0", sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_ISSET(0, &set));
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    CHECK("sched_setaffinity_cpu0", sched_setaffinity(0, sizeof(set), &set) == 0);
    CPU_ZERO(&set);
    CHECK("sched_getaffinity_pinned", sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1 &&
                                          CPU_ISSET(0, &set));
    unsigned cpu = 99, node = 99;
    CHECK("getcpu_pinned_cpu0", syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && cpu == 0);
    pthread_t t;
    void *r = NULL;
    pthread_create(&t, NULL, affinity_in_thread, NULL);
    pthread_join(t, &r);
    CHECK("sched_getaffinity_thread_tid", r != NULL);
}

/* -- futex between threads ------------------------------------------------------------- */

struct waiter {
    uint32_t *word;
    uint32_t bitset;
    long ret;
    int err;
};

static volatile int waiting;

static void *futex_waiter(void *arg)
{
    struct waiter *w = arg;
    __atomic_add_fetch(&waiting, 1, __ATOMIC_SEQ_CST);
    struct timespec ten_s = {10, 0};
    if (w->bitset)
        w->ret = futex(w->word, FUTEX_WAIT_BITSET_PRIVATE, *w->word, NULL, NULL, w->bitset);
    else
        w->ret = futex(w->word, FUTEX_WAIT_PRIVATE, *w->word, &ten_s, NULL, 0);
    w->err = w->ret ? errno : 0;
    return NULL;
}

/* Start n waiters on word and give them time to block. */
static void start_waiters(pthread_t *t, struct waiter *w, int n, uint32_t *word, uint32_t bitset)
{
    waiting = 0;
    for (int i = 0; i < n; i++) {
        w[i] = (struct waiter){word, bitset, -1, 0};
        pthread_create(&t[i], NULL, futex_waiter, &w[i]);
    }
    while (waiting < n)
        sleep_ms(1);
    sleep_ms(100); /* from the counter to the futex call */
}

static int join_all(pthread_t *t, struct waiter *w, int n)
{
    int woken = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        woken += w[i].ret == 0;
    }
    return woken;
}

static void test_futex_threads(void)
{
    static uint32_t a, b;
    pthread_t t[3];
    struct waiter w[3];

    start_waiters(t, w, 3, &a, 0);
    long first = futex(&a, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0);
    long rest = futex(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    CHECK("futex_wake_counts", first == 2 && rest == 1 && join_all(t, w, 3) == 3);

    start_waiters(t, w, 1, &a, 0x1);
    long miss = futex(&a, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x2);
    long hit = futex(&a, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x1);
    CHECK("futex_wake_bitset_selects", miss == 0 && hit == 1 && join_all(t, w, 1) == 1);

    a = 7;
    start_waiters(t, w, 3, &a, 0);
    EXPECT_ERR("futex_cmp_requeue_stale", futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &b, 6), EAGAIN);
    long moved = futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &b, 7);
    long on_b = futex(&b, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    long on_a = futex(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    CHECK("futex_cmp_requeue_counts", moved == 2 && on_b == 1 && on_a == 1 && join_all(t, w, 3) == 3);

    a = 0;
    start_waiters(t, w, 1, &a, 0);
    long req = futex(&a, FUTEX_REQUEUE_PRIVATE, 0, (void *)1, &b, 0);
    long req_b = futex(&b, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    CHECK("futex_requeue_moves", req == 1 && req_b == 1 && join_all(t, w, 1) == 1);

    b = 0;
    pthread_t t2[2];
    struct waiter w2[2];
    start_waiters(t, w, 1, &a, 0);
    start_waiters(t2, w2, 1, &b, 0);
    long both = futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &b, FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0));
    CHECK("futex_wake_op_cmp_true_wakes_both", both == 2 && b == 5 && join_all(t, w, 1) == 1 &&
                                                 join_all(t2, w2, 1) == 1);
    start_waiters(t, w, 1, &a, 0);
    start_waiters(t2, w2, 1, &b, 0);
    long one = futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &b, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 5));
    long left = futex(&b, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    CHECK("futex_wake_op_cmp_false_wakes_first", one == 1 && b == 6 && left == 1 && join_all(t, w, 1) == 1 &&
                                                   join_all(t2, w2, 1) == 1);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec += 20 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    EXPECT_ERR("futex_wait_bitset_realtime_abs", futex(&a, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, a, &now, NULL,
                                                       FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    EXPECT_ERR("futex_wake_realtime_flag", futex(&a, FUTEX_WAKE_PRIVATE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS);
    struct timespec bad = {0, -1};
    EXPECT_ERR("futex_wait_bad_timeout", futex(&a, FUTEX_WAIT_PRIVATE, a + 1, &bad, NULL, 0), EINVAL);
}

static pthread_mutex_t robust_mutex;

static void *lock_and_die(void *arg)
{
    pthread_mutex_lock(&robust_mutex);
    return NULL; /* exits holding it: the robust list hands it on */
}

static void test_robust_mutex(void)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust_mutex, &ma);
    pthread_t t;
    pthread_create(&t, NULL, lock_and_die, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&robust_mutex);
    CHECK("robust_mutex_owner_died", r == EOWNERDEAD);
    CHECK("robust_mutex_consistent", r == EOWNERDEAD && pthread_mutex_consistent(&robust_mutex) == 0 &&
                                         pthread_mutex_unlock(&robust_mutex) == 0);
}

static void *burn_then_sleep(void *arg)
{
    sleep_ms(100);
    struct timespec cpu;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    return (void *)(intptr_t)(cpu.tv_sec == 0 && cpu.tv_nsec < 50 * 1000 * 1000);
}

static void test_cpu_clocks(void)
{
    pthread_t t;
    void *r = NULL;
    pthread_create(&t, NULL, burn_then_sleep, NULL);
    pthread_join(t, &r);
    CHECK("thread_cputime_excludes_sleep", r != NULL);
    struct timespec th, pr;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &th);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &pr);
    CHECK("process_cputime_covers_thread",
          pr.tv_sec > th.tv_sec || (pr.tv_sec == th.tv_sec && pr.tv_nsec >= th.tv_nsec));
}

/* The summary and the exit status come from a second thread's exit_group while
 * the main thread is blocked in pthread_join: every thread ends with it. */
static void *finish_from_thread(void *arg)
{
    int code = guest_finish();
    syscall(SYS_exit_group, code);
    return NULL;
}

int main(void)
{
    guest_begin();
    test_arch_prctl();
    test_tid();
    test_futex();
    test_create_join();
    test_preemption();
    test_sleep_blocks_only_thread();
    test_poll_blocks_only_thread();
    test_tls_and_fpu();
    test_gettid();
    test_cleartid();
    test_sched_yield();
    test_futex_threads();
    test_robust_mutex();
    test_cpu_clocks();
    test_affinity();
    pthread_t t;
    if (pthread_create(&t, NULL, finish_from_thread, NULL) != 0)
        return guest_finish();
    pthread_join(t, NULL);
    printf("FAIL exit_group_from_thread: main thread resumed\n");
    return 1;
}
