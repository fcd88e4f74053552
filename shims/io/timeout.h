/* SPDX-License-Identifier: Apache-2.0 */
/* timeout.h: the timeouts of poll, ppoll, select and pselect6: user values to deadlines and back. */
#ifndef SHIM_IO_TIMEOUT_H
#define SHIM_IO_TIMEOUT_H

#include <libos/poll.h>
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define SIGSET_SIZE 8
#define USEC_PER_SEC 1000000l

/* A valid relative timeout as a deadline: 0 for a zero timeout (scan once; Linux then
 * writes nothing back), POLL_FOREVER beyond ~292 years. */
static inline u64 io_deadline(u64 sec, u64 nsec)
{
    if (!sec && !nsec)
        return 0;
    if (sec >= POLL_FOREVER / NSEC_PER_SEC / 2)
        return POLL_FOREVER;
    return time_mono_ns() + sec * NSEC_PER_SEC + nsec;
}

/* Time left for the write-back; false when Linux writes nothing (zero timeout; also
 * an infinite one here, whose remaining time would not fit). */
static inline bool io_remaining(u64 deadline, u64 *ns)
{
    if (deadline == 0 || deadline == POLL_FOREVER)
        return false;
    u64 now = time_mono_ns();
    *ns = deadline > now ? deadline - now : 0;
    return true;
}

/* ppoll/pselect6: a struct timespec timeout; NULL waits forever. */
static inline long io_get_timespec(u64 uts, u64 *deadline)
{
    struct linux_timespec ts;
    if (!uts) {
        *deadline = POLL_FOREVER;
        return 0;
    }
    if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (s64)NSEC_PER_SEC)
        return -EINVAL;
    *deadline = io_deadline((u64)ts.tv_sec, (u64)ts.tv_nsec);
    return 0;
}

/* Linux writes the time left back into a ppoll/pselect6 timeout; a fault there is ignored. */
static inline void io_put_timespec(u64 uts, u64 deadline)
{
    u64 left;
    if (!uts || !io_remaining(deadline, &left))
        return;
    struct linux_timespec ts = {(s64)(left / NSEC_PER_SEC), (s64)(left % NSEC_PER_SEC)};
    copy_to_user(uts, &ts, sizeof(ts));
}

/* A signal mask argument: NULL leaves the mask alone; the size must be 8 otherwise. */
static inline long io_get_sigmask(u64 umask, u64 size, u64 *mask, const u64 **out)
{
    *out = NULL;
    if (!umask)
        return 0;
    if (size != SIGSET_SIZE)
        return -EINVAL;
    if (copy_from_user(mask, umask, sizeof(*mask)) < 0)
        return -EFAULT;
    *out = mask;
    return 0;
}

#endif /* SHIM_IO_TIMEOUT_H */
