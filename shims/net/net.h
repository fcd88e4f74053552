/* SPDX-License-Identifier: Apache-2.0 */
/* net.h: the net family's user<->kernel copies: socket names, message headers, iovecs (Linux's move_addr_to_*, __copy_msghdr, import_iovec). */
#ifndef SHIMS_NET_NET_H
#define SHIMS_NET_NET_H

#include <libos/socket.h>
#include <libos/uaccess.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define UIO_MAXIOV 1024
#define UIO_FASTIOV 8
#define MAX_RW_COUNT 0x7ffff000ul
#define MSG_CMSG_COMPAT 0x80000000u
#define CTL_SEND_MAX 131072u /* net.core.optmem_max: a larger control buffer is ENOBUFS */
#define CTL_RECV_MAX 4096u   /* room given to a receiver's control messages */

struct user_msghdr {
    u64 name;
    s32 namelen;
    u32 pad0;
    u64 iov, iovlen, control, controllen;
    s32 flags;
    u32 pad1;
};
_Static_assert(sizeof(struct user_msghdr) == 56, "struct msghdr");

struct user_mmsghdr {
    struct user_msghdr hdr;
    u32 len;
    u32 pad;
};
_Static_assert(sizeof(struct user_mmsghdr) == 64, "struct mmsghdr");

/* Linux's move_addr_to_kernel: 0..SOCKADDR_MAX bytes of name. */
static inline long net_addr_in(u64 uaddr, int len, void *kaddr)
{
    if (len < 0 || len > SOCKADDR_MAX)
        return -EINVAL;
    if (len == 0)
        return 0;
    return copy_from_user(kaddr, uaddr, (size_t)len) < 0 ? -EFAULT : 0;
}

/* Linux's move_addr_to_user: the caller's room from *ulen, at most klen bytes copied,
 * the full length klen written back to *ulen. */
static inline long net_addr_out(const void *kaddr, u32 klen, u64 uaddr, u64 ulen)
{
    int len;
    if (copy_from_user(&len, ulen, sizeof(len)) < 0)
        return -EFAULT;
    if ((u32)len > klen)
        len = (int)klen;
    if (len < 0)
        return -EINVAL;
    if (len && copy_to_user(uaddr, kaddr, (size_t)len) < 0)
        return -EFAULT;
    int k = (int)klen;
    return copy_to_user(ulen, &k, sizeof(k)) < 0 ? -EFAULT : 0;
}

/* A kernel view of one user message (sendmsg/recvmsg and their batches). */
struct net_msg {
    struct kmsg m;
    struct kiovec fast[UIO_FASTIOV];
    u8 name[SOCKADDR_MAX];
    u64 uname;      /* the user's name buffer (recv), or 0 */
    u64 ucontrol;   /* the user's control buffer, or 0 */
    u32 ucontrollen;
};

long net_msg_import(struct net_msg *nm, u64 umsg, bool send);
void net_msg_free(struct net_msg *nm);
/* One sendmsg/recvmsg of a message header at umsg (Linux's ___sys_sendmsg/recvmsg);
 * flags as given (MSG_CMSG_COMPAT already refused). */
long net_sendmsg_one(struct socket *s, u64 umsg, int flags);
long net_recvmsg_one(struct socket *s, u64 umsg, int flags);
/* A user buffer as a one-element message (sendto, recvfrom); EFAULT for a bad range. */
long net_buf_import(struct net_msg *nm, u64 buf, u64 len);

#endif /* SHIMS_NET_NET_H */
