/* SPDX-License-Identifier: Apache-2.0 */
/* eventfd.c: eventfd(2) objects: a 64-bit counter that read takes and write adds to, with Linux's blocking and readiness rules. */
#include <libos/errno.h>
#include <libos/eventfds.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

#define COUNT_MAX (~0ul) /* the counter never reaches it: writes block below */

struct eventfd {
    u64 count;
    bool semaphore;
    struct waitq wq; /* readers waiting for count > 0, writers for room */
};

/* The counter changed: blocked readers and writers re-check, and so do poll and select. */
static void changed(struct eventfd *e)
{
    waitq_wake(&e->wq, -1);
    readiness_changed();
}

/* Sleep on the object until woken; -ERESTARTSYS when a signal ends the wait (Linux's
 * eventfd read and write restart under SA_RESTART). */
static long sleep_on(struct eventfd *e)
{
    return waitq_wait(&e->wq, ~0ul, WAIT_INTERRUPTIBLE) == -EINTR ? -ERESTARTSYS : 0;
}

static long efd_read(struct file *f, void *buf, size_t n)
{
    struct eventfd *e = f->priv;
    if (n < sizeof(u64))
        return -EINVAL;
    long r = 0;
    f->refs++; /* another thread may close the fd while we sleep */
    while (e->count == 0 && r == 0)
        r = (f->flags & O_NONBLOCK) ? -EAGAIN : sleep_on(e);
    if (r == 0) {
        u64 v = e->semaphore ? 1 : e->count;
        if (uaccess_copy(buf, &v, sizeof(v)) < 0) {
            r = -EFAULT; /* nothing taken */
        } else {
            e->count -= v;
            changed(e);
            r = sizeof(v);
        }
    }
    file_put(f);
    return r;
}

static long efd_write(struct file *f, const void *buf, size_t n)
{
    struct eventfd *e = f->priv;
    u64 v;
    if (n < sizeof(v))
        return -EINVAL;
    if (uaccess_copy(&v, buf, sizeof(v)) < 0)
        return -EFAULT;
    if (v == COUNT_MAX)
        return -EINVAL;
    long r = 0;
    f->refs++;
    while (COUNT_MAX - e->count <= v && r == 0)
        r = (f->flags & O_NONBLOCK) ? -EAGAIN : sleep_on(e);
    if (r == 0) {
        e->count += v;
        if (v)
            changed(e);
        r = sizeof(v);
    }
    file_put(f);
    return r;
}

/* Linux's eventfd_poll: readable while the count is non-zero, writable while adding 1
 * would not block, an error at COUNT_MAX (unreachable through write). */
static u32 efd_poll(struct file *f)
{
    u64 c = ((struct eventfd *)f->priv)->count;
    u32 ev = 0;
    if (c > 0)
        ev |= POLLIN;
    if (c == COUNT_MAX)
        ev |= POLLERR;
    if (COUNT_MAX - 1 > c)
        ev |= POLLOUT;
    return ev;
}

static void efd_release(struct file *f) { kfree(f->priv); }

static const struct file_ops eventfd_ops = {
    .anon_name = "[eventfd]", /* /proc/[pid]/fd/N: anon_inode:[eventfd] */
    .read = efd_read,
    .write = efd_write,
    .poll = efd_poll,
    .poll_wakes = true,
    .release = efd_release,
    .lseek = anon_lseek,
};

long eventfd_create(u32 initval, int flags)
{
    if (flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC))
        return -EINVAL;
    struct eventfd *e = kzalloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->count = initval;
    e->semaphore = flags & EFD_SEMAPHORE;
    struct file *f = anon_file_new(&eventfd_ops, e, O_RDWR | (flags & EFD_NONBLOCK));
    if (!f) {
        kfree(e);
        return -ENOMEM;
    }
    return anon_fd_install(f, flags & EFD_CLOEXEC);
}
