/* SPDX-License-Identifier: Apache-2.0 */
/* inotify.c: inotify(7) instances that never report an event (STUB): real files for poll, epoll
 * and read, with Linux's checks and watch numbering; no file is actually watched. */
#include <libos/errno.h>
#include <libos/eventfds.h>
#include <libos/heap.h>
#include <libos/task.h>
#include <libos/vfs.h>

#define IN_ALL_EVENTS 0x00000fffu
#define IN_MASK_CREATE 0x10000000u
#define IN_MASK_ADD 0x20000000u
#define MAX_WATCHES 8192 /* /proc/sys/fs/inotify/max_user_watches is larger; bounded here */

struct watch {
    struct vnode *node; /* referenced while the watch exists */
    int wd;
    u32 mask;
    struct watch *next;
};

struct inotify {
    struct watch *watches;
    int next_wd, count;
};

static long ino_read(struct file *f, void *buf, size_t n)
{
    /* No event ever arrives: wait until a signal (or EAGAIN), as Linux with an empty queue. */
    if (f->flags & O_NONBLOCK)
        return -EAGAIN;
    while (waitq_wait(NULL, ~0ul, WAIT_INTERRUPTIBLE) != -EINTR)
        ;
    return -ERESTARTSYS;
}

static u32 ino_poll(struct file *f) { return 0; }

static void ino_release(struct file *f)
{
    struct inotify *in = f->priv;
    for (struct watch *w = in->watches, *next; w; w = next) {
        next = w->next;
        vnode_put(w->node);
        kfree(w);
    }
    kfree(in);
}

static const struct file_ops inotify_ops = {
    .anon_name = "inotify", /* /proc/[pid]/fd/N: anon_inode:inotify */
    .read = ino_read,
    .poll = ino_poll,
    .poll_wakes = true, /* never changes */
    .release = ino_release,
    .lseek = anon_lseek,
};

long inotify_create(int flags)
{
    if (flags & ~(IN_NONBLOCK | IN_CLOEXEC))
        return -EINVAL;
    struct inotify *in = kzalloc(sizeof(*in));
    if (!in)
        return -ENOMEM;
    in->next_wd = 1;
    struct file *f = anon_file_new(&inotify_ops, in, O_RDONLY | (flags & IN_NONBLOCK));
    if (!f) {
        kfree(in);
        return -ENOMEM;
    }
    return anon_fd_install(f, flags & IN_CLOEXEC);
}

static struct inotify *instance(int fd, long *err)
{
    struct file *f = fd_get(fd);
    *err = !f ? -EBADF : -EINVAL;
    return f && f->ops == &inotify_ops ? f->priv : NULL;
}

long inotify_check(int fd)
{
    long err;
    return instance(fd, &err) ? 0 : err;
}

long inotify_add_watch_node(int fd, struct vnode *n, u32 mask)
{
    long err;
    struct inotify *in = instance(fd, &err);
    if (!in)
        return err;
    struct watch *w = in->watches;
    while (w && w->node != n)
        w = w->next;
    if (w) {
        if (mask & IN_MASK_CREATE)
            return -EEXIST;
        w->mask = (mask & IN_MASK_ADD) ? w->mask | (mask & IN_ALL_EVENTS) : mask & IN_ALL_EVENTS;
        return w->wd;
    }
    if (in->count >= MAX_WATCHES)
        return -ENOSPC;
    w = kzalloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    vnode_get(n);
    *w = (struct watch){n, in->next_wd++, mask & IN_ALL_EVENTS, in->watches};
    in->watches = w;
    in->count++;
    return w->wd;
}

long inotify_rm_watch_wd(int fd, int wd)
{
    long err;
    struct inotify *in = instance(fd, &err);
    if (!in)
        return err;
    for (struct watch **pp = &in->watches; *pp; pp = &(*pp)->next) {
        if ((*pp)->wd == wd) {
            struct watch *w = *pp;
            *pp = w->next;
            vnode_put(w->node);
            kfree(w);
            in->count--;
            return 0;
        }
    }
    return -EINVAL;
}
