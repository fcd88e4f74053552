/* SPDX-License-Identifier: Apache-2.0 */
/* namei.c: namespace changes with Linux's rules and errors: create, mkdir, unlink, rmdir, symlink, link, rename.
 *
 * Each operation splits its path into the parent directory (resolved, following
 * symlinks) and the last component, which Linux treats specially: ".", ".." and "/"
 * are never created or removed, and a trailing slash demands a directory.
 */
#include <libos/errno.h>
#include <libos/fstrace.h>
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/string.h>
#include <libos/vfs.h>

#define S_ISUID 04000
#define S_ISGID 02000
#define S_ISVTX 01000

enum last_kind { LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT };

struct last {
    struct vnode *dir;
    const char *name;
    u32 len;
    bool slash; /* the path ended in '/' */
    enum last_kind kind;
};

/* Split path[0..len) relative to base into its parent directory and last component. */
static long split_at(struct vnode *base, const char *path, size_t len, struct last *l)
{
    if (len == 0)
        return -ENOENT;
    size_t end = len;
    while (end > 0 && path[end - 1] == '/')
        end--;
    l->slash = end < len;
    if (end == 0) { /* "/" or "///" */
        *l = (struct last){vfs_proc_root(), "/", 1, true, LAST_ROOT};
        return 0;
    }
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    long r = vfs_walk(base, path, start, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &l->dir);
    if (r < 0)
        return r;
    l->name = path + start;
    l->len = (u32)(end - start);
    if (l->len > NAME_MAX)
        return -ENAMETOOLONG;
    l->kind = l->len == 1 && l->name[0] == '.'                         ? LAST_DOT
              : l->len == 2 && l->name[0] == '.' && l->name[1] == '.' ? LAST_DOTDOT
                                                                       : LAST_NORM;
    return 0;
}

static long split(int dirfd, const char *path, struct last *l)
{
    struct vnode *base;
    if (!path[0])
        return -ENOENT;
    long r = vfs_base(dirfd, path, &base);
    return r < 0 ? r : split_at(base, path, strlen(path), l);
}

static struct dentry *find(const struct last *l) { return ramfs_find(l->dir, l->name, l->len); }

/* The node the last component names, on any filesystem; NULL when there is none. */
static struct vnode *find_node(const struct last *l)
{
    if (l->dir->fs) {
        struct vnode *n;
        return l->dir->fs->lookup(l->dir, l->name, l->len, &n) == 0 ? n : NULL;
    }
    struct dentry *d = find(l);
    return d ? d->node : NULL;
}

/* May the caller add or remove entries of dir (victim: the node an entry names)? */
static long may_change(struct vnode *dir, const struct vnode *victim)
{
    if (dir->flags & VN_PINNED)
        return -EPERM; /* /proc: no create or unlink operations */
    if (vfs_rofs(dir) < 0)
        return -EROFS; /* run --read-only */
    if (current_process()->euid == 0)
        return 0;
    u32 bits = dir->uid == current_process()->euid ? dir->mode >> 6 : proc_in_group(current_process(), dir->gid) ? dir->mode >> 3 : dir->mode;
    if ((bits & 3) != 3) /* write and search */
        return -EACCES;
    /* Sticky directories (/tmp): only the owner of the entry or of the directory. */
    if (victim && (dir->mode & S_ISVTX) && victim->uid != current_process()->euid && dir->uid != current_process()->euid)
        return -EPERM;
    return 0;
}

/* A node made by the caller in l->dir; the directory must still exist. On a volume
 * its filesystem makes it (rdev: a device's number, target: a symlink's). */
static long make_node_on(const struct last *l, u32 mode, u64 rdev, const char *target, struct vnode **out)
{
    if (l->dir->nlink == 0)
        return -ENOENT; /* the directory was removed (Linux: IS_DEADDIR) */
    long r = may_change(l->dir, NULL);
    if (r < 0)
        return r;
    if (l->dir->fs)
        return l->dir->fs->create(l->dir, l->name, l->len, mode, rdev, target, out);
    struct vnode *n = ramfs_alloc_node(mode);
    if (!n)
        return -ENOSPC;
    n->uid = current_process()->euid;
    n->gid = current_process()->egid;
    n->flags |= l->dir->flags & VN_RW;
    if (l->dir->mode & S_ISGID) { /* BSD group semantics of setgid directories */
        n->gid = l->dir->gid;
        if (S_ISDIR(mode))
            n->mode |= S_ISGID;
    }
    vnode_get(n); /* freed by the put below if it cannot be linked */
    r = ramfs_add(l->dir, l->name, l->len, n);
    *out = n;
    vnode_put(n);
    return r;
}

static long make_node(const struct last *l, u32 mode, struct vnode **out) { return make_node_on(l, mode, 0, NULL, out); }

/* Remove the last component (naming n) from its directory, on any filesystem. */
static long remove_entry(const struct last *l, struct dentry *d, struct vnode *n)
{
    if (n->flags & VN_MOUNT)
        return -EBUSY; /* a volume's mount point */
    if (l->dir->fs)
        return l->dir->fs->remove(l->dir, l->name, l->len, n, S_ISDIR(n->mode));
    ramfs_remove(l->dir, d);
    return 0;
}

long vfs_create(int dirfd, const char *path, int flags, u32 mode, struct vnode **out)
{
    struct last l;
    long r = split(dirfd, path, &l);
    for (int hops = 0; r == 0; hops++) {
        if (l.kind != LAST_NORM || l.slash)
            return -EISDIR; /* open(".", O_CREAT), open("new/", O_CREAT) */
        struct vnode *n = find_node(&l);
        fstrace_lookup(l.dir, l.name, l.len, n, true);
        if (!n) {
            r = make_node(&l, S_IFREG | (mode & 07777 & ~vfs_umask()), out);
            return r < 0 ? r : 1; /* 1: created */
        }
        if (flags & O_EXCL)
            return -EEXIST;
        if (!S_ISLNK(n->mode) || (flags & O_NOFOLLOW)) {
            if (S_ISDIR(n->mode))
                return -EISDIR;
            *out = n;
            return 0;
        }
        /* A symlink: open its target, creating it if the link dangles (Linux does). */
        if (hops >= SYMLOOP_MAX)
            return -ELOOP;
        if (n->flags & VN_MAGIC) { /* /dev/stderr -> /proc/self/fd/2: the open file's object */
            r = procfs_follow(n, out);
            if (r == 0 && S_ISDIR((*out)->mode))
                return -EISDIR;
            return r;
        }
        r = split_at(l.dir, (const char *)n->data, n->size, &l);
    }
    return r;
}

void vfs_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    strlcpy(buf, path, sizeof(buf));
    for (char *s = buf + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            vfs_mkdirat(AT_FDCWD, buf, 0755);
            *s = c;
            if (!c)
                break;
        }
    }
}

long vfs_mkdirat(int dirfd, const char *path, u32 mode)
{
    struct last l;
    long r = split(dirfd, path, &l);
    if (r < 0)
        return r;
    if (l.kind != LAST_NORM || find_node(&l))
        return -EEXIST;
    struct vnode *n;
    return make_node(&l, S_IFDIR | (mode & 01777 & ~vfs_umask()), &n);
}

static long do_rmdir(int dirfd, const char *path)
{
    struct last l;
    long r = split(dirfd, path, &l);
    if (r < 0)
        return r;
    if (l.kind != LAST_NORM)
        return l.kind == LAST_DOT ? -EINVAL : l.kind == LAST_DOTDOT ? -ENOTEMPTY : -EBUSY;
    struct dentry *d = l.dir->fs ? NULL : find(&l);
    struct vnode *n = d ? d->node : find_node(&l);
    if (!n)
        return -ENOENT;
    if (!S_ISDIR(n->mode))
        return -ENOTDIR;
    if ((r = may_change(l.dir, n)) < 0)
        return r;
    if (n->nchildren) /* a volume's directory: the host says ENOTEMPTY */
        return -ENOTEMPTY;
    return remove_entry(&l, d, n);
}

long vfs_unlinkat(int dirfd, const char *path, int flags)
{
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    if (flags & AT_REMOVEDIR)
        return do_rmdir(dirfd, path);
    struct last l;
    long r = split(dirfd, path, &l);
    if (r < 0)
        return r;
    if (l.kind != LAST_NORM)
        return -EISDIR;
    struct dentry *d = l.dir->fs ? NULL : find(&l);
    struct vnode *n = d ? d->node : find_node(&l);
    if (!n)
        return -ENOENT;
    if (l.slash)
        return S_ISDIR(n->mode) ? -EISDIR : -ENOTDIR;
    if ((r = may_change(l.dir, n)) < 0)
        return r;
    if (S_ISDIR(n->mode))
        return -EISDIR;
    return remove_entry(&l, d, n);
}

/* The last component of a new name (symlink, link): it must not exist. */
static long new_name(int dirfd, const char *path, struct last *l)
{
    long r = split(dirfd, path, l);
    if (r < 0)
        return r;
    if (l->kind != LAST_NORM || find_node(l))
        return -EEXIST;
    if (l->slash)
        return -ENOENT; /* "new/" names a directory that does not exist */
    return 0;
}

long vfs_symlinkat(const char *target, int dirfd, const char *path)
{
    size_t tlen = strlen(target);
    if (tlen == 0)
        return -ENOENT;
    struct last l;
    long r = new_name(dirfd, path, &l);
    if (r < 0)
        return r;
    struct vnode *n;
    if (l.dir->fs)
        return make_node_on(&l, S_IFLNK | 0777, 0, target, &n);
    char *copy = kmalloc(tlen);
    if (!copy)
        return -ENOSPC;
    memcpy(copy, target, tlen);
    r = make_node(&l, S_IFLNK | 0777, &n);
    if (r < 0) {
        kfree(copy);
        return r;
    }
    n->data = (const u8 *)copy;
    n->size = tlen;
    n->flags |= VN_OWNS_DATA;
    return 0;
}

/* mknod(2): regular files (type 0 or S_IFREG), FIFOs, sockets and, for root (Docker
 * keeps CAP_MKNOD), device nodes whose numbers decide what opening them gives. */
long vfs_mknodat(int dirfd, const char *path, u32 mode, u64 dev)
{
    u32 type = mode & S_IFMT;
    if (type == 0)
        type = S_IFREG;
    if (type == S_IFDIR)
        return -EPERM; /* Linux's may_mknod */
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK)
        return -EINVAL;
    struct last l;
    long r = split(dirfd, path, &l);
    if (r < 0)
        return r;
    if (l.kind != LAST_NORM || find_node(&l))
        return -EEXIST;
    if (l.slash)
        return -ENOENT;
    if ((type == S_IFCHR || type == S_IFBLK) && current_process()->euid != 0)
        return -EPERM; /* no CAP_MKNOD */
    struct vnode *n;
    r = make_node_on(&l, type | (mode & 07777 & ~vfs_umask()), dev, NULL, &n);
    if (r < 0 || l.dir->fs)
        return r;
    if (type == S_IFCHR || type == S_IFBLK) {
        n->rdev = dev;
        n->ops = type == S_IFCHR ? devfs_ops_for(dev) : NULL;
    }
    return 0;
}

long vfs_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct vnode *n;
    int lf = ((flags & AT_SYMLINK_FOLLOW) ? LOOKUP_FOLLOW : 0) | ((flags & AT_EMPTY_PATH) ? LOOKUP_EMPTY_OK : 0);
    long r = vfs_lookup(olddirfd, oldpath, lf, &n);
    if (r < 0)
        return r;
    struct last l;
    if ((r = new_name(newdirfd, newpath, &l)) < 0)
        return r;
    if (!vfs_same_fs(n, l.dir))
        return -EXDEV; /* Linux checks the mounts before the file type */
    if (S_ISDIR(n->mode))
        return -EPERM;
    if (l.dir->nlink == 0 || n->nlink == 0)
        return -ENOENT; /* a removed directory, or an unlinked file reached through an fd */
    if ((r = may_change(l.dir, NULL)) < 0)
        return r;
    if (l.dir->fs)
        return l.dir->fs->link(l.dir, l.name, l.len, n);
    if ((r = ramfs_add(l.dir, l.name, l.len, n)) < 0)
        return r;
    n->ctime = l.dir->mtime;
    return 0;
}

/* Is dir a or one of its descendants x? */
static bool is_ancestor(const struct vnode *a, const struct vnode *x)
{
    for (;;) {
        if (x == a)
            return true;
        if (x == vfs_root() || !x->parent || x->parent == x)
            return false;
        x = x->parent;
    }
}

/* Linux's checks of a rename's target (vfs_rename, may_delete), in its order. */
static long check_target(const struct vnode *src, const struct vnode *dst)
{
    if (S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
        return -ENOTDIR;
    if (!S_ISDIR(src->mode) && S_ISDIR(dst->mode))
        return -EISDIR;
    if (S_ISDIR(dst->mode) && dst->nchildren)
        return -ENOTEMPTY;
    return 0;
}

long vfs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags)
{
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return -EINVAL;
    if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
        return -EINVAL;
    if (flags & RENAME_WHITEOUT)
        return -EINVAL; /* overlay whiteouts: no overlayfs above this filesystem */
    struct last a, b;
    long r = split(olddirfd, oldpath, &a);
    if (r < 0 || (r = split(newdirfd, newpath, &b)) < 0)
        return r;
    if (a.kind != LAST_NORM)
        return -EBUSY;
    if (b.kind != LAST_NORM)
        return (flags & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
    if (!vfs_same_fs(a.dir, b.dir))
        return -EXDEV; /* across a volume's boundary: Linux checks the mounts first */
    bool remote = a.dir->fs != NULL;
    if (remote && flags)
        return -EINVAL; /* as Linux's 9p: no RENAME_NOREPLACE or RENAME_EXCHANGE */
    struct dentry *da = remote ? NULL : find(&a), *db = remote ? NULL : find(&b);
    struct vnode *src = remote ? find_node(&a) : da ? da->node : NULL;
    if (!src)
        return -ENOENT;
    struct vnode *dst = remote ? find_node(&b) : db ? db->node : NULL;
    if (dst && (flags & RENAME_NOREPLACE))
        return -EEXIST;
    if (!dst && (flags & RENAME_EXCHANGE))
        return -ENOENT;
    if ((src->flags & VN_MOUNT) || (dst && (dst->flags & VN_MOUNT)))
        return -EBUSY; /* a volume's mount point */
    if (flags & RENAME_EXCHANGE) {
        if ((a.slash && !S_ISDIR(src->mode)) || (b.slash && !S_ISDIR(dst->mode)))
            return -ENOTDIR;
    } else if (!S_ISDIR(src->mode) && (a.slash || b.slash)) {
        return -ENOTDIR;
    }
    if (S_ISDIR(src->mode) && is_ancestor(src, b.dir))
        return -EINVAL; /* into itself */
    if (dst && S_ISDIR(dst->mode) && is_ancestor(dst, a.dir))
        return (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
    if (src == dst)
        return 0; /* two names of one file: Linux does nothing */
    if ((r = may_change(a.dir, src)) < 0 || (r = may_change(b.dir, dst)) < 0)
        return r;
    if (flags & RENAME_EXCHANGE) {
        ramfs_exchange(a.dir, da, b.dir, db);
        return 0;
    }
    if (dst && (r = check_target(src, dst)) < 0)
        return r;
    if (b.dir->nlink == 0)
        return -ENOENT;
    if (remote)
        return a.dir->fs->rename(a.dir, a.name, a.len, b.dir, b.name, b.len, src, dst);
    return ramfs_move(a.dir, da, b.dir, b.name, b.len, db);
}
