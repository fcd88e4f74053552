/* SPDX-License-Identifier: Apache-2.0 */
/* ptimer.c: POSIX timers: timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete (kernel/timers.c). */
#include <libos/timers.h>
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#include "time_ids.h"

struct linux_itimerspec {
    struct linux_timespec it_interval, it_value;
};

static struct linux_timespec to_ts(u64 ns)
{
    return (struct linux_timespec){(s64)(ns / NSEC_PER_SEC), (s64)(ns % NSEC_PER_SEC)};
}

static long from_ts(const struct linux_timespec *ts, u64 *ns)
{
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (s64)NSEC_PER_SEC)
        return -EINVAL;
    *ns = (u64)ts->tv_sec * NSEC_PER_SEC + (u64)ts->tv_nsec;
    return 0;
}

/* sys_timer_create: PARTIAL: SIGEV_SIGNAL, SIGEV_THREAD_ID and SIGEV_NONE on the wall and monotonic clocks; CPU-time clocks EINVAL. */
long sys_timer_create(const struct shim_args *a)
{
    struct ksigevent ev;
    u64 uev = arg_uptr(a, 1);
    if (uev && copy_from_user(&ev, uev, sizeof(ev)) < 0)
        return -EFAULT;
    long id = ptimer_create(arg_int(a, 0), uev ? &ev : NULL);
    if (id < 0)
        return id;
    if (shim_put_int(arg_uptr(a, 2), (int)id) < 0) {
        ptimer_delete((int)id);
        return -EFAULT;
    }
    return 0;
}

/* sys_timer_settime: Linux timer_settime(2), relative or TIMER_ABSTIME. */
long sys_timer_settime(const struct shim_args *a)
{
    struct linux_itimerspec nv;
    if (copy_from_user(&nv, arg_uptr(a, 2), sizeof(nv)) < 0)
        return -EFAULT;
    u64 value, interval, old_value, old_interval;
    if (from_ts(&nv.it_value, &value) < 0 || from_ts(&nv.it_interval, &interval) < 0)
        return -EINVAL;
    long r = ptimer_settime(arg_int(a, 0), arg_int(a, 1) & TIMER_ABSTIME, value, interval,
                            &old_value, &old_interval);
    if (r < 0)
        return r;
    struct linux_itimerspec old = {to_ts(old_interval), to_ts(old_value)};
    return arg_uptr(a, 3) ? copy_to_user(arg_uptr(a, 3), &old, sizeof(old)) : 0;
}

/* sys_timer_gettime: Linux timer_gettime(2). */
long sys_timer_gettime(const struct shim_args *a)
{
    u64 value, interval;
    long r = ptimer_gettime(arg_int(a, 0), &value, &interval);
    if (r < 0)
        return r;
    struct linux_itimerspec cur = {to_ts(interval), to_ts(value)};
    return copy_to_user(arg_uptr(a, 1), &cur, sizeof(cur));
}

/* sys_timer_getoverrun: Linux timer_getoverrun(2). */
long sys_timer_getoverrun(const struct shim_args *a)
{
    return ptimer_getoverrun(arg_int(a, 0));
}

/* sys_timer_delete: Linux timer_delete(2). */
long sys_timer_delete(const struct shim_args *a)
{
    return ptimer_delete(arg_int(a, 0));
}
