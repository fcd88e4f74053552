/* SPDX-License-Identifier: Apache-2.0 */
/* inet_udp.c: SOCK_DGRAM over lwIP's raw UDP API: a bounded queue of datagrams per socket, Linux's send/recv semantics. */
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/string.h>
#include <libos/uaccess.h>

#include "inet_internal.h"

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#define FIONREAD 0x541b
#define SIOCOUTQ 0x5411
#define UDP_MAX_PAYLOAD 65507u
/* Per datagram, what Linux's receive-buffer accounting adds to the payload (truesize). */
#define DGRAM_OVERHEAD 768u

static struct inet_sock *isk(struct socket *s) { return s->priv; }

static void cb_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                    u16_t port)
{
    struct inet_sock *is = arg;
    /* A full receive buffer drops the datagram, as Linux does (SO_RCVBUF). */
    u32 cost = p->tot_len + DGRAM_OVERHEAD;
    u32 limit = is->s->rcvbuf ? is->s->rcvbuf : 212992;
    if (is->shut_rd || is->dq_bytes + cost > limit) {
        pbuf_free(p);
        return;
    }
    struct inet_dgram *d = lwip_port_malloc(sizeof(*d));
    if (!d) {
        pbuf_free(p);
        return;
    }
    d->next = NULL;
    d->p = p;
    inet_from_lwip(addr, &d->v6, d->addr);
    d->port = port;
    if (is->dq_tail)
        is->dq_tail->next = d;
    else
        is->dq_head = d;
    is->dq_tail = d;
    is->dq_bytes += cost;
    inet_changed(is);
}

long inet_udp_create(struct inet_sock *is)
{
    struct udp_pcb *pcb = udp_new_ip_type(is->family == AF_INET6 ? IPADDR_TYPE_ANY : IPADDR_TYPE_V4);
    if (!pcb)
        return -ENOBUFS;
    ip_set_option(pcb, SOF_REUSEADDR); /* inet_check_bind decides sharing */
    udp_recv(pcb, cb_recv, is);
    is->udp = pcb;
    return 0;
}

static long do_bind(struct inet_sock *is, const struct inet_addr *a)
{
    if (is->bound)
        return -EINVAL;
    long r = inet_check_bind(is, a, false);
    if (r < 0)
        return r;
    ip_addr_t ip;
    inet_bind_ip(is, a, &ip);
    err_t e = udp_bind(is->udp, &ip, a->port);
    if (e != ERR_OK)
        return e == ERR_USE ? -EADDRINUSE : inet_map_err(e);
    inet_record_bind(is, a, is->udp->local_port);
    return 0;
}

static long udp_op_bind(struct socket *s, const void *addr, u32 len)
{
    struct inet_sock *is = isk(s);
    struct inet_addr a;
    long r = inet_parse_addr(is, addr, len, &a, true);
    if (r < 0)
        return r;
    return do_bind(is, &a);
}

static long udp_op_listen(struct socket *s, int backlog) { return -EOPNOTSUPP; }

static long udp_op_accept(struct socket *s, struct socket **out, int flags) { return -EOPNOTSUPP; }

static long autobind(struct inet_sock *is)
{
    if (is->bound)
        return 0;
    struct inet_addr any = {.v6 = is->family == AF_INET6};
    return do_bind(is, &any);
}

static long udp_op_connect(struct socket *s, const void *addr, u32 len, int flags)
{
    struct inet_sock *is = isk(s);
    if (len >= sizeof(u16) && *(const u16 *)addr == AF_UNSPEC) {
        udp_disconnect(is->udp); /* Linux: dissolve the association */
        is->state = INET_NEW;
        is->peer_known = false;
        return 0;
    }
    struct inet_addr a;
    long r = inet_parse_addr(is, addr, len, &a, false);
    if (r < 0)
        return r;
    if (!a.v6 && !memcmp(a.a, (u8[4]){0}, 4))
        a.a[0] = 127, a.a[3] = 1;
    r = autobind(is);
    if (r < 0)
        return r;
    ip_addr_t ip;
    inet_to_lwip(&a, &ip);
    err_t e = udp_connect(is->udp, &ip, a.port);
    if (e != ERR_OK)
        return inet_map_err(e);
    is->state = INET_CONNECTED;
    is->peer_known = true;
    is->peer_v6 = a.v6;
    memcpy(is->paddr, a.a, 16);
    is->pport = a.port;
    return 0;
}

static long udp_op_shutdown(struct socket *s, int how)
{
    struct inet_sock *is = isk(s);
    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    if (is->state != INET_CONNECTED)
        return -ENOTCONN;
    if (how != SHUT_WR)
        is->shut_rd = true;
    if (how != SHUT_RD)
        is->shut_wr = true;
    inet_changed(is);
    return 0;
}

static long udp_op_getname(struct socket *s, void *addr, u32 *len, bool peer)
{
    struct inet_sock *is = isk(s);
    if (peer) {
        if (!is->peer_known)
            return -ENOTCONN;
        *len = inet_fill_addr(is, is->peer_v6, is->paddr, is->pport, addr);
        return 0;
    }
    bool v6;
    u8 a[16];
    inet_from_lwip(&is->udp->local_ip, &v6, a);
    if (IP_IS_ANY_TYPE_VAL(is->udp->local_ip))
        v6 = true, memset(a, 0, 16);
    *len = inet_fill_addr(is, v6, a, is->udp->local_port, addr);
    return 0;
}

static long udp_op_sendmsg(struct socket *s, struct kmsg *m, int flags)
{
    struct inet_sock *is = isk(s);
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (is->shut_wr)
        return -EPIPE;
    struct inet_addr a;
    if (m->name && m->namelen) {
        long r = inet_parse_addr(is, m->name, m->namelen, &a, false);
        if (r < 0)
            return r;
        if (!a.v6 && !memcmp(a.a, (u8[4]){0}, 4))
            a.a[0] = 127, a.a[3] = 1;
    } else if (is->peer_known) {
        a.v6 = is->peer_v6;
        memcpy(a.a, is->paddr, 16);
        a.port = is->pport;
    } else {
        return -EDESTADDRREQ;
    }
    if (a.port == 0)
        return -EINVAL;
    u64 total = inet_iov_total(m);
    if (total > UDP_MAX_PAYLOAD)
        return -EMSGSIZE;
    long r = autobind(is);
    if (r < 0)
        return r;
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)total, PBUF_RAM);
    if (!p)
        return -ENOBUFS;
    u64 done = 0;
    if (total && inet_iov_in(m, &done, p->payload, total) != (long)total) {
        pbuf_free(p);
        return -EFAULT;
    }
    ip_addr_t ip;
    inet_to_lwip(&a, &ip);
    is->udp->ttl = (u8_t)is->ttl;
    is->udp->tos = (u8_t)is->tos;
    err_t e = udp_sendto(is->udp, p, &ip, a.port);
    pbuf_free(p);
    inet_poll();
    if (e == ERR_BUF || e == ERR_VAL)
        return -EMSGSIZE;
    if (e != ERR_OK)
        return inet_map_err(e);
    return (long)total;
}

static long udp_op_recvmsg(struct socket *s, struct kmsg *m, int flags)
{
    struct inet_sock *is = isk(s);
    if (flags & MSG_OOB)
        return -EINVAL;
    u64 deadline = sock_deadline(s->rcvtimeo_ns);
    inet_poll();
    while (!is->dq_head) {
        int e = sock_take_error(is->s);
        if (e)
            return -e;
        if (is->shut_rd)
            return 0;
        if (flags & MSG_DONTWAIT)
            return -EAGAIN;
        long r = inet_wait(is, deadline);
        if (r < 0)
            return r;
    }
    struct inet_dgram *d = is->dq_head;
    u64 len = d->p->tot_len, room = inet_iov_total(m), done = 0;
    u64 n = MIN(len, room);
    for (struct pbuf *q = d->p; q && done < n;) {
        u64 at = done;
        u64 chunk = MIN((u64)q->len, n - done);
        long r = inet_iov_out(m, &at, q->payload, chunk);
        if (r != (long)chunk)
            return -EFAULT;
        done += chunk;
        q = q->next;
    }
    if (len > room)
        m->flags |= MSG_TRUNC;
    if (m->name)
        m->namelen = inet_fill_addr(is, d->v6, d->addr, d->port, m->name);
    if (!(flags & MSG_PEEK)) {
        is->dq_head = d->next;
        if (!is->dq_head)
            is->dq_tail = NULL;
        is->dq_bytes -= d->p->tot_len + DGRAM_OVERHEAD;
        pbuf_free(d->p);
        lwip_port_free(d);
    }
    /* MSG_TRUNC asks for the datagram's real length (Linux). */
    return (long)((flags & MSG_TRUNC) ? len : n);
}

static long udp_op_getsockopt(struct socket *s, int level, int name, void *val, u32 *len)
{
    bool done;
    long r = inet_common_getsockopt(isk(s), level, name, val, len, &done);
    return done ? r : -ENOPROTOOPT;
}

static long udp_op_setsockopt(struct socket *s, int level, int name, const void *val, u32 len)
{
    bool done;
    long r = inet_common_setsockopt(isk(s), level, name, val, len, &done);
    return done ? r : -ENOPROTOOPT;
}

static u32 udp_op_poll(struct socket *s)
{
    struct inet_sock *is = isk(s);
    u32 m = POLLOUT | POLLWRNORM;
    if (is->dq_head || is->shut_rd)
        m |= POLLIN | POLLRDNORM;
    if (s->so_error)
        m |= POLLERR;
    if (is->shut_rd && is->shut_wr)
        m |= POLLHUP;
    return m;
}

static long udp_op_ioctl(struct socket *s, unsigned cmd, u64 arg)
{
    struct inet_sock *is = isk(s);
    int v;
    if (cmd == FIONREAD)
        v = is->dq_head ? is->dq_head->p->tot_len : 0; /* Linux: the next datagram's size */
    else if (cmd == SIOCOUTQ)
        v = 0;
    else
        return -ENOTTY;
    return copy_to_user(arg, &v, sizeof(v));
}

static void udp_op_release(struct socket *s)
{
    struct inet_sock *is = isk(s);
    if (is->udp) {
        udp_recv(is->udp, NULL, NULL);
        udp_remove(is->udp);
        is->udp = NULL;
    }
    inet_sock_free(is);
}

const struct sock_ops inet_udp_ops = {
    .bind = udp_op_bind,
    .listen = udp_op_listen,
    .accept = udp_op_accept,
    .connect = udp_op_connect,
    .shutdown = udp_op_shutdown,
    .getname = udp_op_getname,
    .sendmsg = udp_op_sendmsg,
    .recvmsg = udp_op_recvmsg,
    .setsockopt = udp_op_setsockopt,
    .getsockopt = udp_op_getsockopt,
    .poll = udp_op_poll,
    .ioctl = udp_op_ioctl,
    .release = udp_op_release,
};
