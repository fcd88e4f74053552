/* SPDX-License-Identifier: Apache-2.0 */
/* netlink.c: AF_NETLINK sockets talking to the kernel: port ids, requests in, reply datagrams out (NETLINK_ROUTE only). */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/uaccess.h>

#include "netlink_internal.h"

#define NETLINK_ROUTE 0
#define NLMSG_HDRLEN 16
#define NL_SEND_MAX 65536u

struct sockaddr_nl {
    u16 family, pad;
    u32 pid, groups;
};

struct nlmsghdr {
    u32 len;
    u16 type, flags;
    u32 seq, pid;
};

static const struct sock_ops nl_ops;
static struct nl_sock *all;
static u32 next_auto = 0xfffff000u; /* Linux hands out negative port ids once the pid is taken */

static struct nl_sock *nl_sk(const struct socket *s) { return s->priv; }

static bool port_taken(u32 port)
{
    for (struct nl_sock *n = all; n; n = n->next)
        if (n->portid == port)
            return true;
    return false;
}

/* Linux's netlink_autobind: the process id first, then negative numbers. */
static void autobind(struct nl_sock *nl)
{
    if (nl->portid)
        return;
    u32 p = (u32)current_process()->pid;
    while (port_taken(p))
        p = next_auto--;
    nl->portid = p;
}

static long nl_create(struct socket *s, int type, int protocol)
{
    if (type != SOCK_RAW && type != SOCK_DGRAM)
        return -ESOCKTNOSUPPORT;
    if (protocol != NETLINK_ROUTE)
        return -EPROTONOSUPPORT; /* the other netlink protocols are not built */
    struct nl_sock *nl = kzalloc(sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    nl->sock = s;
    nl->next = all;
    all = nl;
    s->ops = &nl_ops;
    s->priv = nl;
    s->protocol = protocol;
    return 0;
}

long nl_queue(struct nl_sock *nl, const void *data, u32 len)
{
    if (nl->qbytes + len > nl->sock->rcvbuf)
        return -ENOBUFS;
    struct nl_dgram *d = kmalloc(sizeof(*d) + len);
    if (!d)
        return -ENOBUFS;
    d->next = NULL;
    d->len = len;
    memcpy(d->data, data, len);
    if (nl->tail)
        nl->tail->next = d;
    else
        nl->head = d;
    nl->tail = d;
    nl->qbytes += len;
    waitq_wake(&nl->wq, -1);
    readiness_changed();
    return 0;
}

static long nl_bind(struct socket *s, const void *addr, u32 len)
{
    struct nl_sock *nl = nl_sk(s);
    struct sockaddr_nl a;
    if (len < sizeof(a))
        return -EINVAL;
    memcpy(&a, addr, sizeof(a));
    if (a.family != AF_NETLINK)
        return -EINVAL;
    if (nl->portid && a.pid && a.pid != nl->portid)
        return -EINVAL;
    if (!nl->portid && a.pid) {
        if (port_taken(a.pid))
            return -EADDRINUSE;
        nl->portid = a.pid;
    }
    autobind(nl);
    nl->groups = a.groups; /* accepted; no multicast notifications are ever sent */
    return 0;
}

static long nl_connect(struct socket *s, const void *addr, u32 len, int flags)
{
    (void)flags;
    struct sockaddr_nl a;
    if (len < sizeof(a.family))
        return -EINVAL;
    memcpy(&a, addr, MIN(len, (u32)sizeof(a)));
    if (a.family == AF_UNSPEC)
        return 0;
    if (len < sizeof(a) || a.family != AF_NETLINK)
        return -EINVAL;
    if (a.pid != 0)
        return -ECONNREFUSED; /* only the kernel answers here */
    autobind(nl_sk(s));
    return 0;
}

static long nl_getname(struct socket *s, void *addr, u32 *len, bool peer)
{
    struct nl_sock *nl = nl_sk(s);
    struct sockaddr_nl a = {AF_NETLINK, 0, peer ? 0 : nl->portid, peer ? 0 : nl->groups};
    memcpy(addr, &a, sizeof(a));
    *len = sizeof(a);
    return 0;
}

static u64 iov_total(const struct kmsg *m)
{
    u64 t = 0;
    for (u32 i = 0; i < m->iovlen; i++)
        t += m->iov[i].len;
    return t;
}

/* Linux's netlink_rcv_skb: each request message in turn; malformed tails are ignored. */
static long nl_sendmsg(struct socket *s, struct kmsg *m, int flags)
{
    (void)flags;
    struct nl_sock *nl = nl_sk(s);
    if (m->namelen) {
        struct sockaddr_nl a;
        if (m->namelen < sizeof(a))
            return -EINVAL;
        memcpy(&a, m->name, sizeof(a));
        if (a.family != AF_NETLINK)
            return -EINVAL;
        if (a.pid != 0)
            return -ECONNREFUSED;
    }
    u64 len = iov_total(m);
    if (len > NL_SEND_MAX || len > s->sndbuf - 32)
        return -EMSGSIZE;
    autobind(nl);
    u8 *buf = kmalloc(len ? len : 1);
    if (!buf)
        return -ENOBUFS;
    u64 at = 0;
    for (u32 i = 0; i < m->iovlen; i++) {
        if (m->iov[i].len && uaccess_copy(buf + at, (const void *)m->iov[i].base, m->iov[i].len) < 0) {
            kfree(buf);
            return -EFAULT;
        }
        at += m->iov[i].len;
    }
    long r = 0;
    for (u64 off = 0; off + NLMSG_HDRLEN <= len && r == 0;) {
        struct nlmsghdr h;
        memcpy(&h, buf + off, sizeof(h));
        if (h.len < NLMSG_HDRLEN || h.len > len - off)
            break;
        if (h.flags & 0x1) /* NLM_F_REQUEST */
            r = nl_route_request(nl, (const struct nlmsghdr *)(buf + off), h.len);
        off += (h.len + 3u) & ~3u;
    }
    kfree(buf);
    return r < 0 ? r : (long)len;
}

static long nl_recvmsg(struct socket *s, struct kmsg *m, int flags)
{
    struct nl_sock *nl = nl_sk(s);
    u64 deadline = sock_deadline(s->rcvtimeo_ns);
    while (!nl->head) {
        if (s->so_error)
            return -sock_take_error(s);
        if (flags & MSG_DONTWAIT)
            return -EAGAIN;
        long r = sock_wait(&nl->wq, deadline);
        if (r < 0)
            return r;
    }
    struct nl_dgram *d = nl->head;
    struct sockaddr_nl from = {AF_NETLINK, 0, 0, 0};
    if (m->name) {
        memcpy(m->name, &from, sizeof(from));
        m->namelen = sizeof(from);
    }
    u64 want = iov_total(m), n = MIN(want, (u64)d->len), at = 0;
    if (want < d->len)
        m->flags |= MSG_TRUNC;
    for (u32 i = 0; i < m->iovlen && at < n; i++) {
        u64 k = MIN(m->iov[i].len, n - at);
        if (k && uaccess_copy((void *)m->iov[i].base, d->data + at, k) < 0)
            return at ? (long)at : -EFAULT;
        at += k;
    }
    long r = (flags & MSG_TRUNC) ? (long)d->len : (long)n;
    if (!(flags & MSG_PEEK)) {
        nl->head = d->next;
        if (!nl->head)
            nl->tail = NULL;
        nl->qbytes -= d->len;
        kfree(d);
    }
    return r;
}

static u32 nl_poll(struct socket *s)
{
    u32 m = POLLOUT | POLLWRNORM;
    if (nl_sk(s)->head)
        m |= POLLIN | POLLRDNORM;
    if (s->so_error)
        m |= POLLERR;
    return m;
}

static void nl_release(struct socket *s)
{
    struct nl_sock *nl = nl_sk(s);
    for (struct nl_sock **p = &all; *p; p = &(*p)->next) {
        if (*p == nl) {
            *p = nl->next;
            break;
        }
    }
    while (nl->head) {
        struct nl_dgram *d = nl->head;
        nl->head = d->next;
        kfree(d);
    }
    kfree(nl);
    s->priv = NULL;
}

static const struct sock_ops nl_ops = {
    .bind = nl_bind,
    .connect = nl_connect,
    .getname = nl_getname,
    .sendmsg = nl_sendmsg,
    .recvmsg = nl_recvmsg,
    .poll = nl_poll,
    .release = nl_release,
};

static const struct sock_family nl_family = {
    .family = AF_NETLINK,
    .create = nl_create,
};

void netlink_init(void) { sock_register_family(&nl_family); }
