/* SPDX-License-Identifier: Apache-2.0 */
/* anon.c: open files with no name (eventfd, timerfd, signalfd) on one shared anonymous inode, as Linux's anon_inodefs. */
#include <libos/heap.h>
#include <libos/vfs.h>

/* Linux gives every anonymous file the same inode: fstat shows mode 0600 with no file
 * type bits, one link, owner root, size 0, on a device of its own (anon_inodefs). */
#define ANON_DEV makedev(0, 14)

static struct vnode *anon_node;

static struct vnode *anon_inode(void)
{
    if (!anon_node) {
        struct vnode *n = ramfs_alloc_node(0600);
        if (!n)
            return NULL;
        n->dev = ANON_DEV;
        n->nlink = 1;
        n->refs = 1; /* never freed: every later anonymous file shares it */
        anon_node = n;
    }
    return anon_node;
}

struct file *anon_file_new(const struct file_ops *ops, void *priv, int flags)
{
    struct vnode *n = anon_inode();
    struct file *f = n ? kzalloc(sizeof(*f)) : NULL;
    if (!f)
        return NULL;
    f->ops = ops;
    f->node = n;
    f->flags = flags & (O_ACCMODE | O_NONBLOCK);
    f->refs = 1;
    f->priv = priv;
    vnode_get(n);
    return f;
}

long anon_fd_install(struct file *f, bool cloexec)
{
    long fd = fd_install(f, 0, cloexec);
    if (fd < 0)
        file_put(f); /* runs the release op: the object goes with it */
    return fd;
}

/* Linux's eventfd, timerfd and signalfd use noop_llseek: any lseek "succeeds" and
 * returns the position, which stays 0 (pread and pwrite still fail with ESPIPE). */
long anon_lseek(struct file *f, s64 off, int whence)
{
    (void)off, (void)whence;
    return (long)f->pos;
}
