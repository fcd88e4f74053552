/* SPDX-License-Identifier: Apache-2.0 */
/* poll.c: fd readiness and the scan-then-sleep loops of poll(2) and select(2) (libos/poll.h).
 *
 * Waiters sleep on readiness_wq (task.h) until the deadline; whatever changes a
 * file's readiness calls readiness_changed() and every waiter rescans. The console
 * has no such wake-up (its UART interrupt is not routed), so a wait that includes
 * it ("live") re-checks every POLL_RECHECK_NS. A signal ends the wait with
 * -ERESTARTNOHAND (EINTR when a handler runs, else the call again), as Linux.
 */
#include <libos/errno.h>
#include <libos/poll.h>
#include <libos/signal.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/vfs.h>

#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)
/* Which events make an fd count as ready in each select set. Linux 6.x includes
 * POLLNVAL, so an O_PATH fd is reported ready in every set it is listed in. */
#define POLLIN_SET (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR | POLLNVAL)
#define POLLOUT_SET (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR | POLLNVAL)
#define POLLEX_SET (POLLPRI | POLLNVAL)

u32 vfs_poll_fd(int fd, bool *live)
{
    struct file *f = fd_get(fd);
    if (!f || (f->flags & O_PATH))
        return POLLNVAL;
    if (!f->ops->poll)
        return DEFAULT_POLLMASK;
    if (!f->ops->poll_wakes)
        *live = true;
    return f->ops->poll(f);
}

/* After a scan found nothing: 0 once the deadline has passed, -EINTR on a signal,
 * else 1 after sleeping on readiness_wq (woken by readiness_changed()) until the
 * deadline, or POLL_RECHECK_NS when a live file has no wake-up of its own. */
static int wait_more(u64 deadline, bool live)
{
    u64 now = time_mono_ns();
    if (now >= deadline)
        return 0;
    u64 until = live && deadline - now > POLL_RECHECK_NS ? now + POLL_RECHECK_NS : deadline;
    int r = waitq_wait(&readiness_wq, until, WAIT_INTERRUPTIBLE);
    return r == -EINTR ? -EINTR : 1;
}

/* The temporary mask of ppoll/pselect6. On a signal the old mask must stay saved
 * until the handler's frame is built (Linux's restore_saved_sigmask_unless): the
 * task_signals fields of signal.h hand it to signal delivery; otherwise it is
 * restored at once. */
static void sigmask_begin(const u64 *sigmask, u64 *saved)
{
    if (sigmask)
        signal_mask(SIG_SETMASK, sigmask, saved);
}

static void sigmask_end(const u64 *sigmask, u64 saved, bool interrupted)
{
    if (!sigmask)
        return;
    if (interrupted) {
        current->sig.saved_mask = saved;
        current->sig.restore_mask = true;
        return;
    }
    signal_mask(SIG_SETMASK, &saved, NULL);
}

static u32 poll_scan(struct kpollfd *fds, u32 n, bool *live)
{
    u32 ready = 0;
    for (u32 i = 0; i < n; i++) {
        u32 mask = 0;
        if (fds[i].fd >= 0) {
            mask = vfs_poll_fd(fds[i].fd, live);
            if (mask != POLLNVAL) /* POLLNVAL is reported whatever was asked */
                mask &= (u16)fds[i].events | POLLERR | POLLHUP;
        }
        fds[i].revents = (s16)mask;
        ready += mask != 0;
    }
    return ready;
}

long vfs_poll(struct kpollfd *fds, u32 n, u64 deadline, const u64 *sigmask)
{
    u64 saved = 0;
    sigmask_begin(sigmask, &saved);
    long ready;
    for (;;) {
        bool live = false;
        ready = poll_scan(fds, n, &live);
        if (ready)
            break;
        int w = wait_more(deadline, live);
        if (w <= 0) {
            ready = w < 0 ? -ERESTARTNOHAND : 0;
            break;
        }
    }
    sigmask_end(sigmask, saved, ready == -ERESTARTNOHAND);
    return ready;
}

#define WORDS(n) (ALIGN_UP((n), 64u) / 64)
#define SET_WORDS WORDS(SELECT_FD_MAX)

static u64 word_of(const u64 *set, u32 w) { return set ? set[w] : 0; }

/* Linux checks every listed fd before waiting: one that is not open fails the call. */
static bool all_open(u32 n, const u64 *in, const u64 *out, const u64 *ex)
{
    for (u32 fd = 0; fd < n; fd++) {
        u64 bit = 1ul << (fd % 64);
        u32 w = fd / 64;
        if (((word_of(in, w) | word_of(out, w) | word_of(ex, w)) & bit) && !fd_get((int)fd))
            return false;
    }
    return true;
}

static u32 select_scan(u32 n, const u64 *in, const u64 *out, const u64 *ex, u64 res[3][SET_WORDS],
                       bool *live)
{
    u32 ready = 0;
    for (u32 w = 0; w < WORDS(n); w++)
        res[0][w] = res[1][w] = res[2][w] = 0;
    for (u32 fd = 0; fd < n; fd++) {
        u64 bit = 1ul << (fd % 64);
        u32 w = fd / 64;
        bool r = word_of(in, w) & bit, wr = word_of(out, w) & bit, x = word_of(ex, w) & bit;
        if (!(r || wr || x))
            continue;
        u32 mask = vfs_poll_fd((int)fd, live);
        if (r && (mask & POLLIN_SET))
            res[0][w] |= bit, ready++;
        if (wr && (mask & POLLOUT_SET))
            res[1][w] |= bit, ready++;
        if (x && (mask & POLLEX_SET))
            res[2][w] |= bit, ready++;
    }
    return ready;
}

long vfs_select(u32 n, u64 *in, u64 *out, u64 *ex, u64 deadline, const u64 *sigmask)
{
    n = MIN(n, (u32)SELECT_FD_MAX); /* Linux clamps n to its table's size; FD_SETSIZE here */
    if (!all_open(n, in, out, ex))
        return -EBADF;
    u64 res[3][SET_WORDS], saved = 0;
    sigmask_begin(sigmask, &saved);
    long ready;
    for (;;) {
        bool live = false;
        ready = select_scan(n, in, out, ex, res, &live);
        if (ready)
            break;
        int w = wait_more(deadline, live);
        if (w <= 0) {
            ready = w < 0 ? -ERESTARTNOHAND : 0;
            break;
        }
    }
    sigmask_end(sigmask, saved, ready == -ERESTARTNOHAND);
    if (ready < 0)
        return ready; /* Linux leaves the sets alone when interrupted */
    u64 *sets[3] = {in, out, ex};
    for (int s = 0; s < 3; s++)
        for (u32 w = 0; sets[s] && w < WORDS(n); w++)
            sets[s][w] = res[s][w];
    return ready;
}

/* For epoll (fs/epoll.c): the same sleep and temporary-mask rules as poll's. */
int poll_wait_more(u64 deadline, bool live) { return wait_more(deadline, live); }
void poll_sigmask_begin(const u64 *sigmask, u64 *saved) { sigmask_begin(sigmask, saved); }
void poll_sigmask_end(const u64 *sigmask, u64 saved, bool interrupted) { sigmask_end(sigmask, saved, interrupted); }
