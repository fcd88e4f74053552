/* SPDX-License-Identifier: Apache-2.0 */
/* netlink_route.c: AF_NETLINK NETLINK_ROUTE, only what getifaddrs, if_nameindex and getaddrinfo's AI_ADDRCONFIG ask: RTM_GETLINK and RTM_GETADDR dumps. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/uaccess.h>

#include "netlink_internal.h"

#define NETLINK_ROUTE 0
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define NLM_F_REQUEST 0x1
#define NLM_F_MULTI 0x2
#define NLM_F_ACK 0x4
#define NLM_F_DUMP 0x300
#define IFLA_ADDRESS 1
#define IFLA_BROADCAST 2
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFLA_TXQLEN 13
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define IFA_BROADCAST 4
#define IFA_F_PERMANENT 0x80
#define RT_SCOPE_UNIVERSE 0
#define RT_SCOPE_HOST 254
#define ARPHRD_ETHER 1
#define ARPHRD_LOOPBACK 772
#define IFF_LOOPBACK 0x8
#define IFACES_MAX 8
#define NL_REPLY_MAX 8192

struct nlmsghdr {
    u32 len;
    u16 type, flags;
    u32 seq, pid;
};
struct ifinfomsg {
    u8 family, pad;
    u16 type;
    s32 index;
    u32 flags, change;
};
struct ifaddrmsg {
    u8 family, prefixlen, flags, scope;
    u32 index;
};
struct rtattr {
    u16 len, type;
};

#define NLA_ALIGN(n) (((n) + 3u) & ~3u)

/* A reply being built: one datagram of netlink messages. */
struct reply {
    u8 *buf;
    u32 len;
};

static void *put(struct reply *r, u32 n)
{
    u32 at = r->len;
    if (at + NLA_ALIGN(n) > NL_REPLY_MAX)
        return NULL;
    r->len += NLA_ALIGN(n);
    memset(r->buf + at, 0, NLA_ALIGN(n));
    return r->buf + at;
}

static void attr(struct reply *r, struct nlmsghdr *h, u16 type, const void *data, u32 n)
{
    struct rtattr *a = put(r, sizeof(*a) + n);
    if (!a)
        return;
    a->len = (u16)(sizeof(*a) + n);
    a->type = type;
    memcpy(a + 1, data, n);
    h->len = r->len - (u32)((u8 *)h - r->buf);
}

static struct nlmsghdr *msg(struct reply *r, u16 type, u16 flags, const struct nlmsghdr *req, u32 portid, u32 body)
{
    struct nlmsghdr *h = put(r, sizeof(*h) + body);
    if (!h)
        return NULL;
    *h = (struct nlmsghdr){(u32)sizeof(*h) + body, type, flags, req->seq, portid};
    return h;
}

static void dump_links(struct reply *r, const struct nlmsghdr *req, u32 portid, const struct net_iface *ifs, int n)
{
    for (int i = 0; i < n; i++) {
        struct nlmsghdr *h = msg(r, RTM_NEWLINK, NLM_F_MULTI, req, portid, sizeof(struct ifinfomsg));
        if (!h)
            return;
        struct ifinfomsg *ifi = (struct ifinfomsg *)(h + 1);
        bool lo = ifs[i].flags & IFF_LOOPBACK;
        ifi->type = lo ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
        ifi->index = ifs[i].index;
        ifi->flags = ifs[i].flags;
        attr(r, h, IFLA_IFNAME, ifs[i].name, (u32)strlen(ifs[i].name) + 1);
        u32 mtu = ifs[i].mtu, qlen = lo ? 1000 : 1000;
        attr(r, h, IFLA_MTU, &mtu, 4);
        attr(r, h, IFLA_TXQLEN, &qlen, 4);
        static const u8 bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        attr(r, h, IFLA_ADDRESS, ifs[i].mac, 6);
        attr(r, h, IFLA_BROADCAST, lo ? ifs[i].mac : bcast, 6);
    }
}

static void dump_addrs(struct reply *r, const struct nlmsghdr *req, u32 portid, int family, const struct net_iface *ifs,
                       int n)
{
    for (int i = 0; i < n; i++) {
        bool lo = ifs[i].flags & IFF_LOOPBACK;
        if (ifs[i].has_ipv4 && (family == AF_UNSPEC || family == AF_INET)) {
            struct nlmsghdr *h = msg(r, RTM_NEWADDR, NLM_F_MULTI, req, portid, sizeof(struct ifaddrmsg));
            if (!h)
                return;
            struct ifaddrmsg *ifa = (struct ifaddrmsg *)(h + 1);
            *ifa = (struct ifaddrmsg){AF_INET, ifs[i].ipv4_prefix, IFA_F_PERMANENT,
                                      lo ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE, (u32)ifs[i].index};
            attr(r, h, IFA_ADDRESS, ifs[i].ipv4, 4);
            attr(r, h, IFA_LOCAL, ifs[i].ipv4, 4);
            if (!lo) {
                u8 b[4];
                u32 mask = ifs[i].ipv4_prefix ? ~0u << (32 - ifs[i].ipv4_prefix) : 0;
                for (int k = 0; k < 4; k++)
                    b[k] = ifs[i].ipv4[k] | (u8)(~mask >> (24 - 8 * k));
                attr(r, h, IFA_BROADCAST, b, 4);
            }
            attr(r, h, IFA_LABEL, ifs[i].name, (u32)strlen(ifs[i].name) + 1);
        }
        if (ifs[i].has_ipv6 && (family == AF_UNSPEC || family == AF_INET6)) {
            struct nlmsghdr *h = msg(r, RTM_NEWADDR, NLM_F_MULTI, req, portid, sizeof(struct ifaddrmsg));
            if (!h)
                return;
            struct ifaddrmsg *ifa = (struct ifaddrmsg *)(h + 1);
            *ifa = (struct ifaddrmsg){AF_INET6, ifs[i].ipv6_prefix, IFA_F_PERMANENT,
                                      lo ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE, (u32)ifs[i].index};
            attr(r, h, IFA_ADDRESS, ifs[i].ipv6, 16);
        }
    }
}

/* One request: its replies appended to the socket's queue (NLMSG_ERROR for what is not a dump we know). */
long nl_route_request(struct nl_sock *nl, const struct nlmsghdr *req, u32 len)
{
    struct reply r = {kmalloc(NL_REPLY_MAX), 0};
    if (!r.buf)
        return -ENOBUFS;
    struct net_iface ifs[IFACES_MAX];
    int n = net_ifaces(ifs, IFACES_MAX);
    bool dump = (req->flags & NLM_F_DUMP) == NLM_F_DUMP;
    int family = len >= sizeof(*req) + 1 ? ((const u8 *)(req + 1))[0] : AF_UNSPEC;
    int err = 0;
    if (req->type == RTM_GETLINK && dump)
        dump_links(&r, req, nl->portid, ifs, n);
    else if (req->type == RTM_GETADDR && dump)
        dump_addrs(&r, req, nl->portid, family, ifs, n);
    else
        err = -EOPNOTSUPP;
    if (err == 0) {
        struct nlmsghdr *d = msg(&r, NLMSG_DONE, NLM_F_MULTI, req, nl->portid, sizeof(int));
        if (d)
            memset(d + 1, 0, sizeof(int));
    } else if (req->flags & NLM_F_REQUEST) {
        struct nlmsghdr *e = msg(&r, NLMSG_ERROR, 0, req, nl->portid, sizeof(int) + sizeof(*req));
        if (e) {
            memcpy(e + 1, &err, sizeof(int));
            memcpy((u8 *)(e + 1) + sizeof(int), req, sizeof(*req));
        }
    }
    long q = r.len ? nl_queue(nl, r.buf, r.len) : 0;
    kfree(r.buf);
    return q;
}
