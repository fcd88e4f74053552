/* SPDX-License-Identifier: Apache-2.0 */
/* timerfd.c: timerfd(2) objects: one-shot and interval timers on the real-time or monotonic clock, read as expiration counts.
 *
 * Expirations are computed from the clock, not counted by firing: whenever the timer is
 * looked at (read, poll, gettime, the kernel timer), every interval whose end has passed
 * is added to ticks at once, so a late or slow reader gets the right count and an
 * interval of 1 ns costs nothing. The kernel timer (struct ktimer) only wakes readers and
 * pollers when ticks goes from 0 to non-zero; like Linux's hrtimer it is not re-armed
 * while unread ticks exist, and reading re-arms it for the next expiration.
 */
#include <libos/errno.h>
#include <libos/eventfds.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9

#define NS_MAX 0x7ffffffffffffffful /* Linux's KTIME_MAX: later times saturate */

struct timerfd {
    int clockid;
    bool armed;          /* an expiration is due at next */
    u64 next;            /* the next expiration, on the timer's clock (ns) */
    u64 interval;        /* ns; 0: one-shot */
    u64 ticks;           /* expirations not read yet */
    struct ktimer timer; /* at next (monotonic): wakes readers and pollers */
    struct waitq wq;     /* blocked readers */
};

static bool is_realtime(int clockid) { return clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM; }

/* The timer's clock now. BOOTTIME equals MONOTONIC: a guest never suspends. */
static u64 clock_now(const struct timerfd *t) { return is_realtime(t->clockid) ? time_real_ns() : time_mono_ns(); }

/* A time on the timer's clock as a time_mono_ns() value. The wall clock is the monotonic
 * clock plus a fixed offset (clock_settime is refused), so this conversion is exact. */
static u64 to_mono(const struct timerfd *t, u64 when)
{
    if (!is_realtime(t->clockid))
        return when;
    u64 mono = time_mono_ns(), real = time_real_ns();
    return when <= real ? mono : mono + (when - real);
}

/* Add the expirations that have passed; move next past now for intervals. */
static void catch_up(struct timerfd *t)
{
    u64 now = clock_now(t);
    if (!t->armed || now < t->next)
        return;
    if (!t->interval) {
        t->ticks++;
        t->armed = false;
        return;
    }
    u64 k = (now - t->next) / t->interval + 1;
    t->ticks += k;
    u64 step = k * t->interval; /* <= now - next + interval: next + step < 2^64 */
    t->next = t->next + step > NS_MAX ? NS_MAX : t->next + step;
}

static void tfd_fire(struct ktimer *kt);

/* Arm the kernel timer when an expiration is due and none is waiting to be read. */
static void schedule_wakeup(struct timerfd *t)
{
    ktimer_cancel(&t->timer);
    if (t->armed && t->ticks == 0)
        ktimer_arm(&t->timer, to_mono(t, t->next), tfd_fire);
}

/* Timer interrupt, interrupts off: count what expired and wake whoever waits. */
static void tfd_fire(struct ktimer *kt)
{
    struct timerfd *t = (struct timerfd *)((u8 *)kt - __builtin_offsetof(struct timerfd, timer));
    catch_up(t);
    if (t->ticks) {
        waitq_wake(&t->wq, -1);
        readiness_changed();
    } else {
        schedule_wakeup(t); /* early by a rounding step: try again at next */
    }
}

static long tfd_read(struct file *f, void *buf, size_t n)
{
    struct timerfd *t = f->priv;
    if (n < sizeof(u64))
        return -EINVAL;
    long r = 0;
    f->refs++; /* another thread may close the fd while we sleep */
    for (catch_up(t); t->ticks == 0 && r == 0; catch_up(t)) {
        if (f->flags & O_NONBLOCK) {
            r = -EAGAIN;
            break;
        }
        /* The deadline makes the wait end at the expiration even before the kernel timer
         * wakes us; an unarmed timer blocks until a signal or a settime from another thread. */
        u64 deadline = t->armed ? to_mono(t, t->next) : ~0ul;
        if (waitq_wait(&t->wq, deadline, WAIT_INTERRUPTIBLE) == -EINTR)
            r = -ERESTARTSYS;
    }
    if (r == 0) {
        if (uaccess_copy(buf, &t->ticks, sizeof(t->ticks)) < 0) {
            r = -EFAULT;
        } else {
            t->ticks = 0;
            schedule_wakeup(t);
            readiness_changed();
            r = sizeof(u64);
        }
    }
    file_put(f);
    return r;
}

static u32 tfd_poll(struct file *f)
{
    struct timerfd *t = f->priv;
    catch_up(t);
    return t->ticks ? POLLIN : 0;
}

static void tfd_release(struct file *f)
{
    struct timerfd *t = f->priv;
    ktimer_cancel(&t->timer);
    kfree(t);
}

static const struct file_ops timerfd_ops = {
    .anon_name = "[timerfd]", /* /proc/[pid]/fd/N: anon_inode:[timerfd] */
    .read = tfd_read,
    .poll = tfd_poll,
    .poll_wakes = true,
    .release = tfd_release,
    .lseek = anon_lseek,
};

long timerfd_create(int clockid, int flags)
{
    if (flags & ~(TFD_NONBLOCK | TFD_CLOEXEC))
        return -EINVAL;
    switch (clockid) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
        break;
    case CLOCK_REALTIME_ALARM:
    case CLOCK_BOOTTIME_ALARM:
        /* Linux needs CAP_WAKE_ALARM, which Docker's default set lacks (capget and
         * PR_CAPBSET_READ say so): EPERM, even for root, as in `docker run`. With the
         * capability they would be the plain clocks: a guest never suspends. */
        if (!(proc_cap_eff(current_process()) & (1ul << CAP_WAKE_ALARM)))
            return -EPERM;
        break;
    default:
        return -EINVAL;
    }
    struct timerfd *t = kzalloc(sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->clockid = clockid;
    struct file *f = anon_file_new(&timerfd_ops, t, O_RDWR | (flags & TFD_NONBLOCK));
    if (!f) {
        kfree(t);
        return -ENOMEM;
    }
    return anon_fd_install(f, flags & TFD_CLOEXEC);
}

/* The timerfd behind fd: -EBADF when fd is not open, -EINVAL when it is another file. */
static long timerfd_get(int fd, struct timerfd **out)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (f->ops != &timerfd_ops)
        return -EINVAL;
    *out = f->priv;
    return 0;
}

static bool spec_ok(s64 sec, s64 nsec) { return sec >= 0 && nsec >= 0 && nsec < (s64)NSEC_PER_SEC; }

static u64 to_ns(s64 sec, s64 nsec)
{
    if ((u64)sec >= NS_MAX / NSEC_PER_SEC)
        return NS_MAX;
    return (u64)sec * NSEC_PER_SEC + (u64)nsec;
}

static void current_setting(struct timerfd *t, struct tfd_spec *out)
{
    catch_up(t);
    u64 left = 0;
    if (t->armed) {
        u64 now = clock_now(t);
        left = t->next > now ? t->next - now : 0;
    }
    *out = (struct tfd_spec){
        .interval_sec = (s64)(t->interval / NSEC_PER_SEC),
        .interval_nsec = (s64)(t->interval % NSEC_PER_SEC),
        .value_sec = (s64)(left / NSEC_PER_SEC),
        .value_nsec = (s64)(left % NSEC_PER_SEC),
    };
}

long timerfd_gettime(int fd, struct tfd_spec *cur)
{
    struct timerfd *t;
    long r = timerfd_get(fd, &t);
    if (r < 0)
        return r;
    current_setting(t, cur);
    return 0;
}

long timerfd_settime(int fd, int flags, const struct tfd_spec *new, struct tfd_spec *old)
{
    if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) ||
        !spec_ok(new->value_sec, new->value_nsec) || !spec_ok(new->interval_sec, new->interval_nsec))
        return -EINVAL; /* before the fd, as Linux */
    struct timerfd *t;
    long r = timerfd_get(fd, &t);
    if (r < 0)
        return r;
    /* TFD_TIMER_CANCEL_ON_SET is accepted: the guest's wall clock is never set, so the
     * cancellation it asks for (read fails with ECANCELED) never happens. */
    if (old)
        current_setting(t, old);
    ktimer_cancel(&t->timer);
    t->ticks = 0;
    t->interval = to_ns(new->interval_sec, new->interval_nsec);
    u64 value = to_ns(new->value_sec, new->value_nsec);
    t->armed = value != 0;
    if (t->armed) {
        u64 base = (flags & TFD_TIMER_ABSTIME) ? 0 : clock_now(t);
        t->next = value > NS_MAX - base ? NS_MAX : base + value;
        catch_up(t); /* an absolute time in the past expires at once */
    }
    schedule_wakeup(t);
    if (t->ticks)
        waitq_wake(&t->wq, -1);
    readiness_changed();
    return 0;
}
