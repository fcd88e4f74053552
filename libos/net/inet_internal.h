/* SPDX-License-Identifier: Apache-2.0 */
/* inet_internal.h: shared state of the AF_INET/AF_INET6 family over lwIP (net/inet*.c, net/lwip_port.c). */
#ifndef LIBOS_NET_INET_INTERNAL_H
#define LIBOS_NET_INET_INTERNAL_H

#include <libos/errno.h>
#include <libos/socket.h>
#include <libos/task.h>
#include <libos/types.h>

/* Linux errno values the socket layer needs (asm-generic/errno.h). */
#ifndef ENOTSOCK
#define ENOTSOCK 88
#endif
#ifndef EDESTADDRREQ
#define EDESTADDRREQ 89
#endif
#ifndef EMSGSIZE
#define EMSGSIZE 90
#endif
#ifndef EPROTOTYPE
#define EPROTOTYPE 91
#endif
#ifndef ENOPROTOOPT
#define ENOPROTOOPT 92
#endif
#ifndef EPROTONOSUPPORT
#define EPROTONOSUPPORT 93
#endif
#ifndef ESOCKTNOSUPPORT
#define ESOCKTNOSUPPORT 94
#endif
#ifndef EADDRINUSE
#define EADDRINUSE 98
#endif
#ifndef EADDRNOTAVAIL
#define EADDRNOTAVAIL 99
#endif
#ifndef ENETDOWN
#define ENETDOWN 100
#endif
#ifndef ENETUNREACH
#define ENETUNREACH 101
#endif
#ifndef ECONNABORTED
#define ECONNABORTED 103
#endif
#ifndef ECONNRESET
#define ECONNRESET 104
#endif
#ifndef ENOBUFS
#define ENOBUFS 105
#endif
#ifndef EISCONN
#define EISCONN 106
#endif
#ifndef ENOTCONN
#define ENOTCONN 107
#endif
#ifndef ECONNREFUSED
#define ECONNREFUSED 111
#endif
#ifndef EHOSTUNREACH
#define EHOSTUNREACH 113
#endif
#ifndef EALREADY
#define EALREADY 114
#endif
#ifndef EINPROGRESS
#define EINPROGRESS 115
#endif

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

struct tcp_pcb;
struct udp_pcb;
struct pbuf;

/* One received datagram (UDP), charged to the lwIP budget. */
struct inet_dgram {
    struct inet_dgram *next;
    struct pbuf *p;
    u8 addr[16]; /* the source: IPv4 in the first 4 bytes when !v6 */
    bool v6;
    u16 port;
};

enum inet_state {
    INET_NEW,        /* fresh, or bound: no connection */
    INET_LISTEN,
    INET_CONNECTING, /* SYN sent */
    INET_CONNECTED,  /* established (or closing: rd_eof/shut_wr say how far) */
    INET_CLOSED,     /* the connection ended by a reset, timeout or refusal */
};

/* The family's object behind struct socket's priv. */
struct inet_sock {
    struct socket *s;
    struct inet_sock *all_next;  /* every inet socket (bind conflicts, accounting) */
    int family, type;
    enum inet_state state;
    struct tcp_pcb *tcp;         /* stream: NULL once lwIP freed it (err callback) */
    struct udp_pcb *udp;         /* datagram */
    struct waitq wq;             /* blocked recv, send, accept, connect */

    /* The bound name (for conflicts, and getsockname after the pcb is gone). */
    bool bound;
    u16 lport;
    bool has4, has6;             /* which address families the binding covers */
    u8 laddr4[4], laddr6[16];    /* zeros: any */
    bool peer_known;
    bool peer_v6;
    u8 paddr[16];
    u16 pport;

    /* Stream receive queue: pbufs linked through ->next (tot_len is not used: it is
     * 16 bits); rx_off bytes of the head are consumed. */
    struct pbuf *rx_head, *rx_tail;
    u32 rx_off;
    u64 rx_len;
    bool rd_eof;                 /* FIN received */
    bool shut_rd, shut_wr;
    bool reset;                  /* the connection ended abnormally (state INET_CLOSED) */
    bool nb_connect;             /* a non-blocking connect() not yet confirmed by another */
    int early_err;               /* an accepted child's error before it had a socket */

    /* Listener: connections accepted by lwIP, not yet by the program. */
    struct inet_sock *acc_head, *acc_tail;
    int acc_count, backlog;
    struct inet_sock *acc_next;

    /* Datagram receive queue. */
    struct inet_dgram *dq_head, *dq_tail;
    u32 dq_bytes;

    /* Options. */
    bool v6only, nodelay, cork;
    int keepidle, keepintvl, keepcnt; /* seconds, count; Linux defaults 7200/75/9 */
    int defer_accept, user_timeout, maxseg;
    int tos, ttl;
};

extern struct inet_sock *inet_all;
extern const struct sock_ops inet_tcp_ops, inet_udp_ops;

/* inet.c: the pieces both protocols share. */
struct inet_sock *inet_sock_new(struct socket *s, int family, int type);
void inet_sock_free(struct inet_sock *is);
/* Something changed what poll answers or what a sleeper waits for. */
void inet_changed(struct inet_sock *is);
/* Sleep on is->wq until woken (0), the deadline (-EAGAIN) or a signal (-ERESTARTSYS,
 * -EINTR when a timeout was set, as Linux's sock_intr_errno). */
long inet_wait(struct inet_sock *is, u64 deadline);

/* A parsed socket address: IPv4 (v6 false) or IPv6, as lwIP wants it. */
struct inet_addr {
    bool v6;
    u8 a[16];  /* IPv4: a[0..3] */
    u16 port;  /* host order */
    u32 scope;
};
/* Decode a user sockaddr for is's family: IPv4-mapped IPv6 becomes IPv4 (unless
 * v6only: -ENETUNREACH / -EINVAL as Linux). */
long inet_parse_addr(struct inet_sock *is, const void *addr, u32 len, struct inet_addr *out,
                     bool for_bind);
/* Encode for is's family (IPv4 as mapped IPv6 on an AF_INET6 socket). */
u32 inet_fill_addr(const struct inet_sock *is, bool v6, const u8 *a, u16 port, void *out);
/* bind's rules (Linux): the address must be local; the port may be shared only
 * with SO_REUSEPORT on both, or SO_REUSEADDR on both when none listens (TCP). */
long inet_check_bind(struct inet_sock *is, const struct inet_addr *a, bool listening);
bool inet_addr_is_local(const struct inet_addr *a);
void inet_record_bind(struct inet_sock *is, const struct inet_addr *a, u16 port);
long inet_common_getsockopt(struct inet_sock *is, int level, int name, void *val, u32 *len,
                            bool *done);
long inet_common_setsockopt(struct inet_sock *is, int level, int name, const void *val,
                            u32 len, bool *done);
/* Copy len bytes from kernel src into the message's iovec at *done bytes in. */
long inet_iov_out(struct kmsg *m, u64 *done, const void *src, u64 len);
/* Copy from the message's iovec at *done bytes in into kernel dst. */
long inet_iov_in(struct kmsg *m, u64 *done, void *dst, u64 len);
u64 inet_iov_total(const struct kmsg *m);

/* Between inet_addr and lwIP's ip_addr_t; lwIP's err_t as an errno. */
struct ip_addr;
void inet_to_lwip(const struct inet_addr *a, struct ip_addr *ip);
/* The lwIP address a bind to a names: "::" without IPV6_V6ONLY is both stacks' any. */
void inet_bind_ip(const struct inet_sock *is, const struct inet_addr *a, struct ip_addr *ip);
void inet_from_lwip(const struct ip_addr *ip, bool *v6, u8 *out);
long inet_map_err(signed char e);

/* inet_tcp.c / inet_udp.c */
long inet_tcp_create(struct inet_sock *is);
long inet_udp_create(struct inet_sock *is);

/* inet_if.c: lwIP, its interfaces and their configuration. */
void inet_if_init(void);

/* inet_etc.c: the runtime's /etc files; eth is eth0 or NULL without a NIC. */
struct netif;
void inet_etc_write(struct netif *eth);
const char *inet_hostname(void);

/* lwip_port.c */
void inet_mem_init(void);
size_t inet_mem_used(void);
size_t inet_mem_budget(void);
/* After any lwIP call that may send: deliver looped-back packets, re-arm lwIP's timer. */
void inet_poll(void);

#endif /* LIBOS_NET_INET_INTERNAL_H */
