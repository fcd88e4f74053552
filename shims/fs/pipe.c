/* SPDX-License-Identifier: Apache-2.0 */
/* pipe.c: pipe and pipe2: decode the flags, make the pipe (libos/fs/pipe.c), copy the two fds out. */
#include <libos/pipe.h>
#include <libos/vfs.h>
#include <shim/util.h>

/* Linux copies the fds out before installing them, so a bad array leaves no fd
 * behind; here they are installed first and closed again on EFAULT. */
static long make(u64 uptr, int flags)
{
    int fds[2];
    if (!user_range_ok(uptr, sizeof(fds)))
        return -EFAULT;
    long r = pipe_create(fds, flags);
    if (r < 0)
        return r;
    if (copy_to_user(uptr, fds, sizeof(fds)) < 0) {
        fd_close(fds[0]);
        fd_close(fds[1]);
        return -EFAULT;
    }
    return 0;
}

/* sys_pipe: PARTIAL: see the .def note (threads of one process). */
long sys_pipe(const struct shim_args *a) { return make(arg_u64(a, 0), 0); }

/* sys_pipe2: PARTIAL: O_CLOEXEC and O_NONBLOCK; anything else -> EINVAL. */
long sys_pipe2(const struct shim_args *a) { return make(arg_u64(a, 0), arg_int(a, 1)); }
