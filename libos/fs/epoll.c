/* SPDX-License-Identifier: Apache-2.0 */
/* epoll.c: epoll instances: interest lists scanned through the files' poll ops, waits on readiness_wq (libos/epoll.h). */
#include <libos/epoll.h>
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/vfs.h>

/* One registration, keyed by (file, fd) as Linux's epitem. The file is not referenced:
 * its last file_put() calls epoll_file_gone(), which removes the item first. */
struct epitem {
    struct file *file;
    int fd;
    u32 events;    /* asked for, with EPOLLERR|EPOLLHUP and the ET/ONESHOT bits */
    u64 data;
    bool disabled; /* EPOLLONESHOT fired: nothing until EPOLL_CTL_MOD */
    bool reported; /* EPOLLET: reported since the last change */
    u32 last;      /* EPOLLET: the mask last reported */
    u64 gen;       /* EPOLLET: readiness_gen when last reported */
    struct epitem *next;
};

struct epoll {
    struct epitem *items; /* interest list; reported items move to the end (fairness) */
    struct epoll *next;   /* all instances, for epoll_file_gone() */
};

static struct epoll *instances;
static int poll_depth; /* an epoll inside an epoll: bounded instead of Linux's ELOOP check */

static const struct file_ops epoll_ops;

static u32 file_ready(struct file *f, bool *live)
{
    if (!f->ops->poll_wakes)
        *live = true;
    return f->ops->poll(f);
}

/* What the item would report now (0: nothing), without changing its state. */
static u32 item_ready(const struct epitem *it, bool *live)
{
    if (it->disabled)
        return 0;
    u32 ready = file_ready(it->file, live) & it->events;
    if (!ready)
        return 0;
    /* Edge-triggered: once per change. readiness_changed() does not say which file
     * changed, so any change (or a different mask) re-arms every ET item: a spurious
     * report at worst, which ET users must tolerate (they read until EAGAIN). */
    if ((it->events & EPOLLET) && it->reported && it->last == ready && it->gen == readiness_gen)
        return 0;
    return ready;
}

static struct epitem **find(struct epoll *ep, struct file *f, int fd)
{
    struct epitem **pp = &ep->items;
    while (*pp && ((*pp)->file != f || (*pp)->fd != fd))
        pp = &(*pp)->next;
    return pp;
}

/* One pass: fill up to max records; reported items go to the end of the list so a
 * small max does not starve the later ones (Linux re-queues level-triggered items). */
static u32 scan(struct epoll *ep, struct kepoll_event *out, u32 max, bool *live)
{
    struct epitem *done = NULL, **done_tail = &done, **pp = &ep->items;
    u32 n = 0;
    while (*pp && n < max) {
        struct epitem *it = *pp;
        u32 ready = item_ready(it, live);
        if (!ready) {
            pp = &it->next;
            continue;
        }
        out[n].events = ready;
        out[n].data = it->data;
        n++;
        it->reported = true;
        it->last = ready;
        it->gen = readiness_gen;
        if (it->events & EPOLLONESHOT)
            it->disabled = true;
        *pp = it->next; /* unlink, append to done */
        it->next = NULL;
        *done_tail = it;
        done_tail = &it->next;
    }
    while (*pp)
        pp = &(*pp)->next;
    *pp = done;
    return n;
}

static u32 ep_poll(struct file *f)
{
    struct epoll *ep = f->priv;
    if (poll_depth >= 4)
        return 0;
    poll_depth++;
    bool live = false;
    u32 ev = 0;
    for (struct epitem *it = ep->items; it && !ev; it = it->next)
        if (item_ready(it, &live))
            ev = POLLIN | POLLRDNORM;
    poll_depth--;
    return ev;
}

static void ep_release(struct file *f)
{
    struct epoll *ep = f->priv;
    for (struct epoll **pp = &instances; *pp; pp = &(*pp)->next) {
        if (*pp == ep) {
            *pp = ep->next;
            break;
        }
    }
    while (ep->items) {
        struct epitem *it = ep->items;
        ep->items = it->next;
        kfree(it);
    }
    kfree(ep);
}

/* poll_wakes: the items' changes call readiness_changed(); an epoll holding the
 * console is the exception (poll on such an epoll fd misses console input until another event). */
static const struct file_ops epoll_ops = {
    .anon_name = "[eventpoll]", /* /proc/[pid]/fd/N: anon_inode:[eventpoll] */
    .poll = ep_poll,
    .poll_wakes = true,
    .release = ep_release,
    .lseek = anon_lseek,
};

void epoll_file_gone(struct file *f)
{
    for (struct epoll *ep = instances; ep; ep = ep->next) {
        struct epitem **pp = &ep->items;
        while (*pp) {
            if ((*pp)->file == f) {
                struct epitem *it = *pp;
                *pp = it->next;
                kfree(it);
            } else {
                pp = &(*pp)->next;
            }
        }
    }
}

long epoll_create(int flags)
{
    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    struct epoll *ep = kzalloc(sizeof(*ep));
    if (!ep)
        return -ENOMEM;
    struct file *f = anon_file_new(&epoll_ops, ep, O_RDWR);
    if (!f) {
        kfree(ep);
        return -ENOMEM;
    }
    ep->next = instances;
    instances = ep;
    return anon_fd_install(f, flags & EPOLL_CLOEXEC);
}

static void set_events(struct epitem *it, const struct kepoll_event *ev)
{
    /* Linux always reports EPOLLERR and EPOLLHUP; EPOLLWAKEUP needs CAP_BLOCK_SUSPEND
     * and is dropped without it (no suspend here at all). */
    it->events = (ev->events & ~EPOLLWAKEUP) | EPOLLERR | EPOLLHUP;
    it->data = ev->data;
    it->disabled = false;
    it->reported = false; /* a file already ready is reported at once, as Linux */
}

/* Linux's do_epoll_ctl order: the fds (EBADF), a target without a poll op (EPERM),
 * epfd == fd or not an epoll (EINVAL), EPOLLEXCLUSIVE rules, then EEXIST/ENOENT. */
long epoll_ctl(int epfd, int op, int fd, const struct kepoll_event *ev)
{
    struct file *ef = fd_get(epfd), *tf = fd_get(fd);
    if (!ef || !tf)
        return -EBADF;
    if (!tf->ops->poll || (tf->flags & O_PATH))
        return -EPERM;
    if (ef == tf || ef->ops != &epoll_ops)
        return -EINVAL;
    if (ev && (ev->events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD || tf->ops == &epoll_ops ||
            (ev->events & ~(EPOLLEXCLUSIVE | EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET |
                            POLLRDNORM | POLLWRNORM | POLLRDBAND | POLLWRBAND)))
            return -EINVAL;
    }
    struct epoll *ep = ef->priv;
    struct epitem **pp = find(ep, tf, fd), *it = *pp;
    switch (op) {
    case EPOLL_CTL_ADD:
        if (it)
            return -EEXIST;
        it = kzalloc(sizeof(*it));
        if (!it)
            return -ENOMEM;
        it->file = tf;
        it->fd = fd;
        set_events(it, ev);
        *pp = it; /* at the end of the list */
        readiness_changed(); /* a waiter on this epoll rescans: the file may be ready */
        return 0;
    case EPOLL_CTL_MOD:
        if (!it)
            return -ENOENT;
        if (it->events & EPOLLEXCLUSIVE)
            return -EINVAL;
        set_events(it, ev);
        readiness_changed();
        return 0;
    case EPOLL_CTL_DEL:
        if (!it)
            return -ENOENT;
        *pp = it->next;
        kfree(it);
        return 0;
    default:
        return -EINVAL;
    }
}

long epoll_wait(int epfd, struct kepoll_event *out, u32 max, u64 deadline, const u64 *sigmask)
{
    struct file *f = fd_get(epfd);
    if (!f)
        return -EBADF;
    if (f->ops != &epoll_ops)
        return -EINVAL;
    u64 saved = 0;
    poll_sigmask_begin(sigmask, &saved);
    f->refs++; /* another thread may close the epoll fd while we sleep */
    long r;
    for (;;) {
        bool live = false;
        r = scan(f->priv, out, max, &live);
        if (r)
            break;
        int w = poll_wait_more(deadline, live);
        if (w <= 0) {
            r = w; /* 0 at the deadline, -EINTR: Linux never restarts epoll_wait */
            break;
        }
    }
    file_put(f);
    poll_sigmask_end(sigmask, saved, r == -EINTR);
    return r;
}
