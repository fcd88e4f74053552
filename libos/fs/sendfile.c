/* SPDX-License-Identifier: Apache-2.0 */
/* sendfile.c: sendfile(2): copy between two open files through a kernel buffer, with Linux's checks. */
#include <libos/errno.h>
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
