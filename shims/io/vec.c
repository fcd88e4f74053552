/* SPDX-License-Identifier: Apache-2.0 */
/* vec.c: readv, writev, preadv and sendfile: loops over the single-buffer vfs operations. */
#include <libos/vfs.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define IOV_MAX 1024
#define SENDFILE_CHUNK 4096

enum vec_op { VEC_READ, VEC_WRITE, VEC_PREAD };

static long do_vec(enum vec_op op, int fd, u64 uiov, int iovcnt, u64 off)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (iovcnt < 0 || iovcnt > IOV_MAX)
        return -EINVAL;
    long total = 0;
    for (int i = 0; i < iovcnt; i++) {
        struct linux_iovec v;
        if (copy_from_user(&v, uiov + (u64)i * sizeof(v), sizeof(v)) < 0)
            return total ? total : -EFAULT;
        if ((s64)v.len < 0)
            return -EINVAL;
        if (v.len == 0)
            continue;
        if (!user_range_ok(v.base, v.len))
            return total ? total : -EFAULT;
        long r = op == VEC_READ    ? vfs_read(f, (void *)v.base, v.len)
                 : op == VEC_WRITE ? vfs_write(f, (const void *)v.base, v.len)
                                   : vfs_pread(f, (void *)v.base, v.len, off + (u64)total);
        if (r < 0)
            return total ? total : r;
        total += r;
        if ((u64)r < v.len)
            break; /* short transfer: stop like Linux */
    }
    return total;
}

/* sys_readv: Linux readv(2). */
long sys_readv(const struct shim_args *a) { return do_vec(VEC_READ, arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), 0); }

/* sys_writev: Linux writev(2). */
long sys_writev(const struct shim_args *a) { return do_vec(VEC_WRITE, arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), 0); }

/* sys_preadv: Linux preadv(2) (offset in a[3]; the high half a[4] is 0 on 64-bit). */
long sys_preadv(const struct shim_args *a)
{
    if ((s64)arg_u64(a, 3) < 0)
        return -EINVAL;
    return do_vec(VEC_PREAD, arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), arg_u64(a, 3));
}

/* sys_sendfile: Linux sendfile(2): copy through a kernel buffer; offset NULL uses and moves the file position. */
long sys_sendfile(const struct shim_args *a)
{
    struct file *out = fd_get(arg_int(a, 0)), *in = fd_get(arg_int(a, 1));
    u64 uoff = arg_uptr(a, 2), count = arg_u64(a, 3);
    if (!out || !in)
        return -EBADF;
    if (S_ISDIR(in->node->mode) || (uoff && !in->ops->seekable))
        return -EINVAL;
    u64 off = 0;
    if (uoff && copy_from_user(&off, uoff, sizeof(off)) < 0)
        return -EFAULT;
    if ((s64)off < 0)
        return -EINVAL;
    u8 buf[SENDFILE_CHUNK];
    long total = 0;
    while ((u64)total < count) {
        size_t want = MIN(count - (u64)total, sizeof(buf));
        long got = uoff ? vfs_pread(in, buf, want, off) : vfs_read(in, buf, want);
        if (got <= 0) {
            if (got < 0 && total == 0)
                return got;
            break;
        }
        long put = vfs_write(out, buf, (size_t)got);
        if (put < 0) {
            if (total == 0)
                return put;
            break;
        }
        total += put;
        off += (u64)put;
        if (put < got) {
            if (!uoff)
                vfs_lseek(in, (s64)put - got, SEEK_CUR); /* give back what was not written */
            break;
        }
    }
    if (uoff && copy_to_user(uoff, &off, sizeof(off)) < 0)
        return -EFAULT;
    return total;
}
