/* SPDX-License-Identifier: Apache-2.0 */
/* socket.h: the socket layer: one socket object per open socket, families behind an ops table (docs/sockets.md).
 *
 * Layering: fs/net. The generic layer (net/socket.c) owns the open file, the fd,
 * copying names and control messages between user and kernel memory, the common
 * SOL_SOCKET options, O_NONBLOCK/MSG_DONTWAIT, SIGPIPE on -EPIPE unless MSG_NOSIGNAL,
 * and the syscalls (shims/net). A family (net/unix*.c for AF_UNIX in the kernel,
 * net/inet*.c for AF_INET/AF_INET6 over lwIP) implements struct sock_ops.
 *
 * Rules a family relies on and keeps:
 *   - Every op runs with interrupts off in a non-preemptible kernel (task.h). A
 *     blocking op sleeps with waitq_wait(..., WAIT_INTERRUPTIBLE) until its condition
 *     holds, the socket's timeout (SO_RCVTIMEO/SO_SNDTIMEO: sk->rcvtimeo_ns/sndtimeo_ns,
 *     0 = none) passes (-EAGAIN, Linux's EWOULDBLOCK), or a signal comes (-ERESTARTSYS;
 *     connect: -ERESTARTSYS too, accept: -ERESTARTSYS). With MSG_DONTWAIT in flags (the
 *     generic layer adds it for O_NONBLOCK files) it never sleeps: -EAGAIN,
 *     connect: -EINPROGRESS.
 *   - Whatever changes the answer of ->poll calls readiness_changed() (poll, select and
 *     epoll rescan; task.h), so a socket file is poll_wakes.
 *   - Names arrive and leave as kernel copies (struct sockaddr_storage-sized buffers);
 *     data moves through struct kmsg's iovec, whose user ranges were checked: copy
 *     with uaccess_copy (short copy -> -EFAULT after nothing moved, else the count).
 *   - A stream op returns the bytes moved; -EPIPE when the peer has gone (the generic
 *     layer raises SIGPIPE); 0 from recv means end of stream.
 *   - Memory is bounded: a family refuses (-ENOBUFS, -ENOMEM, -EAGAIN) rather than panics.
 */
#ifndef LIBOS_SOCKET_H
#define LIBOS_SOCKET_H

#include <libos/types.h>

struct file;
struct socket;

/* Linux address families, types and flags (x86-64 ABI). */
#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define AF_PACKET 17

#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define SOCK_SEQPACKET 5
#define SOCK_TYPE_MASK 0xf
#define SOCK_NONBLOCK 04000   /* O_NONBLOCK */
#define SOCK_CLOEXEC 02000000 /* O_CLOEXEC */

#define MSG_OOB 0x1
#define MSG_PEEK 0x2
#define MSG_DONTROUTE 0x4
#define MSG_CTRUNC 0x8
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_EOR 0x80
#define MSG_WAITALL 0x100
#define MSG_NOSIGNAL 0x4000
#define MSG_MORE 0x8000
#define MSG_WAITFORONE 0x10000
#define MSG_CMSG_CLOEXEC 0x40000000

#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2

#define SOL_SOCKET 1
#define SO_DEBUG 1
#define SO_REUSEADDR 2
#define SO_TYPE 3
#define SO_ERROR 4
#define SO_DONTROUTE 5
#define SO_BROADCAST 6
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_KEEPALIVE 9
#define SO_OOBINLINE 10
#define SO_LINGER 13
#define SO_REUSEPORT 15
#define SO_PASSCRED 16
#define SO_PEERCRED 17
#define SO_RCVLOWAT 18
#define SO_SNDLOWAT 19
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define SO_ACCEPTCONN 30
#define SO_PROTOCOL 38
#define SO_DOMAIN 39

#define SCM_RIGHTS 1
#define SCM_CREDENTIALS 2

#define IPPROTO_IP 0
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_IPV6 41

/* The largest name any family takes (struct sockaddr_storage). */
#define SOCKADDR_MAX 128

struct kiovec {
    u64 base; /* user (or kernel, for sendfile/splice) address, already range-checked */
    u64 len;
};

/* A message as families see it: kernel copies of the name and control buffers,
 * the caller's iovec. The generic layer copies name/control in (send) or out (recv). */
struct kmsg {
    void *name;         /* SOCKADDR_MAX bytes; send: the destination or NULL; recv: always given */
    u32 namelen;        /* send: its length; recv: set by the family (0: none) */
    struct kiovec *iov; /* at most UIO_MAXIOV (1024) entries */
    u32 iovlen;
    void *control;      /* cmsg buffer (kernel copy), or NULL */
    u32 controllen;     /* send: bytes given; recv: room (written through scm_put) */
    int flags;          /* recv: MSG_TRUNC, MSG_CTRUNC, MSG_EOR set by the family */
    u32 ctl_used;       /* recv: control bytes written so far (scm_put) */
};

struct sock_ops {
    long (*bind)(struct socket *s, const void *addr, u32 len);
    long (*listen)(struct socket *s, int backlog);
    /* A new connected socket (created with the listener's family/type/ops), or -errno.
     * flags: MSG_DONTWAIT only. */
    long (*accept)(struct socket *s, struct socket **out, int flags);
    long (*connect)(struct socket *s, const void *addr, u32 len, int flags);
    long (*shutdown)(struct socket *s, int how);
    /* Fill addr (SOCKADDR_MAX bytes) and *len; peer: the remote end (-ENOTCONN). */
    long (*getname)(struct socket *s, void *addr, u32 *len, bool peer);
    long (*sendmsg)(struct socket *s, struct kmsg *m, int flags);
    long (*recvmsg)(struct socket *s, struct kmsg *m, int flags);
    /* Options the generic layer does not own; val is a kernel copy. -ENOPROTOOPT if unknown. */
    long (*setsockopt)(struct socket *s, int level, int name, const void *val, u32 len);
    long (*getsockopt)(struct socket *s, int level, int name, void *val, u32 *len);
    /* POLLIN/POLLOUT/POLLHUP/POLLERR/POLLRDHUP... now. */
    u32 (*poll)(struct socket *s);
    /* FIONREAD/SIOCINQ/SIOCOUTQ and family ioctls; -ENOTTY if unknown (NULL: all unknown). */
    long (*ioctl)(struct socket *s, unsigned cmd, u64 arg);
    /* The last reference is gone: free the family's state (s itself is freed by the caller). */
    void (*release)(struct socket *s);
};

struct socket {
    const struct sock_ops *ops;
    int family, type, protocol;
    struct file *file;      /* the open file this socket is (set by the generic layer) */
    /* Common SOL_SOCKET state the generic layer answers for every family. */
    int so_error;           /* SO_ERROR: read and cleared by getsockopt */
    u32 sndbuf, rcvbuf;     /* SO_SNDBUF/SO_RCVBUF as Linux reports them (doubled) */
    u64 rcvtimeo_ns, sndtimeo_ns;
    bool reuseaddr, reuseport, keepalive, passcred, broadcast, oobinline;
    int linger_onoff, linger_secs;
    bool listening;         /* SO_ACCEPTCONN */
    void *priv;             /* the family's object */
    /* Added by the generic layer (after af15bf6): */
    int rcvlowat;           /* SO_RCVLOWAT (1 by default) */
    int priority;           /* SO_PRIORITY */
    u32 mark;               /* SO_MARK */
    bool dontroute, debug;
    /* SO_PEERCRED: the peer's pid/uid/gid at connect/socketpair (AF_UNIX fills them;
     * peer_pid 0 and uid/gid -1 otherwise, as Linux for sockets with no peer creds). */
    int peer_pid;
    u32 peer_uid, peer_gid;
};

/* A family: create fills s->ops and s->priv for (type, protocol) or fails with
 * -EPROTONOSUPPORT/-ESOCKTNOSUPPORT; socketpair (NULL: -EOPNOTSUPP) connects a and b. */
struct sock_family {
    int family;
    long (*create)(struct socket *s, int type, int protocol);
    long (*socketpair)(struct socket *a, struct socket *b);
};

/* Families register once at boot (net_init); socket() with an unregistered family
 * gives -EAFNOSUPPORT. */
void sock_register_family(const struct sock_family *fam);
/* The registered family, or NULL. */
const struct sock_family *sock_family_of(int family);

/* A new socket object for family/type (no file yet): for accept, which then calls
 * sock_file_install(). NULL when memory is exhausted. */
struct socket *sock_alloc(int family, int type, int protocol);
/* Wrap s in an open file and install it as the lowest free fd (flags: SOCK_NONBLOCK,
 * SOCK_CLOEXEC). On failure s is released. */
long sock_file_install(struct socket *s, int flags);
/* A reference to s's open file (or NULL) for the length of a blocking op: another
 * thread may close the fd meanwhile (release with file_put). */
struct file *sock_hold(struct socket *s);
/* Free a socket that never got a file (ops->release, then the object). */
void sock_release(struct socket *s);
/* The socket behind fd: -EBADF when not open, -ENOTSOCK when not a socket. */
long sock_from_fd(int fd, struct socket **out);
/* The socket behind an open file, or NULL (AF_UNIX SCM_RIGHTS, sendfile). */
struct socket *sock_of_file(struct file *f);

/* --- helpers for families (net/socket.c) --- */
struct waitq;
/* The deadline of a wait with timeout timeo_ns (SO_RCVTIMEO/SO_SNDTIMEO; 0: none -> ~0ul). */
u64 sock_deadline(u64 timeo_ns);
/* Block on wq until woken (0), deadline passes (-EAGAIN) or a signal comes:
 * -ERESTARTSYS without a timeout, -EINTR with one (Linux's sock_intr_errno). */
long sock_wait(struct waitq *wq, u64 deadline);
/* SO_ERROR's read-and-clear (Linux's sock_error): the pending error (positive), 0 if none. */
int sock_take_error(struct socket *s);
/* Record the caller's pid/euid/egid as what peer_of's SO_PEERCRED reports
 * (the caller is peer_of's peer: connect, socketpair, listen). */
void sock_set_peercred_current(struct socket *peer_of);

/* Control messages (Linux's struct scm_cookie; net/socket_cmsg.c). */
#define SCM_MAX_FD 253
struct scm {
    struct file *fp[SCM_MAX_FD]; /* SCM_RIGHTS: references held */
    int nfp;
    bool has_creds;              /* SCM_CREDENTIALS given */
    int pid;
    u32 uid, gid;
};
/* Linux's __scm_send: parse m->control (SOL_SOCKET SCM_RIGHTS for AF_UNIX only,
 * SCM_CREDENTIALS), -EINVAL/-EBADF/-EPERM as Linux. Other levels are left to the
 * family. On success *out holds file references (scm_destroy drops them). */
long scm_send(struct socket *s, const struct kmsg *m, struct scm *out);
void scm_destroy(struct scm *scm);
/* Linux's put_cmsg: append one control message to m->control (room m->controllen at
 * start, m->ctl_used so far); sets MSG_CTRUNC when it does not fit whole. Returns
 * the bytes of data that fit. */
long scm_put(struct kmsg *m, int level, int type, const void *data, u32 len);
/* Linux's scm_recv for a received message: SCM_CREDENTIALS when s->passcred, then the
 * passed files installed as fds (MSG_CMSG_CLOEXEC in flags: close-on-exec), as many as
 * the room allows (MSG_CTRUNC otherwise); every reference in scm is consumed. */
void scm_recv(struct socket *s, struct kmsg *m, struct scm *scm, int flags);

/* --- the syscalls' semantics (the shims call these; net/socket_sys.c) --- */
long sock_socket(int family, int type, int protocol);
long sock_socketpair(int family, int type, int protocol, int fds[2]);
/* send/recv on s: MSG_DONTWAIT added for O_NONBLOCK files, SIGPIPE on -EPIPE from a
 * stream socket unless MSG_NOSIGNAL. */
long sock_sendmsg(struct socket *s, struct kmsg *m, int flags);
long sock_recvmsg(struct socket *s, struct kmsg *m, int flags);
long sock_setsockopt(struct socket *s, int level, int name, const void *val, u32 len);
/* *len: the room on entry (>= 0), the bytes written on return. */
long sock_getsockopt(struct socket *s, int level, int name, void *val, u32 *len);
/* accept(2)/accept4: the new fd; addr/len (may be NULL) get the peer's name. */
long sock_accept(struct socket *s, int flags, void *addr, u32 *len);

/* The interfaces, for AF_NETLINK route dumps (getifaddrs) and the SIOCGIF* ioctls
 * (if_nametoindex). The network layer (net/inet_if.c) defines net_ifaces() when the
 * net family links it; in an image without it the weak default in net/socket_ifreq.c
 * (reached by the SIOCGIF* ioctls) reports lo only. Returns how many were filled. */
struct net_iface {
    int index;
    char name[16];
    u32 flags;       /* IFF_UP, IFF_LOOPBACK, IFF_RUNNING, IFF_BROADCAST, IFF_MULTICAST */
    u32 mtu;
    u8 mac[6];
    bool has_ipv4;
    u8 ipv4[4], ipv4_prefix;
    bool has_ipv6;
    u8 ipv6[16], ipv6_prefix;
};
int net_ifaces(struct net_iface *out, int max);
/* SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS/MTU/HWADDR/ADDR/NETMASK on any
 * socket (Linux's dev_ioctl) from net_ifaces(); -ENOTTY for other requests. */
long sock_ifreq_ioctl(unsigned cmd, u64 arg);

/* AF_UNIX (net/unix.c) and AF_NETLINK (net/netlink.c): register the family. */
void unix_init(void);
void netlink_init(void);

/* Boot: register the families (unix always; inet when a network device or only loopback). */
void net_init(void);
/* AF_INET and AF_INET6 (net/inet.c): lwIP, lo, the NIC and its address, /etc/hosts,
 * /etc/hostname and /etc/resolv.conf; registers both families. net_init calls it. */
void inet_init(void);
/* The program is over and the VM ends next (kernel/exit.c): Linux's kernel would go on
 * sending what sockets hold, so wait, at most a second or two, until the NIC has sent
 * its frames and TCP's data is acknowledged. Interrupts stay off; it polls. */
void net_exit_flush(void);

#endif /* LIBOS_SOCKET_H */
