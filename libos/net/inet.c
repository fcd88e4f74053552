/* SPDX-License-Identifier: Apache-2.0 */
/* inet.c: the AF_INET/AF_INET6 family: socket creation, addresses, bind rules, waiting, the options both protocols share. */
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/uaccess.h>

#include "inet_internal.h"

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

struct inet_sock *inet_all;

/* Linux's sockaddr_in and sockaddr_in6. */
struct k_sockaddr_in {
    u16 family;
    u16 port; /* network order */
    u8 addr[4];
    u8 zero[8];
};
struct k_sockaddr_in6 {
    u16 family;
    u16 port;
    u32 flowinfo;
    u8 addr[16];
    u32 scope_id;
};

static inline u16 bswap16(u16 v) { return (u16)__builtin_bswap16(v); }

struct inet_sock *inet_sock_new(struct socket *s, int family, int type)
{
    struct inet_sock *is = kzalloc(sizeof(*is));
    if (!is)
        return NULL;
    is->s = s;
    is->family = family;
    is->type = type;
    is->state = INET_NEW;
    is->keepidle = 7200;
    is->keepintvl = 75;
    is->keepcnt = 9;
    is->ttl = 64;
    is->all_next = inet_all;
    inet_all = is;
    return is;
}

void inet_sock_free(struct inet_sock *is)
{
    for (struct inet_sock **pp = &inet_all; *pp; pp = &(*pp)->all_next)
        if (*pp == is) {
            *pp = is->all_next;
            break;
        }
    while (is->rx_head) {
        struct pbuf *p = is->rx_head;
        is->rx_head = p->next;
        p->next = NULL;
        pbuf_free(p);
    }
    while (is->dq_head) {
        struct inet_dgram *d = is->dq_head;
        is->dq_head = d->next;
        pbuf_free(d->p);
        lwip_port_free(d);
    }
    kfree(is);
}

void inet_changed(struct inet_sock *is)
{
    waitq_wake(&is->wq, -1);
    readiness_changed();
}

long inet_wait(struct inet_sock *is, u64 deadline)
{
    inet_poll(); /* a sleeper must not leave looped-back packets undelivered */
    return sock_wait(&is->wq, deadline);
}

/* -- addresses ------------------------------------------------------------------- */

static const u8 mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

long inet_parse_addr(struct inet_sock *is, const void *addr, u32 len, struct inet_addr *out,
                     bool for_bind)
{
    memset(out, 0, sizeof(*out));
    if (len < sizeof(u16))
        return -EINVAL;
    u16 fam = *(const u16 *)addr;
    if (is->family == AF_INET) {
        if (len < sizeof(struct k_sockaddr_in))
            return -EINVAL;
        const struct k_sockaddr_in *sin = addr;
        /* Linux accepts AF_UNSPEC with INADDR_ANY in bind for old programs. */
        if (fam != AF_INET) {
            bool any = !sin->addr[0] && !sin->addr[1] && !sin->addr[2] && !sin->addr[3];
            if (!(for_bind && fam == AF_UNSPEC && any))
                return -EAFNOSUPPORT;
        }
        memcpy(out->a, sin->addr, 4);
        out->port = bswap16(sin->port);
        return 0;
    }
    if (fam != AF_INET6)
        return for_bind ? -EINVAL : -EAFNOSUPPORT;
    if (len < 24) /* SIN6_LEN_RFC2133: without scope_id */
        return -EINVAL;
    const struct k_sockaddr_in6 *sin6 = addr;
    out->port = bswap16(sin6->port);
    out->scope = len >= sizeof(*sin6) ? sin6->scope_id : 0;
    if (memcmp(sin6->addr, mapped_prefix, 12) == 0) {
        if (is->v6only)
            return for_bind ? -EINVAL : -ENETUNREACH;
        memcpy(out->a, sin6->addr + 12, 4);
        return 0;
    }
    out->v6 = true;
    memcpy(out->a, sin6->addr, 16);
    return 0;
}

u32 inet_fill_addr(const struct inet_sock *is, bool v6, const u8 *a, u16 port, void *out)
{
    if (is->family == AF_INET) {
        struct k_sockaddr_in sin = {.family = AF_INET, .port = bswap16(port)};
        memcpy(sin.addr, a, 4);
        memcpy(out, &sin, sizeof(sin));
        return sizeof(sin);
    }
    struct k_sockaddr_in6 sin6 = {.family = AF_INET6, .port = bswap16(port)};
    if (v6) {
        memcpy(sin6.addr, a, 16);
    } else if (a[0] | a[1] | a[2] | a[3]) {
        memcpy(sin6.addr, mapped_prefix, 12);
        memcpy(sin6.addr + 12, a, 4);
    } /* else the unspecified address: :: */
    memcpy(out, &sin6, sizeof(sin6));
    return sizeof(sin6);
}

static bool zero(const u8 *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i])
            return false;
    return true;
}

bool inet_addr_is_local(const struct inet_addr *a)
{
    if (!a->v6) {
        if (zero(a->a, 4) || a->a[0] == 127)
            return true;
        if (a->a[0] >= 224) /* multicast and broadcast: UDP may bind them */
            return true;
    } else if (zero(a->a, 16) || (zero(a->a, 15) && a->a[15] == 1)) {
        return true;
    }
    struct netif *n;
    NETIF_FOREACH(n) {
        if (!a->v6 && memcmp(netif_ip4_addr(n), a->a, 4) == 0)
            return true;
        if (a->v6)
            for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
                if (ip6_addr_isvalid(netif_ip6_addr_state(n, i)) &&
                    memcmp(netif_ip6_addr(n, i)->addr, a->a, 16) == 0)
                    return true;
    }
    return false;
}

/* Which addresses a binding of is to a covers. */
static void coverage(const struct inet_sock *is, const struct inet_addr *a, bool *h4, u8 *a4,
                     bool *h6, u8 *a6)
{
    *h4 = *h6 = false;
    memset(a4, 0, 4);
    memset(a6, 0, 16);
    if (!a->v6) {
        *h4 = true;
        memcpy(a4, a->a, 4);
        return;
    }
    *h6 = true;
    memcpy(a6, a->a, 16);
    /* An AF_INET6 socket bound to :: takes IPv4 too unless IPV6_V6ONLY (Linux). */
    if (zero(a->a, 16) && !is->v6only)
        *h4 = true;
}

static bool same_or_any(const u8 *x, const u8 *y, size_t n)
{
    return zero(x, n) || zero(y, n) || memcmp(x, y, n) == 0;
}

long inet_check_bind(struct inet_sock *is, const struct inet_addr *a, bool listening)
{
    if (!inet_addr_is_local(a))
        return -EADDRNOTAVAIL;
    if (a->port == 0)
        return 0; /* an ephemeral port is free by construction */
    bool h4, h6;
    u8 a4[4], a6[16];
    coverage(is, a, &h4, a4, &h6, a6);
    for (struct inet_sock *o = inet_all; o; o = o->all_next) {
        if (o == is || !o->bound || o->type != is->type || o->lport != a->port)
            continue;
        bool clash = (h4 && o->has4 && same_or_any(a4, o->laddr4, 4)) ||
                     (h6 && o->has6 && same_or_any(a6, o->laddr6, 16));
        if (!clash)
            continue;
        if (is->s->reuseport && o->s->reuseport)
            continue;
        bool o_listens = o->state == INET_LISTEN;
        if (is->s->reuseaddr && o->s->reuseaddr && (is->type == SOCK_DGRAM || (!o_listens && !listening)))
            continue;
        return -EADDRINUSE;
    }
    return 0;
}

void inet_record_bind(struct inet_sock *is, const struct inet_addr *a, u16 port)
{
    coverage(is, a, &is->has4, is->laddr4, &is->has6, is->laddr6);
    is->lport = port;
    is->bound = true;
}

void inet_bind_ip(const struct inet_sock *is, const struct inet_addr *a, ip_addr_t *ip)
{
    if (a->v6 && !is->v6only && !memcmp(a->a, (u8[16]){0}, 16))
        ip_addr_copy(*ip, *IP_ANY_TYPE); /* dual stack: IPv4 and IPv6 */
    else
        inet_to_lwip(a, ip);
}

void inet_to_lwip(const struct inet_addr *a, ip_addr_t *ip)
{
    if (a->v6) {
        IP_ADDR6(ip, 0, 0, 0, 0);
        memcpy(ip_2_ip6(ip)->addr, a->a, 16);
        ip6_addr_clear_zone(ip_2_ip6(ip));
    } else {
        IP_ADDR4(ip, a->a[0], a->a[1], a->a[2], a->a[3]);
    }
}

void inet_from_lwip(const ip_addr_t *ip, bool *v6, u8 *out)
{
    memset(out, 0, 16);
    if (IP_IS_V6_VAL(*ip)) {
        *v6 = true;
        memcpy(out, ip_2_ip6(ip)->addr, 16);
    } else {
        *v6 = false;
        memcpy(out, &ip_2_ip4(ip)->addr, 4);
    }
}

long inet_map_err(err_t e)
{
    switch (e) {
    case ERR_OK:
        return 0;
    case ERR_MEM:
    case ERR_BUF:
        return -ENOBUFS;
    case ERR_RTE:
        return -ENETUNREACH;
    case ERR_USE:
        return -EADDRINUSE;
    case ERR_ISCONN:
        return -EISCONN;
    case ERR_ALREADY:
        return -EALREADY;
    case ERR_CONN:
        return -ENOTCONN;
    case ERR_RST:
        return -ECONNRESET;
    case ERR_ABRT:
        return -ECONNABORTED;
    case ERR_VAL:
    case ERR_ARG:
        return -EINVAL;
    default:
        return -EIO;
    }
}

/* -- the message's iovec -------------------------------------------------------------- */

u64 inet_iov_total(const struct kmsg *m)
{
    u64 t = 0;
    for (u32 i = 0; i < m->iovlen; i++)
        t += m->iov[i].len;
    return t;
}

/* Walk to byte *done of the iovec and copy len bytes in the given direction. */
static long iov_xfer(struct kmsg *m, u64 *done, void *kbuf, u64 len, bool out)
{
    u64 skip = *done, moved = 0;
    for (u32 i = 0; i < m->iovlen && moved < len; i++) {
        u64 il = m->iov[i].len;
        if (skip >= il) {
            skip -= il;
            continue;
        }
        u64 n = MIN(il - skip, len - moved);
        void *u = (void *)(m->iov[i].base + skip);
        long r = out ? uaccess_copy(u, (u8 *)kbuf + moved, n)
                     : uaccess_copy((u8 *)kbuf + moved, u, n);
        if (r < 0)
            return moved ? (long)moved : -EFAULT;
        moved += n;
        skip = 0;
    }
    *done += moved;
    return (long)moved;
}

long inet_iov_out(struct kmsg *m, u64 *done, const void *src, u64 len)
{
    return iov_xfer(m, done, (void *)src, len, true);
}

long inet_iov_in(struct kmsg *m, u64 *done, void *dst, u64 len)
{
    return iov_xfer(m, done, dst, len, false);
}

/* -- options both protocols answer ----------------------------------------------------- */

#define IP_TOS 1
#define IP_TTL 2
#define IP_RECVERR 11
#define IP_MTU_DISCOVER 10
#define IP_PKTINFO 8
#define IP_RECVTOS 13
#define IP_FREEBIND 15
#define IP_MULTICAST_TTL 33
#define IP_MULTICAST_LOOP 34
#define IPV6_UNICAST_HOPS 16
#define IPV6_MULTICAST_HOPS 18
#define IPV6_MULTICAST_LOOP 19
#define IPV6_RECVERR 25
#define IPV6_V6ONLY 26
#define IPV6_RECVPKTINFO 49
#define IPV6_TCLASS 67

static long put_int(void *val, u32 *len, int v)
{
    u32 n = MIN(*len, (u32)sizeof(int));
    memcpy(val, &v, n);
    *len = n;
    return 0;
}

long inet_common_getsockopt(struct inet_sock *is, int level, int name, void *val, u32 *len,
                            bool *done)
{
    *done = true;
    if (level == IPPROTO_IP) {
        switch (name) {
        case IP_TOS:
            return put_int(val, len, is->tos);
        case IP_TTL:
            return put_int(val, len, is->ttl);
        case IP_MTU_DISCOVER:
            return put_int(val, len, 0);
        case IP_RECVERR:
        case IP_PKTINFO:
        case IP_RECVTOS:
        case IP_FREEBIND:
            return put_int(val, len, 0);
        case IP_MULTICAST_TTL:
        case IP_MULTICAST_LOOP:
            return put_int(val, len, 1);
        }
    } else if (level == IPPROTO_IPV6 && is->family == AF_INET6) {
        switch (name) {
        case IPV6_V6ONLY:
            return put_int(val, len, is->v6only);
        case IPV6_UNICAST_HOPS:
        case IPV6_MULTICAST_HOPS:
            return put_int(val, len, is->ttl);
        case IPV6_TCLASS:
            return put_int(val, len, is->tos);
        case IPV6_MULTICAST_LOOP:
            return put_int(val, len, 1);
        case IPV6_RECVERR:
        case IPV6_RECVPKTINFO:
            return put_int(val, len, 0);
        }
    }
    *done = false;
    return -ENOPROTOOPT;
}

long inet_common_setsockopt(struct inet_sock *is, int level, int name, const void *val,
                            u32 len, bool *done)
{
    *done = true;
    int v = 0;
    if (len >= sizeof(int))
        memcpy(&v, val, sizeof(int));
    else if (len >= 1)
        v = *(const u8 *)val; /* Linux takes a char for some IP options */
    else
        return -EINVAL;
    if (level == IPPROTO_IP) {
        switch (name) {
        case IP_TOS:
            is->tos = v & 0xff;
            return 0;
        case IP_TTL:
            if (v == -1)
                v = 64;
            if (v < 1 || v > 255)
                return -EINVAL;
            is->ttl = v;
            return 0;
        case IP_RECVERR:
        case IP_MTU_DISCOVER:
        case IP_PKTINFO:
        case IP_RECVTOS:
        case IP_FREEBIND:
        case IP_MULTICAST_TTL:
        case IP_MULTICAST_LOOP:
            return 0; /* accepted, no effect: nothing here depends on them */
        }
    } else if (level == IPPROTO_IPV6 && is->family == AF_INET6) {
        switch (name) {
        case IPV6_V6ONLY:
            if (is->bound)
                return -EINVAL; /* Linux: not after bind */
            is->v6only = v != 0;
            return 0;
        case IPV6_UNICAST_HOPS:
            if (v == -1)
                v = 64;
            if (v < 0 || v > 255)
                return -EINVAL;
            is->ttl = v;
            return 0;
        case IPV6_TCLASS:
            is->tos = v & 0xff;
            return 0;
        case IPV6_MULTICAST_HOPS:
        case IPV6_MULTICAST_LOOP:
        case IPV6_RECVERR:
        case IPV6_RECVPKTINFO:
            return 0;
        }
    }
    *done = false;
    return -ENOPROTOOPT;
}

/* -- the family -------------------------------------------------------------------- */

static long inet_create(struct socket *s, int type, int protocol)
{
    int family = s->family;
    if (type == SOCK_STREAM) {
        if (protocol != 0 && protocol != IPPROTO_TCP)
            return -EPROTONOSUPPORT;
        s->protocol = IPPROTO_TCP;
    } else if (type == SOCK_DGRAM) {
        if (protocol != 0 && protocol != IPPROTO_UDP)
            return -EPROTONOSUPPORT;
        s->protocol = IPPROTO_UDP;
    } else if (type == SOCK_RAW) {
        return -EPERM; /* raw sockets need CAP_NET_RAW; ping falls back to its error */
    } else {
        return -ESOCKTNOSUPPORT;
    }
    struct inet_sock *is = inet_sock_new(s, family, type);
    if (!is)
        return -ENOMEM;
    long r = type == SOCK_STREAM ? inet_tcp_create(is) : inet_udp_create(is);
    if (r < 0) {
        inet_sock_free(is);
        return r;
    }
    s->priv = is;
    s->ops = type == SOCK_STREAM ? &inet_tcp_ops : &inet_udp_ops;
    return 0;
}

static const struct sock_family inet4_family = {.family = AF_INET, .create = inet_create};
static const struct sock_family inet6_family = {.family = AF_INET6, .create = inet_create};

void inet_init(void)
{
    inet_mem_init();
    inet_if_init();
    sock_register_family(&inet4_family);
    sock_register_family(&inet6_family);
}
