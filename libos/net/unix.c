/* SPDX-License-Identifier: Apache-2.0 */
/* unix.c: AF_UNIX sockets in the kernel: create, socketpair, names (paths and abstract), listen/connect/accept, shutdown, poll, release. */
#include <libos/errno.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>
#include "unix_internal.h"

#define EPOLLRDHUP 0x2000
#define SIOCINQ 0x541b  /* FIONREAD */
#define SIOCOUTQ 0x5411 /* TIOCOUTQ */

static const struct sock_ops unix_ops;
static struct unix_sock *bound; /* every named socket: paths (by inode) and abstract names */
/* Buffers of released sockets, freed by the outermost release: a buffer may carry a
 * socket whose release frees more buffers, and chains of sockets in flight must not
 * recurse on the kernel stack (Linux defers the same work to task_work/its GC). */
static struct unix_skb *deferred;
static bool draining;
static u32 autobind_next;

void unix_get(struct unix_sock *u) { u->refs++; }

void unix_put(struct unix_sock *u)
{
    if (u && --u->refs == 0)
        kfree(u);
}

void unix_wake(struct unix_sock *u)
{
    waitq_wake(&u->wq, -1);
    readiness_changed();
}

static long unix_init_sock(struct socket *s, int type)
{
    struct unix_sock *u = kzalloc(sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->sock = s;
    u->refs = 1;
    u->type = type;
    s->ops = &unix_ops;
    s->priv = u;
    s->type = type;
    return 0;
}

/* Linux's unix_create: protocol 0 (or PF_UNIX), SOCK_RAW is a datagram socket. */
static long unix_create(struct socket *s, int type, int protocol)
{
    if (protocol && protocol != AF_UNIX)
        return -EPROTONOSUPPORT;
    if (type == SOCK_RAW)
        type = SOCK_DGRAM;
    if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
        return -ESOCKTNOSUPPORT;
    s->protocol = 0;
    return unix_init_sock(s, type);
}

static void connect_pair(struct unix_sock *a, struct unix_sock *b)
{
    unix_get(b);
    a->peer = b;
    unix_get(a);
    b->peer = a;
    if (a->type != SOCK_DGRAM) {
        a->state = US_CONNECTED;
        b->state = US_CONNECTED;
    }
}

static long unix_socketpair(struct socket *a, struct socket *b)
{
    connect_pair(unix_sk(a), unix_sk(b));
    sock_set_peercred_current(a);
    sock_set_peercred_current(b);
    return 0;
}

/* --- names --- */

long unix_validate_addr(const void *addr, u32 len)
{
    u16 fam;
    if (len <= 2 || len > UNIX_ADDR_MAX)
        return -EINVAL;
    memcpy(&fam, addr, sizeof(fam));
    return fam == AF_UNIX ? 0 : -EINVAL;
}

u32 unix_copy_name(const struct unix_sock *u, void *addr)
{
    if (!u->addrlen) {
        u16 fam = AF_UNIX;
        memcpy(addr, &fam, sizeof(fam));
        return 2;
    }
    memcpy(addr, u->addr, u->addrlen);
    return u->addrlen;
}

static bool is_abstract(const u8 *addr) { return addr[2] == 0; }

static struct unix_sock *find_abstract(const u8 *addr, u32 len, int type)
{
    for (struct unix_sock *u = bound; u; u = u->bound_next)
        if (!u->node && u->type == type && u->addrlen == len && memcmp(u->addr, addr, len) == 0)
            return u;
    return NULL;
}

static struct unix_sock *find_by_node(const struct vnode *n)
{
    for (struct unix_sock *u = bound; u; u = u->bound_next)
        if (u->node == n)
            return u;
    return NULL;
}

/* The path of a name as a C string in buf[UNIX_PATH_MAX + 1]; Linux ends it at len. */
static void path_of(const void *addr, u32 len, char *buf)
{
    u32 n = len - 2;
    memcpy(buf, (const u8 *)addr + 2, n);
    buf[n] = 0;
}

long unix_find_other(const void *addr, u32 len, int type, struct unix_sock **out)
{
    const u8 *a = addr;
    struct unix_sock *u;
    if (is_abstract(a)) {
        u = find_abstract(a, len, type);
        if (!u)
            return -ECONNREFUSED;
    } else {
        char path[UNIX_PATH_MAX + 1];
        path_of(addr, len, path);
        struct vnode *n;
        long r = vfs_lookup(AT_FDCWD, path, LOOKUP_FOLLOW, &n);
        if (r < 0)
            return r;
        if ((n->mode & S_IFMT) != S_IFSOCK)
            return -ECONNREFUSED;
        r = vfs_may_write(n);
        if (r < 0)
            return r;
        u = find_by_node(n);
        if (!u)
            return -ECONNREFUSED;
        if (u->type != type)
            return -EPROTOTYPE;
    }
    unix_get(u);
    *out = u;
    return 0;
}

static void add_bound(struct unix_sock *u)
{
    u->bound_next = bound;
    bound = u;
}

static void remove_bound(struct unix_sock *u)
{
    for (struct unix_sock **p = &bound; *p; p = &(*p)->bound_next) {
        if (*p == u) {
            *p = u->bound_next;
            return;
        }
    }
}

long unix_autobind(struct unix_sock *u)
{
    if (u->addrlen)
        return 0;
    for (u32 tries = 0; tries < 0xfffff; tries++) {
        u8 a[UNIX_ADDR_MAX] = {AF_UNIX, 0, 0};
        ksnprintf((char *)a + 3, 6, "%05x", autobind_next++ & 0xfffff);
        if (!find_abstract(a, 8, u->type)) {
            memcpy(u->addr, a, 8);
            u->addrlen = 8;
            add_bound(u);
            return 0;
        }
    }
    return -ENOSPC;
}

/* A socket inode at path: Linux's unix_bind_bsd (mknod S_IFSOCK; EADDRINUSE if the name exists). */
static long bind_path(struct unix_sock *u, const char *path, u32 mode)
{
    size_t len = strlen(path);
    size_t end = len;
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    char dirbuf[UNIX_PATH_MAX + 1];
    memcpy(dirbuf, path, start);
    dirbuf[start] = 0;
    struct vnode *dir;
    long r = vfs_lookup(AT_FDCWD, start ? dirbuf : ".", LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &dir);
    if (r < 0)
        return r;
    const char *name = path + start;
    u32 namelen = (u32)(end - start);
    if (namelen == 0 || (namelen == 1 && name[0] == '.') || (namelen == 2 && name[0] == '.' && name[1] == '.'))
        return -EADDRINUSE;
    if (ramfs_find(dir, name, namelen))
        return -EADDRINUSE;
    if (end < len)
        return -ENOENT; /* "name/" of a name that does not exist */
    if (dir->nlink == 0)
        return -ENOENT;
    r = vfs_may_write(dir);
    if (r < 0)
        return r;
    struct vnode *n = ramfs_alloc_node(S_IFSOCK | (mode & 0777 & ~vfs_umask()));
    if (!n)
        return -ENOSPC;
    n->uid = current_process()->euid;
    n->gid = current_process()->egid;
    vnode_get(n); /* ours while bound */
    r = ramfs_add(dir, name, namelen, n);
    if (r < 0) {
        vnode_put(n);
        return r;
    }
    vfs_touch(dir);
    u->node = n;
    return 0;
}

static long unix_bind(struct socket *s, const void *addr, u32 len)
{
    struct unix_sock *u = unix_sk(s);
    u16 fam = 0;
    if (len >= 2)
        memcpy(&fam, addr, sizeof(fam));
    if (len == 2 && fam == AF_UNIX)
        return u->addrlen ? -EINVAL : unix_autobind(u);
    long r = unix_validate_addr(addr, len);
    if (r < 0)
        return r;
    const u8 *a = addr;
    if (is_abstract(a)) {
        if (u->addrlen)
            return -EINVAL;
        if (find_abstract(a, len, u->type))
            return -EADDRINUSE;
        memcpy(u->addr, a, len);
        u->addrlen = len;
        add_bound(u);
        return 0;
    }
    char path[UNIX_PATH_MAX + 1];
    path_of(addr, len, path);
    if (u->addrlen) { /* Linux makes the node first: a taken name is EADDRINUSE */
        struct vnode *n;
        return vfs_lookup(AT_FDCWD, path, 0, &n) == 0 ? -EADDRINUSE : -EINVAL;
    }
    r = bind_path(u, path, 0777);
    if (r < 0)
        return r;
    /* The name as Linux keeps it: the path up to its NUL, with the NUL. */
    u->addrlen = (u32)(2 + strlen(path) + 1);
    memcpy(u->addr, a, 2);
    memcpy(u->addr + 2, path, u->addrlen - 2);
    add_bound(u);
    return 0;
}

static long unix_getname(struct socket *s, void *addr, u32 *len, bool peer)
{
    struct unix_sock *u = unix_sk(s);
    if (peer) {
        if (!u->peer || (u->type != SOCK_DGRAM && u->state != US_CONNECTED))
            return -ENOTCONN;
        u = u->peer;
    }
    *len = unix_copy_name(u, addr);
    return 0;
}

/* --- connections --- */

static long unix_listen(struct socket *s, int backlog)
{
    struct unix_sock *u = unix_sk(s);
    if (u->type != SOCK_STREAM && u->type != SOCK_SEQPACKET)
        return -EOPNOTSUPP;
    if (!u->addrlen)
        return -EINVAL; /* no listens on an unbound socket */
    if (u->state != US_CLOSE && u->state != US_LISTEN)
        return -EINVAL;
    if (backlog > u->backlog)
        unix_wake(u); /* connectors waiting for room may go */
    u->backlog = backlog;
    u->state = US_LISTEN;
    s->listening = true;
    sock_set_peercred_current(s); /* Linux's init_peercred: a client sees the listener's creds */
    return 0;
}

static long stream_connect(struct socket *s, const void *addr, u32 len, int flags)
{
    struct unix_sock *u = unix_sk(s);
    long r = unix_validate_addr(addr, len);
    if (r < 0)
        return r;
    if (s->passcred && !u->addrlen && (r = unix_autobind(u)) < 0)
        return r;
    u64 deadline = sock_deadline(s->sndtimeo_ns);
    for (;;) {
        struct unix_sock *other;
        r = unix_find_other(addr, len, u->type, &other);
        if (r < 0)
            return r;
        if (u->state == US_CONNECTED) {
            unix_put(other);
            return -EISCONN;
        }
        if (u->state != US_CLOSE) {
            unix_put(other);
            return -EINVAL;
        }
        if (other->state != US_LISTEN || (other->shutdown & RCV_SHUTDOWN)) {
            unix_put(other);
            return -ECONNREFUSED;
        }
        if (other->aq_count > other->backlog) { /* Linux's unix_recvq_full */
            r = (flags & MSG_DONTWAIT) ? -EAGAIN : sock_wait(&other->wq, deadline);
            unix_put(other);
            if (r < 0)
                return r;
            continue;
        }
        /* The server's end now, queued on the listener until accept takes it. */
        struct socket *ns = sock_alloc(AF_UNIX, u->type, 0);
        if (!ns || unix_init_sock(ns, u->type) < 0) {
            kfree(ns);
            unix_put(other);
            return -ENOMEM;
        }
        struct unix_sock *nu = unix_sk(ns);
        nu->state = US_CONNECTED;
        nu->embryo = true;
        memcpy(nu->addr, other->addr, other->addrlen); /* accept()ed sockets carry the listener's name */
        nu->addrlen = other->addrlen;
        sock_set_peercred_current(ns);
        if (other->sock) {
            s->peer_pid = other->sock->peer_pid;
            s->peer_uid = other->sock->peer_uid;
            s->peer_gid = other->sock->peer_gid;
        }
        connect_pair(u, nu);
        if (other->aq_tail)
            other->aq_tail->aq_next = nu;
        else
            other->aq_head = nu;
        other->aq_tail = nu;
        other->aq_count++;
        unix_wake(other);
        unix_put(other);
        unix_wake(u);
        return 0;
    }
}

/* Linux's unix_dgram_connect: a default destination (AF_UNSPEC: none). */
static long dgram_connect(struct socket *s, const void *addr, u32 len)
{
    struct unix_sock *u = unix_sk(s);
    u16 fam;
    if (len < 2)
        return -EINVAL;
    memcpy(&fam, addr, sizeof(fam));
    struct unix_sock *other = NULL;
    if (fam != AF_UNSPEC) {
        long r = unix_validate_addr(addr, len);
        if (r < 0)
            return r;
        if (s->passcred && !u->addrlen && (r = unix_autobind(u)) < 0)
            return r;
        r = unix_find_other(addr, len, u->type, &other);
        if (r < 0)
            return r;
        if (other->peer && other->peer != u && other != u) { /* unix_may_send */
            unix_put(other);
            return -EPERM;
        }
    }
    struct unix_sock *old = u->peer;
    u->peer = other; /* our reference from the lookup */
    if (old) {
        unix_wake(old);
        unix_put(old);
    }
    return 0;
}

static long unix_connect(struct socket *s, const void *addr, u32 len, int flags)
{
    if (unix_sk(s)->type == SOCK_DGRAM)
        return dgram_connect(s, addr, len);
    return stream_connect(s, addr, len, flags);
}

static long unix_accept(struct socket *s, struct socket **out, int flags)
{
    struct unix_sock *u = unix_sk(s);
    if (u->type != SOCK_STREAM && u->type != SOCK_SEQPACKET)
        return -EOPNOTSUPP;
    if (u->state != US_LISTEN)
        return -EINVAL;
    u64 deadline = sock_deadline(s->rcvtimeo_ns);
    while (!u->aq_head) {
        if (s->so_error)
            return -sock_take_error(s);
        if (flags & MSG_DONTWAIT)
            return -EAGAIN;
        long r = sock_wait(&u->wq, deadline);
        if (r < 0)
            return r;
        if (u->state != US_LISTEN)
            return -EINVAL;
    }
    struct unix_sock *nu = u->aq_head;
    u->aq_head = nu->aq_next;
    if (!u->aq_head)
        u->aq_tail = NULL;
    nu->aq_next = NULL;
    nu->embryo = false;
    u->aq_count--;
    nu->sock->passcred = s->passcred; /* Linux's unix_sock_inherit_flags */
    unix_wake(u); /* a connector may wait for room */
    *out = nu->sock;
    return 0;
}

static long unix_shutdown(struct socket *s, int how)
{
    struct unix_sock *u = unix_sk(s);
    int mode = how + 1; /* SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND_SHUTDOWN */
    u->shutdown |= mode;
    struct unix_sock *other = u->peer;
    if (other && u->type != SOCK_DGRAM) {
        int pm = 0;
        if (mode & RCV_SHUTDOWN)
            pm |= SEND_SHUTDOWN;
        if (mode & SEND_SHUTDOWN)
            pm |= RCV_SHUTDOWN;
        other->shutdown |= pm;
        unix_wake(other);
    }
    unix_wake(u);
    return 0;
}

static bool writable(const struct unix_sock *u) { return u->state != US_LISTEN && u->wmem * 4 <= u->sock->sndbuf; }

static u32 unix_poll(struct socket *s)
{
    struct unix_sock *u = unix_sk(s);
    u32 m = 0;
    if (s->so_error)
        m |= POLLERR;
    if (u->shutdown == SHUTDOWN_MASK)
        m |= POLLHUP;
    if (u->shutdown & RCV_SHUTDOWN)
        m |= EPOLLRDHUP | POLLIN | POLLRDNORM;
    if (u->rq_head || u->aq_head)
        m |= POLLIN | POLLRDNORM;
    if (u->type != SOCK_DGRAM && u->state == US_CLOSE)
        m |= POLLHUP;
    bool w = writable(u);
    if (w && u->type != SOCK_STREAM) {
        struct unix_sock *o = u->peer;
        if (o && o->peer != u && o->rq_count >= UNIX_DGRAM_QLEN)
            w = false; /* the receiver's queue is full */
    }
    if (w)
        m |= POLLOUT | POLLWRNORM | POLLWRBAND;
    return m;
}

static long unix_ioctl(struct socket *s, unsigned cmd, u64 arg)
{
    struct unix_sock *u = unix_sk(s);
    int n;
    if (cmd == SIOCINQ) {
        if (u->state == US_LISTEN)
            return -EINVAL;
        n = (int)(u->type == SOCK_DGRAM ? (u->rq_head ? u->rq_head->len : 0) : u->rq_bytes);
    } else if (cmd == SIOCOUTQ) {
        n = (int)u->wmem;
    } else {
        return -ENOTTY;
    }
    return copy_to_user(arg, &n, sizeof(n));
}

/* Linux's unix_release_sock: the name goes, the peer learns (EOF, EPIPE; ECONNRESET
 * when we leave unread data or an unaccepted connection), queued data is dropped. */
static void unix_release(struct socket *s)
{
    struct unix_sock *u = unix_sk(s);
    bool embryo = u->embryo;
    remove_bound(u);
    if (u->node) {
        vnode_put(u->node);
        u->node = NULL;
    }
    u->dead = true;
    u->shutdown = SHUTDOWN_MASK;
    struct unix_sock *peer = u->peer;
    if (peer) {
        if (u->type != SOCK_DGRAM) {
            peer->shutdown = SHUTDOWN_MASK;
            if ((u->rq_head || embryo) && peer->sock)
                peer->sock->so_error = ECONNRESET;
        }
        unix_wake(peer);
        /* Our peer pointer stays (a dgram sender finds us dead: ECONNREFUSED) until we go. */
    }
    u->state = US_CLOSE;
    while (u->rq_head) {
        struct unix_skb *skb = u->rq_head;
        u->rq_head = skb->next;
        skb->next = deferred;
        deferred = skb;
    }
    u->rq_tail = NULL;
    u->rq_count = 0;
    u->rq_bytes = 0;
    while (u->aq_head) { /* unaccepted connections: their clients get ECONNRESET */
        struct unix_sock *nu = u->aq_head;
        u->aq_head = nu->aq_next;
        sock_release(nu->sock);
    }
    u->aq_count = 0;
    u->sock = NULL;
    s->priv = NULL;
    if (peer) { /* the peer keeps its pointer (and reference) to us, dead, until it goes */
        u->peer = NULL;
        unix_put(peer);
    }
    unix_wake(u);
    unix_put(u);
    if (!draining) {
        draining = true;
        while (deferred) {
            struct unix_skb *skb = deferred;
            deferred = skb->next;
            unix_skb_free(skb); /* may release sockets in flight: their buffers join the list */
        }
        draining = false;
    }
}

static const struct sock_ops unix_ops = {
    .bind = unix_bind,
    .listen = unix_listen,
    .accept = unix_accept,
    .connect = unix_connect,
    .shutdown = unix_shutdown,
    .getname = unix_getname,
    .sendmsg = unix_sendmsg,
    .recvmsg = unix_recvmsg,
    .poll = unix_poll,
    .ioctl = unix_ioctl,
    .release = unix_release,
};

static const struct sock_family unix_family = {
    .family = AF_UNIX,
    .create = unix_create,
    .socketpair = unix_socketpair,
};

void unix_init(void) { sock_register_family(&unix_family); }
