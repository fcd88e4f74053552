/* SPDX-License-Identifier: Apache-2.0 */
/* kfile.c: read-only files whose text the kernel makes (/proc, /sys): nodes, reads at an offset. */
#include <libos/errno.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

struct vnode *kfile_new(struct vnode *dir, const char *name, const struct file_ops *ops, u64 size)
{
    struct vnode *n = ramfs_new_node(S_IFREG | 0444);
    n->ops = ops;
    n->flags |= VN_SYNTH;
    n->size = size; /* what stat shows: 0 in procfs, 4096 in sysfs, as Linux */
    ramfs_link(dir, name, (u32)strlen(name), n);
    return n;
}

struct vnode *kfile_dir(struct vnode *dir, const char *name)
{
    u32 len = (u32)strlen(name);
    struct vnode *d = ramfs_child(dir, name, len);
    if (!d) {
        d = ramfs_new_node(S_IFDIR | 0555);
        ramfs_link(dir, name, len, d);
    }
    d->flags |= VN_PINNED;
    return d;
}

long kfile_pread_text(const char *text, size_t len, void *buf, size_t n, u64 off)
{
    if (off >= len)
        return 0;
    size_t k = MIN(n, len - (size_t)off);
    return uaccess_copy(buf, text + off, k) < 0 ? -EFAULT : (long)k;
}

long kfile_read_at_pos(struct file *f, void *buf, size_t n)
{
    long r = f->ops->pread(f, buf, n, f->pos);
    if (r > 0)
        f->pos += (u64)r;
    return r;
}

/* Linux's procfs answers a write to a file without a write method with EIO. */
long kfile_write_eio(struct file *f, const void *buf, size_t n)
{
    (void)f, (void)buf, (void)n;
    return -EIO;
}
