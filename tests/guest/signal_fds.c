/* signal_fds.c: issue 9's fd objects across threads: eventfd, timerfd and signalfd blocking reads, poll and select woken.
 *
 * event.c has each object's single-threaded behaviour (counters, flags, errors,
 * readiness); these are the acceptance cases: a thread blocked in read, poll or
 * select on one object is woken by another thread's write or kill, a periodic
 * timerfd is polled until it has counted 5 expirations, and all three are polled
 * together. Decided by counts and values, never by timing.
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
    ssize_t n;
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
    struct itimerspec its = {{0, 10 * 1000 * 1000}, {0, 10 * 1000 * 1000}};
    CHECK("timerfd_settime_periodic", timerfd_settime(fd, 0, &its, NULL) == 0);
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
    CHECK("timerfd_periodic_select_read", sel == 1 && n == 8 && got >= 1);
    struct itimerspec off = {{0, 0}, {0, 0}};
    timerfd_settime(fd, 0, &off, NULL);
    EXPECT_ERR("timerfd_disarm_stops", read(fd, &scratch, 8), EAGAIN);
    close(fd);
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
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL); /* threads created below inherit it */
    struct signalfd_siginfo si;

    /* A read waits for a signal another thread sends to the process. */
    int bfd = signalfd(-1, &set, 0);
    pthread_t t;
    pthread_create(&t, NULL, kill_later, NULL);
    ssize_t n = read(bfd, &si, sizeof(si));
    pthread_join(t, NULL);
    CHECK("signalfd_blocking_read_woken", n == (ssize_t)sizeof(si) && si.ssi_signo == SIGUSR2 &&
                                              si.ssi_code == SI_USER && si.ssi_pid == (uint32_t)getpid());
    int fd = signalfd(-1, &set, SFD_NONBLOCK);
    pthread_create(&t, NULL, kill_later, NULL);
    int r = readable_poll(fd, -1);
    pthread_join(t, NULL);
    CHECK("signalfd_poll_woken", r == 1 && read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
                                     si.ssi_signo == SIGUSR2);
    pthread_create(&t, NULL, kill_later, NULL);
    r = readable_select(fd, 30 * 1000000L);
    pthread_join(t, NULL);
    CHECK("signalfd_select_woken", r == 1 && read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
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
