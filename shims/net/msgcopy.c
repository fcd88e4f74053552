/* SPDX-License-Identifier: Apache-2.0 */
/* msgcopy.c: message headers, iovecs and control buffers copied between the program and the socket layer, in Linux's order of checks. */
#include <libos/heap.h>
#include <libos/string.h>
#include "net.h"

/* Linux's import_iovec: every element read, a negative length EINVAL, a range
 * outside user space EFAULT; the total is capped at MAX_RW_COUNT. */
static long import_iov(struct net_msg *nm, u64 uiov, u64 n)
{
    struct kiovec *iov = nm->fast;
    if (n > UIO_FASTIOV) {
        iov = kmalloc(n * sizeof(*iov));
        if (!iov)
            return -ENOMEM;
    }
    nm->m.iov = iov;
    nm->m.iovlen = (u32)n;
    u64 total = 0;
    for (u64 i = 0; i < n; i++) {
        struct linux_iovec v;
        if (copy_from_user(&v, uiov + i * sizeof(v), sizeof(v)) < 0)
            return -EFAULT;
        if ((s64)v.len < 0)
            return -EINVAL;
        if (!user_range_ok(v.base, v.len))
            return -EFAULT;
        v.len = MIN(v.len, MAX_RW_COUNT - total);
        total += v.len;
        iov[i] = (struct kiovec){v.base, v.len};
    }
    return 0;
}

void net_msg_free(struct net_msg *nm)
{
    if (nm->m.iov && nm->m.iov != nm->fast)
        kfree(nm->m.iov);
    kfree(nm->m.control);
    nm->m.iov = NULL;
    nm->m.control = NULL;
}

long net_buf_import(struct net_msg *nm, u64 buf, u64 len)
{
    memset(nm, 0, sizeof(*nm));
    if (!user_range_ok(buf, len))
        return -EFAULT;
    nm->fast[0] = (struct kiovec){buf, MIN(len, MAX_RW_COUNT)};
    nm->m.iov = nm->fast;
    nm->m.iovlen = 1;
    return 0;
}

/* Linux's copy_msghdr_from_user + import_iovec, then (send) the control buffer. */
long net_msg_import(struct net_msg *nm, u64 umsg, bool send)
{
    memset(nm, 0, sizeof(*nm));
    struct user_msghdr h;
    if (copy_from_user(&h, umsg, sizeof(h)) < 0)
        return -EFAULT;
    s32 namelen = h.name ? h.namelen : 0;
    if (namelen < 0)
        return -EINVAL;
    namelen = MIN(namelen, SOCKADDR_MAX);
    nm->uname = h.name;
    if (send && h.name && namelen) {
        if (copy_from_user(nm->name, h.name, (size_t)namelen) < 0)
            return -EFAULT;
        nm->m.name = nm->name;
        nm->m.namelen = (u32)namelen;
    }
    if (!send)
        nm->m.name = nm->name; /* the family fills it; copied out only when asked */
    if (h.iovlen > UIO_MAXIOV)
        return -EMSGSIZE;
    long r = import_iov(nm, h.iov, h.iovlen);
    if (r < 0)
        return r;
    nm->ucontrol = h.control;
    nm->ucontrollen = (u32)MIN(h.controllen, (u64)0xffffffffu);
    if (send) {
        if (h.controllen > 0x7fffffff)
            return -ENOBUFS;
        if (h.controllen) {
            if (h.controllen > CTL_SEND_MAX)
                return -ENOBUFS;
            nm->m.control = kmalloc(h.controllen);
            if (!nm->m.control)
                return -ENOBUFS;
            nm->m.controllen = (u32)h.controllen;
            if (copy_from_user(nm->m.control, h.control, h.controllen) < 0)
                return -EFAULT;
        }
    } else if (h.control && h.controllen) {
        u32 room = (u32)MIN(h.controllen, (u64)CTL_RECV_MAX);
        nm->m.control = kzalloc(room);
        if (!nm->m.control)
            return -ENOBUFS;
        nm->m.controllen = room;
    } else if (h.control) {
        nm->m.control = kzalloc(1); /* a buffer with no room: MSG_CTRUNC, as Linux */
        if (!nm->m.control)
            return -ENOBUFS;
        nm->m.controllen = 0;
    }
    return 0;
}

long net_sendmsg_one(struct socket *s, u64 umsg, int flags)
{
    struct net_msg *nm = kmalloc(sizeof(*nm));
    if (!nm)
        return -ENOMEM;
    long r = net_msg_import(nm, umsg, true);
    if (r == 0)
        r = sock_sendmsg(s, &nm->m, flags);
    net_msg_free(nm);
    kfree(nm);
    return r;
}

long net_recvmsg_one(struct socket *s, u64 umsg, int flags)
{
    struct net_msg *nm = kmalloc(sizeof(*nm));
    if (!nm)
        return -ENOMEM;
    long r = net_msg_import(nm, umsg, false);
    if (r == 0)
        r = sock_recvmsg(s, &nm->m, flags);
    if (r >= 0) {
        long len = r;
        struct user_msghdr *um = (struct user_msghdr *)umsg;
        if (nm->uname)
            r = net_addr_out(nm->name, nm->m.namelen, nm->uname, (u64)&um->namelen);
        /* Control messages the family wrote, then the flags and the length used. */
        if (r >= 0 && nm->m.ctl_used && copy_to_user(nm->ucontrol, nm->m.control, nm->m.ctl_used) < 0)
            r = -EFAULT;
        int fl = nm->m.flags | (flags & MSG_CMSG_CLOEXEC); /* Linux reports the CLOEXEC bit back */
        if (r >= 0 && copy_to_user((u64)&um->flags, &fl, sizeof(fl)) < 0)
            r = -EFAULT;
        u64 used = nm->m.ctl_used;
        if (r >= 0 && copy_to_user((u64)&um->controllen, &used, sizeof(used)) < 0)
            r = -EFAULT;
        if (r >= 0)
            r = len;
    }
    net_msg_free(nm);
    kfree(nm);
    return r;
}
