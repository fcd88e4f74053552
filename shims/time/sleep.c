/* SPDX-License-Identifier: Apache-2.0 */
/* sleep.c: nanosleep and clock_nanosleep. */
#include <libos/task.h>
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

/* sys_nanosleep: Linux nanosleep(2): blocks this thread; a signal ends it with the time left (restart_syscall). */
long sys_nanosleep(const struct shim_args *a)
{
    u64 ns;
    long r = get_timespec(arg_uptr(a, 0), &ns);
    if (r < 0)
        return r;
    return task_nanosleep(time_mono_ns() + ns, CLOCK_MONOTONIC, false, arg_uptr(a, 1));
}

/* sys_clock_nanosleep: Linux clock_nanosleep(2), relative or TIMER_ABSTIME. */
long sys_clock_nanosleep(const struct shim_args *a)
{
    int id = arg_int(a, 0), flags = arg_int(a, 1);
    if (id == CLOCK_THREAD_CPUTIME_ID)
        return -EINVAL;
    if (id == CLOCK_PROCESS_CPUTIME_ID)
        return -EOPNOTSUPP; /* sleeping until the process has used CPU time: not kept as a timer */
    u64 now, ns;
    long r = time_clock_ns(id, &now);
    if (r < 0)
        return r;
    r = get_timespec(arg_uptr(a, 2), &ns);
    if (r < 0)
        return r;
    u64 mono = time_mono_ns();
    if (flags & TIMER_ABSTIME)
        return task_nanosleep(ns > now ? mono + (ns - now) : mono, id, true, 0);
    return task_nanosleep(mono + ns, id, false, arg_uptr(a, 3));
}
