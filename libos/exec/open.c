/* SPDX-License-Identifier: Apache-2.0 */
/* open.c: opening a file for execution with Linux's checks (do_open_execat, may_open) and naming it for /proc/self/exe. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/vfs.h>

#include "exec_internal.h"

/* MAY_EXEC as Linux's generic_permission: root needs one execute bit anywhere,
 * others the bit of their class (owner, group, other). */
static bool may_exec(const struct vnode *n)
{
    const struct process *p = current_process();
    if (p->euid == 0)
        return (n->mode & 0111) != 0;
    if (n->uid == p->euid)
        return (n->mode & 0100) != 0;
    if (proc_in_group(p, n->gid))
        return (n->mode & 0010) != 0;
    return (n->mode & 0001) != 0;
}

long exec_read_head(struct vnode *n, u8 *buf, size_t len)
{
    memset(buf, 0, len);
    long r = fdata_read(n, buf, MIN((u64)len, n->size), 0);
    return r < 0 ? r : 0;
}

/* Append "/name" (or "name" after a root "/") to the directory path in buf. */
static bool join(char *buf, size_t size, const char *name, size_t len)
{
    size_t at = strlen(buf);
    if (at && buf[at - 1] != '/') {
        if (at + 1 >= size)
            return false;
        buf[at++] = '/';
    }
    if (at + len >= size)
        return false;
    memcpy(buf + at, name, len);
    buf[at + len] = 0;
    return true;
}

/* The absolute path of the file path names, symlinks in its last component followed
 * (what Linux's d_path gives /proc/self/exe); NULL when it cannot be built. */
static char *real_path(int dirfd, const char *path, bool follow)
{
    char *buf = kmalloc(PATH_MAX), *cur = kmalloc(PATH_MAX);
    if (!buf || !cur)
        goto fail;
    strlcpy(cur, path, PATH_MAX);
    struct vnode *dir;
    for (int hops = 0; hops <= SYMLOOP_MAX; hops++) {
        size_t len = strlen(cur);
        while (len > 1 && cur[len - 1] == '/')
            cur[--len] = 0;
        const char *slash = NULL;
        for (const char *c = cur; *c; c++)
            if (*c == '/')
                slash = c;
        const char *name = slash ? slash + 1 : cur;
        if (slash == cur) { /* "/name": the parent is the root (chroot's, if any) */
            dir = vfs_proc_root();
        } else if (slash) {
            cur[slash - cur] = 0;
            long r = vfs_lookup(dirfd, cur, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &dir);
            cur[slash - cur] = '/';
            if (r < 0)
                goto fail;
        } else if (vfs_base(dirfd, cur, &dir) < 0) {
            goto fail;
        }
        struct vnode *n = ramfs_child(dir, name, (u32)strlen(name));
        if (!n || vfs_dir_path(dir, buf, PATH_MAX) < 0 || !join(buf, PATH_MAX, name, strlen(name)))
            goto fail;
        if (!follow || !S_ISLNK(n->mode) || n->size >= PATH_MAX) {
            kfree(cur);
            return buf;
        }
        /* A relative target is relative to the link's directory: continue from there. */
        if (n->data[0] == '/') {
            memcpy(cur, n->data, n->size);
            cur[n->size] = 0;
        } else {
            long dl = vfs_dir_path(dir, cur, PATH_MAX);
            if (dl < 0 || !join(cur, PATH_MAX, (const char *)n->data, n->size))
                goto fail;
        }
        dirfd = AT_FDCWD;
    }
fail:
    kfree(buf);
    kfree(cur);
    return NULL;
}

/* Where n is in the tree (depth first from dir, prefix in buf): the path of a file known
 * only by a descriptor (execveat with AT_EMPTY_PATH). Rare, so a walk is cheap enough. */
static bool find_node(struct vnode *dir, const struct vnode *n, char *buf, size_t size, int depth)
{
    if (depth > 64)
        return false;
    size_t at = strlen(buf);
    for (struct dentry *d = dir->children; d; d = d->next) {
        buf[at] = 0;
        if (!join(buf, size, d->name, d->namelen))
            continue;
        if (d->node == n)
            return true;
        if (S_ISDIR(d->node->mode) && find_node(d->node, n, buf, size, depth + 1))
            return true;
    }
    buf[at] = 0;
    return false;
}

static char *path_of_node(const struct vnode *n)
{
    char *buf = kzalloc(PATH_MAX);
    if (buf)
        buf[0] = '/';
    if (buf && !find_node(vfs_root(), n, buf, PATH_MAX, 0)) {
        kfree(buf);
        buf = NULL;
    }
    return buf;
}

long exec_lookup(int dirfd, const char *path, int at_flags, struct vnode **out)
{
    struct vnode *n;
    int lf = (at_flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW;
    if (at_flags & AT_EMPTY_PATH)
        lf |= LOOKUP_EMPTY_OK;
    if (!path[0] && !(at_flags & AT_EMPTY_PATH))
        return -ENOENT;
    long r = vfs_lookup(dirfd, path, lf, &n);
    if (r < 0)
        return r;
    /* may_open: the type first (a symlink not followed is ELOOP, anything but a
     * regular file EACCES), then the permission. */
    if (S_ISLNK(n->mode))
        return -ELOOP;
    if (!S_ISREG(n->mode) || !may_exec(n))
        return -EACCES;
    vnode_get(n); /* the exec may sleep (other threads ending): keep the file */
    *out = n;
    return 0;
}

long exec_open(struct binprm *b, int dirfd, const char *path, int at_flags)
{
    struct vnode *n;
    long r = exec_lookup(dirfd, path, at_flags, &n);
    if (r < 0)
        return r;
    if (b->file)
        vnode_put(b->file);
    b->file = n;
    kfree(b->file_path);
    b->file_path = NULL;
    b->file_path = path[0] ? real_path(dirfd, path, !(at_flags & AT_SYMLINK_NOFOLLOW)) : path_of_node(n);
    if (!b->file_path) /* a path we cannot name */
        b->file_path = kstrdup(path[0] == '/' ? path : b->filename ? b->filename : path);
    if (!b->file_path)
        return -ENOMEM;
    return exec_read_head(n, b->buf, sizeof(b->buf));
}

void exec_close(struct binprm *b)
{
    if (b->file)
        vnode_put(b->file);
    b->file = NULL;
    if (b->ld)
        vnode_put(b->ld);
    b->ld = NULL;
}
