/* SPDX-License-Identifier: Apache-2.0 */
/* clock.c: clock_gettime, clock_getres, gettimeofday and time. */
#include <libos/string.h>
#include <libos/task.h>
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#include "time_ids.h"

/* The clock's current value in ns, or -EINVAL for an unknown id. */
long time_clock_ns(int id, u64 *ns)
{
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_REALTIME_ALARM:
    case CLOCK_TAI:
        *ns = time_real_ns();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
        *ns = time_mono_ns();
        return 0;
    case CLOCK_PROCESS_CPUTIME_ID:
        *ns = process_cpu_ns(current_process());
        return 0;
    case CLOCK_THREAD_CPUTIME_ID:
        *ns = task_cpu_ns(current);
        return 0;
    default:
        return -EINVAL;
    }
}

/* sys_clock_gettime: PARTIAL: the CPU-time clocks count user and kernel time together. */
long sys_clock_gettime(const struct shim_args *a)
{
    u64 ns;
    long r = time_clock_ns(arg_int(a, 0), &ns);
    if (r < 0)
        return r;
    struct linux_timespec ts = {(s64)(ns / NSEC_PER_SEC), (s64)(ns % NSEC_PER_SEC)};
    return copy_to_user(arg_uptr(a, 1), &ts, sizeof(ts));
}

/* sys_clock_getres: Linux clock_getres(2): 1 ns for every clock (the TSC is finer). */
long sys_clock_getres(const struct shim_args *a)
{
    u64 ns;
    int id = arg_int(a, 0);
    if (id < 0 || id > CLOCK_TAI || time_clock_ns(id, &ns) < 0)
        return -EINVAL;
    struct linux_timespec ts = {0, 1};
    return arg_uptr(a, 1) ? copy_to_user(arg_uptr(a, 1), &ts, sizeof(ts)) : 0;
}

/* sys_gettimeofday: Linux gettimeofday(2); the timezone is always UTC (zeros). */
long sys_gettimeofday(const struct shim_args *a)
{
    u64 ns = time_real_ns();
    struct linux_timeval tv = {(s64)(ns / NSEC_PER_SEC), (s64)(ns % NSEC_PER_SEC / 1000)};
    if (arg_uptr(a, 0) && copy_to_user(arg_uptr(a, 0), &tv, sizeof(tv)) < 0)
        return -EFAULT;
    u32 tz[2] = {0, 0};
    if (arg_uptr(a, 1) && copy_to_user(arg_uptr(a, 1), tz, sizeof(tz)) < 0)
        return -EFAULT;
    return 0;
}

/* sys_time: Linux time(2). */
long sys_time(const struct shim_args *a)
{
    s64 t = (s64)(time_real_ns() / NSEC_PER_SEC);
    if (arg_uptr(a, 0) && copy_to_user(arg_uptr(a, 0), &t, sizeof(t)) < 0)
        return -EFAULT;
    return t;
}

#define ADJ_OFFSET_SINGLESHOT 0x0001
#define ADJ_OFFSET_READONLY 0x2000
#define ADJ_ADJTIME 0x8000
#define STA_UNSYNC 0x0040
#define TIME_ERROR 5

struct linux_timex {
    u32 modes;
    s64 offset, freq, maxerror, esterror;
    s32 status;
    s64 constant, precision, tolerance;
    s64 tv_sec, tv_usec;
    s64 tick, ppsfreq, jitter;
    s32 shift;
    s64 stabil, jitcnt, calcnt, errcnt, stbcnt;
    s32 tai;
    s32 pad[11];
};

/* sys_clock_adjtime: PARTIAL: CLOCK_REALTIME is read as an unsynchronised clock (TIME_ERROR,
 * STA_UNSYNC, Linux's idle values); any change needs CAP_SYS_TIME, which a Docker container
 * lacks: EPERM. Other clocks EOPNOTSUPP, unknown ones EINVAL. */
long sys_clock_adjtime(const struct shim_args *a)
{
    int id = arg_int(a, 0);
    struct linux_timex tx;
    if (copy_from_user(&tx, arg_uptr(a, 1), sizeof(tx)) < 0)
        return -EFAULT;
    u64 now;
    if (time_clock_ns(id, &now) < 0)
        return -EINVAL;
    if (id != CLOCK_REALTIME)
        return -EOPNOTSUPP;
    if (tx.modes & ADJ_ADJTIME) {
        if (!(tx.modes & ADJ_OFFSET_SINGLESHOT))
            return -EINVAL;
        if (!(tx.modes & ADJ_OFFSET_READONLY))
            return -EPERM;
    } else if (tx.modes) {
        return -EPERM;
    }
    u32 modes = tx.modes;
    memset(&tx, 0, sizeof(tx));
    tx.modes = modes;
    tx.maxerror = tx.esterror = 16000000;
    tx.status = STA_UNSYNC;
    tx.constant = 2;
    tx.precision = 1;
    tx.tolerance = 32768000;
    tx.tv_sec = (s64)(now / 1000000000ul);
    tx.tv_usec = (s64)(now % 1000000000ul / 1000);
    tx.tick = 10000;
    return copy_to_user(arg_uptr(a, 1), &tx, sizeof(tx)) < 0 ? -EFAULT : TIME_ERROR;
}
