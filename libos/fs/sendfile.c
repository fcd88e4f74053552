/* SPDX-License-Identifier: Apache-2.0 */
/* sendfile.c: sendfile(2): copy between two open files through a kernel buffer, with Linux's checks. */
#include <libos/errno.h>
#include <libos/pipe.h>
#include <libos/vfs.h>

#define SENDFILE_CHUNK 4096
#define MAX_RW_COUNT 0x7ffff000ul /* Linux caps one transfer at INT_MAX rounded down to a page */

static bool readable(const struct file *f) { return !(f->flags & O_PATH) && (f->flags & O_ACCMODE) != O_WRONLY; }
static bool writable(const struct file *f) { return !(f->flags & O_PATH) && (f->flags & O_ACCMODE) != O_RDONLY; }

/* Linux's order (do_sendfile, do_splice_direct): input checks, then output checks. */
static long check(struct file *out, struct file *in, const u64 *off)
{
    if (!in || !readable(in))
        return -EBADF;
    if (off && !in->ops->seekable)
        return -ESPIPE; /* a stream (the tty) has no offset to read at */
    if ((s64)(off ? *off : in->pos) < 0)
        return -EINVAL;
    if (!out || !writable(out))
        return -EBADF;
    if (out->flags & O_APPEND)
        return -EINVAL;
    /* Directories and /dev/null have no splice_read, /dev/full no splice_write: busybox
     * cat and coreutils fall back to read/write on this EINVAL. */
    if (!in->ops->splice_read || !out->ops->splice_write)
        return -EINVAL;
    return 0;
}

long vfs_sendfile(struct file *out, struct file *in, u64 *off, size_t count)
{
    long r = check(out, in, off);
    if (r < 0)
        return r;
    count = MIN(count, MAX_RW_COUNT);
    u8 buf[SENDFILE_CHUNK];
    size_t total = 0;
    while (total < count) {
        size_t want = MIN(count - total, sizeof(buf));
        long got = off ? vfs_pread(in, buf, want, *off) : vfs_read(in, buf, want);
        if (got <= 0) {
            if (got < 0 && total == 0)
                return got;
            break;
        }
        long put = vfs_write(out, buf, (size_t)got);
        if (put < 0) {
            if (!off)
                vfs_lseek(in, -got, SEEK_CUR); /* nothing of this chunk was written */
            if (total == 0)
                return put;
            break;
        }
        total += (size_t)put;
        if (off)
            *off += (u64)put;
        if (put < got) {
            if (!off)
                vfs_lseek(in, (s64)put - got, SEEK_CUR); /* give back what was not written */
            break;
        }
    }
    return (long)total;
}

/* --- copy_file_range(2) ------------------------------------------------------------- */

long vfs_copy_file_range(struct file *in, u64 *in_off, struct file *out, u64 *out_off, size_t count)
{
    if (!in || !out || !readable(in) || !writable(out) || (out->flags & O_APPEND))
        return -EBADF;
    if (S_ISDIR(in->node->mode) || S_ISDIR(out->node->mode))
        return -EISDIR;
    if (!S_ISREG(in->node->mode) || !S_ISREG(out->node->mode) || !in->ops->pread || !out->ops->pwrite)
        return -EINVAL;
    u64 pin = in_off ? *in_off : in->pos, pout = out_off ? *out_off : out->pos;
    if ((s64)pin < 0 || (s64)pout < 0 || (s64)(pin + count) < 0 || (s64)(pout + count) < 0)
        return -EINVAL;
    if (in->node->fs)
        in->node->fs->getattr(in->node); /* a volume's file: its size now, on the host */
    u64 size = in->node->size;
    count = MIN(count, MAX_RW_COUNT);
    count = pin >= size ? 0 : MIN(count, size - pin);
    if (in->node == out->node && pout + count > pin && pout < pin + count)
        return -EINVAL; /* Linux refuses an overlapping copy within one file */
    u8 buf[SENDFILE_CHUNK];
    size_t total = 0;
    while (total < count) {
        long got = vfs_pread(in, buf, MIN(count - total, sizeof(buf)), pin + total);
        if (got <= 0) {
            if (got < 0 && total == 0)
                return got;
            break;
        }
        long put = vfs_pwrite(out, buf, (size_t)got, pout + total);
        if (put < 0) {
            if (total == 0)
                return put;
            break;
        }
        total += (size_t)put;
        if (put < got)
            break;
    }
    if (in_off)
        *in_off += total;
    else
        in->pos += total;
    if (out_off)
        *out_off += total;
    else
        out->pos += total;
    return (long)total;
}

/* --- splice(2) ---------------------------------------------------------------------- */

long vfs_splice(struct file *in, u64 *in_off, struct file *out, u64 *out_off, size_t count, bool nonblock)
{
    if (!in || !out || !readable(in) || !writable(out))
        return -EBADF;
    bool ip = pipe_room(in) >= 0, op = pipe_room(out) >= 0;
    if (!ip && !op)
        return -EINVAL;
    if ((ip && in_off) || (op && out_off))
        return -ESPIPE;
    if (ip && op && in->priv == out->priv)
        return -EINVAL;
    if (!op && (out->flags & O_APPEND))
        return -EINVAL;
    if ((!ip && !in->ops->splice_read) || (!op && !out->ops->splice_write))
        return -EINVAL;
    if ((in_off && (s64)*in_off < 0) || (out_off && (s64)*out_off < 0))
        return -EINVAL;
    if (count == 0)
        return 0;
    /* One transfer of at most PIPE_BUF: a pipe takes it whole or waits (a short count
     * is splice's normal answer; callers loop). SPLICE_F_NONBLOCK borrows O_NONBLOCK on
     * the pipe ends (the kernel is not preemptible: nobody else sees it). */
    int in_fl = in->flags, out_fl = out->flags;
    in->refs++, out->refs++; /* another thread may close an fd while we wait */
    if (nonblock) {
        if (ip)
            in->flags |= O_NONBLOCK;
        if (op)
            out->flags |= O_NONBLOCK;
    }
    size_t want = MIN(count, SENDFILE_CHUNK);
    long r;
    if (op && (out->flags & O_NONBLOCK)) {
        /* Read no more than the output pipe can take now: nothing read is ever dropped. */
        want = MIN(want, (size_t)pipe_room(out));
        if (want == 0) {
            r = -EAGAIN;
            goto out;
        }
    }
    u8 buf[SENDFILE_CHUNK];
    long got = in_off ? vfs_pread(in, buf, want, *in_off) : vfs_read(in, buf, want);
    if (got <= 0) {
        r = got;
        goto out;
    }
    long put = out_off ? vfs_pwrite(out, buf, (size_t)got, *out_off) : vfs_write(out, buf, (size_t)got);
    if (put < got && !ip && !in_off)
        vfs_lseek(in, (s64)(put < 0 ? 0 : put) - got, SEEK_CUR); /* give back what was not written */
    if (put < 0) {
        r = put;
        goto out;
    }
    if (in_off)
        *in_off += (u64)put;
    if (out_off)
        *out_off += (u64)put;
    r = put;
out:
    in->flags = (in->flags & ~O_NONBLOCK) | (in_fl & O_NONBLOCK);
    out->flags = (out->flags & ~O_NONBLOCK) | (out_fl & O_NONBLOCK);
    file_put(in);
    file_put(out);
    return r;
}
