/* SPDX-License-Identifier: Apache-2.0 */
/* epoll.c: epoll_create/create1, epoll_ctl, epoll_wait/pwait/pwait2 (the object is libos/fs/epoll.c). */
#include <libos/epoll.h>
#include <libos/heap.h>

#include "../io/timeout.h"

/* Linux's EP_MAX_EVENTS: the output array must fit in INT_MAX bytes. */
#define MAX_EVENTS (0x7fffffff / (int)sizeof(struct kepoll_event))

/* sys_epoll_create: Linux epoll_create(2): the size hint must be positive, then ignored. */
long sys_epoll_create(const struct shim_args *a) { return arg_int(a, 0) <= 0 ? -EINVAL : epoll_create(0); }

/* sys_epoll_create1: Linux epoll_create1(2): EPOLL_CLOEXEC only. */
long sys_epoll_create1(const struct shim_args *a) { return epoll_create(arg_int(a, 0)); }

/* sys_epoll_ctl: Linux epoll_ctl(2); the event is read for every op but DEL (as Linux). */
long sys_epoll_ctl(const struct shim_args *a)
{
    int op = arg_int(a, 1);
    struct kepoll_event ev;
    if (op != EPOLL_CTL_DEL && copy_from_user(&ev, arg_uptr(a, 3), sizeof(ev)) < 0)
        return -EFAULT;
    return epoll_ctl(arg_int(a, 0), op, arg_int(a, 2), op != EPOLL_CTL_DEL ? &ev : NULL);
}

/* Wait into a kernel array (at most the interest list can be ready at once: bounded
 * by a page's worth per call, as a short count is always allowed), then copy out. */
static long do_wait(const struct shim_args *a, u64 deadline, const u64 *sigmask)
{
    int max = arg_int(a, 2);
    u64 uevents = arg_uptr(a, 1);
    if (max <= 0 || max > MAX_EVENTS)
        return -EINVAL;
    u32 n = (u32)MIN(max, 4096 / (int)sizeof(struct kepoll_event));
    struct kepoll_event *ev = kmalloc(n * sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    long r = epoll_wait(arg_int(a, 0), ev, n, deadline, sigmask);
    if (r > 0 && copy_to_user(uevents, ev, (size_t)r * sizeof(*ev)) < 0)
        r = -EFAULT;
    kfree(ev);
    return r;
}

static u64 ms_deadline(int ms)
{
    return ms < 0 ? POLL_FOREVER : io_deadline((u64)ms / 1000, (u64)ms % 1000 * 1000000);
}

/* sys_epoll_wait: Linux epoll_wait(2): a timeout in ms (negative: forever); EINTR, never restarted. */
long sys_epoll_wait(const struct shim_args *a) { return do_wait(a, ms_deadline(arg_int(a, 3)), NULL); }

/* sys_epoll_pwait: Linux epoll_pwait(2): as epoll_wait with ppoll's temporary mask. */
long sys_epoll_pwait(const struct shim_args *a)
{
    u64 mask;
    const u64 *sigmask;
    long r = io_get_sigmask(arg_uptr(a, 4), arg_u64(a, 5), &mask, &sigmask);
    return r < 0 ? r : do_wait(a, ms_deadline(arg_int(a, 3)), sigmask);
}

/* sys_epoll_pwait2: Linux epoll_pwait2(2): a struct timespec timeout (NULL: forever), not written back. */
long sys_epoll_pwait2(const struct shim_args *a)
{
    u64 deadline, mask;
    const u64 *sigmask;
    long r = io_get_timespec(arg_uptr(a, 3), &deadline);
    if (r == 0)
        r = io_get_sigmask(arg_uptr(a, 4), arg_u64(a, 5), &mask, &sigmask);
    return r < 0 ? r : do_wait(a, deadline, sigmask);
}
