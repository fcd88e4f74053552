/* SPDX-License-Identifier: Apache-2.0 */
/* file.c: open file descriptions and the per-process fd tables: open, close, dup, read/write/seek dispatch.
 *
 * A process's fd table (struct fdtable) is reference counted: threads and
 * CLONE_FILES children share it, fork copies it. A copy shares the open file
 * descriptions (struct file, counted by refs), so offsets and status flags are
 * shared after fork, as on Linux. The slot array grows on demand up to FD_MAX.
 */
#include <libos/epoll.h>
#include <libos/errno.h>
#include <libos/fstrace.h>
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/vfs.h>

#define FDT_INITIAL 64

struct fd_slot {
    struct file *f;
    bool cloexec;
};

struct fdtable {
    int refs;
    int size;            /* slots in fd */
    struct fd_slot *fd;
};

/* The running process's table. */
#define fdt (current_process()->files->fd)

static struct fdtable *table_of(struct process *p) { return p->files; }

struct fdtable *fdtable_new(void)
{
    struct fdtable *t = kzalloc(sizeof(*t));
    if (!t)
        return NULL;
    t->fd = kzalloc(FDT_INITIAL * sizeof(struct fd_slot));
    if (!t->fd) {
        kfree(t);
        return NULL;
    }
    t->size = FDT_INITIAL;
    t->refs = 1;
    return t;
}

struct fdtable *fdtable_copy(struct fdtable *from)
{
    struct fdtable *t = kzalloc(sizeof(*t));
    if (!t)
        return NULL;
    t->fd = kmalloc((size_t)from->size * sizeof(struct fd_slot));
    if (!t->fd) {
        kfree(t);
        return NULL;
    }
    memcpy(t->fd, from->fd, (size_t)from->size * sizeof(struct fd_slot));
    t->size = from->size;
    t->refs = 1;
    for (int i = 0; i < t->size; i++)
        if (t->fd[i].f)
            t->fd[i].f->refs++;
    return t;
}

void fdtable_get(struct fdtable *t) { t->refs++; }

long fdtable_unshare(void)
{
    struct process *p = current_process();
    if (p->files->refs == 1)
        return 0;
    struct fdtable *t = fdtable_copy(p->files);
    if (!t)
        return -ENOMEM;
    fdtable_put(p->files);
    p->files = t;
    return 0;
}

void fdtable_put(struct fdtable *t)
{
    if (!t || --t->refs > 0)
        return;
    for (int i = 0; i < t->size; i++) {
        struct file *f = t->fd[i].f;
        t->fd[i].f = NULL;
        file_put(f);
    }
    kfree(t->fd);
    kfree(t);
}

/* Room for fd in the running process's table: 0 or -EMFILE/-ENOMEM. */
static long fdt_grow(int fd)
{
    struct fdtable *t = current_process()->files;
    if (fd < t->size)
        return 0;
    if (fd >= FD_MAX)
        return -EMFILE;
    int size = t->size;
    while (size <= fd)
        size *= 2;
    size = MIN(size, FD_MAX);
    struct fd_slot *n = kzalloc((size_t)size * sizeof(*n));
    if (!n)
        return -ENOMEM;
    memcpy(n, t->fd, (size_t)t->size * sizeof(*n));
    kfree(t->fd);
    t->fd = n;
    t->size = size;
    return 0;
}

static int fdt_size(void) { return current_process()->files->size; }

long fd_exec_prepare(void)
{
    struct process *p = current_process();
    if (p->files->refs > 1) {
        /* Shared with another process (vfork with CLONE_FILES): the new program gets
         * its own copy, as Linux's unshare_files() at exec. */
        struct fdtable *t = fdtable_copy(p->files);
        if (!t)
            return -ENOMEM;
        fdtable_put(p->files);
        p->files = t;
    }
    for (int fd = 0; fd < fdt_size(); fd++)
        if (fdt[fd].f && fdt[fd].cloexec)
            fd_close(fd);
    return 0;
}

/* created: the open that made the file may write it whatever its mode (Linux). */
static struct file *open_node(struct vnode *n, int flags, bool created, long *err)
{
    const struct file_ops *ops = n->ops;
    int acc = flags & O_ACCMODE;
    if (flags & O_PATH) {
        ops = &path_only_ops;
    } else if (ops && ops->open) {
        return ops->open(n, flags, err); /* FIFOs: fs/pipe.c */
    } else if (n->flags & VN_SYNTH) {
        /* /proc and /sys files: sysfs refuses a writable open of a file without a store
         * method (EACCES, even for root); procfs opens and fails the write (EIO); O_TRUNC
         * does nothing to either. */
        if (acc != O_RDONLY && !ops->write) {
            *err = -EACCES;
            return NULL;
        }
    } else {
        if (!ops) {
            *err = S_ISLNK(n->mode) ? -ELOOP : -ENXIO; /* sockets, fifos, unknown devices */
            return NULL;
        }
        /* Linux counts O_TRUNC as a write request (build_open_flags). */
        bool writes = acc != O_RDONLY || (flags & O_TRUNC);
        if (S_ISDIR(n->mode) && writes) {
            *err = -EISDIR;
            return NULL;
        }
        long r = S_ISREG(n->mode) && writes && !created ? vfs_may_write(n) : 0;
        /* Reading a file or a directory needs its r bit too (root passes): an nginx
         * worker (user nginx) gets EACCES for a root-only 0600 file, as on Linux. Device
         * nodes (the console behind /dev/stdout) are left alone. */
        if (r == 0 && acc != O_WRONLY && !created && (S_ISREG(n->mode) || S_ISDIR(n->mode)))
            r = vfs_may_read(n);
        if (r == 0 && S_ISREG(n->mode) && (flags & O_TRUNC)) {
            r = fdata_truncate(n, 0); /* a volume's file: a Tsetattr of its size */
            if (r == 0)
                vfs_touch(n);
        }
        if (r < 0) {
            *err = r;
            return NULL;
        }
    }
    /* A volume's file or directory: the open file needs its own handle on the host. */
    bool remote = n->fs && !(flags & O_PATH) && (S_ISREG(n->mode) || S_ISDIR(n->mode));
    struct file *f = kzalloc(sizeof(*f));
    if (!f) {
        *err = -ENOMEM;
        return NULL;
    }
    f->ops = ops;
    f->node = n;
    f->flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH | O_DIRECTORY | O_NOATIME | O_LARGEFILE);
    if (!(flags & O_PATH))
        f->flags |= O_LARGEFILE; /* 64-bit Linux forces it on every open (not on anonymous files) */
    f->refs = 1;
    if (remote) {
        long r = n->fs->open_file(f, flags, created);
        if (r < 0) {
            kfree(f);
            *err = r;
            return NULL;
        }
    }
    vnode_get(n); /* an unlinked file lives until its last close */
    return f;
}

struct file *vfs_open_node(struct vnode *n, int flags, long *err) { return open_node(n, flags, false, err); }

void file_put(struct file *f)
{
    if (f && --f->refs == 0) {
        epoll_file_gone(f); /* Linux's eventpoll_release: no epoll keeps a freed file */
        if (f->node && f->node->flocks)
            flock_release(f); /* Linux's locks_remove_file */
        if (f->ops->release)
            f->ops->release(f);
        vnode_put(f->node);
        kfree(f);
    }
}

/* The number of fds a program may have: RLIMIT_NOFILE (at most FD_MAX), as Linux. */
static int fd_limit(void) { return (int)MIN((u64)FD_MAX, current_process()->rlim[RLIMIT_NOFILE].cur); }

long fd_install(struct file *f, int min_fd, bool cloexec)
{
    for (int fd = min_fd < 0 ? 0 : min_fd; fd < fd_limit(); fd++) {
        if (fd >= fdt_size() && fdt_grow(fd) < 0)
            return -EMFILE;
        if (!fdt[fd].f) {
            fdt[fd].f = f;
            fdt[fd].cloexec = cloexec;
            return fd;
        }
    }
    return -EMFILE;
}

struct file *fd_get(int fd) { return fd >= 0 && fd < fdt_size() ? fdt[fd].f : NULL; }

int fd_table_slots(struct process *p)
{
    struct fdtable *t = table_of(p);
    return t ? t->size : 0;
}

struct file *fd_get_of(struct process *p, int fd)
{
    struct fdtable *t = table_of(p);
    return t && fd >= 0 && fd < t->size ? t->fd[fd].f : NULL; /* a zombie has no table */
}

long fd_close(int fd)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    fdt[fd].f = NULL;
    file_put(f);
    return 0;
}

long fd_close_range(u32 first, u32 last, bool unshare, bool cloexec)
{
    if (first > last)
        return -EINVAL;
    if (unshare && fdtable_unshare() < 0)
        return -ENOMEM;
    for (u64 fd = first; fd <= last && fd < (u64)fdt_size(); fd++) {
        if (!fdt[fd].f)
            continue;
        if (cloexec) {
            fdt[fd].cloexec = true;
        } else {
            struct file *f = fdt[fd].f;
            fdt[fd].f = NULL;
            file_put(f);
        }
    }
    return 0;
}

long fd_dup(int oldfd, int min_fd, bool cloexec)
{
    struct file *f = fd_get(oldfd);
    if (!f)
        return -EBADF;
    if (min_fd < 0 || min_fd >= FD_MAX)
        return -EINVAL;
    long fd = fd_install(f, min_fd, cloexec);
    if (fd >= 0)
        f->refs++;
    return fd;
}

long fd_dup3(int oldfd, int newfd, bool cloexec)
{
    struct file *f = fd_get(oldfd);
    if (!f)
        return -EBADF;
    if (newfd < 0 || newfd >= fd_limit())
        return -EBADF;
    if (oldfd == newfd) {
        fdt[newfd].cloexec = cloexec;
        return newfd;
    }
    if (fdt_grow(newfd) < 0)
        return -ENOMEM;
    f->refs++;
    if (fdt[newfd].f)
        file_put(fdt[newfd].f);
    fdt[newfd].f = f;
    fdt[newfd].cloexec = cloexec;
    return newfd;
}

long fd_get_cloexec(int fd) { return fd_get(fd) ? (long)fdt[fd].cloexec : -EBADF; }

long fd_set_cloexec(int fd, bool on)
{
    if (!fd_get(fd))
        return -EBADF;
    fdt[fd].cloexec = on;
    return 0;
}

long vfs_openat(int dirfd, const char *path, int flags, u32 mode)
{
    if ((flags & O_TMPFILE) == O_TMPFILE)
        return -EOPNOTSUPP;
    if ((flags & O_CREAT) && (flags & O_DIRECTORY))
        return -EINVAL; /* Linux >= 6.4: the combination never made sense */
    struct vnode *n;
    long r;
    bool created = false;
    if (flags & O_CREAT) {
        r = vfs_create(dirfd, path, flags, mode, &n);
        if (r < 0)
            return r;
        created = r == 1;
        if (created)
            flags &= ~O_TRUNC; /* just made: nothing to truncate */
    } else {
        int lf = 0;
        if (!(flags & O_NOFOLLOW))
            lf |= LOOKUP_FOLLOW;
        if (flags & O_DIRECTORY)
            lf |= LOOKUP_DIRECTORY;
        r = vfs_lookup(dirfd, path, lf, &n);
        if (r < 0)
            return r;
    }
    if ((flags & O_NOFOLLOW) && S_ISLNK(n->mode) && !(flags & O_PATH))
        return -ELOOP;
    long err = 0;
    struct file *f = open_node(n, flags, created, &err);
    if (!f)
        return err;
    long fd = fd_install(f, 0, flags & O_CLOEXEC);
    if (fd < 0)
        file_put(f);
    return fd;
}

static bool can_read(const struct file *f) { return !(f->flags & O_PATH) && (f->flags & O_ACCMODE) != O_WRONLY; }
static bool can_write(const struct file *f) { return !(f->flags & O_PATH) && (f->flags & O_ACCMODE) != O_RDONLY; }

long vfs_read(struct file *f, void *buf, size_t n)
{
    if (!can_read(f))
        return -EBADF;
    return f->ops->read ? f->ops->read(f, buf, n) : -EINVAL;
}

long vfs_write(struct file *f, const void *buf, size_t n)
{
    if (!can_write(f))
        return -EBADF;
    return f->ops->write ? f->ops->write(f, buf, n) : -EINVAL;
}

long vfs_pread(struct file *f, void *buf, size_t n, u64 off)
{
    if (!can_read(f))
        return -EBADF;
    if (!f->ops->seekable)
        return -ESPIPE;
    if (S_ISDIR(f->node->mode))
        return -EISDIR;
    if ((s64)off < 0)
        return -EINVAL;
    return f->ops->pread ? f->ops->pread(f, buf, n, off) : -EINVAL;
}

long vfs_pwrite(struct file *f, const void *buf, size_t n, u64 off)
{
    if (!can_write(f))
        return -EBADF;
    if (!f->ops->seekable)
        return -ESPIPE;
    if ((s64)off < 0)
        return -EINVAL;
    if (f->ops->pwrite)
        return f->ops->pwrite(f, buf, n, off);
    return f->ops->write ? f->ops->write(f, buf, n) : -EINVAL; /* devices ignore the offset */
}

long vfs_lseek(struct file *f, s64 off, int whence)
{
    if (f->flags & O_PATH)
        return -EBADF;
    if (f->ops->lseek) /* its own rules: devices, and anonymous files that are not seekable */
        return f->ops->lseek(f, off, whence);
    if (!f->ops->seekable)
        return -ESPIPE;
    if (f->node->fs && whence >= SEEK_END && S_ISREG(f->node->mode))
        f->node->fs->getattr(f->node); /* a volume's file: its size now, on the host */
    s64 size = (s64)f->node->size, pos;
    switch (whence) {
    case SEEK_SET:
        pos = off;
        break;
    case SEEK_CUR:
        pos = (s64)f->pos + off;
        break;
    case SEEK_END:
        pos = size + off;
        break;
    case SEEK_DATA:
        if (off >= size)
            return -ENXIO;
        pos = off;
        break;
    case SEEK_HOLE:
        if (off >= size)
            return -ENXIO;
        pos = size;
        break;
    default:
        return -EINVAL;
    }
    if (pos < 0)
        return -EINVAL;
    f->pos = (u64)pos; /* directories: a getdents position (fs/ramfs_ops.c) */
    return pos;
}

long vfs_ioctl(struct file *f, unsigned cmd, u64 arg)
{
    if (f->flags & O_PATH)
        return -EBADF;
    return f->ops->ioctl ? f->ops->ioctl(f, cmd, arg) : -ENOTTY;
}

long vfs_fsync(struct file *f, bool datasync)
{
    if (f->flags & O_PATH)
        return -EBADF;
    /* The RAM filesystem has nothing to flush; a volume's file asks the host (Tfsync). */
    return f->node->fs && f->node->fs->fsync ? f->node->fs->fsync(f, datasync) : 0;
}

long vfs_getdents(struct file *f, void *buf, size_t n)
{
    if (f->flags & O_PATH)
        return -EBADF;
    fstrace_readdir(f->node);
    return f->ops->getdents ? f->ops->getdents(f, buf, n) : -ENOTDIR;
}
