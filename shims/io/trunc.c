/* SPDX-License-Identifier: Apache-2.0 */
/* trunc.c: ftruncate and fallocate: change the size or the allocation of an open file. */
#include <shim/util.h>

/* sys_ftruncate: Linux ftruncate(2): the fd must be open for writing (else EINVAL). */
long sys_ftruncate(const struct shim_args *a)
{
    if (arg_long(a, 1) < 0)
        return -EINVAL;
    struct file *f = fd_get(arg_int(a, 0));
    return f ? vfs_ftruncate(f, arg_long(a, 1)) : -EBADF;
}

/* sys_fallocate: PARTIAL: mode 0 and FALLOC_FL_KEEP_SIZE reserve pages; other modes -> EOPNOTSUPP. */
long sys_fallocate(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    return f ? vfs_fallocate(f, arg_int(a, 1), arg_long(a, 2), arg_long(a, 3)) : -EBADF;
}
