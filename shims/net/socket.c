/* SPDX-License-Identifier: Apache-2.0 */
/* socket.c: socket, socketpair, bind, listen, accept/accept4, connect, shutdown, getsockname, getpeername. */
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/vfs.h>
#include "net.h"

#define SOMAXCONN 4096 /* net.core.somaxconn */

/* sys_socket: Linux socket(2); families registered at boot, others EAFNOSUPPORT. */
/* Linking this family links the socket families and the network: kernel/main.c
 * calls net_init() through a weak reference, which alone pulls nothing from libos.a,
 * so this strong one decides (an image without sockets carries no lwIP). */
__attribute__((used)) static void (*const link_the_network)(void) = net_init;

long sys_socket(const struct shim_args *a) { return sock_socket(arg_int(a, 0), arg_int(a, 1), arg_int(a, 2)); }

/* sys_socketpair: Linux socketpair(2) (AF_UNIX). */
long sys_socketpair(const struct shim_args *a)
{
    int type = arg_int(a, 1);
    if (type & ~SOCK_TYPE_MASK & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    u64 usv = arg_uptr(a, 3);
    int probe[2] = {-1, -1}; /* Linux writes the fds before creating the sockets: EFAULT first */
    if (copy_to_user(usv, probe, sizeof(probe)) < 0)
        return -EFAULT;
    int fds[2];
    long r = sock_socketpair(arg_int(a, 0), type, arg_int(a, 2), fds);
    if (r < 0)
        return r;
    if (copy_to_user(usv, fds, sizeof(fds)) < 0) {
        fd_close(fds[0]);
        fd_close(fds[1]);
        return -EFAULT;
    }
    return 0;
}

/* sys_bind: Linux bind(2): the fd, then the name, then the family. */
long sys_bind(const struct shim_args *a)
{
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    u8 addr[SOCKADDR_MAX];
    int len = arg_int(a, 2);
    r = net_addr_in(arg_uptr(a, 1), len, addr);
    if (r < 0)
        return r;
    return s->ops->bind ? s->ops->bind(s, addr, (u32)len) : -EOPNOTSUPP;
}

/* sys_listen: Linux listen(2); the backlog is capped at somaxconn (4096). */
long sys_listen(const struct shim_args *a)
{
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    int backlog = arg_int(a, 1);
    if ((unsigned)backlog > SOMAXCONN)
        backlog = SOMAXCONN;
    return s->ops->listen ? s->ops->listen(s, backlog) : -EOPNOTSUPP;
}

/* Is there an fd for the accepted connection? Linux takes one (EMFILE) before it
 * waits, so a full table never consumes a connection. */
static bool fd_available(void)
{
    u64 limit = MIN((u64)FD_MAX, current_process()->rlim[RLIMIT_NOFILE].cur);
    for (u64 fd = 0; fd < limit; fd++)
        if (!fd_get((int)fd))
            return true;
    return false;
}

static long do_accept(int fd, u64 uaddr, u64 ulen, int flags)
{
    if (!fd_get(fd))
        return -EBADF;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    if (!fd_available())
        return -EMFILE;
    struct socket *s;
    long r = sock_from_fd(fd, &s);
    if (r < 0)
        return r;
    u8 addr[SOCKADDR_MAX];
    u32 len = 0;
    long nfd = sock_accept(s, flags, uaddr ? addr : NULL, &len);
    if (nfd < 0 || !uaddr)
        return nfd;
    r = net_addr_out(addr, len, uaddr, ulen);
    if (r < 0) {
        fd_close((int)nfd); /* as Linux: the connection is dropped with the fault */
        return r;
    }
    return nfd;
}

/* sys_accept: Linux accept(2). */
long sys_accept(const struct shim_args *a) { return do_accept(arg_int(a, 0), arg_uptr(a, 1), arg_uptr(a, 2), 0); }

/* sys_accept4: Linux accept4(2): SOCK_NONBLOCK, SOCK_CLOEXEC. */
long sys_accept4(const struct shim_args *a)
{
    return do_accept(arg_int(a, 0), arg_uptr(a, 1), arg_uptr(a, 2), arg_int(a, 3));
}

/* sys_connect: Linux connect(2): EBADF, then the name, then ENOTSOCK (Linux's order). */
long sys_connect(const struct shim_args *a)
{
    int fd = arg_int(a, 0);
    struct file *f = fd_get(fd);
    if (!f || (f->flags & O_PATH))
        return -EBADF;
    u8 addr[SOCKADDR_MAX];
    int len = arg_int(a, 2);
    long r = net_addr_in(arg_uptr(a, 1), len, addr);
    if (r < 0)
        return r;
    struct socket *s = sock_of_file(f);
    if (!s)
        return -ENOTSOCK;
    if (!s->ops->connect)
        return -EOPNOTSUPP;
    sock_hold(s);
    r = s->ops->connect(s, addr, (u32)len, (f->flags & O_NONBLOCK) ? MSG_DONTWAIT : 0);
    file_put(f);
    return r;
}

/* sys_shutdown: Linux shutdown(2): SHUT_RD, SHUT_WR, SHUT_RDWR. */
long sys_shutdown(const struct shim_args *a)
{
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    int how = arg_int(a, 1);
    if (how < SHUT_RD || how > SHUT_RDWR)
        return -EINVAL;
    return s->ops->shutdown ? s->ops->shutdown(s, how) : -EOPNOTSUPP;
}

static long do_getname(const struct shim_args *a, bool peer)
{
    struct socket *s;
    long r = sock_from_fd(arg_int(a, 0), &s);
    if (r < 0)
        return r;
    u8 addr[SOCKADDR_MAX];
    u32 len = SOCKADDR_MAX;
    if (!s->ops->getname)
        return -EOPNOTSUPP;
    r = s->ops->getname(s, addr, &len, peer);
    if (r < 0)
        return r;
    return net_addr_out(addr, len, arg_uptr(a, 1), arg_uptr(a, 2));
}

/* sys_getsockname: Linux getsockname(2). */
long sys_getsockname(const struct shim_args *a) { return do_getname(a, false); }

/* sys_getpeername: Linux getpeername(2); ENOTCONN without a peer. */
long sys_getpeername(const struct shim_args *a) { return do_getname(a, true); }
