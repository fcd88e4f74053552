/* SPDX-License-Identifier: Apache-2.0 */
/* netlink_internal.h: the AF_NETLINK socket (net/netlink.c) and its NETLINK_ROUTE requests (net/netlink_route.c). */
#ifndef LIBOS_NET_NETLINK_INTERNAL_H
#define LIBOS_NET_NETLINK_INTERNAL_H

#include <libos/socket.h>
#include <libos/task.h>

struct nl_dgram {
    struct nl_dgram *next;
    u32 len;
    u8 data[];
};

struct nl_sock {
    struct socket *sock;
    u32 portid; /* 0: not bound yet */
    u32 groups;
    struct nl_dgram *head, *tail;
    u64 qbytes;
    struct waitq wq;
    struct nl_sock *next; /* every netlink socket: port ids are unique */
};

struct nlmsghdr;
/* Queue one reply datagram for the socket's reader: 0, or -ENOBUFS past SO_RCVBUF. */
long nl_queue(struct nl_sock *nl, const void *data, u32 len);
/* Answer one NETLINK_ROUTE request (replies queued). */
long nl_route_request(struct nl_sock *nl, const struct nlmsghdr *req, u32 len);

#endif /* LIBOS_NET_NETLINK_INTERNAL_H */
