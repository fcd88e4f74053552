/* SPDX-License-Identifier: Apache-2.0 */
/* ramfs_ops.c: file ops of RAM-filesystem regular files and directories (read, write, getdents64).
 *
 * getdents64 lists ".", ".." and then the entries in list order. The position is
 * 0 for ".", 1 for "..", else the cookie of the next entry to return; cookies grow
 * along the list, so entries added or removed between calls neither shift nor
 * repeat the others (as Linux's tmpfs cursors). d_off is the position after the entry.
 */
#include <libos/errno.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

static long file_pread(struct file *f, void *buf, size_t n, u64 off) { return fdata_read(f->node, buf, n, off); }

static long file_read(struct file *f, void *buf, size_t n)
{
    long r = file_pread(f, buf, n, f->pos);
    if (r > 0)
        f->pos += (u64)r;
    return r;
}

static long file_pwrite(struct file *f, const void *buf, size_t n, u64 off)
{
    /* Linux appends with O_APPEND even for pwrite (a documented bug kept for compatibility). */
    if (f->flags & O_APPEND)
        off = f->node->size;
    if (n == 0)
        return 0;
    long r = fdata_write(f->node, buf, n, off);
    if (r > 0)
        vfs_touch(f->node);
    return r;
}

static long file_write(struct file *f, const void *buf, size_t n)
{
    if (f->flags & O_APPEND)
        f->pos = f->node->size;
    long r = file_pwrite(f, buf, n, f->pos);
    if (r > 0)
        f->pos += (u64)r;
    return r;
}

const struct file_ops ramfs_file_ops = {
    .read = file_read,
    .write = file_write,
    .pread = file_pread,
    .pwrite = file_pwrite,
    .seekable = true,
    .splice_read = true,
    .splice_write = true,
};

size_t vfs_dirent(void *out, u64 ino, s64 off, u8 type, const char *name, size_t namelen)
{
    size_t reclen = vfs_dirent_reclen(namelen);
    struct dirent64 *e = out;
    memset(out, 0, reclen);
    e->d_ino = ino;
    e->d_off = off;
    e->d_reclen = (u16)reclen;
    e->d_type = type;
    memcpy(e->d_name, name, namelen);
    return reclen;
}

static u8 dtype(u32 mode) { return (u8)((mode & S_IFMT) >> 12); }

/* The first entry at or after position pos (>= 2). */
static struct dentry *entry_at(struct vnode *dir, u64 pos)
{
    struct dentry *d = dir->children;
    while (d && d->cookie < pos)
        d = d->next;
    return d;
}

static long dir_getdents(struct file *f, void *buf, size_t n)
{
    struct vnode *dir = f->node;
    size_t used = 0;
    u8 tmp[sizeof(struct dirent64) + NAME_MAX + 1 + 8];
    struct dentry *d = f->pos >= 2 ? entry_at(dir, f->pos) : NULL;
    for (;;) {
        const char *name;
        u32 namelen;
        const struct vnode *node;
        u64 next;
        if (f->pos == 0) {
            name = ".", namelen = 1, node = dir, next = 1;
        } else if (f->pos == 1) {
            name = "..", namelen = 2, node = dir->parent ? dir->parent : dir, next = 2;
        } else {
            if (!d)
                break;
            name = d->name, namelen = d->namelen, node = d->node, next = d->cookie + 1;
        }
        size_t reclen = vfs_dirent_reclen(namelen);
        if (used + reclen > n) {
            if (used == 0)
                return -EINVAL; /* buffer too small for even one entry */
            break;
        }
        vfs_dirent(tmp, node->ino, (s64)next, dtype(node->mode), name, namelen);
        long r = uaccess_copy((u8 *)buf + used, tmp, reclen);
        if (r < 0)
            return used ? (long)used : r;
        used += reclen;
        f->pos = next;
        if (next == 2)
            d = dir->children;
        else if (next > 2)
            d = d->next;
    }
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
