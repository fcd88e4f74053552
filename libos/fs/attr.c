/* SPDX-License-Identifier: Apache-2.0 */
/* attr.c: attribute changes with Linux's permission rules: chmod, chown, utimens, truncate, fallocate.
 *
 * Root (euid 0) passes every mode-bit check, as with CAP_DAC_OVERRIDE and CAP_FOWNER;
 * others need the owner or the mode bits, as Linux checks them.
 */
#include <libos/errno.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/vfs.h>

#define S_ISUID 04000
#define S_ISGID 02000
#define S_IXGRP 00010
#define FALLOC_FL_KEEP_SIZE 0x01

bool vfs_read_only;

long vfs_rofs(const struct vnode *n)
{
    if (n->fs) /* a volume is its own mount: only its ro option counts */
        return (n->flags & VN_ROVOL) ? -EROFS : 0;
    if (!vfs_read_only || (n->flags & (VN_RW | VN_SYNTH)))
        return 0;
    return S_ISREG(n->mode) || S_ISDIR(n->mode) || S_ISLNK(n->mode) ? -EROFS : 0;
}

long vfs_may_write(const struct vnode *n)
{
    if (vfs_rofs(n) < 0)
        return -EROFS;
    if (current_process()->euid == 0)
        return 0;
    u32 bits = n->uid == current_process()->euid ? n->mode >> 6 : proc_in_group(current_process(), n->gid) ? n->mode >> 3 : n->mode;
    return (bits & 2) ? 0 : -EACCES;
}

/* Read permission (open for reading, listing a directory), checked as vfs_may_write. */
long vfs_may_read(const struct vnode *n)
{
    if (current_process()->euid == 0)
        return 0;
    u32 bits = n->uid == current_process()->euid ? n->mode >> 6 : proc_in_group(current_process(), n->gid) ? n->mode >> 3 : n->mode;
    return (bits & 4) ? 0 : -EACCES;
}

/* Search permission on a directory (each one a path walks through): the x bit of the
 * owner, group or others class, as vfs_may_read; root always may (CAP_DAC_OVERRIDE). */
long vfs_may_search(const struct vnode *dir)
{
    if (current_process()->euid == 0)
        return 0;
    u32 bits = dir->uid == current_process()->euid ? dir->mode >> 6 : proc_in_group(current_process(), dir->gid) ? dir->mode >> 3 : dir->mode;
    return (bits & 1) ? 0 : -EACCES;
}

static long owner_or_root(const struct vnode *n) { return current_process()->euid == 0 || current_process()->euid == n->uid ? 0 : -EPERM; }

long vfs_chmod(struct vnode *n, u32 mode)
{
    long r = vfs_rofs(n) < 0 ? -EROFS : owner_or_root(n);
    if (r < 0)
        return r;
    if (n->fs)
        return n->fs->setattr(n, &(struct vattr){.valid = VA_MODE | VA_CTIME, .mode = mode & 07777});
    n->mode = (n->mode & S_IFMT) | (mode & 07777);
    n->ctime = vfs_now();
    return 0;
}

long vfs_chown(struct vnode *n, u32 uid, u32 gid)
{
    if (vfs_rofs(n) < 0)
        return -EROFS;
    if (current_process()->euid != 0) {
        /* Only root gives a file away; an owner may only pick its own group. */
        if (uid != (u32)-1 && uid != n->uid)
            return -EPERM;
        if (gid != (u32)-1 && gid != n->gid && (current_process()->euid != n->uid || !proc_in_group(current_process(), gid)))
            return -EPERM;
    }
    if (n->fs) {
        /* The host drops set-id bits itself, as Linux's chown does. */
        struct vattr a = {.valid = VA_CTIME, .uid = uid, .gid = gid};
        a.valid |= (uid != (u32)-1 ? VA_UID : 0) | (gid != (u32)-1 ? VA_GID : 0);
        return n->fs->setattr(n, &a);
    }
    if (uid != (u32)-1)
        n->uid = uid;
    if (gid != (u32)-1)
        n->gid = gid;
    /* Linux drops set-id bits of non-directories on chown, even for root (chown(2)). */
    if (!S_ISDIR(n->mode)) {
        n->mode &= ~S_ISUID;
        if (n->mode & S_IXGRP)
            n->mode &= ~S_ISGID;
    }
    n->ctime = vfs_now();
    return 0;
}

long vfs_utimens(struct vnode *n, const struct ktimespec *times)
{
    if (vfs_rofs(n) < 0)
        return -EROFS;
    bool explicit = times && !(times[0].nsec == UTIME_NOW && times[1].nsec == UTIME_NOW);
    if (times && times[0].nsec == UTIME_OMIT && times[1].nsec == UTIME_OMIT)
        return 0;
    /* Setting the current time needs write access; any other time needs ownership. */
    long r = explicit ? owner_or_root(n) : (owner_or_root(n) == 0 ? 0 : vfs_may_write(n));
    if (r < 0)
        return r;
    if (n->fs) { /* UTIME_NOW: the host's clock (Tsetattr without the _SET bit) */
        struct vattr a = {.valid = VA_CTIME};
        for (int i = 0; i < 2; i++) {
            if (times && times[i].nsec == UTIME_OMIT)
                continue;
            bool set = times && times[i].nsec != UTIME_NOW;
            a.valid |= i == 0 ? (VA_ATIME | (set ? VA_ATIME_SET : 0)) : (VA_MTIME | (set ? VA_MTIME_SET : 0));
            if (set)
                *(i == 0 ? &a.atime : &a.mtime) = times[i];
        }
        return n->fs->setattr(n, &a);
    }
    struct ktimespec now = vfs_now();
    for (int i = 0; i < 2; i++) {
        struct ktimespec *t = i == 0 ? &n->atime : &n->mtime;
        if (!times || times[i].nsec == UTIME_NOW)
            *t = now;
        else if (times[i].nsec != UTIME_OMIT)
            *t = times[i];
    }
    n->ctime = now;
    return 0;
}

static long set_size(struct vnode *n, u64 size)
{
    long r = fdata_truncate(n, size);
    if (r == 0)
        vfs_touch(n); /* Linux's truncate sets mtime and ctime even when the size stays */
    return r;
}

long vfs_truncate(struct vnode *n, s64 size)
{
    if (size < 0)
        return -EINVAL;
    if (S_ISDIR(n->mode))
        return -EISDIR;
    if (!S_ISREG(n->mode))
        return -EINVAL;
    long r = vfs_may_write(n);
    return r < 0 ? r : set_size(n, (u64)size);
}

long vfs_ftruncate(struct file *f, s64 size)
{
    if (f->flags & O_PATH)
        return -EBADF;
    if (size < 0 || !S_ISREG(f->node->mode) || (f->flags & O_ACCMODE) == O_RDONLY)
        return -EINVAL;
    return set_size(f->node, (u64)size);
}

long vfs_fallocate(struct file *f, int mode, s64 off, s64 len)
{
    /* Linux's order (vfs_fallocate), then tmpfs's: only mode 0 and KEEP_SIZE here. */
    if (off < 0 || len <= 0)
        return -EINVAL;
    if ((f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    if (S_ISDIR(f->node->mode))
        return -EISDIR;
    if (!S_ISREG(f->node->mode))
        return -ENODEV;
    if ((u64)off + (u64)len > FILE_SIZE_MAX)
        return -EFBIG;
    if (mode & ~FALLOC_FL_KEEP_SIZE)
        return -EOPNOTSUPP;
    if (f->node->fs)
        return -EOPNOTSUPP; /* 9P2000.L has no fallocate: Linux's 9p answers the same */
    long r = fdata_allocate(f->node, (u64)off, (u64)len);
    if (r < 0)
        return r;
    if (!(mode & FALLOC_FL_KEEP_SIZE) && (u64)(off + len) > f->node->size) {
        f->node->size = (u64)(off + len);
        vfs_touch(f->node);
    }
    return 0;
}
