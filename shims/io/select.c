/* SPDX-License-Identifier: Apache-2.0 */
/* select.c: select and pselect6: copy the fd sets and the timeout in, wait in libos, copy results out. */
#include "timeout.h"

#define SET_BYTES(n) (ALIGN_UP((size_t)(n), 64u) / 8) /* whole longs, as Linux copies them */

static long do_select(int n, const u64 uset[3], u64 deadline, const u64 *sigmask)
{
    if (n < 0)
        return -EINVAL;
    u32 nfds = MIN((u32)n, (u32)SELECT_FD_MAX); /* Linux ignores bits past its fd table */
    u64 sets[3][SELECT_FD_MAX / 64];
    for (int s = 0; s < 3; s++)
        if (uset[s] && copy_from_user(sets[s], uset[s], SET_BYTES(nfds)) < 0)
            return -EFAULT;
    long r = vfs_select(nfds, uset[0] ? sets[0] : NULL, uset[1] ? sets[1] : NULL,
                        uset[2] ? sets[2] : NULL, deadline, sigmask);
    for (int s = 0; r >= 0 && s < 3; s++)
        if (uset[s] && copy_to_user(uset[s], sets[s], SET_BYTES(nfds)) < 0)
            r = -EFAULT;
    return r;
}

/* sys_select: Linux select(2), writing the time left back into the timeval. */
long sys_select(const struct shim_args *a)
{
    u64 utv = arg_uptr(a, 4), deadline = POLL_FOREVER;
    if (utv) {
        struct linux_timeval tv;
        if (copy_from_user(&tv, utv, sizeof(tv)) < 0)
            return -EFAULT;
        if (tv.tv_sec < 0 || tv.tv_usec < 0)
            return -EINVAL;
        /* Linux carries whole seconds out of tv_usec (both halves < 2^63: no overflow). */
        u64 sec = (u64)tv.tv_sec + (u64)(tv.tv_usec / USEC_PER_SEC);
        deadline = io_deadline(sec, (u64)(tv.tv_usec % USEC_PER_SEC) * 1000);
    }
    const u64 uset[3] = {arg_uptr(a, 1), arg_uptr(a, 2), arg_uptr(a, 3)};
    long r = do_select(arg_int(a, 0), uset, deadline, NULL);
    u64 left;
    if (utv && io_remaining(deadline, &left)) {
        struct linux_timeval tv = {(s64)(left / NSEC_PER_SEC), (s64)(left % NSEC_PER_SEC / 1000)};
        copy_to_user(utv, &tv, sizeof(tv)); /* Linux ignores a fault here */
    }
    return r;
}

/* sys_pselect6: Linux pselect6(2): sixth argument {sigset pointer, size}; the time left is written back. */
long sys_pselect6(const struct shim_args *a)
{
    struct {
        u64 mask, size;
    } pack = {0, 0};
    if (arg_uptr(a, 5) && copy_from_user(&pack, arg_uptr(a, 5), sizeof(pack)) < 0)
        return -EFAULT;
    u64 uts = arg_uptr(a, 4), deadline, mask;
    const u64 *sigmask;
    long r = io_get_timespec(uts, &deadline);
    if (r < 0)
        return r;
    r = io_get_sigmask(pack.mask, pack.size, &mask, &sigmask);
    if (r < 0)
        return r;
    const u64 uset[3] = {arg_uptr(a, 1), arg_uptr(a, 2), arg_uptr(a, 3)};
    r = do_select(arg_int(a, 0), uset, deadline, sigmask);
    io_put_timespec(uts, deadline);
    return r;
}
