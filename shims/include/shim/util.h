/* SPDX-License-Identifier: Apache-2.0 */
/* util.h: small argument helpers shared by the shim families (copy paths and integers). */
#ifndef SHIM_UTIL_H
#define SHIM_UTIL_H

#include <libos/uaccess.h>
#include <libos/vfs.h>
#include <shim/shim.h>

/* Copy a user path into buf[PATH_MAX]: 0, -EFAULT or -ENAMETOOLONG. */
static inline long shim_get_path(u64 upath, char *buf)
{
    if (!upath)
        return -EFAULT;
    long n = copy_string_from_user(buf, upath, PATH_MAX);
    return n < 0 ? n : 0;
}

static inline long shim_put_int(u64 uaddr, int v) { return copy_to_user(uaddr, &v, sizeof(v)); }
static inline long shim_put_u64(u64 uaddr, u64 v) { return copy_to_user(uaddr, &v, sizeof(v)); }

/* Fill a struct stat / statx in user memory from a vnode's attributes (shims/common/stat.c). */
long shim_put_stat(u64 uaddr, const struct vnode *n);
long shim_put_statx(u64 uaddr, const struct vnode *n, unsigned mask);

#endif /* SHIM_UTIL_H */
