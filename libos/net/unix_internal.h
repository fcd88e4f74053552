/* SPDX-License-Identifier: Apache-2.0 */
/* unix_internal.h: AF_UNIX objects shared by net/unix.c (names, connections) and net/unix_msg.c (data). */
#ifndef LIBOS_NET_UNIX_INTERNAL_H
#define LIBOS_NET_UNIX_INTERNAL_H

#include <libos/socket.h>
#include <libos/task.h>

#define UNIX_PATH_MAX 108
#define UNIX_ADDR_MAX (2 + UNIX_PATH_MAX) /* sizeof(struct sockaddr_un) */
#define SKB_OVERHEAD 576                  /* what Linux charges per buffer beyond the data (truesize) */
#define UNIX_DGRAM_QLEN 10                /* net.unix.max_dgram_qlen */

/* sk_shutdown bits */
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2
#define SHUTDOWN_MASK 3

enum unix_state { US_CLOSE, US_LISTEN, US_CONNECTED };

/* One message or stream chunk in a receive queue (Linux's sk_buff with UNIXCB). */
struct unix_skb {
    struct unix_skb *next;
    struct unix_sock *sender; /* reference held: its wmem is charged until we are freed */
    u32 len, off;             /* off: bytes already read (stream) */
    u32 charge;               /* what sender->wmem was charged */
    struct file **fp;         /* SCM_RIGHTS in flight: references held */
    int nfp;
    int pid;                  /* the sender's credentials (SCM_CREDENTIALS) */
    u32 uid, gid;
    u8 data[];
};

struct unix_sock {
    struct socket *sock;       /* NULL once the socket is released */
    int refs;                  /* the socket, peers, queued buffers, accept queues */
    int type;
    enum unix_state state;
    int shutdown;              /* RCV_SHUTDOWN | SEND_SHUTDOWN of this end */
    bool dead;
    bool embryo;               /* a connection not accepted yet */
    struct unix_sock *peer;    /* reference held */
    u8 addr[UNIX_ADDR_MAX];    /* the bound name (addrlen 0: none) */
    u32 addrlen;
    struct vnode *node;        /* bound to a path: the socket's inode (reference held) */
    struct unix_sock *bound_next;
    struct unix_skb *rq_head, *rq_tail;
    u32 rq_count;
    u64 rq_bytes;              /* unread bytes */
    u64 wmem;                  /* charged for our buffers in other queues */
    /* Listening: connections not accepted yet (embryos, each with its socket). */
    struct unix_sock *aq_head, *aq_tail, *aq_next;
    int aq_count, backlog;
    struct waitq wq;           /* everyone waiting on this socket: readers, writers, accept, connect */
};

static inline struct unix_sock *unix_sk(const struct socket *s) { return s->priv; }

void unix_get(struct unix_sock *u);
void unix_put(struct unix_sock *u);
/* Something changed on u: its waiters re-check, and poll/select/epoll rescan. */
void unix_wake(struct unix_sock *u);
/* The name check of unix_validate_addr: -EINVAL unless AF_UNIX with a path byte. */
long unix_validate_addr(const void *addr, u32 len);
/* Linux's unix_find_other: the socket bound to addr (reference taken) or -ENOENT,
 * -ECONNREFUSED, -EPROTOTYPE, -EACCES... */
long unix_find_other(const void *addr, u32 len, int type, struct unix_sock **out);
long unix_autobind(struct unix_sock *u);
void unix_skb_free(struct unix_skb *skb);
long unix_sendmsg(struct socket *s, struct kmsg *m, int flags);
long unix_recvmsg(struct socket *s, struct kmsg *m, int flags);
/* Copy u's name (or just the family when unbound) into addr; its length. */
u32 unix_copy_name(const struct unix_sock *u, void *addr);

#endif /* LIBOS_NET_UNIX_INTERNAL_H */
