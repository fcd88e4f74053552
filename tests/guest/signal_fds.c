/* signal_fds.c: issue 9's fd objects: eventfd, timerfd and signalfd read, polled (poll and select), woken across threads.
 *
 * Timer cases count expirations until a number is reached, never compare with a
 * clock, so they print the same on Linux and in the unikernel under TCG.
 */
#include "guest.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>

static int readable_poll(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    return r == 1 && (p.revents & POLLIN) ? 1 : r;
}

static int readable_select(int fd, long timeout_us)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    struct timeval tv = {timeout_us / 1000000, timeout_us % 1000000};
    int r = select(fd + 1, &set, NULL, NULL, &tv);
    return r == 1 && FD_ISSET(fd, &set) ? 1 : r;
}

static uint64_t read_u64(int fd, ssize_t *n)
{
    uint64_t v = 0;
    *n = read(fd, &v, sizeof(v));
    return v;
}

/* ---- eventfd ---- */

static int wake_fd;

static void *write_later(void *arg)
{
    (void)arg;
    usleep(20000);
    uint64_t v = 9;
    if (write(wake_fd, &v, sizeof(v)) != sizeof(v))
        abort();
    return NULL;
}

static void test_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK);
    ssize_t n;
    uint64_t scratch;
    CHECK("eventfd_empty_not_readable", readable_poll(fd, 0) == 0 && readable_select(fd, 0) == 0);
    EXPECT_ERR("eventfd_empty_read_eagain", read(fd, &scratch, 8), EAGAIN);
    uint64_t three = 3, four = 4;
    CHECK("eventfd_write_adds", write(fd, &three, 8) == 8 && write(fd, &four, 8) == 8);
    CHECK("eventfd_poll_readable", readable_poll(fd, 0) == 1);
    CHECK("eventfd_select_readable", readable_select(fd, 0) == 1);
    CHECK("eventfd_read_sum_resets", read_u64(fd, &n) == 7 && n == 8 && readable_poll(fd, 0) == 0);
    struct pollfd out = {.fd = fd, .events = POLLOUT};
    CHECK("eventfd_poll_writable", poll(&out, 1, 0) == 1 && (out.revents & POLLOUT));
    uint64_t big = UINT64_MAX - 1;
    CHECK("eventfd_fill_to_max", write(fd, &big, 8) == 8);
    EXPECT_ERR("eventfd_overflow_eagain", write(fd, &three, 8), EAGAIN);
    out.revents = 0;
    CHECK("eventfd_full_not_writable", poll(&out, 1, 0) == 0);
    uint64_t max = UINT64_MAX;
    EXPECT_ERR("eventfd_write_all_ones_einval", write(fd, &max, 8), EINVAL);
    EXPECT_ERR("eventfd_short_read_einval", read(fd, &max, 4), EINVAL);
    close(fd);

    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t a = read_u64(fd, &n), b = read_u64(fd, &n);
    CHECK("eventfd_semaphore_reads_one", a == 1 && b == 1);
    EXPECT_ERR("eventfd_semaphore_exhausted", read(fd, &scratch, 8), EAGAIN);
    close(fd);

    /* Blocking: another thread's write wakes a read, a poll, a select. */
    wake_fd = eventfd(0, 0);
    pthread_t t;
    pthread_create(&t, NULL, write_later, NULL);
    uint64_t v = read_u64(wake_fd, &n);
    pthread_join(t, NULL);
    CHECK("eventfd_blocking_read_woken", n == 8 && v == 9);
    pthread_create(&t, NULL, write_later, NULL);
    int r = readable_poll(wake_fd, -1);
    pthread_join(t, NULL);
    CHECK("eventfd_poll_woken", r == 1 && read_u64(wake_fd, &n) == 9);
    pthread_create(&t, NULL, write_later, NULL);
    r = readable_select(wake_fd, 30 * 1000000L);
    pthread_join(t, NULL);
    CHECK("eventfd_select_woken", r == 1 && read_u64(wake_fd, &n) == 9);
    close(wake_fd);
}

/* ---- timerfd ---- */

static void test_timerfd(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    ssize_t n;
    uint64_t scratch;
    EXPECT_ERR("timerfd_disarmed_read_eagain", read(fd, &scratch, 8), EAGAIN);
    CHECK("timerfd_disarmed_not_readable", readable_poll(fd, 0) == 0);
    struct itimerspec its = {{0, 10 * 1000 * 1000}, {0, 10 * 1000 * 1000}}, cur;
    CHECK("timerfd_settime", timerfd_settime(fd, 0, &its, NULL) == 0);
    CHECK("timerfd_gettime", timerfd_gettime(fd, &cur) == 0 && cur.it_interval.tv_nsec == 10 * 1000 * 1000 &&
                                 cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 10 * 1000 * 1000);
    uint64_t total = 0;
    int reads = 0, polls_ok = 1;
    while (total < 5 && reads < 100) { /* counted, not timed: poll blocks until the next expiry */
        if (readable_poll(fd, 5000) != 1)
            polls_ok = 0;
        uint64_t got = read_u64(fd, &n);
        if (n == 8)
            total += got;
        reads++;
    }
    CHECK("timerfd_periodic_poll_read", polls_ok && total >= 5);
    int sel = readable_select(fd, 5 * 1000000L);
    uint64_t got = read_u64(fd, &n);
    CHECK("timerfd_select_read", sel == 1 && n == 8 && got >= 1);
    struct itimerspec off = {{0, 0}, {0, 0}};
    timerfd_settime(fd, 0, &off, NULL);
    read_u64(fd, &n); /* an expiry between the last read and the disarm */
    EXPECT_ERR("timerfd_disarm_stops", read(fd, &scratch, 8), EAGAIN);
    close(fd);

    /* Blocking read of an absolute one-shot deadline 30 ms ahead. */
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 30 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    struct itimerspec abs = {{0, 0}, now};
    int ok = timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL) == 0;
    got = read_u64(fd, &n);
    struct timespec after;
    clock_gettime(CLOCK_MONOTONIC, &after);
    int late = after.tv_sec > now.tv_sec || (after.tv_sec == now.tv_sec && after.tv_nsec >= now.tv_nsec);
    CHECK("timerfd_abstime_blocking_read", ok && n == 8 && got == 1 && late);
    close(fd);
    EXPECT_ERR("timerfd_bad_clock", timerfd_create(12345, 0), EINVAL);
}

/* ---- signalfd ---- */

static void *kill_later(void *arg)
{
    (void)arg;
    usleep(20000);
    kill(getpid(), SIGUSR2);
    return NULL;
}

static void test_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL); /* threads created below inherit it */
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    struct signalfd_siginfo si;
    CHECK("signalfd_created", fd >= 0);
    EXPECT_ERR("signalfd_empty_read_eagain", read(fd, &si, sizeof(si)), EAGAIN);
    CHECK("signalfd_empty_not_readable", readable_poll(fd, 0) == 0 && readable_select(fd, 0) == 0);
    union sigval v = {.sival_int = 99};
    sigqueue(getpid(), SIGUSR1, v);
    CHECK("signalfd_poll_readable", readable_poll(fd, 0) == 1);
    CHECK("signalfd_select_readable", readable_select(fd, 0) == 1);
    ssize_t n = read(fd, &si, sizeof(si));
    CHECK("signalfd_read_siginfo", n == (ssize_t)sizeof(si) && si.ssi_signo == SIGUSR1 &&
                                       si.ssi_code == SI_QUEUE && si.ssi_pid == (uint32_t)getpid() &&
                                       si.ssi_int == 99);
    sigset_t pending;
    sigpending(&pending);
    CHECK("signalfd_read_consumes", !sigismember(&pending, SIGUSR1) && readable_poll(fd, 0) == 0);
    EXPECT_ERR("signalfd_short_buffer", read(fd, &si, sizeof(si) - 1), EINVAL);

    /* Narrowing the set: SIGUSR1 pending but no longer the fd's, so not readable. */
    raise(SIGUSR1);
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    CHECK("signalfd_update_mask", signalfd(fd, &only2, 0) == fd && readable_poll(fd, 0) == 0);
    siginfo_t info;
    struct timespec zero = {0, 0};
    CHECK("signalfd_other_signal_still_pending", sigtimedwait(&set, &info, &zero) == SIGUSR1);

    /* Blocking: a read waits for a signal another thread sends to the process. */
    int bfd = signalfd(-1, &only2, 0);
    pthread_t t;
    pthread_create(&t, NULL, kill_later, NULL);
    n = read(bfd, &si, sizeof(si));
    pthread_join(t, NULL);
    CHECK("signalfd_blocking_read_woken", n == (ssize_t)sizeof(si) && si.ssi_signo == SIGUSR2 && si.ssi_code == SI_USER);
    pthread_create(&t, NULL, kill_later, NULL);
    int r = readable_poll(fd, -1);
    pthread_join(t, NULL);
    CHECK("signalfd_poll_woken", r == 1 && read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
                                     si.ssi_signo == SIGUSR2);
    close(bfd);
    close(fd);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- all three in one poll and one select ---- */

static void test_together(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int efd = eventfd(0, EFD_NONBLOCK), sfd = signalfd(-1, &set, SFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct pollfd p[3] = {{.fd = efd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
    CHECK("poll_three_none_ready", poll(p, 3, 0) == 0);
    struct itimerspec its = {{0, 0}, {0, 15 * 1000 * 1000}};
    timerfd_settime(tfd, 0, &its, NULL);
    CHECK("poll_three_timer_first", poll(p, 3, 5000) == 1 && p[2].revents == POLLIN && !p[0].revents &&
                                        !p[1].revents);
    uint64_t one = 1;
    if (write(efd, &one, 8) != 8)
        abort();
    raise(SIGUSR1);
    CHECK("poll_three_all_ready", poll(p, 3, 0) == 3);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(efd, &rd);
    FD_SET(sfd, &rd);
    FD_SET(tfd, &rd);
    int maxfd = efd > sfd ? efd : sfd;
    maxfd = maxfd > tfd ? maxfd : tfd;
    struct timeval tv = {0, 0};
    CHECK("select_three_all_ready", select(maxfd + 1, &rd, NULL, NULL, &tv) == 3);
    close(efd);
    close(sfd);
    close(tfd);
    siginfo_t info;
    struct timespec zero = {0, 0};
    sigtimedwait(&set, &info, &zero);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int main(void)
{
    guest_begin();
    test_eventfd();
    test_timerfd();
    test_signalfd();
    test_together();
    return guest_finish();
}
