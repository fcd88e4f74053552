/* threads_stress.c: issue 9's thread acceptance cases: many threads, sync-primitive stress, TLS, cancel, preemption.
 *
 * Every case ends in exact totals, never in timings, so the output is the same on
 * Linux (two cores, threads truly parallel) and in the unikernel (one vCPU, threads
 * interleaved by the preemptive scheduler). The sizes are the (8 threads x
 * 100,000 operations) except the barrier, whose every round needs all 8 threads to
 * run on one vCPU: 8 context switches per round, so 2,000 rounds (16,000 waits in
 * all) still cross it far more often than a lost wakeup can hide, and stay a few
 * seconds under TCG. The spin case (a thread spinning with no syscall on a flag
 * another thread sets) deadlocks under a cooperative scheduler: it proves preemption.
 */
#include "guest.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#define NTHREADS 8
#define NOPS 100000
#define BARRIER_ROUNDS 2000
#define MANY 100

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* ---- 100 threads alive at once, then joined ---- */

static pthread_mutex_t many_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t many_go = PTHREAD_COND_INITIALIZER;
static int many_started, many_release;
static pid_t many_tids[MANY];

static void *many_body(void *arg)
{
    long i = (long)arg;
    pthread_mutex_lock(&many_lock);
    many_tids[i] = gettid_();
    many_started++;
    pthread_cond_broadcast(&many_go);
    while (!many_release) /* all 100 are alive together before any returns */
        pthread_cond_wait(&many_go, &many_lock);
    pthread_mutex_unlock(&many_lock);
    return (void *)(i * 2 + 1);
}

static void test_many_threads(void)
{
    pthread_t t[MANY];
    int created = 0;
    for (long i = 0; i < MANY; i++)
        if (pthread_create(&t[i], NULL, many_body, (void *)i) == 0)
            created++;
    CHECK("create_100_threads", created == MANY);
    pthread_mutex_lock(&many_lock);
    while (many_started < created)
        pthread_cond_wait(&many_go, &many_lock);
    int distinct = 1;
    for (int i = 0; i < created; i++)
        for (int j = 0; j < i; j++)
            if (many_tids[i] == many_tids[j] || many_tids[i] == getpid() || many_tids[i] <= 0)
                distinct = 0;
    many_release = 1;
    pthread_cond_broadcast(&many_go);
    pthread_mutex_unlock(&many_lock);
    CHECK("100_threads_alive_with_distinct_tids", many_started == MANY && distinct);
    long sum = 0;
    int joined = 0;
    for (int i = 0; i < created; i++) {
        void *ret;
        if (pthread_join(t[i], &ret) == 0) {
            joined++;
            sum += (long)ret;
        }
    }
    CHECK("join_100_threads_with_results", joined == MANY && sum == (long)MANY * MANY);
}

/* ---- detached threads: they run, finish and give their resources back ---- */

static sem_t detached_done;
static atomic_int detached_count;

static void *detached_body(void *arg)
{
    (void)arg;
    atomic_fetch_add(&detached_count, 1);
    sem_post(&detached_done);
    return NULL;
}

static void test_detached(void)
{
    sem_init(&detached_done, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int created = 0;
    /* 10 waves of 20: the threads of the earlier waves have exited for good. */
    for (int wave = 0; wave < 10; wave++) {
        for (int i = 0; i < 20; i++) {
            pthread_t t;
            if (pthread_create(&t, &attr, detached_body, NULL) == 0)
                created++;
        }
        for (int i = 0; i < 20; i++)
            sem_wait(&detached_done);
    }
    CHECK("detached_threads_all_ran", created == 200 && atomic_load(&detached_count) == 200);
    pthread_t self_detached;
    int detach_ok = pthread_create(&self_detached, NULL, detached_body, NULL) == 0 &&
                    pthread_detach(self_detached) == 0;
    sem_wait(&detached_done);
    CHECK("pthread_detach_after_create", detach_ok && atomic_load(&detached_count) == 201);
    pthread_attr_destroy(&attr);
}

/* ---- mutex: 8 x 100,000 increments of a plain counter ---- */

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *mutex_body(void *arg)
{
    (void)arg;
    for (int i = 0; i < NOPS; i++) {
        pthread_mutex_lock(&counter_lock);
        long v = counter; /* read, then write: a missed exclusion loses increments */
        __asm__ volatile("" ::: "memory");
        counter = v + 1;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

static int run_all(void *(*body)(void *))
{
    pthread_t t[NTHREADS];
    int ok = 1;
    for (long i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, body, (void *)i) != 0)
            ok = 0;
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_join(t[i], NULL) != 0)
            ok = 0;
    return ok;
}

static void test_mutex(void)
{
    counter = 0;
    int ok = run_all(mutex_body);
    CHECK("mutex_8x100000_exact", ok && counter == (long)NTHREADS * NOPS);
}

/* ---- condvar: 4 producers and 4 consumers through a 16-slot bounded queue ---- */

#define QSLOTS 16
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_not_full = PTHREAD_COND_INITIALIZER, q_not_empty = PTHREAD_COND_INITIALIZER;
static long q_items[QSLOTS];
static int q_head, q_len;
static long q_consumed_sum, q_consumed_count;

static void *producer(void *arg)
{
    long base = (long)arg * NOPS;
    for (long i = 1; i <= NOPS; i++) {
        pthread_mutex_lock(&q_lock);
        while (q_len == QSLOTS)
            pthread_cond_wait(&q_not_full, &q_lock);
        q_items[(q_head + q_len) % QSLOTS] = base + i;
        q_len++;
        pthread_cond_signal(&q_not_empty);
        pthread_mutex_unlock(&q_lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    long sum = 0, count = 0;
    for (int i = 0; i < NOPS; i++) {
        pthread_mutex_lock(&q_lock);
        while (q_len == 0)
            pthread_cond_wait(&q_not_empty, &q_lock);
        sum += q_items[q_head];
        q_head = (q_head + 1) % QSLOTS;
        q_len--;
        pthread_cond_signal(&q_not_full);
        pthread_mutex_unlock(&q_lock);
        count++;
    }
    pthread_mutex_lock(&q_lock);
    q_consumed_sum += sum;
    q_consumed_count += count;
    pthread_mutex_unlock(&q_lock);
    return NULL;
}

static void test_condvar(void)
{
    pthread_t p[NTHREADS / 2], c[NTHREADS / 2];
    int ok = 1;
    for (long i = 0; i < NTHREADS / 2; i++)
        ok &= pthread_create(&c[i], NULL, consumer, NULL) == 0 && pthread_create(&p[i], NULL, producer, (void *)i) == 0;
    for (int i = 0; i < NTHREADS / 2; i++)
        ok &= pthread_join(p[i], NULL) == 0 && pthread_join(c[i], NULL) == 0;
    /* producer k sends k*N+1 .. k*N+N: the sum of all is known exactly */
    long n = NOPS, want = 0;
    for (long k = 0; k < NTHREADS / 2; k++)
        want += k * n * n + n * (n + 1) / 2;
    CHECK("condvar_queue_8x100000_exact", ok && q_consumed_count == (long)NTHREADS / 2 * NOPS &&
                                                  q_consumed_sum == want && q_len == 0);
}

/* ---- rwlock: readers see a consistent pair, writers make exact totals ---- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static volatile long rw_a, rw_b;
static atomic_long rw_torn;

static void *rwlock_body(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < NOPS; i++) {
        if ((i + id) % 4 == 0) { /* one operation in four writes */
            pthread_rwlock_wrlock(&rw);
            rw_a = rw_a + 1;
            __asm__ volatile("" ::: "memory");
            rw_b = rw_b + 1;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            if (rw_a != rw_b)
                atomic_fetch_add(&rw_torn, 1);
            pthread_rwlock_unlock(&rw);
        }
    }
    return NULL;
}

static void test_rwlock(void)
{
    int ok = run_all(rwlock_body);
    CHECK("rwlock_8x100000_exact", ok && rw_a == (long)NTHREADS * NOPS / 4 && rw_b == rw_a &&
                                           atomic_load(&rw_torn) == 0);
}

/* ---- barrier: nobody leaves a round before everybody arrived ---- */

static pthread_barrier_t barrier;
static atomic_int barrier_arrived;
static atomic_int barrier_early, barrier_serial;

static void *barrier_body(void *arg)
{
    (void)arg;
    for (int round = 0; round < BARRIER_ROUNDS; round++) {
        atomic_fetch_add(&barrier_arrived, 1);
        int r = pthread_barrier_wait(&barrier);
        if (r == PTHREAD_BARRIER_SERIAL_THREAD)
            atomic_fetch_add(&barrier_serial, 1);
        /* past the barrier, all 8 of this round have arrived */
        if (atomic_load(&barrier_arrived) < (round + 1) * NTHREADS)
            atomic_fetch_add(&barrier_early, 1);
        pthread_barrier_wait(&barrier); /* nobody starts round+1 before all checked */
    }
    return NULL;
}

static void test_barrier(void)
{
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    int ok = run_all(barrier_body);
    CHECK("barrier_8x2000_rounds", ok && atomic_load(&barrier_arrived) == NTHREADS * BARRIER_ROUNDS &&
                                           atomic_load(&barrier_early) == 0 &&
                                           atomic_load(&barrier_serial) == BARRIER_ROUNDS);
    pthread_barrier_destroy(&barrier);
}

/* ---- semaphore: at most 3 inside, 8 x 100,000 entries ---- */

static sem_t sem;
static atomic_int sem_inside, sem_over;
static atomic_long sem_entries;

static void *sem_body(void *arg)
{
    (void)arg;
    for (int i = 0; i < NOPS; i++) {
        while (sem_wait(&sem) != 0) /* EINTR cannot happen here, but retry as callers must */
            ;
        if (atomic_fetch_add(&sem_inside, 1) >= 3)
            atomic_fetch_add(&sem_over, 1);
        atomic_fetch_add(&sem_entries, 1);
        atomic_fetch_sub(&sem_inside, 1);
        sem_post(&sem);
    }
    return NULL;
}

static void test_semaphore(void)
{
    sem_init(&sem, 0, 3);
    int ok = run_all(sem_body);
    int value = -1;
    sem_getvalue(&sem, &value);
    CHECK("semaphore_8x100000_exact", ok && atomic_load(&sem_entries) == (long)NTHREADS * NOPS &&
                                              atomic_load(&sem_over) == 0 && value == 3);
    sem_destroy(&sem);
}

/* ---- thread-local storage: each thread its own copy, initialised from the image ---- */

static __thread long tls_value = 1234;
static __thread char tls_buf[64] = "initial";
static pthread_key_t tls_key;
static atomic_int tls_destructed, tls_bad;

static void tls_destructor(void *p) { atomic_fetch_add(&tls_destructed, (int)(long)p); }

static void *tls_body(void *arg)
{
    long id = (long)arg;
    if (tls_value != 1234 || strcmp(tls_buf, "initial") != 0) /* main changed its own copy */
        atomic_fetch_add(&tls_bad, 1);
    tls_value = id;
    snprintf(tls_buf, sizeof(tls_buf), "thread %ld", id);
    pthread_setspecific(tls_key, (void *)(id + 1));
    for (int i = 0; i < 2000; i++) {
        if (i % 100 == 0)
            sched_yield(); /* let the others write theirs in between */
        char want[64];
        snprintf(want, sizeof(want), "thread %ld", id);
        if (tls_value != id || strcmp(tls_buf, want) != 0 || (long)pthread_getspecific(tls_key) != id + 1)
            atomic_fetch_add(&tls_bad, 1);
    }
    return NULL;
}

static void test_tls(void)
{
    pthread_key_create(&tls_key, tls_destructor);
    tls_value = -1;
    strcpy(tls_buf, "main");
    int ok = run_all(tls_body);
    CHECK("tls_per_thread_copies", ok && atomic_load(&tls_bad) == 0 && tls_value == -1 &&
                                       strcmp(tls_buf, "main") == 0);
    /* destructors ran once per thread with its value: 1 + 2 + ... + 8 */
    CHECK("tls_key_destructors", atomic_load(&tls_destructed) == NTHREADS * (NTHREADS + 1) / 2);
    pthread_key_delete(tls_key);
}

/* ---- pthread_cancel: blocked in a cancellation point, and at pthread_testcancel ---- */

static atomic_int cancel_cleanups, cancel_ready;

static void cancel_cleanup(void *arg) { atomic_fetch_add(&cancel_cleanups, (int)(long)arg); }

static void *cancel_sleeper(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cancel_cleanup, (void *)1);
    atomic_store(&cancel_ready, 1);
    for (;;)
        sleep(100); /* a cancellation point that blocks */
    pthread_cleanup_pop(0);
    return NULL;
}

static void *cancel_spinner(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cancel_cleanup, (void *)10);
    atomic_store(&cancel_ready, 1);
    for (;;)
        pthread_testcancel();
    pthread_cleanup_pop(0);
    return NULL;
}

static int cancel_one(void *(*body)(void *))
{
    pthread_t t;
    atomic_store(&cancel_ready, 0);
    if (pthread_create(&t, NULL, body, NULL) != 0)
        return 0;
    while (!atomic_load(&cancel_ready))
        sched_yield();
    void *ret = NULL;
    return pthread_cancel(t) == 0 && pthread_join(t, &ret) == 0 && ret == PTHREAD_CANCELED;
}

static void test_cancel(void)
{
    CHECK("cancel_blocked_in_sleep", cancel_one(cancel_sleeper) && atomic_load(&cancel_cleanups) == 1);
    CHECK("cancel_at_testcancel", cancel_one(cancel_spinner) && atomic_load(&cancel_cleanups) == 11);
}

/* ---- pthread_kill: the signal runs its handler on exactly the thread named ---- */

#define KILL_THREADS 4
static atomic_int kill_handler_tid, kill_handled, kill_stop;
static pid_t kill_tids[KILL_THREADS];

static void kill_handler(int sig)
{
    (void)sig;
    atomic_store(&kill_handler_tid, gettid_());
    atomic_fetch_add(&kill_handled, 1);
}

static void *kill_body(void *arg)
{
    long i = (long)arg;
    kill_tids[i] = gettid_();
    while (!atomic_load(&kill_stop))
        usleep(1000);
    return NULL;
}

static void test_pthread_kill(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kill_handler;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t[KILL_THREADS];
    int ok = 1;
    for (long i = 0; i < KILL_THREADS; i++)
        ok &= pthread_create(&t[i], NULL, kill_body, (void *)i) == 0;
    for (int i = 0; i < KILL_THREADS; i++)
        while (__atomic_load_n(&kill_tids[i], __ATOMIC_SEQ_CST) == 0)
            sched_yield();
    int right = 1;
    for (int target = KILL_THREADS - 1; target >= 0; target -= 2) { /* threads 3 and 1 */
        int before = atomic_load(&kill_handled);
        ok &= pthread_kill(t[target], SIGUSR1) == 0;
        while (atomic_load(&kill_handled) == before)
            sched_yield();
        if (atomic_load(&kill_handler_tid) != kill_tids[target])
            right = 0;
    }
    CHECK("pthread_kill_reaches_its_thread", ok && right && atomic_load(&kill_handled) == 2);
    CHECK("pthread_kill_probe_zero", pthread_kill(t[0], 0) == 0);
    atomic_store(&kill_stop, 1);
    for (int i = 0; i < KILL_THREADS; i++)
        pthread_join(t[i], NULL);
    signal(SIGUSR1, SIG_DFL);
}

/* ---- preemption: a thread spinning with no syscall on a flag another thread sets ---- */

static atomic_int spin_started, spin_flag;

static void *spinner(void *arg)
{
    (void)arg;
    atomic_store(&spin_started, 1);
    while (!atomic_load_explicit(&spin_flag, memory_order_relaxed)) /* no syscall: only a timer takes the CPU */
        ;
    return NULL;
}

static void test_preemption(void)
{
    pthread_t t;
    int ok = pthread_create(&t, NULL, spinner, NULL) == 0;
    /* Whichever runs first spins: the child on spin_flag, or we on spin_started. */
    while (ok && !atomic_load_explicit(&spin_started, memory_order_relaxed))
        ;
    atomic_store(&spin_flag, 1);
    ok &= pthread_join(t, NULL) == 0;
    CHECK("spinning_thread_preempted", ok);
}

/* Two threads hand a token back and forth by spinning: every hand-over needs the
 * spinning holder to be preempted, 40 times in all. */
#define HANDOVERS 20
static atomic_int turn;

static void *pong(void *arg)
{
    (void)arg;
    for (int i = 0; i < HANDOVERS; i++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != 1)
            ;
        atomic_store_explicit(&turn, 0, memory_order_release);
    }
    return NULL;
}

static void test_spin_pingpong(void)
{
    pthread_t t;
    atomic_store(&turn, 0);
    int ok = pthread_create(&t, NULL, pong, NULL) == 0;
    for (int i = 0; ok && i < HANDOVERS; i++) {
        atomic_store_explicit(&turn, 1, memory_order_release);
        while (atomic_load_explicit(&turn, memory_order_acquire) != 0)
            ;
    }
    ok &= pthread_join(t, NULL) == 0;
    CHECK("spin_pingpong_by_preemption", ok);
}

int main(void)
{
    guest_begin();
    test_many_threads();
    test_detached();
    test_mutex();
    test_condvar();
    test_rwlock();
    test_barrier();
    test_semaphore();
    test_tls();
    test_cancel();
    test_pthread_kill();
    test_preemption();
    test_spin_pingpong();
    return guest_finish();
}
