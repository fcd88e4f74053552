/* SPDX-License-Identifier: Apache-2.0 */
/* 9p_file.c: open files of a volume: each holds its own open fid; read, write, getdents64 and fsync go to the host.
 *
 * No page cache (Linux's cache=none): a write is on the host when write() returns,
 * so a guest killed right after loses nothing the host accepted, and fsync adds the
 * host's own fsync (Tfsync). Directory positions are the server's opaque readdir
 * offsets, as Linux's 9p passes them through.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include "9p_internal.h"

#define P9_DOTL_SYNC 04000000

static u32 fid_of(const struct file *f) { return (u32)(u64)f->priv; }
static struct p9_session *sess(const struct file *f) { return p9n(f->node)->m->s; }

long p9_open_file(struct file *f, int flags, bool created)
{
    struct p9_node *pn = p9n(f->node);
    struct p9_session *s = pn->m->s;
    u32 fid;
    if (created && pn->create_fid != P9_NOFID) {
        /* The handle Tlcreate opened: the creator may write a file whose mode denies it. */
        fid = pn->create_fid;
        pn->create_fid = P9_NOFID;
    } else {
        long r = p9_clone(s, pn->fid, &fid);
        if (r < 0)
            return r;
        /* O_APPEND is the guest's (writes at the size it asks for); O_TRUNC was a Tsetattr. */
        u32 lflags = S_ISDIR(f->node->mode) ? O_RDONLY : (u32)flags & (O_ACCMODE | O_DSYNC | P9_DOTL_SYNC);
        if ((r = p9_lopen(s, fid, lflags)) < 0) {
            p9_clunk(s, fid);
            return r;
        }
    }
    f->priv = (void *)(u64)fid;
    return 0;
}

/* Another thread may still be in a read of this file (fds are borrowed, not counted). */
static void file_release(struct file *f) { p9_retire_fid(p9n(f->node)->m, fid_of(f)); }

long p9_fsync_file(struct file *f, bool datasync)
{
    if (!S_ISREG(f->node->mode) && !S_ISDIR(f->node->mode))
        return 0;
    return p9_fsync(sess(f), fid_of(f), datasync);
}

static long file_pread(struct file *f, void *buf, size_t n, u64 off)
{
    struct p9_session *s = sess(f);
    size_t done = 0;
    while (done < n) {
        u32 chunk = (u32)MIN(n - done, (size_t)p9_iounit(s));
        long r = p9_read(s, fid_of(f), off + done, (u8 *)buf + done, chunk);
        if (r < 0)
            return done ? (long)done : r;
        done += (size_t)r;
        if ((u32)r < chunk)
            break; /* the end of the file */
    }
    return (long)done;
}

static long file_pwrite(struct file *f, const void *buf, size_t n, u64 off)
{
    struct vnode *node = f->node;
    struct p9_session *s = sess(f);
    if (f->flags & O_APPEND) { /* Linux appends even for pwrite with O_APPEND */
        long r = node->fs->getattr(node);
        if (r < 0)
            return r;
        off = node->size;
    }
    if (off + n > FILE_SIZE_MAX || off + n < off)
        return -EFBIG;
    size_t done = 0;
    while (done < n) {
        u32 chunk = (u32)MIN(n - done, (size_t)p9_iounit(s));
        long r = p9_write(s, fid_of(f), off + done, (const u8 *)buf + done, chunk);
        if (r < 0)
            return done ? (long)done : r;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    if (off + done > node->size)
        node->size = off + done;
    return (long)done;
}

static long file_read(struct file *f, void *buf, size_t n)
{
    long r = file_pread(f, buf, n, f->pos);
    if (r > 0)
        f->pos += (u64)r;
    return r;
}

static long file_write(struct file *f, const void *buf, size_t n)
{
    long r = file_pwrite(f, buf, n, f->pos);
    if (r > 0)
        f->pos = (f->flags & O_APPEND) ? f->node->size : f->pos + (u64)r;
    return r;
}

const struct file_ops p9_file_ops = {
    .read = file_read,
    .write = file_write,
    .pread = file_pread,
    .pwrite = file_pwrite,
    .release = file_release,
    .seekable = true,
    .splice_read = true,
    .splice_write = true,
};

struct fill {
    u8 *buf;
    size_t cap, used;
    u64 pos;    /* the server's offset after the last entry taken */
    bool full;
};

static bool emit(void *ctx, const struct p9_qid *qid, u64 next, u8 type, const char *name, u16 namelen)
{
    struct fill *c = ctx;
    size_t reclen = vfs_dirent_reclen(namelen);
    if (c->used + reclen > c->cap) {
        c->full = true;
        return false;
    }
    c->used += vfs_dirent(c->buf + c->used, qid->path, (s64)next, type, name, namelen);
    c->pos = next;
    return true;
}

static long dir_getdents(struct file *f, void *buf, size_t n)
{
    struct p9_session *s = sess(f);
    size_t cap = MIN(n, (size_t)p9_iounit(s));
    /* Entries are built in kernel memory and copied once the session is free. */
    struct fill c = {.buf = kmalloc(cap ? cap : 1), .cap = cap, .pos = f->pos};
    if (!c.buf)
        return -ENOMEM;
    long r = p9_readdir(s, fid_of(f), f->pos, (u32)cap, emit, &c);
    if (r >= 0 && c.used == 0 && c.full)
        r = -EINVAL; /* buffer too small for even one entry */
    if (r >= 0 && c.used) {
        r = uaccess_copy(buf, c.buf, c.used);
        if (r == 0) {
            f->pos = c.pos;
            r = (long)c.used;
        }
    }
    kfree(c.buf);
    return r;
}

static long dir_read(struct file *f, void *buf, size_t n) { return -EISDIR; }

const struct file_ops p9_dir_ops = {
    .read = dir_read,
    .getdents = dir_getdents,
    .release = file_release,
    .seekable = true,
};
