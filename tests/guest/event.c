/* event.c: guest tests of the event family: eventfd, timerfd and signalfd read, written, polled, selected and epolled. */
#include "guest.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

#define MS 1000000ll

static long long now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void sleep_ns(long long ns)
{
    struct timespec ts = {ns / 1000000000ll, ns % 1000000000ll};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static short revents(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static int selects_readable(int fd)
{
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    struct timeval tv = {0, 0};
    return select(fd + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &r);
}

static uint64_t rd(int fd)
{
    uint64_t v = 0;
    return read(fd, &v, sizeof(v)) == sizeof(v) ? v : (uint64_t)-1;
}

static int wr(int fd, uint64_t v) { return write(fd, &v, sizeof(v)) == sizeof(v); }

/* An anonymous inode, as Linux's anon_inodefs: mode 0600 with no file type. */
static int is_anon(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_mode == 0600 && st.st_size == 0 && st.st_nlink == 1;
}

static void test_eventfd(void)
{
    int fd = eventfd(5, EFD_NONBLOCK);
    CHECK("eventfd_create", fd >= 0);
    CHECK("eventfd_fstat_anon_inode", is_anon(fd));
    CHECK("eventfd_flags", fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK) && fcntl(fd, F_GETFD) == 0);
    CHECK("eventfd_poll_ready", revents(fd, POLLIN | POLLOUT) == (POLLIN | POLLOUT));
    CHECK("eventfd_select_ready", selects_readable(fd));
    CHECK("eventfd_read_takes_count", rd(fd) == 5);
    EXPECT_ERR("eventfd_read_empty_eagain", rd(fd), EAGAIN);
    CHECK("eventfd_poll_empty_writable", revents(fd, POLLIN | POLLOUT) == POLLOUT);
    CHECK("eventfd_select_empty", !selects_readable(fd));
    CHECK("eventfd_writes_add", wr(fd, 2) && wr(fd, 3) && rd(fd) == 5);
    CHECK("eventfd_write_zero", wr(fd, 0) && revents(fd, POLLIN) == 0);
    uint64_t v = 1;
    EXPECT_ERR("eventfd_read_short", read(fd, &v, 4), EINVAL);
    EXPECT_ERR("eventfd_write_short", write(fd, &v, 7), EINVAL);
    uint64_t max = UINT64_MAX, one = 1;
    EXPECT_ERR("eventfd_write_max", write(fd, &max, 8), EINVAL);
    CHECK("eventfd_fill", wr(fd, UINT64_MAX - 1));
    CHECK("eventfd_full_not_writable", revents(fd, POLLIN | POLLOUT) == POLLIN);
    EXPECT_ERR("eventfd_overflow_eagain", write(fd, &one, 8), EAGAIN);
    CHECK("eventfd_full_write_zero", wr(fd, 0));
    CHECK("eventfd_full_read", rd(fd) == UINT64_MAX - 1);
    char big[16];
    memset(big, 0, sizeof(big));
    CHECK("eventfd_read_long_buffer", wr(fd, 9) && read(fd, big, sizeof(big)) == 8 && big[0] == 9);
    EXPECT_ERR("eventfd_read_long_buffer_empty_eagain", read(fd, big, sizeof(big)), EAGAIN);
    CHECK("eventfd_lseek_noop", lseek(fd, 5, SEEK_SET) == 0);
    EXPECT_ERR("eventfd_pread_espipe", pread(fd, &v, 8, 0), ESPIPE);
    EXPECT_ERR("eventfd_ioctl_enotty", ioctl(fd, FIONREAD, &v), ENOTTY);
    int d = dup(fd);
    CHECK("eventfd_dup_shares", d >= 0 && wr(d, 4) && rd(fd) == 4);
    close(d);
    close(fd);

    fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK("eventfd_cloexec", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK("eventfd_semaphore", rd(fd) == 1 && rd(fd) == 1 && rd(fd) == 1);
    EXPECT_ERR("eventfd_semaphore_empty", rd(fd), EAGAIN);
    CHECK("eventfd_semaphore_write", wr(fd, 2) && rd(fd) == 1 && revents(fd, POLLIN) == POLLIN);
    close(fd);

    EXPECT_ERR("eventfd_bad_flags", syscall(SYS_eventfd2, 0, 0x40), EINVAL);
    fd = (int)syscall(SYS_eventfd2, 0x100000001ull, EFD_NONBLOCK);
    CHECK("eventfd_initval_32bit", fd >= 0 && rd(fd) == 1);
    close(fd);
    fd = (int)syscall(SYS_eventfd, 7);
    CHECK("eventfd_legacy_blocking", fd >= 0 && fcntl(fd, F_GETFL) == O_RDWR && rd(fd) == 7);
    CHECK("eventfd_set_nonblock", fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    EXPECT_ERR("eventfd_set_nonblock_eagain", rd(fd), EAGAIN);
    close(fd);

    int first = eventfd(0, 0), same = 1;
    close(first);
    for (int i = 0; i < 2000; i++) {
        int e = eventfd((unsigned)i, 0);
        same &= e == first;
        close(e);
    }
    CHECK("eventfd_close_frees", same);
}

static int tfd_spec_eq(const struct itimerspec *a, long is, long in, long vs, long vn)
{
    return a->it_interval.tv_sec == is && a->it_interval.tv_nsec == in && a->it_value.tv_sec == vs &&
           a->it_value.tv_nsec == vn;
}

static int set_ms(int fd, int flags, long long value_ns, long long interval_ns)
{
    struct itimerspec its = {{interval_ns / 1000000000ll, interval_ns % 1000000000ll},
                             {value_ns / 1000000000ll, value_ns % 1000000000ll}};
    return timerfd_settime(fd, flags, &its, NULL);
}

static void test_timerfd_api(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK("timerfd_create", fd >= 0);
    CHECK("timerfd_fstat_anon_inode", is_anon(fd));
    int e = eventfd(0, 0);
    struct stat a, b;
    CHECK("timerfd_eventfd_share_inode", fstat(fd, &a) == 0 && fstat(e, &b) == 0 && a.st_ino == b.st_ino &&
                                             a.st_dev == b.st_dev);
    int rt = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC), bt = timerfd_create(CLOCK_BOOTTIME, 0);
    CHECK("timerfd_clocks", rt >= 0 && bt >= 0 && fcntl(rt, F_GETFD) == FD_CLOEXEC && fcntl(bt, F_GETFL) == O_RDWR);
    close(rt);
    close(bt);
    EXPECT_ERR("timerfd_bad_clock", timerfd_create(99, 0), EINVAL);
    EXPECT_ERR("timerfd_cputime_clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    EXPECT_ERR("timerfd_bad_flags", timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
    /* The alarm clocks need CAP_WAKE_ALARM: root on the host has it, root in a Docker
     * container (and in the unikernel, which holds Docker's default set) does not. */
    errno = 0;
    int al = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
    CHECK("timerfd_alarm_clock_needs_cap", guest_has_cap(GUEST_CAP_WAKE_ALARM) ? al >= 0 : (al < 0 && errno == EPERM));
    if (al >= 0)
        close(al);

    uint64_t v;
    EXPECT_ERR("timerfd_unarmed_eagain", read(fd, &v, 8), EAGAIN);
    EXPECT_ERR("timerfd_read_short", read(fd, &v, 4), EINVAL);
    EXPECT_ERR("timerfd_write", write(fd, &v, 8), EINVAL);
    struct itimerspec cur;
    CHECK("timerfd_gettime_unarmed", timerfd_gettime(fd, &cur) == 0 && tfd_spec_eq(&cur, 0, 0, 0, 0));
    CHECK("timerfd_poll_unarmed", revents(fd, POLLIN | POLLOUT) == 0);
    EXPECT_ERR("timerfd_settime_bad_nsec", timerfd_settime(fd, 0, &(struct itimerspec){{0, 0}, {0, 1000000000}}, NULL),
               EINVAL);
    EXPECT_ERR("timerfd_settime_negative", timerfd_settime(fd, 0, &(struct itimerspec){{0, 0}, {-1, 0}}, NULL), EINVAL);
    EXPECT_ERR("timerfd_settime_bad_flags", set_ms(fd, 8, MS, 0), EINVAL);
    EXPECT_ERR("timerfd_settime_not_timerfd", set_ms(e, 0, MS, 0), EINVAL);
    EXPECT_ERR("timerfd_settime_bad_fd_after_flags", set_ms(999, 8, MS, 0), EINVAL);
    EXPECT_ERR("timerfd_gettime_bad_fd", timerfd_gettime(999, &cur), EBADF);
    EXPECT_ERR("timerfd_gettime_not_timerfd", timerfd_gettime(e, &cur), EINVAL);
    close(e);

    CHECK("timerfd_arm_10s", set_ms(fd, 0, 10000 * MS, 0) == 0);
    CHECK("timerfd_gettime_remaining", timerfd_gettime(fd, &cur) == 0 && cur.it_interval.tv_sec == 0 &&
                                           cur.it_value.tv_sec >= 8 && cur.it_value.tv_sec <= 9);
    CHECK("timerfd_not_expired", revents(fd, POLLIN) == 0 && !selects_readable(fd));
    struct itimerspec old, zero = {{5, 0}, {0, 0}};
    CHECK("timerfd_disarm_returns_old", timerfd_settime(fd, 0, &zero, &old) == 0 && old.it_value.tv_sec >= 8 &&
                                            old.it_value.tv_sec <= 9);
    /* Linux keeps the interval of a disarmed timer and reports it. */
    CHECK("timerfd_disarmed_keeps_interval", timerfd_gettime(fd, &cur) == 0 && tfd_spec_eq(&cur, 5, 0, 0, 0));
    CHECK("timerfd_cancel_on_set_accepted",
          set_ms(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, 0, 0) == 0);
    CHECK("timerfd_lseek_noop", lseek(fd, 3, SEEK_SET) == 0);
    close(fd);
}

static void test_timerfd_expiry(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK("timerfd_abstime_past", set_ms(fd, TFD_TIMER_ABSTIME, 1, 0) == 0 && revents(fd, POLLIN) == POLLIN &&
                                      rd(fd) == 1);
    EXPECT_ERR("timerfd_read_resets", rd(fd), EAGAIN);
    struct itimerspec cur;
    CHECK("timerfd_expired_gettime_zero", timerfd_gettime(fd, &cur) == 0 && tfd_spec_eq(&cur, 0, 0, 0, 0));

    CHECK("timerfd_oneshot_arm", set_ms(fd, 0, 30 * MS, 0) == 0);
    sleep_ns(60 * MS);
    CHECK("timerfd_oneshot_select", selects_readable(fd));
    CHECK("timerfd_oneshot_count", rd(fd) == 1);
    EXPECT_ERR("timerfd_oneshot_once", rd(fd), EAGAIN);

    CHECK("timerfd_settime_resets_ticks", set_ms(fd, TFD_TIMER_ABSTIME, 1, 0) == 0 &&
                                              set_ms(fd, 0, 10000 * MS, 0) == 0 && revents(fd, POLLIN) == 0);

    /* An interval timer read late counts every interval that ended, at once. */
    long long start = now_ns(CLOCK_MONOTONIC);
    CHECK("timerfd_interval_arm", set_ms(fd, 0, 30 * MS, 30 * MS) == 0);
    sleep_ns(130 * MS);
    long long before = now_ns(CLOCK_MONOTONIC);
    uint64_t n = rd(fd);
    long long after = now_ns(CLOCK_MONOTONIC);
    uint64_t lo = (uint64_t)((before - start - 30 * MS) / (30 * MS) + 1);
    uint64_t hi = (uint64_t)((after - start - 30 * MS) / (30 * MS) + 1);
    CHECK("timerfd_interval_overruns", n >= 4 && n >= lo && n <= hi);
    CHECK("timerfd_interval_gettime", timerfd_gettime(fd, &cur) == 0 && cur.it_interval.tv_nsec == 30 * MS &&
                                          cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 30 * MS);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK("timerfd_interval_poll_waits", poll(&p, 1, 5000) == 1 && p.revents == POLLIN && rd(fd) >= 1);
    close(fd);

    /* A blocking read sleeps until the expiration. */
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    start = now_ns(CLOCK_MONOTONIC);
    CHECK("timerfd_blocking_arm", set_ms(fd, 0, 50 * MS, 0) == 0);
    CHECK("timerfd_blocking_read", rd(fd) == 1 && now_ns(CLOCK_MONOTONIC) - start >= 50 * MS);
    close(fd);

    /* Absolute times on the wall clock. */
    fd = timerfd_create(CLOCK_REALTIME, 0);
    long long target = now_ns(CLOCK_REALTIME) + 50 * MS;
    CHECK("timerfd_realtime_abs_arm", set_ms(fd, TFD_TIMER_ABSTIME, target, 0) == 0);
    CHECK("timerfd_realtime_abs_read", rd(fd) == 1 && now_ns(CLOCK_REALTIME) >= target);
    close(fd);

    fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    target = now_ns(CLOCK_BOOTTIME) + 40 * MS;
    p = (struct pollfd){fd, POLLIN, 0};
    CHECK("timerfd_boottime_poll", set_ms(fd, TFD_TIMER_ABSTIME, target, 0) == 0 && poll(&p, 1, 5000) == 1 &&
                                       now_ns(CLOCK_BOOTTIME) >= target && rd(fd) == 1);
    close(fd);
}

static void test_signalfd_api(void)
{
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    int fd = signalfd(-1, &m, SFD_NONBLOCK);
    CHECK("signalfd_create", fd >= 0 && fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK) && fcntl(fd, F_GETFD) == 0);
    CHECK("signalfd_fstat_anon_inode", is_anon(fd));
    struct signalfd_siginfo si;
    EXPECT_ERR("signalfd_read_empty", read(fd, &si, sizeof(si)), EAGAIN);
    EXPECT_ERR("signalfd_read_short", read(fd, &si, sizeof(si) - 1), EINVAL);
    EXPECT_ERR("signalfd_write", write(fd, &si, sizeof(si)), EINVAL);
    CHECK("signalfd_poll_empty", revents(fd, POLLIN | POLLOUT) == 0);
    EXPECT_ERR("signalfd_bad_size", syscall(SYS_signalfd4, -1, &m, 4, 0), EINVAL);
    EXPECT_ERR("signalfd_bad_flags", syscall(SYS_signalfd4, -1, &m, 8, 1), EINVAL);
    EXPECT_ERR("signalfd_bad_mask_pointer", syscall(SYS_signalfd4, -1, (void *)8, 8, 0), EFAULT);
    int e = eventfd(0, 0);
    EXPECT_ERR("signalfd_update_not_signalfd", signalfd(e, &m, 0), EINVAL);
    close(e);
    EXPECT_ERR("signalfd_update_bad_fd", signalfd(999, &m, 0), EBADF);
    sigaddset(&m, SIGKILL);
    CHECK("signalfd_update", signalfd(fd, &m, 0) == fd && fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK));
    CHECK("signalfd_legacy_syscall", syscall(SYS_signalfd, fd, &m, 8) == fd);
    int c = signalfd(-1, &m, SFD_CLOEXEC);
    CHECK("signalfd_cloexec", c >= 0 && fcntl(c, F_GETFD) == FD_CLOEXEC && fcntl(c, F_GETFL) == O_RDWR);
    close(c);
    CHECK("signalfd_lseek_noop", lseek(fd, 3, SEEK_SET) == 0);
    close(fd);
}

/* Signals sent to ourselves while blocked are read from the signalfd with their siginfo. */
static void test_signalfd_signals(void)
{
    sigset_t m, pending;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGUSR2);
    sigaddset(&m, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &m, NULL);
    sigdelset(&m, SIGUSR2);
    int fd = signalfd(-1, &m, SFD_NONBLOCK);
    struct signalfd_siginfo si[2];
    memset(si, 0, sizeof(si));
    CHECK("signalfd_raise", raise(SIGUSR1) == 0);
    CHECK("signalfd_poll_pending", revents(fd, POLLIN | POLLOUT) == POLLIN && selects_readable(fd));
    CHECK("signalfd_read_raise", read(fd, si, sizeof(si)) == sizeof(si[0]) && si[0].ssi_signo == SIGUSR1 &&
                                     si[0].ssi_code == SI_TKILL && si[0].ssi_pid == (unsigned)getpid() &&
                                     si[0].ssi_uid == getuid());
    EXPECT_ERR("signalfd_taken_once", read(fd, si, sizeof(si[0])), EAGAIN);
    CHECK("signalfd_poll_taken", revents(fd, POLLIN) == 0);

    /* A signal outside the mask stays pending for the thread. */
    CHECK("signalfd_kill_other", kill(getpid(), SIGUSR2) == 0);
    EXPECT_ERR("signalfd_mask_excludes", read(fd, si, sizeof(si[0])), EAGAIN);
    CHECK("signalfd_other_still_pending", sigpending(&pending) == 0 && sigismember(&pending, SIGUSR2));
    sigaddset(&m, SIGUSR2);
    CHECK("signalfd_new_mask", signalfd(fd, &m, 0) == fd && revents(fd, POLLIN) == POLLIN);
    CHECK("signalfd_read_kill", read(fd, si, sizeof(si[0])) == sizeof(si[0]) && si[0].ssi_signo == SIGUSR2 &&
                                    si[0].ssi_code == SI_USER && si[0].ssi_pid == (unsigned)getpid());

    /* One read takes as many as fit, lowest signal first. */
    raise(SIGUSR2);
    raise(SIGUSR1);
    CHECK("signalfd_read_two", read(fd, si, sizeof(si)) == sizeof(si) && si[0].ssi_signo == SIGUSR1 &&
                                   si[1].ssi_signo == SIGUSR2);

    union sigval v = {.sival_int = 42};
    CHECK("signalfd_sigqueue", sigqueue(getpid(), SIGRTMIN, v) == 0);
    CHECK("signalfd_read_sigqueue", read(fd, si, sizeof(si[0])) == sizeof(si[0]) &&
                                        si[0].ssi_signo == (unsigned)SIGRTMIN && si[0].ssi_code == SI_QUEUE &&
                                        si[0].ssi_int == 42 && si[0].ssi_ptr == 42);
    CHECK("signalfd_nothing_left", sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR1) &&
                                       !sigismember(&pending, SIGUSR2));
    close(fd);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

/* With a second thread: blocking reads and writes, and waits, woken by another thread. */

struct helper {
    int fd;
    int action; /* what the thread does after its delay */
    long long delay_ns;
    pthread_t target;
};

enum { WRITE_3, READ_ONE, KILL_USR1, INTERRUPT_USR2 };

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    sleep_ns(h->delay_ns);
    uint64_t v;
    switch (h->action) {
    case WRITE_3:
        wr(h->fd, 3);
        break;
    case READ_ONE:
        if (read(h->fd, &v, sizeof(v)) != sizeof(v))
            return (void *)1;
        break;
    case KILL_USR1:
        kill(getpid(), SIGUSR1);
        break;
    case INTERRUPT_USR2:
        pthread_kill(h->target, SIGUSR2);
        break;
    }
    return NULL;
}

static pthread_t start_helper(struct helper *h, int fd, int action, long long delay_ns)
{
    pthread_t t;
    *h = (struct helper){fd, action, delay_ns, pthread_self()};
    pthread_create(&t, NULL, helper_main, h);
    return t;
}

static volatile sig_atomic_t usr2_seen;
static void on_usr2(int sig) { usr2_seen = sig; }

static void handle_usr2(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;
    sa.sa_flags = flags;
    sigaction(SIGUSR2, &sa, NULL);
}

static void test_threads(void)
{
    struct helper h;
    int fd = eventfd(0, 0);
    pthread_t t = start_helper(&h, fd, WRITE_3, 50 * MS);
    CHECK("eventfd_blocking_read_woken", rd(fd) == 3);
    pthread_join(t, NULL);

    t = start_helper(&h, fd, WRITE_3, 50 * MS);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK("eventfd_poll_woken", poll(&p, 1, 10000) == 1 && p.revents == POLLIN && rd(fd) == 3);
    pthread_join(t, NULL);

    t = start_helper(&h, fd, WRITE_3, 50 * MS);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    struct timeval tv = {10, 0};
    CHECK("eventfd_select_woken", select(fd + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &r) && rd(fd) == 3);
    pthread_join(t, NULL);

    /* A full counter blocks the writer until a reader takes it. */
    void *res = (void *)1;
    wr(fd, UINT64_MAX - 1);
    t = start_helper(&h, fd, READ_ONE, 50 * MS);
    CHECK("eventfd_blocking_write_woken", wr(fd, 1) && (pthread_join(t, &res), res == NULL) && rd(fd) == 1);

    /* A handled signal interrupts a blocking read: EINTR without SA_RESTART. */
    handle_usr2(0);
    usr2_seen = 0;
    t = start_helper(&h, fd, INTERRUPT_USR2, 50 * MS);
    uint64_t v;
    EXPECT_ERR("eventfd_read_eintr", read(fd, &v, sizeof(v)), EINTR);
    CHECK("eventfd_read_eintr_handler_ran", usr2_seen == SIGUSR2);
    pthread_join(t, NULL);
    /* With SA_RESTART the read goes on after the handler and gets the later write. */
    handle_usr2(SA_RESTART);
    usr2_seen = 0;
    t = start_helper(&h, fd, INTERRUPT_USR2, 50 * MS);
    struct helper h2;
    pthread_t t2 = start_helper(&h2, fd, WRITE_3, 200 * MS);
    CHECK("eventfd_read_restarts", rd(fd) == 3);
    pthread_join(t, NULL);
    pthread_join(t2, NULL);
    CHECK("eventfd_read_restarts_handler_ran", usr2_seen == SIGUSR2);
    close(fd);

    /* signalfd: a blocking read takes a signal another thread sends later. */
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sfd = signalfd(-1, &m, 0);
    t = start_helper(&h, sfd, KILL_USR1, 50 * MS);
    struct signalfd_siginfo si;
    CHECK("signalfd_blocking_read_woken", read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1 &&
                                              si.ssi_code == SI_USER);
    pthread_join(t, NULL);
    t = start_helper(&h, sfd, KILL_USR1, 50 * MS);
    p = (struct pollfd){sfd, POLLIN, 0};
    CHECK("signalfd_poll_woken", poll(&p, 1, 10000) == 1 && p.revents == POLLIN &&
                                     read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1);
    pthread_join(t, NULL);
    handle_usr2(0);
    t = start_helper(&h, sfd, INTERRUPT_USR2, 50 * MS);
    EXPECT_ERR("signalfd_read_eintr", read(sfd, &si, sizeof(si)), EINTR);
    pthread_join(t, NULL);
    close(sfd);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    signal(SIGUSR2, SIG_DFL);
}

/* epoll_wait with a zero timeout: the count, and the first record in *ev. */
static int ep_now(int ep, struct epoll_event *ev) { return epoll_wait(ep, ev, 1, 0); }

static int ep_add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int ep_mod(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void test_epoll_api(void)
{
    EXPECT_ERR("epoll_create_size_zero", syscall(SYS_epoll_create, 0), EINVAL); /* older musl does not check */
    EXPECT_ERR("epoll_create1_bad_flags", epoll_create1(1), EINVAL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK("epoll_create1_cloexec", ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC && is_anon(ep));
    int ep2 = epoll_create(1);
    CHECK("epoll_create", ep2 >= 0 && fcntl(ep2, F_GETFD) == 0);
    int efd = eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    CHECK("epoll_ctl_add", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    EXPECT_ERR("epoll_ctl_add_twice_eexist", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST);
    EXPECT_ERR("epoll_ctl_mod_unknown_enoent", epoll_ctl(ep2, EPOLL_CTL_MOD, efd, &ev), ENOENT);
    EXPECT_ERR("epoll_ctl_del_unknown_enoent", epoll_ctl(ep2, EPOLL_CTL_DEL, efd, NULL), ENOENT);
    EXPECT_ERR("epoll_ctl_self_einval", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    EXPECT_ERR("epoll_ctl_not_epoll_einval", epoll_ctl(efd, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    EXPECT_ERR("epoll_ctl_bad_op_einval", epoll_ctl(ep, 99, efd, &ev), EINVAL);
    EXPECT_ERR("epoll_ctl_bad_fd_ebadf", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
    EXPECT_ERR("epoll_ctl_bad_epfd_ebadf", epoll_ctl(999, EPOLL_CTL_ADD, efd, &ev), EBADF);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    EXPECT_ERR("epoll_ctl_directory_eperm", epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev), EPERM);
    close(dir);
    int null = open("/dev/null", O_RDWR);
    EXPECT_ERR("epoll_ctl_dev_null_eperm", epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev), EPERM);
    close(null);
    EXPECT_ERR("epoll_ctl_add_efault", epoll_ctl(ep2, EPOLL_CTL_ADD, efd, NULL), EFAULT);
    CHECK("epoll_ctl_del", epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) == 0 &&
                               epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) < 0 && errno == ENOENT);
    struct epoll_event out[4];
    EXPECT_ERR("epoll_wait_maxevents_zero", epoll_wait(ep, out, 0, 0), EINVAL);
    EXPECT_ERR("epoll_wait_not_epoll", epoll_wait(efd, out, 4, 0), EINVAL);
    EXPECT_ERR("epoll_wait_bad_fd", epoll_wait(999, out, 4, 0), EBADF);
    CHECK("epoll_event_packed", sizeof(struct epoll_event) == 12);

    /* Closing the last fd of a file removes it: the same number can be added again. */
    CHECK("epoll_ctl_readd", ep_add(ep, efd, EPOLLIN, 7) == 0);
    close(efd);
    efd = eventfd(1, EFD_NONBLOCK);
    CHECK("epoll_close_forgets", ep_now(ep, out) == 0 && ep_add(ep, efd, EPOLLIN, 8) == 0 &&
                                     ep_now(ep, out) == 1 && out[0].data.u64 == 8);
    EXPECT_ERR("epoll_wait_efault", syscall(SYS_epoll_wait, ep, NULL, 4, 0), EFAULT);
    close(efd);
    close(ep2);
    close(ep);
}

static void test_epoll_readiness(void)
{
    int ep = epoll_create1(0), efd = eventfd(0, EFD_NONBLOCK);
    struct epoll_event out[4];
    const uint64_t data = 0x1122334455667788ull;
    ep_add(ep, efd, EPOLLIN, data);
    CHECK("epoll_lt_empty", ep_now(ep, out) == 0);
    wr(efd, 1);
    CHECK("epoll_lt_ready_data", ep_now(ep, out) == 1 && out[0].events == EPOLLIN && out[0].data.u64 == data);
    CHECK("epoll_lt_again", ep_now(ep, out) == 1 && out[0].events == EPOLLIN);
    struct pollfd p = {ep, POLLIN, 0};
    CHECK("epoll_fd_pollable", poll(&p, 1, 0) == 1 && p.revents == POLLIN);
    rd(efd);
    CHECK("epoll_lt_drained", ep_now(ep, out) == 0 && poll(&p, 1, 0) == 0);
    CHECK("epoll_mod_out", ep_mod(ep, efd, EPOLLIN | EPOLLOUT, 5) == 0 && ep_now(ep, out) == 1 &&
                               out[0].events == EPOLLOUT && out[0].data.u64 == 5);

    /* Edge-triggered: once per change, again after a new write even when unread. */
    ep_mod(ep, efd, EPOLLIN | EPOLLET, 6);
    CHECK("epoll_et_empty", ep_now(ep, out) == 0);
    wr(efd, 1);
    CHECK("epoll_et_reported", ep_now(ep, out) == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 6);
    CHECK("epoll_et_once", ep_now(ep, out) == 0);
    wr(efd, 1);
    CHECK("epoll_et_new_write", ep_now(ep, out) == 1 && ep_now(ep, out) == 0);
    rd(efd);

    /* One-shot: disabled after one report, re-armed by MOD. */
    ep_mod(ep, efd, EPOLLIN | EPOLLONESHOT, 9);
    wr(efd, 1);
    CHECK("epoll_oneshot_reported", ep_now(ep, out) == 1 && out[0].data.u64 == 9);
    CHECK("epoll_oneshot_disabled", ep_now(ep, out) == 0);
    wr(efd, 1);
    CHECK("epoll_oneshot_stays_disabled", ep_now(ep, out) == 0);
    CHECK("epoll_oneshot_mod_rearms", ep_mod(ep, efd, EPOLLIN | EPOLLONESHOT, 10) == 0 && ep_now(ep, out) == 1 &&
                                          out[0].data.u64 == 10);
    ep_mod(ep, efd, EPOLLIN, 11);

    /* Two ready files and room for one: the other comes next (level-triggered re-queue). */
    int efd2 = eventfd(1, EFD_NONBLOCK);
    ep_add(ep, efd2, EPOLLIN, 12);
    uint64_t a = ep_now(ep, out) == 1 ? out[0].data.u64 : 0;
    uint64_t b = ep_now(ep, out) == 1 ? out[0].data.u64 : 0;
    CHECK("epoll_maxevents_rotates", a + b == 23 && a != b);
    CHECK("epoll_wait_all", epoll_wait(ep, out, 4, 0) == 2);
    rd(efd);
    rd(efd2);

    /* Timeouts: 0 and 50 ms with nothing ready. */
    long long t0 = now_ns(CLOCK_MONOTONIC);
    int r = epoll_wait(ep, out, 4, 50);
    long long took = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK("epoll_wait_timeout", r == 0 && took >= 49 * MS);
    struct timespec ts = {0, 20 * MS};
    t0 = now_ns(CLOCK_MONOTONIC);
    r = (int)syscall(441, ep, out, 4, &ts, NULL, 8); /* epoll_pwait2 */
    took = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK("epoll_pwait2_timeout", r == 0 && took >= 19 * MS);

    /* A timerfd in the set. */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    ep_add(ep, tfd, EPOLLIN, 13);
    set_ms(tfd, 0, 30 * MS, 0);
    CHECK("epoll_timerfd", epoll_wait(ep, out, 4, 5000) == 1 && out[0].data.u64 == 13 && rd(tfd) == 1);
    close(tfd);
    close(efd2);
    close(efd);
    close(ep);
}

static void test_epoll_threads(void)
{
    struct helper h;
    int ep = epoll_create1(0), efd = eventfd(0, EFD_NONBLOCK);
    struct epoll_event out[4];
    ep_add(ep, efd, EPOLLIN | EPOLLET, 21);
    pthread_t t = start_helper(&h, efd, WRITE_3, 50 * MS);
    CHECK("epoll_wait_woken_by_thread", epoll_wait(ep, out, 4, -1) == 1 && out[0].data.u64 == 21 && rd(efd) == 3);
    pthread_join(t, NULL);

    /* A handled signal ends the wait with EINTR, with or without SA_RESTART. */
    handle_usr2(0);
    usr2_seen = 0;
    t = start_helper(&h, efd, INTERRUPT_USR2, 50 * MS);
    EXPECT_ERR("epoll_wait_eintr", epoll_wait(ep, out, 4, -1), EINTR);
    CHECK("epoll_wait_eintr_handler_ran", usr2_seen == SIGUSR2);
    pthread_join(t, NULL);
    handle_usr2(SA_RESTART);
    usr2_seen = 0;
    t = start_helper(&h, efd, INTERRUPT_USR2, 50 * MS);
    EXPECT_ERR("epoll_wait_eintr_no_restart", epoll_wait(ep, out, 4, 5000), EINTR);
    pthread_join(t, NULL);

    /* epoll_pwait's mask blocks SIGUSR2 during the wait: the write ends it, the handler runs after. */
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    usr2_seen = 0;
    t = start_helper(&h, efd, INTERRUPT_USR2, 50 * MS);
    struct helper h2;
    pthread_t t2 = start_helper(&h2, efd, WRITE_3, 150 * MS);
    int r = epoll_pwait(ep, out, 4, 5000, &m);
    CHECK("epoll_pwait_mask", r == 1 && out[0].data.u64 == 21 && usr2_seen == SIGUSR2);
    pthread_join(t, NULL);
    pthread_join(t2, NULL);
    signal(SIGUSR2, SIG_DFL);
    close(efd);
    close(ep);
}

/* A blocked SIGALRM from setitimer wakes a blocking signalfd read (a kernel timer). */
static void test_alarm_signalfd(void)
{
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGALRM);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sfd = signalfd(-1, &m, 0);
    struct itimerval it = {{0, 0}, {0, 50000}};
    struct signalfd_siginfo si;
    CHECK("signalfd_alarm_arm", setitimer(ITIMER_REAL, &it, NULL) == 0);
    CHECK("signalfd_blocking_read_alarm", read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGALRM &&
                                              si.ssi_code == SI_KERNEL);
    close(sfd);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

int main(void)
{
    guest_begin();
    test_eventfd();
    test_timerfd_api();
    test_timerfd_expiry();
    test_signalfd_api();
    test_signalfd_signals();
    test_threads();
    test_alarm_signalfd();
    test_epoll_api();
    test_epoll_readiness();
    test_epoll_threads();
    return guest_finish();
}
