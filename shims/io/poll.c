/* SPDX-License-Identifier: Apache-2.0 */
/* poll.c: poll and ppoll: copy the pollfd array and the timeout in, wait in libos, copy results out. */
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/task.h>

#include "timeout.h"

static long do_poll(u64 ufds, unsigned n, u64 deadline, const u64 *sigmask)
{
    if (n > current_process()->rlim[RLIMIT_NOFILE].cur)
        return -EINVAL;
    size_t bytes = (size_t)n * sizeof(struct kpollfd);
    struct kpollfd *fds = n ? kmalloc(bytes) : NULL;
    if (n && !fds)
        return -ENOMEM;
    long r = copy_from_user(fds, ufds, bytes);
    if (r == 0)
        r = vfs_poll(fds, n, deadline, sigmask);
    if (r >= 0 && copy_to_user(ufds, fds, bytes) < 0)
        r = -EFAULT;
    kfree(fds);
    return r;
}

/* sys_poll: Linux poll(2); see the .def note for the console. */
long sys_poll(const struct shim_args *a)
{
    int ms = arg_int(a, 2);
    u64 deadline = ms < 0 ? POLL_FOREVER : io_deadline((u64)ms / 1000, (u64)ms % 1000 * 1000000);
    return do_poll(arg_uptr(a, 0), arg_uint(a, 1), deadline, NULL);
}

/* sys_ppoll: Linux ppoll(2): the mask is the blocked set during the wait; the time left is written back. */
long sys_ppoll(const struct shim_args *a)
{
    u64 uts = arg_uptr(a, 2), deadline, mask;
    const u64 *sigmask;
    long r = io_get_timespec(uts, &deadline);
    if (r < 0)
        return r;
    r = io_get_sigmask(arg_uptr(a, 3), arg_u64(a, 4), &mask, &sigmask);
    if (r < 0)
        return r;
    r = do_poll(arg_uptr(a, 0), arg_uint(a, 1), deadline, sigmask);
    io_put_timespec(uts, deadline);
    return r;
}
