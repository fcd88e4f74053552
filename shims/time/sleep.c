/* SPDX-License-Identifier: Apache-2.0 */
/* sleep.c: nanosleep and clock_nanosleep. */
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#include "time_ids.h"

static long get_timespec(u64 uts, u64 *ns)
{
    struct linux_timespec ts;
    if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (s64)NSEC_PER_SEC)
        return -EINVAL;
    *ns = (u64)ts.tv_sec * NSEC_PER_SEC + (u64)ts.tv_nsec;
    return 0;
}

/* sys_nanosleep: Linux nanosleep(2): halts on the LAPIC timer until the deadline. */
long sys_nanosleep(const struct shim_args *a)
{
    u64 ns;
    long r = get_timespec(arg_uptr(a, 0), &ns);
    if (r < 0)
        return r;
    time_sleep_until(time_mono_ns() + ns);
    return 0;
}

/* sys_clock_nanosleep: Linux clock_nanosleep(2), relative or TIMER_ABSTIME. */
long sys_clock_nanosleep(const struct shim_args *a)
{
    int id = arg_int(a, 0), flags = arg_int(a, 1);
    if (id == CLOCK_THREAD_CPUTIME_ID)
        return -EINVAL;
    u64 now, ns;
    long r = time_clock_ns(id, &now);
    if (r < 0)
        return r;
    r = get_timespec(arg_uptr(a, 2), &ns);
    if (r < 0)
        return r;
    u64 mono = time_mono_ns();
    if (flags & TIMER_ABSTIME)
        time_sleep_until(ns > now ? mono + (ns - now) : mono);
    else
        time_sleep_until(mono + ns);
    return 0;
}
