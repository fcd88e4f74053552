/* SPDX-License-Identifier: Apache-2.0 */
/* path.c: path lookup with Linux rules: cwd or dirfd, ".", "..", symlinks (40 hops), trailing "/"; the per-process cwd and umask.
 *
 * The cwd and umask live in a reference-counted struct fs_struct hung off the
 * process: threads and CLONE_FS children share it, fork copies it.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/fstrace.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/vfs.h>

struct fs_struct {
    int refs;
    struct vnode *cwd;  /* NULL: the root */
    struct vnode *root; /* chroot(2)'s directory; NULL: the filesystem's root */
    u32 umask;
};

struct fs_struct *fs_struct_new(void)
{
    struct fs_struct *fs = kzalloc(sizeof(*fs));
    if (fs) {
        fs->refs = 1;
        fs->umask = 022;
    }
    return fs;
}

struct fs_struct *fs_struct_copy(const struct fs_struct *from)
{
    struct fs_struct *fs = kzalloc(sizeof(*fs));
    if (!fs)
        return NULL;
    *fs = *from;
    fs->refs = 1;
    if (fs->cwd)
        vnode_get(fs->cwd);
    if (fs->root)
        vnode_get(fs->root);
    return fs;
}

void fs_struct_get(struct fs_struct *fs) { fs->refs++; }

void fs_struct_put(struct fs_struct *fs)
{
    if (!fs || --fs->refs > 0)
        return;
    if (fs->cwd)
        vnode_put(fs->cwd);
    if (fs->root)
        vnode_put(fs->root);
    kfree(fs);
}

struct vnode *vfs_cwd(void) { return vfs_cwd_of(current_process()); }

struct vnode *vfs_root_of(struct process *p)
{
    struct vnode *root = p && p->fs ? p->fs->root : NULL; /* a zombie has none: the root */
    return root ? root : vfs_root();
}

struct vnode *vfs_proc_root(void) { return vfs_root_of(current_process()); }

struct vnode *vfs_cwd_of(struct process *p)
{
    struct vnode *cwd = p->fs ? p->fs->cwd : NULL; /* a zombie has none: the root */
    return cwd ? cwd : vfs_root_of(p);
}

long vfs_chroot_node(struct vnode *dir)
{
    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    if (vfs_may_search(dir) < 0)
        return -EACCES; /* Linux: MAY_EXEC on the new root */
    struct fs_struct *fs = current_process()->fs;
    vnode_get(dir);
    if (fs->root)
        vnode_put(fs->root);
    fs->root = dir == vfs_root() ? NULL : dir;
    if (!fs->root)
        vnode_put(dir);
    return 0;
}

u32 vfs_umask(void) { return current_process()->fs->umask; }

u32 vfs_umask_of(struct process *p) { return p->fs ? p->fs->umask : 0; }

u32 vfs_set_umask(u32 mask)
{
    struct fs_struct *fs = current_process()->fs;
    u32 old = fs->umask;
    fs->umask = mask & 0777;
    return old;
}

long vfs_chdir_node(struct vnode *dir)
{
    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    if (vfs_may_search(dir) < 0)
        return -EACCES; /* Linux: MAY_EXEC | MAY_CHDIR on the new cwd */
    /* The cwd holds a reference: rmdir of the cwd must not free it under us. */
    struct fs_struct *fs = current_process()->fs;
    vnode_get(dir);
    if (fs->cwd)
        vnode_put(fs->cwd);
    fs->cwd = dir;
    return 0;
}

/* Walk path[0..len) from base. Symlinks met on the way are resolved relative to the
 * directory that holds them; absolute targets restart at the process's root (the image
 * root unless chroot(2) chose another), and ".." stops there. */
static long resolve(struct vnode *base, const char *path, size_t len, int flags, int *hops, struct vnode **out)
{
    struct vnode *cur = base;
    if (len == 0)
        return -ENOENT; /* an empty path or symlink target */
    struct vnode *root = vfs_proc_root();
    if (path[0] == '/')
        cur = root;
    bool trailing_slash = path[len - 1] == '/';
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        if (i >= len)
            break;
        size_t s = i;
        while (i < len && path[i] != '/')
            i++;
        size_t n = i - s;
        size_t j = i;
        while (j < len && path[j] == '/')
            j++;
        bool last = j >= len;
        if (!S_ISDIR(cur->mode))
            return -ENOTDIR;
        /* Every component needs search permission on the directory it is looked up
         * in, "." and ".." included (Linux's may_lookup): a 0700 /root keeps others out. */
        long denied = vfs_may_search(cur);
        if (denied < 0)
            return denied;
        if (n > NAME_MAX)
            return -ENAMETOOLONG;
        if (n == 1 && path[s] == '.')
            continue;
        if (n == 2 && path[s] == '.' && path[s + 1] == '.') {
            cur = cur != root && cur->parent ? cur->parent : cur; /* ".." at / stays at / */
            continue;
        }
        struct vnode *next = NULL;
        long err = 0;
        if (cur->fs) /* a volume: the host's answer (EIO, EACCES...) is the error, not just ENOENT */
            err = cur->fs->lookup(cur, path + s, (u32)n, &next);
        else
            next = ramfs_child(cur, path + s, (u32)n);
        if (err < 0)
            next = NULL;
        fstrace_lookup(cur, path + s, n, next, last);
        if (err < 0)
            return err;
        if (!next)
            return -ENOENT;
        if (S_ISLNK(next->mode) && (!last || (flags & LOOKUP_FOLLOW) || trailing_slash)) {
            if (++*hops > SYMLOOP_MAX)
                return -ELOOP;
            long r = (next->flags & VN_MAGIC) ? procfs_follow(next, &next) /* /proc/self/fd/N */
                                              : resolve(cur, (const char *)next->data, next->size,
                                                        LOOKUP_FOLLOW, hops, &next);
            if (r < 0)
                return r;
        }
        cur = next;
    }
    if ((trailing_slash || (flags & LOOKUP_DIRECTORY)) && !S_ISDIR(cur->mode))
        return -ENOTDIR;
    *out = cur;
    return 0;
}

long vfs_lookup(int dirfd, const char *path, int flags, struct vnode **out)
{
    struct vnode *base = vfs_cwd();
    if (path[0] != '/' && dirfd != AT_FDCWD) {
        struct file *f = fd_get(dirfd);
        if (!f)
            return -EBADF;
        base = f->node;
        if (!path[0] && (flags & LOOKUP_EMPTY_OK)) {
            *out = base;
            return 0;
        }
        if (!S_ISDIR(base->mode))
            return -ENOTDIR;
    } else if (!path[0] && (flags & LOOKUP_EMPTY_OK)) {
        *out = base; /* AT_FDCWD with AT_EMPTY_PATH: the cwd itself */
        return 0;
    }
    int hops = 0;
    return resolve(base, path, strlen(path), flags, &hops, out);
}

long vfs_base(int dirfd, const char *path, struct vnode **out)
{
    if (path[0] == '/' || dirfd == AT_FDCWD) {
        *out = path[0] == '/' ? vfs_proc_root() : vfs_cwd();
        return 0;
    }
    struct file *f = fd_get(dirfd);
    if (!f)
        return -EBADF;
    if (!S_ISDIR(f->node->mode))
        return -ENOTDIR;
    *out = f->node;
    return 0;
}

long vfs_walk(struct vnode *base, const char *path, size_t len, int flags, struct vnode **out)
{
    if (len == 0) { /* the parent of a single-component path: base itself */
        *out = base;
        return 0;
    }
    int hops = 0;
    return resolve(base, path, len, flags, &hops, out);
}

long vfs_dir_path(struct vnode *dir, char *buf, size_t size)
{
    /* Build the path backwards from the end of buf, one parent at a time. */
    if (size < 2)
        return -ERANGE;
    struct vnode *root = vfs_proc_root();
    if (dir != root && dir != vfs_root() && !dir->self)
        return -ENOENT; /* removed: Linux's getcwd fails the same way */
    size_t at = size - 1;
    buf[at] = 0;
    for (struct vnode *d = dir; d != root && d->self; d = d->parent) {
        u32 n = d->self->namelen;
        if (at < n + 1)
            return -ERANGE;
        at -= n;
        memcpy(buf + at, d->self->name, n);
        buf[--at] = '/';
    }
    if (at == size - 1)
        buf[--at] = '/';
    size_t len = size - at; /* including the NUL */
    memmove(buf, buf + at, len);
    return (long)len;
}
