/* SPDX-License-Identifier: Apache-2.0 */
/* ramfs.c: the in-memory tree of vnodes and the file ops of its files and directories.
 *
 * Regular-file data points straight into the cpio archive (no copy); the tree is
 * read-only in this version. getdents64 lists ".", ".." and then the children in
 * archive order; d_off is the index of the next entry.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

#define RAMFS_DEV 0x10 /* st_dev of every rootfs file: makedev(0, 16) */

static struct vnode *root;
static u64 next_ino = 1u << 30; /* synthetic inode numbers, above the archive's */

struct vnode *vfs_root(void) { return root; }

struct vnode *ramfs_new_node(u32 mode)
{
    struct vnode *n = kzalloc(sizeof(*n));
    if (!n)
        panic("ramfs: out of memory");
    n->mode = mode;
    n->nlink = S_ISDIR(mode) ? 2 : 1;
    n->ino = next_ino++;
    n->dev = RAMFS_DEV;
    if (S_ISDIR(mode))
        n->ops = &ramfs_dir_ops;
    else if (S_ISREG(mode))
        n->ops = &ramfs_file_ops;
    return n;
}

struct vnode *ramfs_child(struct vnode *dir, const char *name, u32 namelen)
{
    for (struct dentry *d = dir->children; d; d = d->next)
        if (d->namelen == namelen && memcmp(d->name, name, namelen) == 0)
            return d->node;
    return NULL;
}

struct dentry *ramfs_link(struct vnode *dir, const char *name, u32 namelen, struct vnode *node)
{
    struct dentry *d = kmalloc(sizeof(*d));
    if (!d)
        panic("ramfs: out of memory");
    *d = (struct dentry){name, namelen, node, NULL};
    if (dir->last_child)
        dir->last_child->next = d;
    else
        dir->children = d;
    dir->last_child = d;
    dir->nchildren++;
    if (S_ISDIR(node->mode)) {
        node->parent = dir;
        node->self = d;
        dir->nlink++;
    }
    return d;
}

void vfs_stat_node(const struct vnode *n, struct kstat *st)
{
    /* Directories report one 4 KiB block, as ext4 and overlayfs do (ls -l output). */
    u64 size = S_ISDIR(n->mode) ? 4096 : n->size;
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
        .blocks = S_ISREG(n->mode) || S_ISDIR(n->mode) ? (s64)(ALIGN_UP(size, 4096) / 512) : 0,
        .atime = (s64)n->mtime,
        .mtime = (s64)n->mtime,
        .ctime = (s64)n->mtime,
    };
}

static long file_pread(struct file *f, void *buf, size_t n, u64 off)
{
    const struct vnode *v = f->node;
    if (off >= v->size)
        return 0;
    size_t k = MIN(n, v->size - off);
    long r = uaccess_copy(buf, v->data + off, k);
    return r < 0 ? r : (long)k;
}

static long file_read(struct file *f, void *buf, size_t n)
{
    long r = file_pread(f, buf, n, f->pos);
    if (r > 0)
        f->pos += (u64)r;
    return r;
}

const struct file_ops ramfs_file_ops = {
    .read = file_read,
    .pread = file_pread,
    .seekable = true,
    .splice_read = true,
    .splice_write = true, /* unreachable until files can be opened for writing */
};

/* struct linux_dirent64 */
struct dirent64 {
    u64 d_ino;
    s64 d_off;
    u16 d_reclen;
    u8 d_type;
    char d_name[];
} __packed;

static u8 dtype(u32 mode) { return (u8)((mode & S_IFMT) >> 12); }

static long dir_getdents(struct file *f, void *buf, size_t n)
{
    struct vnode *dir = f->node;
    size_t used = 0;
    u8 tmp[sizeof(struct dirent64) + NAME_MAX + 1 + 8];
    for (;;) {
        const char *name;
        u32 namelen;
        const struct vnode *node;
        if (f->dir_index == 0) {
            name = ".", namelen = 1, node = dir;
        } else if (f->dir_index == 1) {
            name = "..", namelen = 2, node = dir->parent ? dir->parent : dir;
        } else {
            if (f->dir_index == 2)
                f->dir_next = dir->children;
            if (!f->dir_next)
                break;
            name = f->dir_next->name, namelen = f->dir_next->namelen, node = f->dir_next->node;
        }
        size_t reclen = ALIGN_UP(sizeof(struct dirent64) + namelen + 1, 8);
        if (used + reclen > n) {
            if (used == 0)
                return -EINVAL; /* buffer too small for even one entry */
            break;
        }
        struct dirent64 *d = (struct dirent64 *)tmp;
        memset(tmp, 0, reclen);
        d->d_ino = node->ino;
        d->d_off = (s64)f->dir_index + 1;
        d->d_reclen = (u16)reclen;
        d->d_type = dtype(node->mode);
        memcpy(d->d_name, name, namelen);
        long r = uaccess_copy((u8 *)buf + used, tmp, reclen);
        if (r < 0)
            return r;
        used += reclen;
        if (f->dir_index >= 2)
            f->dir_next = f->dir_next->next;
        f->dir_index++;
    }
    f->pos = f->dir_index;
    return (long)used;
}

static long dir_read(struct file *f, void *buf, size_t n) { return -EISDIR; }

const struct file_ops ramfs_dir_ops = {
    .read = dir_read,
    .pread = NULL,
    .getdents = dir_getdents,
    .seekable = true,
};

/* O_PATH descriptors: they name a file but cannot do I/O. */
const struct file_ops path_only_ops = {0};

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
    if (len) {
        long r = cpio_load(cpio, len);
        if (r < 0)
            kinfo("rootfs: cpio archive damaged (error %ld); using what was read", r);
    }
    console_init();
    devfs_init();
    procfs_init();
}
