/* SPDX-License-Identifier: Apache-2.0 */
/* socket_sys.c: what socket, socketpair, accept and send/recv do before and after the family: checks, fds, O_NONBLOCK, SIGPIPE. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/signal.h>
#include <libos/socket.h>
#include <libos/task.h>
#include <libos/vfs.h>

#define NPROTO 46   /* AF_MAX */
#define SOCK_MAX 11 /* SOCK_PACKET + 1 */

/* Linux's sock_create: the family number, then the type, then the family's own
 * checks (-EPROTONOSUPPORT, -ESOCKTNOSUPPORT). */
static long sock_create(int family, int type, int protocol, struct socket **out)
{
    if (family < 0 || family >= NPROTO)
        return -EAFNOSUPPORT;
    if (type < 0 || type >= SOCK_MAX)
        return -EINVAL;
    const struct sock_family *fam = sock_family_of(family);
    if (!fam)
        return -EAFNOSUPPORT;
    struct socket *s = sock_alloc(family, type, protocol);
    if (!s)
        return -ENFILE;
    long r = fam->create(s, type, protocol);
    if (r < 0) {
        kfree(s); /* a failed create leaves nothing of its own behind */
        return r;
    }
    *out = s;
    return 0;
}

long sock_socket(int family, int type, int protocol)
{
    int flags = type & ~SOCK_TYPE_MASK;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    struct socket *s;
    long r = sock_create(family, type & SOCK_TYPE_MASK, protocol, &s);
    return r < 0 ? r : sock_file_install(s, flags);
}

long sock_socketpair(int family, int type, int protocol, int fds[2])
{
    int flags = type & ~SOCK_TYPE_MASK;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    struct socket *a, *b;
    long r = sock_create(family, type & SOCK_TYPE_MASK, protocol, &a);
    if (r < 0)
        return r;
    r = sock_create(family, type & SOCK_TYPE_MASK, protocol, &b);
    if (r < 0) {
        sock_release(a);
        return r;
    }
    const struct sock_family *fam = sock_family_of(family);
    r = fam->socketpair ? fam->socketpair(a, b) : -EOPNOTSUPP;
    if (r < 0) {
        sock_release(a);
        sock_release(b);
        return r;
    }
    long fa = sock_file_install(a, flags); /* on failure a is released */
    if (fa < 0) {
        sock_release(b);
        return fa;
    }
    long fb = sock_file_install(b, flags);
    if (fb < 0) {
        fd_close((int)fa);
        return fb;
    }
    fds[0] = (int)fa;
    fds[1] = (int)fb;
    return 0;
}

/* MSG_DONTWAIT for a socket whose open file is O_NONBLOCK. */
static int nonblock(const struct socket *s) { return s->file && (s->file->flags & O_NONBLOCK) ? MSG_DONTWAIT : 0; }

long sock_sendmsg(struct socket *s, struct kmsg *m, int flags)
{
    if (!s->ops->sendmsg)
        return -EOPNOTSUPP;
    flags |= nonblock(s);
    long r = s->ops->sendmsg(s, m, flags);
    /* Linux's stream senders (unix_stream_sendmsg, sk_stream_error) raise SIGPIPE;
     * datagram and seqpacket ones return EPIPE alone. */
    if (r == -EPIPE && s->type == SOCK_STREAM && !(flags & MSG_NOSIGNAL)) {
        struct ksiginfo info = {.si_signo = SIGPIPE, .si_code = SI_USER};
        info.u.kill.pid = current_process()->pid;
        info.u.kill.uid = current_process()->uid;
        signal_send_thread(current, &info);
    }
    return r;
}

long sock_recvmsg(struct socket *s, struct kmsg *m, int flags)
{
    if (!s->ops->recvmsg)
        return -EOPNOTSUPP;
    m->ctl_used = 0;
    m->flags = 0;
    return s->ops->recvmsg(s, m, flags | nonblock(s));
}

long sock_accept(struct socket *s, int flags, void *addr, u32 *len)
{
    if (!s->ops->accept)
        return -EOPNOTSUPP;
    struct socket *ns = NULL;
    long r = s->ops->accept(s, &ns, nonblock(s));
    if (r < 0)
        return r;
    if (addr) {
        *len = SOCKADDR_MAX;
        if (!ns->ops->getname || ns->ops->getname(ns, addr, len, true) < 0)
            *len = 0; /* a peer that already went: an unnamed address, as Linux's unix_getname */
    }
    return sock_file_install(ns, flags);
}
