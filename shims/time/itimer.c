/* SPDX-License-Identifier: Apache-2.0 */
/* itimer.c: alarm, setitimer and getitimer: SIGALRM on wall time, SIGVTALRM and SIGPROF on the process's CPU time. */
#include <libos/timers.h>
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define ITIMER_REAL 0
#define ITIMER_PROF 2
#define NSEC_PER_USEC 1000ul

static struct linux_timeval to_tv(u64 ns)
{
    /* A running timer never reads as 0 (that would mean disarmed): round up. */
    u64 us = (ns + NSEC_PER_USEC - 1) / NSEC_PER_USEC;
    return (struct linux_timeval){(s64)(us / 1000000), (s64)(us % 1000000)};
}

static long from_tv(const struct linux_timeval *tv, u64 *ns)
{
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -EINVAL;
    *ns = (u64)tv->tv_sec * NSEC_PER_SEC + (u64)tv->tv_usec * NSEC_PER_USEC;
    return 0;
}

static struct linux_itimerval get(int which)
{
    u64 value, interval;
    if (which == ITIMER_REAL)
        itimer_real_get(&value, &interval);
    else
        itimer_cpu_get(which, &value, &interval);
    return (struct linux_itimerval){to_tv(interval), to_tv(value)};
}

/* sys_getitimer: Linux getitimer(2). */
long sys_getitimer(const struct shim_args *a)
{
    int which = arg_int(a, 0);
    if (which < ITIMER_REAL || which > ITIMER_PROF)
        return -EINVAL;
    struct linux_itimerval v = get(which);
    return copy_to_user(arg_uptr(a, 1), &v, sizeof(v));
}

/* sys_setitimer: PARTIAL: ITIMER_VIRTUAL counts kernel time too (user and kernel time are not split). */
long sys_setitimer(const struct shim_args *a)
{
    int which = arg_int(a, 0);
    if (which < ITIMER_REAL || which > ITIMER_PROF)
        return -EINVAL;
    struct linux_itimerval nv = {0}, old = get(which);
    if (arg_uptr(a, 1) && copy_from_user(&nv, arg_uptr(a, 1), sizeof(nv)) < 0)
        return -EFAULT;
    u64 value, interval;
    if (from_tv(&nv.it_value, &value) < 0 || from_tv(&nv.it_interval, &interval) < 0)
        return -EINVAL;
    if (arg_uptr(a, 2) && copy_to_user(arg_uptr(a, 2), &old, sizeof(old)) < 0)
        return -EFAULT;
    if (which == ITIMER_REAL)
        itimer_real_set(value, interval, NULL, NULL);
    else
        itimer_cpu_set(which, value, interval);
    return 0;
}

/* sys_alarm: Linux alarm(2): SIGALRM after the seconds; returns the seconds left of the previous one. */
long sys_alarm(const struct shim_args *a)
{
    u64 old, interval;
    itimer_real_set((u64)arg_uint(a, 0) * NSEC_PER_SEC, 0, &old, &interval);
    /* Linux rounds to the nearest second, and a pending alarm is never 0. */
    u64 secs = (old + NSEC_PER_SEC / 2) / NSEC_PER_SEC;
    return (long)(old && !secs ? 1 : secs);
}
