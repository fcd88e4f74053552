/* SPDX-License-Identifier: Apache-2.0 */
/* pipe.c: pipe(2) and FIFO objects: a byte ring between read and write ends, with Linux's open, blocking, atomicity, EOF, EPIPE/SIGPIPE and readiness rules. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/memlayout.h>
#include <libos/pipe.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/signal.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

/* Linux's pipefs is a device of its own; every pipe gets its own inode on it. */
#define PIPEFS_DEV makedev(0, 13)
#define FIONREAD 0x541b

/* Packet mode (O_DIRECT, Linux 3.4): once a packet has been written the ring's bytes are
 * described by segments, as Linux's pipe buffers: a packet is one segment that a read
 * takes whole (what does not fit the read is dropped), byte data merges into one
 * segment. At most cap / PAGE_SIZE segments exist (Linux's slots: 16 packets by default). */
struct seg {
    u32 len;
    bool packet;
};

struct pipe {
    u8 *buf;
    u32 cap, head, len; /* ring: len bytes from head (mod cap) */
    struct seg *segs;   /* NULL until the first packet: a plain byte stream */
    u32 seg_head, nsegs;
    int readers, writers;
    u32 r_counter, w_counter; /* opens of each kind so far: a FIFO open waits for a change */
    struct waitq wq;    /* readers waiting for data, writers for room, FIFO opens for a partner */
};

static const struct file_ops pipe_read_ops, pipe_write_ops, pipe_rdwr_ops;

static bool is_pipe(const struct file *f)
{
    return f->ops == &pipe_read_ops || f->ops == &pipe_write_ops || f->ops == &pipe_rdwr_ops;
}

static bool reads(const struct file *f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
static bool writes(const struct file *f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

/* Contents or ends changed: blocked readers and writers re-check, and so do poll and select. */
static void changed(struct pipe *p)
{
    waitq_wake(&p->wq, -1);
    readiness_changed();
}

/* -ERESTARTSYS when a signal ends the wait (Linux's pipe_read/pipe_write). */
static long sleep_on(struct pipe *p)
{
    return waitq_wait(&p->wq, ~0ul, WAIT_INTERRUPTIBLE) == -EINTR ? -ERESTARTSYS : 0;
}

/* The length of the next copy: within one ring segment and one page of the user
 * buffer, so a fault loses nothing already copied (the count stays exact). */
static size_t chunk(u64 user, size_t ring_room, size_t want)
{
    size_t page_left = PAGE_SIZE - (user & (PAGE_SIZE - 1));
    return MIN(MIN(ring_room, want), page_left);
}

/* Copy up to n bytes out of the ring; the bytes copied, or -EFAULT when none could be. */
static long take(struct pipe *p, u8 *buf, size_t n)
{
    size_t done = 0;
    n = MIN(n, (size_t)p->len);
    while (done < n) {
        size_t c = chunk((u64)(buf + done), p->cap - p->head, n - done);
        if (uaccess_copy(buf + done, p->buf + p->head, c) < 0)
            break;
        p->head = (p->head + (u32)c) % p->cap;
        p->len -= (u32)c;
        done += c;
    }
    if (p->len == 0)
        p->head = 0; /* keep the data contiguous as often as possible */
    return done ? (long)done : -EFAULT;
}

/* Copy up to n bytes into the free part of the ring; as take(). */
static long put(struct pipe *p, const u8 *buf, size_t n)
{
    size_t done = 0;
    n = MIN(n, (size_t)(p->cap - p->len));
    while (done < n) {
        u32 tail = (p->head + p->len) % p->cap;
        size_t c = chunk((u64)(buf + done), p->cap - tail, n - done);
        if (uaccess_copy(p->buf + tail, buf + done, c) < 0)
            break;
        p->len += (u32)c;
        done += c;
    }
    return done ? (long)done : -EFAULT;
}

static u32 slots(const struct pipe *p) { return p->cap / PAGE_SIZE; }
static struct seg *seg_at(struct pipe *p, u32 i) { return &p->segs[(p->seg_head + i) % slots(p)]; }

/* May a write of len bytes (a packet or not) start now? Room, and a segment for it. */
static bool seg_room(struct pipe *p, bool packet)
{
    if (!p->segs)
        return true;
    if (!packet && p->nsegs && !seg_at(p, p->nsegs - 1)->packet)
        return true; /* merges into the last byte segment */
    return p->nsegs < slots(p);
}

static void seg_add(struct pipe *p, u32 len, bool packet)
{
    if (!p->segs)
        return;
    if (!packet && p->nsegs && !seg_at(p, p->nsegs - 1)->packet) {
        seg_at(p, p->nsegs - 1)->len += len;
        return;
    }
    *seg_at(p, p->nsegs++) = (struct seg){len, packet};
}

/* A read from a ring with segments: up to the end of the first segment; a packet goes
 * whole, its part beyond n is dropped (Linux's PIPE_BUF_FLAG_PACKET). */
static long take_seg(struct pipe *p, u8 *buf, size_t n)
{
    struct seg *s = seg_at(p, 0);
    long r = take(p, buf, MIN(n, (size_t)s->len));
    if (r < 0)
        return r;
    u32 rest = s->len - (u32)r;
    if (s->packet && rest) {
        p->head = (p->head + rest) % p->cap;
        p->len -= rest;
        rest = 0;
    }
    s->len = rest;
    if (rest == 0) {
        p->seg_head = (p->seg_head + 1) % slots(p);
        p->nsegs--;
    }
    if (p->len == 0)
        p->head = 0;
    return r;
}

/* Linux's pipe_read: whatever is there (up to n) without waiting for more; with
 * nothing there, 0 once every writer has gone, else wait (or EAGAIN). */
static long pipe_read(struct file *f, void *buf, size_t n)
{
    struct pipe *p = f->priv;
    if (n == 0)
        return 0;
    long r = 0;
    f->refs++; /* another thread may close the fd while we sleep */
    for (;;) {
        if (p->len) {
            r = p->segs ? take_seg(p, buf, n) : take(p, buf, n);
            if (r > 0)
                changed(p);
            break;
        }
        if (p->writers == 0)
            break; /* r == 0: end of file */
        r = (f->flags & O_NONBLOCK) ? -EAGAIN : sleep_on(p);
        if (r < 0)
            break;
    }
    file_put(f);
    return r;
}

/* No reader left: SIGPIPE to the writing thread (SI_USER from ourselves, as Linux's
 * send_sig(SIGPIPE, current, 0)), and EPIPE. */
static long broken(void)
{
    struct ksiginfo info = {.si_signo = SIGPIPE, .si_code = SI_USER};
    info.u.kill.pid = current_process()->pid;
    info.u.kill.uid = current_process()->uid;
    signal_send_thread(current, &info);
    return -EPIPE;
}

/* Linux's pipe_write: up to PIPE_BUF bytes go in at once or not at all; a longer
 * write fills what room there is and waits for more (O_NONBLOCK: returns what fit,
 * or EAGAIN). A signal or a fault ends it with the count written so far. */
static long pipe_write(struct file *f, const void *buf, size_t n)
{
    struct pipe *p = f->priv;
    const u8 *src = buf;
    if (n == 0)
        return 0;
    size_t done = 0;
    long r = 0;
    bool packet = f->flags & O_DIRECT;
    if (packet && !p->segs) {
        p->segs = kzalloc(slots(p) * sizeof(*p->segs));
        if (!p->segs)
            return -ENOMEM;
        if (p->len) /* what is there already: one byte segment */
            p->segs[p->nsegs++] = (struct seg){p->len, false};
    }
    f->refs++;
    for (;;) {
        if (p->readers == 0) {
            r = broken();
            break;
        }
        u32 room = p->cap - p->len;
        /* A packet is at most a page (Linux splits longer writes into page packets). */
        size_t want = packet ? MIN(n - done, (size_t)PAGE_SIZE) : n - done;
        bool fits = (n <= PIPE_BUF || packet ? room >= want : room > 0) && seg_room(p, packet);
        if (fits) {
            r = put(p, src + done, want);
            if (r < 0)
                break;
            seg_add(p, (u32)r, packet);
            done += (size_t)r;
            changed(p);
            r = 0;
            if (done == n)
                break;
            continue;
        }
        if (f->flags & O_NONBLOCK) {
            r = -EAGAIN;
            break;
        }
        r = sleep_on(p);
        if (r < 0)
            break;
    }
    file_put(f);
    return done ? (long)done : r;
}

/* Linux's pipe_poll: readable with data, hung up when no writer is left; writable
 * while a PIPE_BUF write would not block (Linux: a free page slot), an error when no
 * reader is left. */
static u32 pipe_poll(struct file *f)
{
    struct pipe *p = f->priv;
    u32 ev = 0;
    if (reads(f)) {
        if (p->len)
            ev |= POLLIN | POLLRDNORM;
        /* A FIFO reader opened with O_NONBLOCK before any writer sees no hang-up until
         * a writer has come (Linux keeps w_counter in f_version; pipes keep no
         * position, so pos holds it here). */
        if (p->writers == 0 && f->pos != p->w_counter)
            ev |= POLLHUP;
    }
    if (writes(f)) {
        if (p->cap - p->len >= PIPE_BUF && seg_room(p, true))
            ev |= POLLOUT | POLLWRNORM;
        if (p->readers == 0)
            ev |= POLLERR;
    }
    return ev;
}

static long pipe_ioctl(struct file *f, unsigned cmd, u64 arg)
{
    if (cmd != FIONREAD)
        return -ENOTTY;
    int n = (int)((struct pipe *)f->priv)->len;
    return copy_to_user(arg, &n, sizeof(n));
}

/* One end closed for good: the other side learns it (EOF, EPIPE, POLLHUP, POLLERR);
 * the last one frees the ring, and the inode goes with the file's vnode reference. */
static void pipe_free(struct vnode *n, struct pipe *p)
{
    n->pipe = NULL;
    if (n->dev == PIPEFS_DEV)
        n->nlink = 0; /* an anonymous pipe's inode: file_put's vnode_put frees it */
    kfree(p->segs);
    kfree(p->buf);
    kfree(p);
}

/* One end closed for good: the other side learns it (EOF, EPIPE, POLLHUP, POLLERR);
 * the last one frees the ring (a FIFO gets a new one at its next open), and an
 * anonymous pipe's inode goes with the file's vnode reference. */
static void pipe_release(struct file *f)
{
    struct pipe *p = f->priv;
    if (reads(f))
        p->readers--;
    if (writes(f))
        p->writers--;
    if (p->readers == 0 && p->writers == 0) {
        pipe_free(f->node, p);
        return;
    }
    changed(p);
}

static const struct file_ops pipe_read_ops = {
    .read = pipe_read,
    .ioctl = pipe_ioctl,
    .poll = pipe_poll,
    .poll_wakes = true,
    .release = pipe_release,
};

static const struct file_ops pipe_write_ops = {
    .write = pipe_write,
    .ioctl = pipe_ioctl,
    .poll = pipe_poll,
    .poll_wakes = true,
    .release = pipe_release,
    .splice_write = true, /* sendfile into a pipe works on Linux 6.x */
};

/* A FIFO opened O_RDWR: both ends in one file (Linux allows it for FIFOs). */
static const struct file_ops pipe_rdwr_ops = {
    .read = pipe_read,
    .write = pipe_write,
    .ioctl = pipe_ioctl,
    .poll = pipe_poll,
    .poll_wakes = true,
    .release = pipe_release,
    .splice_write = true,
};

static struct file *end_new(struct vnode *n, const struct file_ops *ops, struct pipe *p, int flags)
{
    struct file *f = kzalloc(sizeof(*f));
    if (!f)
        return NULL;
    f->ops = ops;
    f->node = n;
    f->flags = flags;
    f->refs = 1;
    f->priv = p;
    vnode_get(n);
    return f;
}

static struct pipe *pipe_new(void)
{
    struct pipe *p = kzalloc(sizeof(*p));
    u8 *buf = p ? kmalloc(PIPE_DEF_SIZE) : NULL;
    if (!buf) {
        kfree(p);
        return NULL;
    }
    p->buf = buf;
    p->cap = PIPE_DEF_SIZE;
    return p;
}

/* Sleep until counter moves away from seen (Linux's wait_for_partner): a partner
 * opened, even if it has closed again since. -ERESTARTSYS on a signal. */
static long wait_for_partner(struct pipe *p, const u32 *counter)
{
    u32 seen = *counter;
    while (*counter == seen) {
        long r = sleep_on(p);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Linux's fifo_open: every opener of a FIFO shares the vnode's pipe (made at the
 * first open, freed at the last close). A reader waits for a writer and a writer for
 * a reader, unless O_NONBLOCK (a reader goes on at once, a writer without a reader is
 * ENXIO) or O_RDWR (never waits). An anonymous pipe's inode reopened through
 * /proc/self/fd/N never waits: both ends exist or existed. */
/* Linux's may_open: the mode bits for the access asked (root passes, as with
 * CAP_DAC_OVERRIDE). */
static long may_open(const struct vnode *n, int acc)
{
    const struct process *p = current_process();
    if (p->euid == 0)
        return 0;
    u32 bits = n->uid == p->euid ? n->mode >> 6 : proc_in_group(p, n->gid) ? n->mode >> 3 : n->mode;
    u32 need = (acc != O_WRONLY ? 4 : 0) | (acc != O_RDONLY ? 2 : 0);
    return (bits & need) == need ? 0 : -EACCES;
}

static struct file *fifo_open(struct vnode *n, int flags, long *err)
{
    int acc = flags & O_ACCMODE;
    bool fifo = n->dev != PIPEFS_DEV;
    long r = acc == 3 ? -EINVAL : fifo ? may_open(n, acc) : 0;
    if (r < 0) {
        *err = r;
        return NULL;
    }
    struct pipe *p = n->pipe;
    if (!p) {
        if (!fifo) { /* every end of that pipe is closed: nothing to join */
            *err = -ENXIO;
            return NULL;
        }
        if (acc == O_WRONLY && (flags & O_NONBLOCK)) {
            *err = -ENXIO;
            return NULL;
        }
        if (!(p = pipe_new())) {
            *err = -ENOMEM;
            return NULL;
        }
        n->pipe = p;
    }
    const struct file_ops *ops = acc == O_RDONLY ? &pipe_read_ops : acc == O_WRONLY ? &pipe_write_ops
                                                                                   : &pipe_rdwr_ops;
    struct file *f = kzalloc(sizeof(*f));
    if (!f || (fifo && acc == O_WRONLY && (flags & O_NONBLOCK) && !p->readers)) {
        *err = f ? -ENXIO : -ENOMEM;
        kfree(f);
        if (p->readers == 0 && p->writers == 0)
            pipe_free(n, p);
        return NULL;
    }
    f->ops = ops;
    f->node = n;
    f->flags = (flags & (O_ACCMODE | O_NONBLOCK | O_APPEND | O_NOATIME | O_DIRECT)) | O_LARGEFILE;
    f->refs = 1;
    f->priv = p;
    vnode_get(n); /* a blocked open holds the FIFO like an open file */
    if (acc != O_WRONLY) {
        p->r_counter++;
        p->readers++;
    }
    if (acc != O_RDONLY) {
        p->w_counter++;
        p->writers++;
    }
    changed(p); /* wakes openers waiting for a partner */
    f->pos = ~0ul; /* never a counter value: a hang-up is reported (pipe_poll) */
    if (fifo && acc == O_RDONLY && !p->writers) {
        if (flags & O_NONBLOCK)
            f->pos = p->w_counter; /* no POLLHUP until a writer has come */
        else
            r = wait_for_partner(p, &p->w_counter);
    } else if (fifo && acc == O_WRONLY && !p->readers) {
        r = wait_for_partner(p, &p->r_counter);
    }
    if (r < 0) {
        file_put(f); /* drops our end and, if last, the pipe */
        *err = r;
        return NULL;
    }
    return f;
}

const struct file_ops fifo_node_ops = {.open = fifo_open};

long pipe_create(int fds[2], int flags)
{
    if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
        return -EINVAL; /* O_NOTIFICATION_PIPE (watch queues) is not built */
    struct pipe *p = pipe_new();
    struct vnode *n = p ? ramfs_alloc_node(S_IFIFO | 0600) : NULL;
    if (!n) {
        if (p)
            kfree(p->buf);
        kfree(p);
        return -ENFILE;
    }
    u8 *buf = p->buf;
    n->pipe = p;
    n->dev = PIPEFS_DEV;
    n->nlink = 1;
    n->uid = current_process()->euid;
    n->gid = current_process()->egid;
    int fl = flags & (O_NONBLOCK | O_DIRECT);
    struct file *rf = end_new(n, &pipe_read_ops, p, O_RDONLY | fl);
    struct file *wf = rf ? end_new(n, &pipe_write_ops, p, O_WRONLY | fl) : NULL;
    p->readers = rf ? 1 : 0;
    p->writers = wf ? 1 : 0;
    p->r_counter = p->w_counter = 1; /* the read end's pos 0 differs: POLLHUP is reported */
    if (!rf) { /* nothing refers to the node or the ring yet */
        kfree(buf);
        kfree(p);
        kfree(n);
        return -ENFILE;
    }
    /* From here on closing the ends frees everything (pipe_release). */
    long r0 = wf ? fd_install(rf, 0, flags & O_CLOEXEC) : -ENFILE;
    if (r0 < 0) {
        file_put(rf);
        file_put(wf);
        return r0;
    }
    long r1 = fd_install(wf, 0, flags & O_CLOEXEC);
    if (r1 < 0) {
        fd_close((int)r0);
        file_put(wf);
        return r1;
    }
    fds[0] = (int)r0;
    fds[1] = (int)r1;
    return 0;
}

/* Linux's round_pipe_size: at least a page, a power of two pages. */
static u64 round_size(u64 size)
{
    u64 s = PAGE_SIZE;
    while (s < size)
        s <<= 1;
    return s;
}

long pipe_fcntl_size(struct file *f, int cmd, u64 arg)
{
    if (!is_pipe(f))
        return -EBADF;
    struct pipe *p = f->priv;
    if (cmd == F_GETPIPE_SZ)
        return p->cap;
    if (arg > PIPE_MAX_SIZE)
        return -EPERM; /* what Linux says to a process without CAP_SYS_RESOURCE */
    u32 size = (u32)round_size(arg);
    if (size < p->len || (p->segs && size / PAGE_SIZE < p->nsegs))
        return -EBUSY;
    if (size == p->cap)
        return size;
    u8 *nb = kmalloc(size);
    struct seg *ns = p->segs ? kzalloc(size / PAGE_SIZE * sizeof(*ns)) : NULL;
    if (!nb || (p->segs && !ns)) {
        kfree(nb);
        return -ENOMEM;
    }
    if (p->segs) { /* linearise the segments too */
        for (u32 i = 0; i < p->nsegs; i++)
            ns[i] = *seg_at(p, i);
        kfree(p->segs);
        p->segs = ns;
        p->seg_head = 0;
    }
    for (u32 i = 0; i < p->len; i++) /* linearise into the new ring */
        nb[i] = p->buf[(p->head + i) % p->cap];
    kfree(p->buf);
    p->buf = nb;
    p->head = 0;
    p->cap = size;
    changed(p);
    return size;
}

long pipe_room(const struct file *f)
{
    if (!is_pipe(f))
        return -1;
    struct pipe *p = f->priv;
    return (long)(p->cap - p->len);
}
