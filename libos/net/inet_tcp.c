/* SPDX-License-Identifier: Apache-2.0 */
/* inet_tcp.c: SOCK_STREAM over lwIP's raw TCP API: callbacks queue data and wake sleepers, the ops give Linux's semantics. */
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/poll.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/uaccess.h>

#include "inet_internal.h"

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#define TCP_NODELAY 1
#define TCP_MAXSEG 2
#define TCP_CORK 3
#define TCP_KEEPIDLE 4
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6
#define TCP_SYNCNT 7
#define TCP_LINGER2 8
#define TCP_DEFER_ACCEPT 9
#define TCP_WINDOW_CLAMP 10
#define TCP_INFO 11
#define TCP_QUICKACK 12
#define TCP_CONGESTION 13
#define TCP_USER_TIMEOUT 18
#define TCP_FASTOPEN 23
#define TCP_NOTSENT_LOWAT 25

#define FIONREAD 0x541b
#define SIOCOUTQ 0x5411
#define SIOCATMARK 0x8905

/* One bounce buffer for sends: user memory is copied with a fault-safe copy first,
 * never read by lwIP directly (a bad pointer must give EFAULT, not a kernel fault).
 * The kernel does not preempt, so one buffer serves every thread. */
#define BOUNCE_SIZE (32 * 1024)
static u8 *bounce;

/* -- lwIP callbacks: they run inside lwIP (from a socket op's inet_poll, the timer or
 * the NIC's interrupt) and only queue, record and wake. ------------------------------ */

static void tcp_detach(struct inet_sock *is);

static err_t cb_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct inet_sock *is = arg;
    if (!is) {
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (!p) {
        is->rd_eof = true;
        /* Both directions are done: lwIP may move the pcb to TIME_WAIT and free it
         * later without a callback, so it stops being ours now. */
        if (is->shut_wr)
            tcp_detach(is);
        inet_changed(is);
        return ERR_OK;
    }
    /* Keep the chain as separate pbufs linked through ->next (tot_len is 16 bits). */
    u64 n = 0;
    for (struct pbuf *q = p; q; q = q->next) {
        q->tot_len = q->len;
        n += q->len;
    }
    struct pbuf *last = p;
    while (last->next)
        last = last->next;
    if (is->rx_tail)
        is->rx_tail->next = p;
    else
        is->rx_head = p;
    is->rx_tail = last;
    is->rx_len += n;
    inet_changed(is);
    return ERR_OK;
}

static err_t cb_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct inet_sock *is = arg;
    if (is)
        inet_changed(is);
    return ERR_OK;
}

/* lwIP has freed the pcb: a reset, a refused connection, a timeout, or the end of a
 * passive close (ERR_CLSD). */
static void cb_err(void *arg, err_t err)
{
    struct inet_sock *is = arg;
    if (!is)
        return;
    is->tcp = NULL;
    if (err == ERR_CLSD) {
        is->rd_eof = true;
    } else {
        int e = err == ERR_RST ? (is->state == INET_CONNECTING ? ECONNREFUSED : ECONNRESET)
                               : ETIMEDOUT;
        if (is->state == INET_CONNECTING && err != ERR_RST)
            e = ETIMEDOUT;
        if (is->s)
            is->s->so_error = e;
        else
            is->early_err = e;
        is->reset = true;
        is->state = INET_CLOSED;
    }
    inet_changed(is);
}

static err_t cb_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct inet_sock *is = arg;
    if (is) {
        is->state = INET_CONNECTED;
        inet_changed(is);
    }
    return ERR_OK;
}

static void set_callbacks(struct inet_sock *is, struct tcp_pcb *pcb)
{
    tcp_arg(pcb, is);
    tcp_recv(pcb, cb_recv);
    tcp_sent(pcb, cb_sent);
    tcp_err(pcb, cb_err);
}

static void clear_callbacks(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
}

static void tcp_detach(struct inet_sock *is)
{
    if (!is->tcp)
        return;
    clear_callbacks(is->tcp);
    is->tcp = NULL;
}

static void apply_options(struct inet_sock *is)
{
    struct tcp_pcb *pcb = is->tcp;
    if (!pcb || pcb->state == LISTEN)
        return;
    if (is->nodelay || is->cork)
        tcp_nagle_disable(pcb);
    else
        tcp_nagle_enable(pcb);
    if (is->s->keepalive)
        ip_set_option(pcb, SOF_KEEPALIVE);
    else
        ip_reset_option(pcb, SOF_KEEPALIVE);
    pcb->keep_idle = (u32_t)is->keepidle * 1000;
    pcb->keep_intvl = (u32_t)is->keepintvl * 1000;
    pcb->keep_cnt = (u32_t)is->keepcnt;
    pcb->ttl = (u8_t)is->ttl;
    pcb->tos = (u8_t)is->tos;
}

static err_t cb_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
    struct inet_sock *ls = arg;
    if (err != ERR_OK || !newpcb || !ls)
        return ERR_VAL;
    if (ls->acc_count > ls->backlog) {
        tcp_abort(newpcb); /* lwIP's own backlog check makes this rare */
        return ERR_ABRT;
    }
    /* The child is a socket object only at accept(); until then an inet_sock with no
     * struct socket (s NULL) is never on the registry's bind checks. */
    struct inet_sock *c = kzalloc(sizeof(*c));
    if (!c) {
        tcp_abort(newpcb);
        return ERR_ABRT;
    }
    c->family = ls->family;
    c->type = SOCK_STREAM;
    c->state = INET_CONNECTED;
    c->tcp = newpcb;
    c->keepidle = ls->keepidle;
    c->keepintvl = ls->keepintvl;
    c->keepcnt = ls->keepcnt;
    c->nodelay = ls->nodelay;
    c->ttl = ls->ttl;
    c->tos = ls->tos;
    c->v6only = ls->v6only;
    set_callbacks(c, newpcb);
    /* Counts against the listener's backlog until accept() takes it (Linux's accept
     * queue): SYNs past it are dropped and the client retries. */
    tcp_backlog_delayed(newpcb);
    if (ls->acc_tail)
        ls->acc_tail->acc_next = c;
    else
        ls->acc_head = c;
    ls->acc_tail = c;
    ls->acc_count++;
    inet_changed(ls);
    return ERR_OK;
}

/* An accepted-but-never-accepted child: cb_recv/cb_err with s NULL must not touch s. */
static void free_child(struct inet_sock *c)
{
    if (c->tcp) {
        clear_callbacks(c->tcp);
        tcp_abort(c->tcp);
        c->tcp = NULL;
    }
    while (c->rx_head) {
        struct pbuf *p = c->rx_head;
        c->rx_head = p->next;
        p->next = NULL;
        pbuf_free(p);
    }
    kfree(c);
}

/* -- helpers ------------------------------------------------------------------------ */

long inet_tcp_create(struct inet_sock *is)
{
    if (!bounce && !(bounce = kmalloc(BOUNCE_SIZE)))
        return -ENOMEM;
    struct tcp_pcb *pcb = tcp_new_ip_type(is->family == AF_INET6 ? IPADDR_TYPE_ANY : IPADDR_TYPE_V4);
    if (!pcb)
        return -ENOBUFS;
    /* Port sharing is decided by inet_check_bind (Linux's rules); lwIP must not refuse. */
    ip_set_option(pcb, SOF_REUSEADDR);
    is->tcp = pcb;
    set_callbacks(is, pcb);
    return 0;
}

static struct inet_sock *isk(struct socket *s) { return s->priv; }

/* bind(2) for TCP; also the automatic bind of listen(). */
static long do_bind(struct inet_sock *is, const struct inet_addr *a)
{
    if (!is->tcp || is->bound || is->state != INET_NEW)
        return -EINVAL;
    long r = inet_check_bind(is, a, false);
    if (r < 0)
        return r;
    /* Without SO_REUSEADDR Linux also refuses a port a TIME_WAIT connection holds. */
    if (a->port && !is->s->reuseaddr)
        for (struct tcp_pcb *tw = tcp_tw_pcbs; tw; tw = tw->next)
            if (tw->local_port == a->port)
                return -EADDRINUSE;
    ip_addr_t ip;
    inet_bind_ip(is, a, &ip);
    err_t e = tcp_bind(is->tcp, &ip, a->port);
    if (e != ERR_OK)
        return e == ERR_BUF ? -EADDRINUSE : inet_map_err(e);
    inet_record_bind(is, a, is->tcp->local_port);
    return 0;
}

static long tcp_op_bind(struct socket *s, const void *addr, u32 len)
{
    struct inet_sock *is = isk(s);
    struct inet_addr a;
    long r = inet_parse_addr(is, addr, len, &a, true);
    if (r < 0)
        return r;
    return do_bind(is, &a);
}

static long tcp_op_listen(struct socket *s, int backlog)
{
    struct inet_sock *is = isk(s);
    if (backlog < 0 || backlog > 4096)
        backlog = 4096; /* somaxconn */
    if (is->state == INET_LISTEN) {
        is->backlog = backlog; /* a second listen() only changes the backlog */
        u8_t lb = (u8_t)MIN(backlog + 1, 255);
        tcp_backlog_set(is->tcp, lb);
        return 0;
    }
    if (is->state != INET_NEW || !is->tcp)
        return -EINVAL;
    if (!is->bound) {
        struct inet_addr any = {.v6 = is->family == AF_INET6};
        long r = do_bind(is, &any);
        if (r < 0)
            return r;
    } else {
        struct inet_addr a = {.v6 = is->has6, .port = is->lport};
        memcpy(a.a, is->has6 ? is->laddr6 : is->laddr4, is->has6 ? 16 : 4);
        long r = inet_check_bind(is, &a, true);
        if (r < 0)
            return r;
    }
    err_t e = ERR_OK;
    /* lwIP counts half-open and queued connections against this (cb_accept). */
    struct tcp_pcb *l = tcp_listen_with_backlog_and_err(is->tcp, (u8_t)MIN(backlog + 1, 255), &e);
    if (!l)
        return e == ERR_USE ? -EADDRINUSE : inet_map_err(e);
    is->tcp = l; /* the old pcb was freed by lwIP */
    is->backlog = backlog;
    is->state = INET_LISTEN;
    s->listening = true;
    tcp_arg(l, is);
    tcp_accept(l, cb_accept);
    return 0;
}

static long tcp_op_accept(struct socket *s, struct socket **out, int flags)
{
    struct inet_sock *is = isk(s);
    if (is->state != INET_LISTEN)
        return -EINVAL;
    u64 deadline = sock_deadline(s->rcvtimeo_ns);
    inet_poll();
    while (!is->acc_head) {
        if (flags & MSG_DONTWAIT)
            return -EAGAIN;
        long r = inet_wait(is, deadline);
        if (r < 0)
            return r;
    }
    struct socket *ns = sock_alloc(s->family, s->type, s->protocol);
    if (!ns)
        return -ENOMEM;
    struct inet_sock *c = is->acc_head;
    is->acc_head = c->acc_next;
    if (!is->acc_head)
        is->acc_tail = NULL;
    is->acc_count--;
    c->acc_next = NULL;
    c->s = ns;
    c->all_next = inet_all;
    inet_all = c;
    ns->priv = c;
    ns->ops = &inet_tcp_ops;
    ns->reuseaddr = s->reuseaddr;
    ns->keepalive = s->keepalive;
    if (c->reset) {
        /* The peer reset it while queued: Linux still returns it, and the first read
         * reports the reset. */
        ns->so_error = c->early_err ? c->early_err : ECONNRESET;
    }
    if (c->tcp) {
        tcp_backlog_accepted(c->tcp);
        bool v6;
        u8 a[16];
        inet_from_lwip(&c->tcp->local_ip, &v6, a);
        struct inet_addr la = {.v6 = v6};
        memcpy(la.a, a, 16);
        inet_record_bind(c, &la, c->tcp->local_port);
        inet_from_lwip(&c->tcp->remote_ip, &c->peer_v6, c->paddr);
        c->pport = c->tcp->remote_port;
        c->peer_known = true;
        apply_options(c);
    }
    inet_changed(is);
    *out = ns;
    return 0;
}

static long tcp_op_connect(struct socket *s, const void *addr, u32 len, int flags)
{
    struct inet_sock *is = isk(s);
    if (is->state == INET_CONNECTED && is->nb_connect) {
        is->nb_connect = false; /* Linux: this call reports the finished connect */
        return 0;
    }
    is->nb_connect = false;
    switch (is->state) {
    case INET_LISTEN:
    case INET_CONNECTED:
        return -EISCONN;
    case INET_CONNECTING:
        if (flags & MSG_DONTWAIT)
            return -EALREADY;
        goto wait;
    case INET_CLOSED: {
        /* A failed connect: report its error once, then a new attempt may follow. */
        int e = sock_take_error(is->s);
        if (e) {
            is->state = INET_NEW;
            return -e;
        }
        break;
    }
    case INET_NEW:
        break;
    }
    struct inet_addr a;
    long r = inet_parse_addr(is, addr, len, &a, false);
    if (r < 0)
        return r;
    if (!a.v6 && !memcmp(a.a, (u8[4]){0}, 4))
        a.a[0] = 127, a.a[3] = 1; /* Linux: connecting to 0.0.0.0 reaches this host */
    if (a.v6 && !memcmp(a.a, (u8[16]){0}, 16))
        a.a[15] = 1;
    if (!is->tcp) {
        /* After a failure the pcb is gone: a fresh one, with the old binding lost. */
        struct tcp_pcb *pcb = tcp_new_ip_type(is->family == AF_INET6 ? IPADDR_TYPE_ANY : IPADDR_TYPE_V4);
        if (!pcb)
            return -ENOBUFS;
        ip_set_option(pcb, SOF_REUSEADDR);
        is->tcp = pcb;
        is->bound = false;
        set_callbacks(is, pcb);
    }
    is->reset = false;
    is->rd_eof = is->shut_rd = is->shut_wr = false;
    apply_options(is);
    ip_addr_t ip;
    inet_to_lwip(&a, &ip);
    err_t e = tcp_connect(is->tcp, &ip, a.port, cb_connected);
    if (e != ERR_OK)
        return e == ERR_USE ? -EADDRNOTAVAIL : inet_map_err(e);
    is->state = INET_CONNECTING;
    is->peer_known = true;
    is->peer_v6 = a.v6;
    memcpy(is->paddr, a.a, 16);
    is->pport = a.port;
    inet_poll();
    /* Linux returns EINPROGRESS to a non-blocking connect even when the handshake
     * has already finished (loopback). */
    if (flags & MSG_DONTWAIT) {
        is->nb_connect = true;
        return -EINPROGRESS;
    }
wait:;
    u64 deadline = sock_deadline(s->sndtimeo_ns);
    while (is->state == INET_CONNECTING) {
        r = inet_wait(is, deadline);
        if (r == -EAGAIN)
            return -EINPROGRESS; /* SO_SNDTIMEO ran out: the attempt goes on (Linux) */
        if (r < 0)
            return r;
    }
    if (is->state == INET_CONNECTED)
        return 0;
    int err = sock_take_error(is->s);
    is->state = INET_NEW;
    return err ? -err : -ECONNABORTED;
}

static long tcp_op_shutdown(struct socket *s, int how)
{
    struct inet_sock *is = isk(s);
    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    if (is->state == INET_LISTEN) {
        /* Linux: shutdown of a listener stops it; accept() then fails. Model as RD. */
        if (how != SHUT_WR) {
            is->shut_rd = true;
            inet_changed(is);
            return 0;
        }
        return -ENOTCONN;
    }
    if (is->state != INET_CONNECTED && is->state != INET_CONNECTING)
        return -ENOTCONN;
    if (how != SHUT_WR)
        is->shut_rd = true;
    if (how != SHUT_RD && !is->shut_wr) {
        is->shut_wr = true;
        if (is->tcp) {
            err_t e = tcp_shutdown(is->tcp, 0, 1);
            if (e == ERR_OK && is->rd_eof)
                tcp_detach(is); /* lwIP finishes LAST_ACK on its own */
        }
    }
    inet_poll();
    inet_changed(is);
    return 0;
}

static long tcp_op_getname(struct socket *s, void *addr, u32 *len, bool peer)
{
    struct inet_sock *is = isk(s);
    if (peer) {
        if (is->state != INET_CONNECTED || !is->peer_known)
            return -ENOTCONN;
        *len = inet_fill_addr(is, is->peer_v6, is->paddr, is->pport, addr);
        return 0;
    }
    if (is->tcp && is->tcp->local_port) {
        bool v6;
        u8 a[16];
        inet_from_lwip(&is->tcp->local_ip, &v6, a);
        *len = inet_fill_addr(is, v6, a, is->tcp->local_port, addr);
        return 0;
    }
    u8 zero16[16] = {0};
    if (is->bound)
        *len = inet_fill_addr(is, is->has6, is->has6 ? is->laddr6 : is->laddr4, is->lport, addr);
    else
        *len = inet_fill_addr(is, is->family == AF_INET6, zero16, 0, addr);
    return 0;
}

/* Free consumed pbufs and open the window by what the program read. */
static void rx_consume(struct inet_sock *is, u64 n)
{
    u64 left = n;
    while (left && is->rx_head) {
        struct pbuf *p = is->rx_head;
        u64 avail = p->len - is->rx_off;
        if (left < avail) {
            is->rx_off += (u32)left;
            left = 0;
            break;
        }
        left -= avail;
        is->rx_head = p->next;
        if (!is->rx_head)
            is->rx_tail = NULL;
        p->next = NULL;
        pbuf_free(p);
        is->rx_off = 0;
    }
    is->rx_len -= n;
    if (is->tcp)
        for (u64 w = n; w;) {
            u16 step = (u16)MIN(w, 0xffffu);
            tcp_recved(is->tcp, step);
            w -= step;
        }
}

/* Copy up to max queued bytes into the message at *done; with peek nothing is consumed. */
static long rx_copy(struct inet_sock *is, struct kmsg *m, u64 *done, u64 max, bool peek,
                    bool discard)
{
    u64 moved = 0, off = is->rx_off;
    for (struct pbuf *p = is->rx_head; p && moved < max; p = p->next, off = 0) {
        u64 n = MIN((u64)p->len - off, max - moved);
        if (!discard) {
            long r = inet_iov_out(m, done, (u8 *)p->payload + off, n);
            if (r < 0)
                return moved ? (long)moved : r;
            if ((u64)r < n) {
                moved += (u64)r;
                if (!peek)
                    rx_consume(is, moved);
                return (long)moved;
            }
        } else {
            *done += n;
        }
        moved += n;
    }
    if (!peek)
        rx_consume(is, moved);
    return (long)moved;
}

static long tcp_op_recvmsg(struct socket *s, struct kmsg *m, int flags)
{
    struct inet_sock *is = isk(s);
    m->namelen = 0;
    if (flags & MSG_OOB)
        return -EINVAL; /* no urgent data is ever kept (SO_OOBINLINE aside) */
    if (is->state == INET_LISTEN || is->state == INET_NEW)
        return -ENOTCONN;
    u64 want = inet_iov_total(m), done = 0;
    bool peek = flags & MSG_PEEK, trunc = flags & MSG_TRUNC;
    bool waitall = (flags & MSG_WAITALL) && !peek;
    u64 deadline = sock_deadline(s->rcvtimeo_ns);
    inet_poll();
    for (;;) {
        if (is->rx_len && want > done) {
            u64 before = done;
            long r = rx_copy(is, m, &done, want - done, peek, trunc);
            if (r < 0)
                return before ? (long)before : r;
            inet_poll(); /* a window update may go out */
            if (!waitall || done >= want)
                return (long)done;
            continue;
        }
        if (want == 0)
            return 0;
        if (done && !waitall)
            return (long)done;
        if (is->rd_eof || is->shut_rd)
            return (long)done;
        if (is->state == INET_CLOSED || !is->tcp) {
            int e = sock_take_error(is->s);
            if (done)
                return (long)done;
            return e ? -e : 0;
        }
        if (is->state == INET_CONNECTING && (flags & MSG_DONTWAIT))
            return -EAGAIN;
        if (flags & MSG_DONTWAIT)
            return done ? (long)done : -EAGAIN;
        long r = inet_wait(is, deadline);
        if (r < 0)
            return done ? (long)done : r;
    }
}

static long tcp_op_sendmsg(struct socket *s, struct kmsg *m, int flags)
{
    struct inet_sock *is = isk(s);
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    u64 deadline = sock_deadline(s->sndtimeo_ns);
    while (is->state == INET_CONNECTING) {
        if (flags & MSG_DONTWAIT)
            return -EAGAIN;
        long r = inet_wait(is, deadline);
        if (r < 0)
            return r;
    }
    if (is->state == INET_CLOSED) {
        int e = sock_take_error(is->s);
        return e ? -e : -EPIPE;
    }
    if (is->state != INET_CONNECTED)
        return -EPIPE; /* Linux's sk_stream_wait_connect: never connected, or listening */
    u64 total = inet_iov_total(m), done = 0;
    bool more = (flags & MSG_MORE) || is->cork;
    while (done < total || total == 0) {
        if (is->shut_wr)
            return done ? (long)done : -EPIPE;
        if (!is->tcp) {
            int e = sock_take_error(is->s);
            if (done)
                return (long)done;
            return e ? -e : -EPIPE;
        }
        if (total == 0)
            return 0;
        u32 room = tcp_sndbuf(is->tcp);
        if (tcp_sndqueuelen(is->tcp) >= TCP_SND_QUEUELEN - 2)
            room = 0;
        if (room == 0) {
            tcp_output(is->tcp);
            if (flags & MSG_DONTWAIT)
                return done ? (long)done : -EAGAIN;
            long r = inet_wait(is, deadline);
            if (r < 0)
                return done ? (long)done : r;
            continue;
        }
        u64 n = MIN(MIN((u64)room, total - done), (u64)BOUNCE_SIZE);
        u64 at = done;
        long c = inet_iov_in(m, &at, bounce, n);
        if (c <= 0)
            return done ? (long)done : -EFAULT;
        n = (u64)c;
        u8 wflags = TCP_WRITE_FLAG_COPY;
        if (more || done + n < total)
            wflags |= TCP_WRITE_FLAG_MORE;
        err_t e = tcp_write(is->tcp, bounce, (u16_t)MIN(n, 0xffffu), wflags);
        if (e == ERR_MEM) {
            /* Segment memory ran out: wait for acknowledgements to free some. */
            tcp_output(is->tcp);
            if (flags & MSG_DONTWAIT)
                return done ? (long)done : -EAGAIN;
            long r = inet_wait(is, deadline);
            if (r < 0)
                return done ? (long)done : r;
            continue;
        }
        if (e != ERR_OK)
            return done ? (long)done : inet_map_err(e);
        done += MIN(n, 0xffffu);
    }
    if (is->tcp && !more)
        tcp_output(is->tcp);
    inet_poll();
    return (long)done;
}

/* Linux's struct tcp_info (the stable prefix). */
struct k_tcp_info {
    u8 state, ca_state, retransmits, probes, backoff, options, wscale, flags;
    u32 rto, ato, snd_mss, rcv_mss;
    u32 unacked, sacked, lost, retrans, fackets;
    u32 last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
    u32 pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
    u32 rcv_rtt, rcv_space, total_retrans;
};

static u8 linux_tcp_state(const struct inet_sock *is)
{
    if (is->state == INET_LISTEN)
        return 10;
    if (!is->tcp)
        return 7; /* CLOSE */
    switch (is->tcp->state) {
    case ESTABLISHED: return 1;
    case SYN_SENT: return 2;
    case SYN_RCVD: return 3;
    case FIN_WAIT_1: return 4;
    case FIN_WAIT_2: return 5;
    case TIME_WAIT: return 6;
    case CLOSE_WAIT: return 8;
    case LAST_ACK: return 9;
    case CLOSING: return 11;
    default: return 7;
    }
}

static long put_int(void *val, u32 *len, int v)
{
    u32 n = MIN(*len, (u32)sizeof(int));
    memcpy(val, &v, n);
    *len = n;
    return 0;
}

static long tcp_op_getsockopt(struct socket *s, int level, int name, void *val, u32 *len)
{
    struct inet_sock *is = isk(s);
    bool done;
    long r = inet_common_getsockopt(is, level, name, val, len, &done);
    if (done)
        return r;
    if (level != IPPROTO_TCP)
        return -ENOPROTOOPT;
    switch (name) {
    case TCP_NODELAY:
        return put_int(val, len, is->nodelay);
    case TCP_CORK:
        return put_int(val, len, is->cork);
    case TCP_MAXSEG:
        return put_int(val, len, is->tcp && is->tcp->state != LISTEN ? tcp_mss(is->tcp) : TCP_MSS);
    case TCP_KEEPIDLE:
        return put_int(val, len, is->keepidle);
    case TCP_KEEPINTVL:
        return put_int(val, len, is->keepintvl);
    case TCP_KEEPCNT:
        return put_int(val, len, is->keepcnt);
    case TCP_DEFER_ACCEPT:
        return put_int(val, len, is->defer_accept);
    case TCP_USER_TIMEOUT:
        return put_int(val, len, is->user_timeout);
    case TCP_SYNCNT:
        return put_int(val, len, 6);
    case TCP_LINGER2:
        return put_int(val, len, 60);
    case TCP_WINDOW_CLAMP:
        return put_int(val, len, TCP_WND);
    case TCP_QUICKACK:
        return put_int(val, len, 1);
    case TCP_FASTOPEN:
    case TCP_NOTSENT_LOWAT:
        return put_int(val, len, 0);
    case TCP_CONGESTION: {
        static const char algo[16] = "reno"; /* lwIP's congestion control */
        u32 n = MIN(*len, 16u);
        memcpy(val, algo, n);
        *len = n;
        return 0;
    }
    case TCP_INFO: {
        struct k_tcp_info ti;
        memset(&ti, 0, sizeof(ti));
        ti.state = linux_tcp_state(is);
        struct tcp_pcb *p = is->state == INET_LISTEN ? NULL : is->tcp;
        if (p) {
            ti.rto = (u32)p->rto * TCP_SLOW_INTERVAL * 1000;
            ti.snd_mss = ti.rcv_mss = ti.advmss = p->mss;
            ti.rtt = (u32)(p->sa >> 3) * TCP_SLOW_INTERVAL * 1000;
            ti.rttvar = (u32)(p->sv >> 2) * TCP_SLOW_INTERVAL * 1000;
            ti.snd_cwnd = p->cwnd / (p->mss ? p->mss : 1);
            ti.snd_ssthresh = p->ssthresh;
            ti.retransmits = p->nrtx;
            ti.unacked = p->snd_queuelen;
            ti.wscale = (u8)(p->snd_scale | (p->rcv_scale << 4));
            ti.rcv_space = p->rcv_wnd;
            ti.pmtu = 1500;
        }
        u32 n = MIN(*len, (u32)sizeof(ti));
        memcpy(val, &ti, n);
        *len = n;
        return 0;
    }
    }
    return -ENOPROTOOPT;
}

static long tcp_op_setsockopt(struct socket *s, int level, int name, const void *val, u32 len)
{
    struct inet_sock *is = isk(s);
    bool done;
    long r = inet_common_setsockopt(is, level, name, val, len, &done);
    if (done) {
        apply_options(is);
        return r;
    }
    if (level == SOL_SOCKET) {
        /* The generic layer records SO_KEEPALIVE; the pcb follows at the next op. */
        apply_options(is);
        return -ENOPROTOOPT;
    }
    if (level != IPPROTO_TCP)
        return -ENOPROTOOPT;
    if (name == TCP_CONGESTION)
        return 0; /* any name: lwIP has one algorithm */
    if (len < sizeof(int))
        return -EINVAL;
    int v;
    memcpy(&v, val, sizeof(v));
    switch (name) {
    case TCP_NODELAY:
        is->nodelay = v != 0;
        break;
    case TCP_CORK:
        is->cork = v != 0;
        if (!is->cork && is->tcp && is->state == INET_CONNECTED)
            tcp_output(is->tcp); /* uncorking sends what was held */
        break;
    case TCP_MAXSEG:
        if (v < 0 || v > 65535)
            return -EINVAL;
        is->maxseg = v;
        break;
    case TCP_KEEPIDLE:
        if (v < 1 || v > 32767)
            return -EINVAL;
        is->keepidle = v;
        break;
    case TCP_KEEPINTVL:
        if (v < 1 || v > 32767)
            return -EINVAL;
        is->keepintvl = v;
        break;
    case TCP_KEEPCNT:
        if (v < 1 || v > 127)
            return -EINVAL;
        is->keepcnt = v;
        break;
    case TCP_DEFER_ACCEPT:
        /* Accepted; connections are handed over at once (allowed: Linux too wakes
         * the listener once the timeout passes with no data). */
        is->defer_accept = v < 0 ? 0 : v;
        break;
    case TCP_USER_TIMEOUT:
        if (v < 0)
            return -EINVAL;
        is->user_timeout = v;
        break;
    case TCP_SYNCNT:
    case TCP_LINGER2:
    case TCP_WINDOW_CLAMP:
    case TCP_QUICKACK:
    case TCP_FASTOPEN:
    case TCP_NOTSENT_LOWAT:
        break;
    default:
        return -ENOPROTOOPT;
    }
    apply_options(is);
    inet_poll();
    return 0;
}

static u32 tcp_op_poll(struct socket *s)
{
    struct inet_sock *is = isk(s);
    u32 m = 0;
    if (is->state == INET_LISTEN)
        return is->acc_head ? POLLIN | POLLRDNORM : 0;
    if (s->so_error)
        m |= POLLERR;
    if (is->state == INET_CONNECTING)
        return m;
    bool rd_done = is->rd_eof || is->shut_rd || is->state == INET_CLOSED;
    if ((rd_done && is->shut_wr) || is->state == INET_CLOSED || is->state == INET_NEW)
        m |= POLLHUP;
    if (rd_done)
        m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (is->rx_len)
        m |= POLLIN | POLLRDNORM;
    if (is->state != INET_CONNECTED || is->shut_wr || !is->tcp)
        m |= POLLOUT | POLLWRNORM;
    else if (tcp_sndbuf(is->tcp) >= TCP_SNDLOWAT &&
             tcp_sndqueuelen(is->tcp) < TCP_SNDQUEUELOWAT)
        m |= POLLOUT | POLLWRNORM;
    return m;
}

static long tcp_op_ioctl(struct socket *s, unsigned cmd, u64 arg)
{
    struct inet_sock *is = isk(s);
    int v;
    switch (cmd) {
    case FIONREAD:
        if (is->state == INET_LISTEN)
            return -EINVAL;
        v = (int)MIN(is->rx_len, 0x7fffffffu);
        break;
    case SIOCOUTQ:
        if (is->state == INET_LISTEN)
            return -EINVAL;
        v = is->tcp && is->state == INET_CONNECTED ? (int)(TCP_SND_BUF - tcp_sndbuf(is->tcp)) : 0;
        break;
    case SIOCATMARK:
        v = 0;
        break;
    default:
        return -ENOTTY;
    }
    return copy_to_user(arg, &v, sizeof(v));
}

static void tcp_op_release(struct socket *s)
{
    struct inet_sock *is = isk(s);
    if (is->state == INET_LISTEN) {
        while (is->acc_head) {
            struct inet_sock *c = is->acc_head;
            is->acc_head = c->acc_next;
            free_child(c); /* Linux resets connections nobody accepted */
        }
        if (is->tcp) {
            tcp_arg(is->tcp, NULL);
            tcp_accept(is->tcp, NULL);
            tcp_close(is->tcp);
            is->tcp = NULL;
        }
    } else if (is->tcp) {
        struct tcp_pcb *pcb = is->tcp;
        clear_callbacks(pcb);
        is->tcp = NULL;
        /* Linux sends a reset instead of a FIN when unread data is dropped or
         * SO_LINGER is on with a zero timeout. */
        bool abort = is->rx_len || (s->linger_onoff && s->linger_secs == 0) ||
                     pcb->state == SYN_SENT;
        if (abort || tcp_close(pcb) != ERR_OK)
            tcp_abort(pcb);
    }
    inet_sock_free(is);
    inet_poll();
}

const struct sock_ops inet_tcp_ops = {
    .bind = tcp_op_bind,
    .listen = tcp_op_listen,
    .accept = tcp_op_accept,
    .connect = tcp_op_connect,
    .shutdown = tcp_op_shutdown,
    .getname = tcp_op_getname,
    .sendmsg = tcp_op_sendmsg,
    .recvmsg = tcp_op_recvmsg,
    .setsockopt = tcp_op_setsockopt,
    .getsockopt = tcp_op_getsockopt,
    .poll = tcp_op_poll,
    .ioctl = tcp_op_ioctl,
    .release = tcp_op_release,
};
