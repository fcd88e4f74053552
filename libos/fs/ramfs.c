/* SPDX-License-Identifier: Apache-2.0 */
/* ramfs.c: the in-memory tree: vnodes, directory entries, links and vnode lifetime.
 *
 * The tree starts as the cpio archive (names and file bytes point into it, no copy)
 * and changes at run time: new entries own a copied name, removed nodes are freed
 * once nothing links or references them (docs/filesystem.md). Entries of a directory
 * form a list in insertion order; each carries a cookie, strictly increasing along
 * the list, that getdents uses as its position (fs/ramfs_ops.c). A directory with
 * more than a few entries also indexes them in a hash table by name, so creating or
 * finding a file stays O(1) however many files one directory holds (a program can
 * create hundreds of thousands; a list search made that quadratic).
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

#define RAMFS_MAGIC 0x858458f6 /* statfs f_type, as Linux's ramfs */
#define RAMFS_DEV 0x10 /* st_dev of every rootfs file: makedev(0, 16) */
#define FIRST_COOKIE 2 /* positions 0 and 1 are "." and ".." */

static struct vnode *root;
static u64 next_ino = 1u << 30; /* synthetic inode numbers, above the archive's */

struct vnode *vfs_root(void) { return root; }

struct ktimespec vfs_now(void)
{
    u64 ns = time_real_ns();
    return (struct ktimespec){(s64)(ns / NSEC_PER_SEC), (s64)(ns % NSEC_PER_SEC)};
}

void vfs_touch(struct vnode *n) { n->mtime = n->ctime = vfs_now(); }

static struct vnode *node_init(struct vnode *n, u32 mode)
{
    n->mode = mode;
    n->nlink = S_ISDIR(mode) ? 1 : 0; /* a directory's "."; each entry adds one */
    n->ino = next_ino++;
    n->dev = RAMFS_DEV;
    n->next_cookie = FIRST_COOKIE;
    if (S_ISDIR(mode))
        n->ops = &ramfs_dir_ops;
    else if (S_ISREG(mode))
        n->ops = &ramfs_file_ops;
    else if (S_ISFIFO(mode))
        n->ops = &fifo_node_ops; /* opening joins the FIFO's pipe (fs/pipe.c) */
    return n;
}

struct vnode *ramfs_new_node(u32 mode)
{
    struct vnode *n = kzalloc(sizeof(*n));
    if (!n)
        panic("ramfs: out of memory");
    return node_init(n, mode);
}

struct vnode *ramfs_alloc_node(u32 mode)
{
    struct vnode *n = kzalloc(sizeof(*n));
    if (!n)
        return NULL;
    node_init(n, mode);
    n->atime = n->mtime = n->ctime = vfs_now();
    return n;
}

#define HASH_MIN_ENTRIES 16 /* below this a list search is as fast */

static u32 name_hash(const char *name, u32 namelen)
{
    u32 h = 2166136261u; /* FNV-1a */
    for (u32 i = 0; i < namelen; i++)
        h = (h ^ (u8)name[i]) * 16777619u;
    return h;
}

static void hash_insert(struct vnode *dir, struct dentry *d)
{
    struct dentry **b = &dir->htab[name_hash(d->name, d->namelen) & (dir->hsize - 1)];
    d->hnext = *b;
    *b = d;
}

/* Double dir's table (or make its first): at most one entry per bucket on average.
 * On allocation failure the old table, or the plain list, keeps working, only slower. */
static bool hash_grow(struct vnode *dir)
{
    u32 size = dir->hsize ? dir->hsize * 2 : 64;
    struct dentry **t = kzalloc(size * sizeof(*t));
    if (!t)
        return false;
    kfree(dir->htab);
    dir->htab = t;
    dir->hsize = size;
    for (struct dentry *d = dir->children; d; d = d->next)
        hash_insert(dir, d);
    return true;
}

static void hash_remove(struct vnode *dir, struct dentry *d)
{
    if (!dir->htab)
        return;
    struct dentry **pp = &dir->htab[name_hash(d->name, d->namelen) & (dir->hsize - 1)];
    while (*pp && *pp != d)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = d->hnext;
}

struct dentry *ramfs_find(struct vnode *dir, const char *name, u32 namelen)
{
    if (dir->flags & VN_DYNDIR) /* /proc: pids, fds and threads are made at lookup */
        return procfs_lookup(dir, name, namelen);
    return ramfs_find_entry(dir, name, namelen);
}

struct dentry *ramfs_find_entry(struct vnode *dir, const char *name, u32 namelen)
{
    struct dentry *d = dir->htab ? dir->htab[name_hash(name, namelen) & (dir->hsize - 1)] : dir->children;
    for (; d; d = dir->htab ? d->hnext : d->next)
        if (d->namelen == namelen && memcmp(d->name, name, namelen) == 0)
            return d;
    return NULL;
}

struct vnode *ramfs_child(struct vnode *dir, const char *name, u32 namelen)
{
    if (dir->fs) { /* a volume's directory: its filesystem knows the names */
        struct vnode *n;
        return dir->fs->lookup(dir, name, namelen, &n) == 0 ? n : NULL;
    }
    struct dentry *d = ramfs_find(dir, name, namelen);
    if (d && d->node->fs)
        d->node->fs->getattr(d->node); /* a volume's root: its attributes now, as any volume lookup */
    return d ? d->node : NULL;
}

/* Append d (naming node) to dir and count the links it makes. */
static void attach(struct vnode *dir, struct dentry *d, struct vnode *node)
{
    d->node = node;
    d->next = NULL;
    d->prev = dir->last_child;
    d->cookie = dir->next_cookie++;
    if (dir->last_child)
        dir->last_child->next = d;
    else
        dir->children = d;
    dir->last_child = d;
    dir->nchildren++;
    if (dir->htab && dir->nchildren <= dir->hsize)
        hash_insert(dir, d);
    else if (dir->nchildren >= HASH_MIN_ENTRIES && hash_grow(dir))
        ; /* the new table holds d too */
    else if (dir->htab)
        hash_insert(dir, d); /* could not grow: the old table, longer chains */
    node->nlink++;
    if (S_ISDIR(node->mode)) {
        node->parent = dir;
        node->self = d;
        dir->nlink++; /* the child's ".." */
    }
}

/* Take d out of dir's list and uncount its links; d itself is not freed. */
static void detach(struct vnode *dir, struct dentry *d)
{
    hash_remove(dir, d);
    if (d->prev)
        d->prev->next = d->next;
    else
        dir->children = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        dir->last_child = d->prev;
    dir->nchildren--;
    d->node->nlink--;
    if (S_ISDIR(d->node->mode)) {
        dir->nlink--;
        if (d->node->self == d)
            d->node->self = NULL;
    }
}

struct dentry *ramfs_link(struct vnode *dir, const char *name, u32 namelen, struct vnode *node)
{
    struct dentry *d = kzalloc(sizeof(*d));
    if (!d)
        panic("ramfs: out of memory");
    d->name = name;
    d->namelen = namelen;
    attach(dir, d, node);
    return d;
}

static struct dentry *new_dentry(const char *name, u32 namelen)
{
    struct dentry *d = kzalloc(sizeof(*d));
    char *copy = kmalloc(namelen ? namelen : 1);
    if (!d || !copy) {
        kfree(d);
        kfree(copy);
        return NULL;
    }
    memcpy(copy, name, namelen);
    d->name = copy;
    d->namelen = namelen;
    d->owns_name = true;
    return d;
}

static void free_dentry(struct dentry *d)
{
    if (d->owns_name)
        kfree((void *)d->name);
    kfree(d);
}

long ramfs_add(struct vnode *dir, const char *name, u32 namelen, struct vnode *node)
{
    if (dir->fs)
        return -EOPNOTSUPP; /* an AF_UNIX socket bound in a volume: 9P has no sockets */
    struct dentry *d = new_dentry(name, namelen);
    if (!d)
        return -ENOSPC; /* as tmpfs when it cannot allocate an entry */
    attach(dir, d, node);
    dir->mtime = dir->ctime = vfs_now();
    return 0;
}

static void maybe_free(struct vnode *n)
{
    if (n->refs || n->nlink || n == root)
        return;
    if (n->fs) {
        n->fs->forget(n); /* a volume's node: its filesystem frees it */
        return;
    }
    if (S_ISREG(n->mode))
        fdata_release(n);
    if (n->flags & VN_OWNS_DATA)
        kfree((void *)n->data);
    vfs_xattr_release(n);
    kfree(n->htab);
    struct vnode *parent = (n->flags & VN_HOLDS_PARENT) ? n->parent : NULL;
    kfree(n);
    if (parent)
        vnode_put(parent);
}

/* n lost the entry that linked it: a directory dies with it; free n if nothing uses it. */
static void unlinked(struct vnode *dir, struct vnode *n, struct ktimespec now)
{
    n->ctime = now;
    if (S_ISDIR(n->mode)) {
        n->nlink = 0; /* its "." goes too: the directory is dead */
        if (n->refs) {
            /* Still open or the cwd: ".." must keep working, as on Linux. */
            vnode_get(dir);
            n->flags |= VN_HOLDS_PARENT;
        }
    }
    maybe_free(n);
}

void ramfs_remove(struct vnode *dir, struct dentry *d)
{
    struct vnode *n = d->node;
    detach(dir, d);
    free_dentry(d);
    dir->mtime = dir->ctime = vfs_now();
    unlinked(dir, n, dir->ctime);
}

long ramfs_move(struct vnode *from, struct dentry *d, struct vnode *to, const char *name, u32 namelen,
                struct dentry *victim)
{
    /* Over a victim its entry is reused, so nothing can fail once anything changed. */
    struct dentry *nd = victim ? victim : new_dentry(name, namelen);
    if (!nd)
        return -ENOSPC;
    struct vnode *n = d->node, *old = victim ? victim->node : NULL;
    if (victim)
        detach(to, victim);
    n->nlink++; /* keep it alive between detach and attach */
    detach(from, d);
    free_dentry(d);
    attach(to, nd, n);
    n->nlink--;
    struct ktimespec now = vfs_now();
    from->mtime = from->ctime = to->mtime = to->ctime = n->ctime = now;
    if (old)
        unlinked(to, old, now);
    return 0;
}

/* Swap the nodes two entries name (RENAME_EXCHANGE). */
void ramfs_exchange(struct vnode *da, struct dentry *a, struct vnode *db, struct dentry *b)
{
    struct vnode *na = a->node, *nb = b->node;
    a->node = nb;
    b->node = na;
    if (S_ISDIR(na->mode)) {
        na->parent = db;
        na->self = b;
        db->nlink++;
        da->nlink--;
    }
    if (S_ISDIR(nb->mode)) {
        nb->parent = da;
        nb->self = a;
        da->nlink++;
        db->nlink--;
    }
    da->mtime = da->ctime = db->mtime = db->ctime = na->ctime = nb->ctime = vfs_now();
}

void vnode_unlinked(struct vnode *n) { maybe_free(n); }

void vnode_get(struct vnode *n) { n->refs++; }

void vnode_put(struct vnode *n)
{
    if (--n->refs == 0)
        maybe_free(n);
}

void vfs_stat_node(const struct vnode *n, struct kstat *st)
{
    if (n->fs) {
        /* A volume's node: what the host says now (no attribute cache, as cache=none). */
        n->fs->getattr((struct vnode *)n);
        *st = (struct kstat){
            .dev = n->dev, .ino = n->ino, .nlink = n->nlink, .rdev = n->rdev, .mode = n->mode,
            .uid = n->uid, .gid = n->gid, .size = (s64)n->size, .blksize = 4096,
            .blocks = (s64)n->fs_blocks, .atime = n->atime, .mtime = n->mtime, .ctime = n->ctime,
        };
        return;
    }
    /* Directories report one 4 KiB block, as ext4 and overlayfs do (ls -l output);
     * /proc and /sys directories and /proc links report 0 (fd links 64), as Linux's. */
    bool synth = (S_ISDIR(n->mode) && (n->flags & VN_PINNED)) || (S_ISLNK(n->mode) && (n->flags & VN_SYNTH));
    u64 size = synth ? ((n->flags & VN_MAGIC) ? 64 : 0) : S_ISDIR(n->mode) ? 4096 : n->size;
    *st = (struct kstat){
        .dev = n->dev,
        .ino = n->ino,
        .nlink = n->nlink,
        .rdev = n->rdev,
        .mode = n->mode,
        .uid = n->uid,
        .gid = n->gid,
        .size = (s64)size,
        .blksize = 4096,
        /* Only data occupies blocks: short symlinks and devices live in the inode. */
        .blocks = S_ISREG(n->mode) ? (s64)fdata_blocks(n) : S_ISDIR(n->mode) && !synth ? 8 : 0,
        .atime = n->atime,
        .mtime = n->mtime,
        .ctime = n->ctime,
    };
}

long vfs_statfs(struct vnode *n, struct kstatfs *st)
{
    if (n->fs)
        return n->fs->statfs(n, st);
    /* Free: what file data may still take from RAM; size: that plus what files hold
     * (archive bytes are in the kernel image and count as neither). */
    *st = (struct kstatfs){.type = RAMFS_MAGIC, .bsize = PAGE_SIZE, .namelen = NAME_MAX};
    st->bfree = st->bavail = fdata_avail_pages();
    st->blocks = st->bfree + fdata_used_pages();
    return 0;
}

long vfs_readlink_node(const struct vnode *n, void *buf, size_t size)
{
    if (!S_ISLNK(n->mode))
        return -EINVAL;
    size_t k = MIN(size, n->size);
    long r = uaccess_copy(buf, n->data, k);
    return r < 0 ? r : (long)k;
}

void vfs_init(const u8 *cpio, size_t len)
{
    root = ramfs_new_node(S_IFDIR | 0755);
    root->parent = root;
    root->nlink = 2; /* "." and its own ".." */
    if (len) {
        long r = cpio_load(cpio, len);
        if (r < 0)
            kinfo("rootfs: cpio archive damaged (error %ld); using what was read", r);
    }
    console_init();
    devfs_init();
    procfs_init();
    sysfs_init();
}
