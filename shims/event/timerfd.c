/* SPDX-License-Identifier: Apache-2.0 */
/* timerfd.c: timerfd_create, timerfd_settime and timerfd_gettime (the timer object is libos/fs/timerfd.c). */
#include <libos/eventfds.h>
#include <libos/uaccess.h>
#include <shim/linux_abi.h>
#include <shim/shim.h>

/* struct itimerspec of the Linux ABI. */
struct linux_itimerspec {
    struct linux_timespec it_interval, it_value;
};
_Static_assert(sizeof(struct linux_itimerspec) == 32, "struct itimerspec");

static struct tfd_spec from_linux(const struct linux_itimerspec *l)
{
    return (struct tfd_spec){l->it_interval.tv_sec, l->it_interval.tv_nsec, l->it_value.tv_sec,
                             l->it_value.tv_nsec};
}

static struct linux_itimerspec to_linux(const struct tfd_spec *s)
{
    return (struct linux_itimerspec){{s->interval_sec, s->interval_nsec}, {s->value_sec, s->value_nsec}};
}

/* sys_timerfd_create: PARTIAL: BOOTTIME = MONOTONIC; the _ALARM clocks for euid 0 only. */
long sys_timerfd_create(const struct shim_args *a) { return timerfd_create(arg_int(a, 0), arg_int(a, 1)); }

/* sys_timerfd_settime: PARTIAL: TFD_TIMER_CANCEL_ON_SET never cancels (the clock is never set). */
long sys_timerfd_settime(const struct shim_args *a)
{
    struct linux_itimerspec lnew, lold;
    if (copy_from_user(&lnew, arg_uptr(a, 2), sizeof(lnew)) < 0)
        return -EFAULT;
    struct tfd_spec new = from_linux(&lnew), old;
    long r = timerfd_settime(arg_int(a, 0), arg_int(a, 1), &new, arg_uptr(a, 3) ? &old : NULL);
    if (r < 0 || !arg_uptr(a, 3))
        return r;
    lold = to_linux(&old);
    return copy_to_user(arg_uptr(a, 3), &lold, sizeof(lold));
}

/* sys_timerfd_gettime: Linux timerfd_gettime(2): the time left and the interval. */
long sys_timerfd_gettime(const struct shim_args *a)
{
    struct tfd_spec cur;
    long r = timerfd_gettime(arg_int(a, 0), &cur);
    if (r < 0)
        return r;
    struct linux_itimerspec l = to_linux(&cur);
    return copy_to_user(arg_uptr(a, 1), &l, sizeof(l));
}
