/* SPDX-License-Identifier: Apache-2.0 */
/* socket.c: the socket object and its open file (read/write/poll/ioctl/fstat), the family registry, fd install and lookup. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/socket.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/vfs.h>

/* Linux's sockfs is a pseudo filesystem of its own; every socket has its own inode
 * on it (fstat: S_IFSOCK | 0777, one link, the creator as owner). */
#define SOCKFS_DEV makedev(0, 8)
#define SOCK_DEFAULT_BUF 212992 /* net.core.wmem_default and rmem_default */
#define FAMILY_MAX 46           /* Linux's AF_MAX */

static const struct sock_family *families[FAMILY_MAX];

void sock_register_family(const struct sock_family *fam)
{
    if (fam->family > 0 && fam->family < FAMILY_MAX)
        families[fam->family] = fam;
}

const struct sock_family *sock_family_of(int family)
{
    return family > 0 && family < FAMILY_MAX ? families[family] : NULL;
}

struct socket *sock_alloc(int family, int type, int protocol)
{
    struct socket *s = kzalloc(sizeof(*s));
    if (!s)
        return NULL;
    s->family = family;
    s->type = type;
    s->protocol = protocol;
    s->sndbuf = s->rcvbuf = SOCK_DEFAULT_BUF;
    s->rcvlowat = 1;
    s->peer_pid = 0;
    s->peer_uid = s->peer_gid = (u32)-1;
    return s;
}

/* The object goes: the family's state first, then the socket. */
void sock_release(struct socket *s)
{
    if (s->ops && s->ops->release)
        s->ops->release(s);
    kfree(s);
}

/* read(2) is recvmsg with no flags and no name, write(2) sendmsg (SIGPIPE included). */
static long sock_file_read(struct file *f, void *buf, size_t n)
{
    if (n == 0)
        return 0; /* Linux's sock_read_iter: "match SYS5 behaviour" */
    struct kiovec iov = {(u64)buf, n};
    struct kmsg m = {.iov = &iov, .iovlen = 1};
    return sock_recvmsg(f->priv, &m, 0);
}

static long sock_file_write(struct file *f, const void *buf, size_t n)
{
    struct kiovec iov = {(u64)buf, n};
    struct kmsg m = {.iov = &iov, .iovlen = 1};
    return sock_sendmsg(f->priv, &m, 0);
}

static u32 sock_file_poll(struct file *f)
{
    struct socket *s = f->priv;
    return s->ops && s->ops->poll ? s->ops->poll(s) : 0;
}

/* The family's ioctls first, then the interface requests every socket answers. */
static long sock_file_ioctl(struct file *f, unsigned cmd, u64 arg)
{
    struct socket *s = f->priv;
    long r = s->ops && s->ops->ioctl ? s->ops->ioctl(s, cmd, arg) : -ENOTTY;
    return r == -ENOTTY ? sock_ifreq_ioctl(cmd, arg) : r;
}

static void sock_file_release(struct file *f)
{
    struct socket *s = f->priv;
    f->node->nlink = 0; /* file_put's vnode_put frees the inode */
    s->file = NULL;
    sock_release(s);
}

static const struct file_ops sock_file_ops = {
    .read = sock_file_read,
    .write = sock_file_write,
    .ioctl = sock_file_ioctl,
    .poll = sock_file_poll,
    .poll_wakes = true,
    .release = sock_file_release,
    /* sendfile to a socket (nginx); from one it is EINVAL, as Linux 6.x says. */
    .splice_write = true,
};

struct socket *sock_of_file(struct file *f) { return f && f->ops == &sock_file_ops ? f->priv : NULL; }

/* The open file of s on a new sockfs inode; NULL (s untouched) when memory is exhausted. */
static struct file *sock_file_new(struct socket *s, int flags)
{
    struct vnode *n = ramfs_alloc_node(S_IFSOCK | 0777);
    struct file *f = n ? kzalloc(sizeof(*f)) : NULL;
    if (!f) {
        kfree(n);
        return NULL;
    }
    n->dev = SOCKFS_DEV;
    n->nlink = 1;
    n->uid = current_process()->euid;
    n->gid = current_process()->egid;
    f->ops = &sock_file_ops;
    f->node = n;
    f->flags = O_RDWR | (flags & O_NONBLOCK);
    f->refs = 1;
    f->priv = s;
    vnode_get(n);
    s->file = f;
    return f;
}

long sock_file_install(struct socket *s, int flags)
{
    struct file *f = sock_file_new(s, flags);
    if (!f) {
        sock_release(s);
        return -ENFILE;
    }
    long fd = fd_install(f, 0, flags & SOCK_CLOEXEC);
    if (fd < 0)
        file_put(f); /* releases s */
    return fd;
}

long sock_from_fd(int fd, struct socket **out)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    struct socket *s = sock_of_file(f);
    if (!s)
        return (f->flags & O_PATH) ? -EBADF : -ENOTSOCK;
    *out = s;
    return 0;
}

u64 sock_deadline(u64 timeo_ns)
{
    if (!timeo_ns)
        return ~0ul;
    u64 now = time_mono_ns();
    return now + timeo_ns < now ? ~0ul : now + timeo_ns;
}

int sock_take_error(struct socket *s)
{
    int e = s->so_error;
    s->so_error = 0;
    return e;
}

long sock_wait(struct waitq *wq, u64 deadline)
{
    int r = waitq_wait(wq, deadline, WAIT_INTERRUPTIBLE);
    if (r == -ETIMEDOUT)
        return -EAGAIN;
    if (r == -EINTR)
        return deadline == ~0ul ? -ERESTARTSYS : -EINTR;
    return 0;
}

void sock_set_peercred_current(struct socket *peer_of)
{
    struct process *p = current_process();
    peer_of->peer_pid = p->pid;
    peer_of->peer_uid = p->euid;
    peer_of->peer_gid = p->egid;
}
