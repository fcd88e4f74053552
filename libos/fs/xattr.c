/* SPDX-License-Identifier: Apache-2.0 */
/* xattr.c: extended attributes of RAM-filesystem nodes with the namespace and permission rules of Linux on ext4.
 *
 * Each vnode keeps a list of (name, value) records. The rules follow Linux's
 * fs/xattr.c (xattr_permission) over an ext4 upper layer, which is what a container's
 * files live on: user.* only on regular files and directories (others: EPERM to
 * write, ENODATA to read) with the mode bits checked; trusted.* for root only
 * (others: EPERM to write, ENODATA to read, hidden from lists); security.* read
 * by anyone, written by root; system.* (POSIX ACLs: the filesystem behaves as mounted noacl) and
 * unknown prefixes are EOPNOTSUPP. Sizes as the VFS checks them: names of 1..255 bytes (ERANGE), values
 * up to 64 KiB (E2BIG). A node holds at most XATTR_NODE_MAX bytes of names and
 * values (ENOSPC), so a program cannot grow kernel memory without bound through
 * attributes; ext4 allows about one block, so real programs stay far below it.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/vfs.h>

#define XATTR_NODE_MAX (64u << 10)

struct xattr {
    struct xattr *next;
    u32 namelen, size;
    char data[]; /* the name (namelen bytes, no NUL), then the value */
};

#define S_ISVTX 01000

static bool has_prefix(const char *name, const char *prefix) { return !strncmp(name, prefix, strlen(prefix)); }

/* Mode-bit check for the caller: bit is 4 (read) or 2 (write); root passes. */
static long may(const struct vnode *n, u32 bit)
{
    const struct process *p = current_process();
    if (p->euid == 0)
        return 0;
    u32 bits = n->uid == p->euid ? n->mode >> 6 : proc_in_group(p, n->gid) ? n->mode >> 3 : n->mode;
    return (bits & bit) ? 0 : -EACCES;
}

/* Linux's xattr_permission(): 0, or the errno for this name and access. */
static long permission(const struct vnode *n, const char *name, bool write)
{
    const struct process *p = current_process();
    /* security.*: any reader; writers need CAP_SYS_ADMIN (the commoncap LSM hook,
     * cap_inode_setxattr), which only root has here. */
    if (has_prefix(name, XATTR_SECURITY_PREFIX))
        return write && p->euid != 0 ? -EPERM : 0;
    if (has_prefix(name, "system."))
        return 0;
    if (has_prefix(name, XATTR_TRUSTED_PREFIX))
        return p->euid == 0 ? 0 : write ? -EPERM : -ENODATA;
    if (has_prefix(name, XATTR_USER_PREFIX)) {
        if (!S_ISREG(n->mode) && !S_ISDIR(n->mode))
            return write ? -EPERM : -ENODATA;
        if (S_ISDIR(n->mode) && (n->mode & S_ISVTX) && write && p->euid != 0 && p->euid != n->uid)
            return -EPERM; /* a sticky directory's attributes belong to its owner */
    }
    return may(n, write ? 2 : 4);
}

/* The namespace handler lookup (Linux's xattr_resolve_name): the three namespaces
 * stored here need a non-empty suffix (EINVAL); system.* (POSIX ACLs) and unknown
 * prefixes have no handler (EOPNOTSUPP). */
static long resolve(const char *name)
{
    static const char *const stored[] = {XATTR_USER_PREFIX, XATTR_TRUSTED_PREFIX, XATTR_SECURITY_PREFIX};
    for (size_t i = 0; i < ARRAY_SIZE(stored); i++)
        if (has_prefix(name, stored[i]))
            return name[strlen(stored[i])] ? 0 : -EINVAL;
    return -EOPNOTSUPP;
}

/* Both checks, in Linux's order. */
static long check(const struct vnode *n, const char *name, bool write)
{
    long r = permission(n, name, write);
    return r < 0 ? r : resolve(name);
}

static struct xattr **find(struct vnode *n, const char *name)
{
    u32 len = (u32)strlen(name);
    struct xattr **pp = (struct xattr **)&n->xattrs;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->namelen == len && !memcmp((*pp)->data, name, len))
            return pp;
    return pp;
}

long vfs_getxattr(struct vnode *n, const char *name, void *buf, size_t size)
{
    long r = check(n, name, false);
    if (r < 0)
        return r;
    if (n->fs) /* a volume: the host's attributes (Txattrwalk) */
        return n->fs->getxattr(n, name, buf, size);
    struct xattr *x = *find(n, name);
    if (!x)
        return -ENODATA;
    if (!size)
        return x->size;
    if (size < x->size)
        return -ERANGE;
    memcpy(buf, x->data + x->namelen, x->size);
    return x->size;
}

long vfs_setxattr(struct vnode *n, const char *name, const void *value, size_t size, int flags)
{
    if (vfs_rofs(n) < 0)
        return -EROFS;
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return -EINVAL;
    if (size > XATTR_SIZE_MAX)
        return -E2BIG;
    long r = check(n, name, true);
    if (r < 0)
        return r;
    if (n->fs) /* Txattrcreate: the host keeps it */
        return n->fs->setxattr(n, name, value ? value : "", size, flags);
    struct xattr **pp = find(n, name), *old = *pp;
    if (old && (flags & XATTR_CREATE))
        return -EEXIST;
    if (!old && (flags & XATTR_REPLACE))
        return -ENODATA;
    u32 len = (u32)strlen(name);
    u64 total = n->xattr_bytes - (old ? old->namelen + old->size : 0) + len + size;
    if (total > XATTR_NODE_MAX)
        return -ENOSPC;
    struct xattr *x = kmalloc(sizeof(*x) + len + size);
    if (!x)
        return -ENOMEM;
    x->namelen = len;
    x->size = (u32)size;
    memcpy(x->data, name, len);
    memcpy(x->data + len, value, size);
    x->next = old ? old->next : NULL;
    *pp = x;
    kfree(old);
    n->xattr_bytes = (u32)total;
    n->ctime = vfs_now();
    return 0;
}

long vfs_removexattr(struct vnode *n, const char *name)
{
    if (vfs_rofs(n) < 0)
        return -EROFS;
    long r = check(n, name, true);
    if (r < 0)
        return r;
    if (n->fs)
        return n->fs->setxattr(n, name, NULL, 0, 0);
    struct xattr **pp = find(n, name), *x = *pp;
    if (!x)
        return -ENODATA;
    *pp = x->next;
    n->xattr_bytes -= x->namelen + x->size;
    kfree(x);
    n->ctime = vfs_now();
    return 0;
}

long vfs_listxattr(struct vnode *n, char *buf, size_t size)
{
    if (n->fs) /* the host's list (Linux's 9p does not filter trusted.* either) */
        return n->fs->listxattr(n, buf, size);
    size_t used = 0;
    for (struct xattr *x = n->xattrs; x; x = x->next) {
        char name[XATTR_NAME_MAX + 1];
        memcpy(name, x->data, x->namelen);
        name[x->namelen] = 0;
        if (has_prefix(name, XATTR_TRUSTED_PREFIX) && current_process()->euid != 0)
            continue; /* ext4 lists trusted.* only to CAP_SYS_ADMIN */
        if (size) {
            if (used + x->namelen + 1 > size)
                return -ERANGE;
            memcpy(buf + used, name, x->namelen + 1);
        }
        used += x->namelen + 1;
    }
    return used > XATTR_LIST_MAX ? -E2BIG : (long)used;
}

void vfs_xattr_release(struct vnode *n)
{
    for (struct xattr *x = n->xattrs, *next; x; x = next) {
        next = x->next;
        kfree(x);
    }
    n->xattrs = NULL;
    n->xattr_bytes = 0;
}
