/* SPDX-License-Identifier: Apache-2.0 */
/* pidfd.c: pidfds: an anonymous file naming one process by pid and serial, readable once it has exited. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/pidfd.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/vfs.h>

struct pidfd {
    int pid;
    u64 serial; /* the process's, so a reused pid is not mistaken for it */
};

static struct process *target(const struct pidfd *d)
{
    struct process *p = process_find(d->pid);
    return p && p->serial == d->serial ? p : NULL;
}

/* Linux's pidfd_poll: readable (POLLIN|POLLRDNORM) once every thread has exited. */
static u32 pidfd_poll(struct file *f)
{
    struct process *p = target(f->priv);
    return !p || p->state == PROC_ZOMBIE ? POLLIN | POLLRDNORM : 0;
}

static long pidfd_read(struct file *f, void *buf, size_t n)
{
    (void)f, (void)buf, (void)n;
    return -EINVAL; /* Linux's pidfd has no read op */
}

static void pidfd_release(struct file *f) { kfree(f->priv); }

static const struct file_ops pidfd_ops = {
    .anon_name = "[pidfd]", /* /proc/[pid]/fd/N: anon_inode:[pidfd] */
    .read = pidfd_read,
    .poll = pidfd_poll,
    .poll_wakes = true, /* process_finish() calls readiness_changed() when it becomes a zombie */
    .release = pidfd_release,
    .lseek = anon_lseek,
};

static long install(struct process *p, int flags)
{
    struct pidfd *d = kzalloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    if (p) {
        d->pid = p->pid;
        d->serial = p->serial;
    }
    struct file *f = anon_file_new(&pidfd_ops, d, O_RDWR | (flags & O_NONBLOCK));
    if (!f) {
        kfree(d);
        return -ENOMEM;
    }
    return anon_fd_install(f, true);
}

long pidfd_create(struct process *p, int flags) { return install(p, flags); }

long pidfd_reserve(void) { return install(NULL, 0); }

void pidfd_bind(int fd, struct process *p)
{
    struct pidfd *d = fd_get(fd)->priv;
    d->pid = p->pid;
    d->serial = p->serial;
}

void pidfd_cancel(int fd) { fd_close(fd); }

long pidfd_target(int fd, struct process **p, int *pid, bool *nonblock)
{
    struct file *f = fd_get(fd);
    if (!f || f->ops != &pidfd_ops)
        return -EBADF;
    const struct pidfd *d = f->priv;
    *pid = d->pid;
    *p = target(d);
    if (nonblock)
        *nonblock = f->flags & O_NONBLOCK;
    return 0;
}
