/* SPDX-License-Identifier: Apache-2.0 */
/* msg.c: sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg. */
#include <libos/heap.h>
#include <libos/time.h>
#include "net.h"

#define NSEC_PER_SEC 1000000000ul

/* sys_sendto: Linux sendto(2): the buffer range, the fd, then the name. */
long sys_sendto(const struct shim_args *a)
{
    struct net_msg *nm = kmalloc(sizeof(*nm));
    if (!nm)
        return -ENOMEM;
    long r = net_buf_import(nm, arg_uptr(a, 1), arg_u64(a, 2));
    struct socket *s = NULL;
    if (r == 0)
        r = sock_from_fd(arg_int(a, 0), &s);
    u64 uaddr = arg_uptr(a, 4);
    if (r == 0 && uaddr) {
        int len = arg_int(a, 5);
        r = net_addr_in(uaddr, len, nm->name);
        nm->m.name = nm->name;
        nm->m.namelen = (u32)len;
    }
    if (r == 0)
        r = sock_sendmsg(s, &nm->m, arg_int(a, 3));
    kfree(nm);
    return r;
}

/* sys_recvfrom: Linux recvfrom(2): the sender's name when asked. */
long sys_recvfrom(const struct shim_args *a)
{
    struct net_msg *nm = kmalloc(sizeof(*nm));
    if (!nm)
        return -ENOMEM;
    long r = net_buf_import(nm, arg_uptr(a, 1), arg_u64(a, 2));
    struct socket *s = NULL;
    if (r == 0)
        r = sock_from_fd(arg_int(a, 0), &s);
    if (r == 0) {
        nm->m.name = nm->name;
        r = sock_recvmsg(s, &nm->m, arg_int(a, 3));
    }
    u64 uaddr = arg_uptr(a, 4);
    if (r >= 0 && uaddr) {
        long r2 = net_addr_out(nm->name, nm->m.namelen, uaddr, arg_uptr(a, 5));
        if (r2 < 0)
            r = r2;
    }
    kfree(nm);
    return r;
}

/* sys_sendmsg: Linux sendmsg(2): names, iovecs (UIO_MAXIOV), control messages (SCM_RIGHTS, SCM_CREDENTIALS). */
long sys_sendmsg(const struct shim_args *a)
{
    int flags = arg_int(a, 2);
    if ((unsigned)flags & MSG_CMSG_COMPAT)
        return -EINVAL;
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    return r < 0 ? r : net_sendmsg_one(s, arg_uptr(a, 1), flags);
}

/* sys_recvmsg: Linux recvmsg(2): names, iovecs, control messages (MSG_CTRUNC, MSG_CMSG_CLOEXEC). */
long sys_recvmsg(const struct shim_args *a)
{
    int flags = arg_int(a, 2);
    if ((unsigned)flags & MSG_CMSG_COMPAT)
        return -EINVAL;
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    return r < 0 ? r : net_recvmsg_one(s, arg_uptr(a, 1), flags);
}

/* sys_sendmmsg: Linux sendmmsg(2): up to UIO_MAXIOV messages; the count sent, or the first error. */
long sys_sendmmsg(const struct shim_args *a)
{
    int flags = arg_int(a, 3);
    if ((unsigned)flags & MSG_CMSG_COMPAT)
        return -EINVAL;
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    u64 vec = arg_uptr(a, 1);
    unsigned vlen = MIN(arg_uint(a, 2), (unsigned)UIO_MAXIOV);
    unsigned done = 0;
    for (; done < vlen; done++) {
        u64 entry = vec + done * sizeof(struct user_mmsghdr);
        r = net_sendmsg_one(s, entry, flags);
        if (r < 0)
            break;
        u32 len = (u32)r;
        r = copy_to_user(entry + __builtin_offsetof(struct user_mmsghdr, len), &len, sizeof(len));
        if (r < 0)
            break;
    }
    return done ? (long)done : r;
}

/* sys_recvmmsg: Linux recvmmsg(2): MSG_WAITFORONE; the timeout is checked after each message, as Linux. */
long sys_recvmmsg(const struct shim_args *a)
{
    int flags = arg_int(a, 3);
    if ((unsigned)flags & MSG_CMSG_COMPAT)
        return -EINVAL;
    u64 uts = arg_uptr(a, 4);
    u64 end = 0;
    if (uts) {
        struct linux_timespec ts;
        if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
            return -EFAULT;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (s64)NSEC_PER_SEC)
            return -EINVAL;
        end = time_mono_ns() + (u64)ts.tv_sec * NSEC_PER_SEC + (u64)ts.tv_nsec;
    }
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    if (s->so_error) { /* a pending error is reported first, and cleared */
        r = -s->so_error;
        s->so_error = 0;
        return r;
    }
    u64 vec = arg_uptr(a, 1);
    unsigned vlen = MIN(arg_uint(a, 2), (unsigned)UIO_MAXIOV);
    unsigned done = 0;
    r = 0;
    while (done < vlen) {
        u64 entry = vec + done * sizeof(struct user_mmsghdr);
        r = net_recvmsg_one(s, entry, flags & ~MSG_WAITFORONE);
        if (r < 0)
            break;
        u32 len = (u32)r;
        r = copy_to_user(entry + __builtin_offsetof(struct user_mmsghdr, len), &len, sizeof(len));
        if (r < 0)
            break;
        done++;
        if (flags & MSG_WAITFORONE)
            flags |= MSG_DONTWAIT;
        if (uts && time_mono_ns() >= end)
            break;
    }
    if (uts && done) {
        u64 now = time_mono_ns(), left = now < end ? end - now : 0;
        struct linux_timespec ts = {(s64)(left / NSEC_PER_SEC), (s64)(left % NSEC_PER_SEC)};
        if (copy_to_user(uts, &ts, sizeof(ts)) < 0)
            return -EFAULT;
    }
    if (r == 0 || done == 0)
        return done ? (long)done : r;
    if (r != -EAGAIN)
        s->so_error = (int)-r; /* reported by the next call, as Linux's sk_err */
    return done;
}
