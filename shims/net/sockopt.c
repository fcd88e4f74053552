/* SPDX-License-Identifier: Apache-2.0 */
/* sockopt.c: setsockopt and getsockopt: copy the option value in and out; the socket layer decides. */
#include "net.h"

#define OPT_MAX 512 /* the largest option value copied (TCP_INFO is 240 bytes) */
#define SO_BINDTODEVICE 25

/* sys_setsockopt: Linux setsockopt(2): EINVAL for a negative length before the fd. */
long sys_setsockopt(const struct shim_args *a)
{
    int level = arg_int(a, 1), name = arg_int(a, 2), len = arg_int(a, 4);
    if (len < 0)
        return -EINVAL;
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    /* sk_setsockopt refuses a short int before reading it. */
    if (level == SOL_SOCKET && name != SO_BINDTODEVICE && len < (int)sizeof(int))
        return -EINVAL;
    u8 val[OPT_MAX];
    u32 n = (u32)MIN(len, OPT_MAX);
    if (n && copy_from_user(val, arg_uptr(a, 3), n) < 0)
        return -EFAULT;
    return sock_setsockopt(s, level, name, val, n);
}

/* sys_getsockopt: Linux getsockopt(2): the value truncated to the caller's length, the length written back. */
long sys_getsockopt(const struct shim_args *a)
{
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    u64 uval = arg_uptr(a, 3), ulen = arg_uptr(a, 4);
    int len;
    if (copy_from_user(&len, ulen, sizeof(len)) < 0)
        return -EFAULT;
    if (len < 0)
        return -EINVAL;
    u8 val[OPT_MAX];
    u32 n = (u32)MIN(len, OPT_MAX);
    r = sock_getsockopt(s, arg_int(a, 1), arg_int(a, 2), val, &n);
    if (r < 0)
        return r;
    if (n && copy_to_user(uval, val, n) < 0)
        return -EFAULT;
    return shim_put_int(ulen, (int)n);
}
