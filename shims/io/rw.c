/* SPDX-License-Identifier: Apache-2.0 */
/* rw.c: read, write, pread64, pwrite64, sendfile, close, lseek and fstat: decode, check user ranges, call the vfs. */
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <shim/util.h>

#define MAX_RW_COUNT 0x7ffff000ul /* Linux caps one transfer at INT_MAX rounded down to a page */

/* The fd, user buffer and count of the read/write family (arguments 0-2), the count
 * capped as Linux caps it and cut at the first page the kernel may not copy to
 * (into_user) or from: Linux transfers the bytes before a bad page and returns
 * that short count, EFAULT only when not one byte can move. 0, or -EBADF / -EFAULT. */
static long rw_args(const struct shim_args *a, struct file **f, u64 *buf, u64 *n, bool into_user)
{
    *f = fd_get(arg_int(a, 0));
    *buf = arg_uptr(a, 1);
    *n = arg_u64(a, 2);
    if (!*f)
        return -EBADF;
    if (!user_range_ok(*buf, *n)) /* the whole count, before the cap (as Linux) */
        return -EFAULT;
    *n = MIN(*n, MAX_RW_COUNT);
    u64 want = *n;
    *n = uvm_accessible(*buf, want, into_user);
    return want && !*n ? -EFAULT : 0;
}

/* pread64/pwrite64: a negative offset, or one the count would carry past 2^63, is
 * EINVAL (Linux's rw_verify_area), before the file system's own size limit. */
static bool offset_ok(u64 off, u64 n) { return (s64)off >= 0 && (s64)(off + n) >= 0; }

/* sys_read: Linux read(2). */
long sys_read(const struct shim_args *a)
{
    struct file *f;
    u64 buf, n;
    long r = rw_args(a, &f, &buf, &n, true);
    return r ? r : vfs_read(f, (void *)buf, n);
}

/* sys_write: Linux write(2). */
long sys_write(const struct shim_args *a)
{
    struct file *f;
    u64 buf, n;
    long r = rw_args(a, &f, &buf, &n, false);
    return r ? r : vfs_write(f, (const void *)buf, n);
}

/* sys_pread64: Linux pread64(2). */
long sys_pread64(const struct shim_args *a)
{
    struct file *f;
    u64 buf, n;
    long r = rw_args(a, &f, &buf, &n, true);
    if (!r && !offset_ok(arg_u64(a, 3), arg_u64(a, 2)))
        return -EINVAL;
    return r ? r : vfs_pread(f, (void *)buf, n, arg_u64(a, 3));
}

/* sys_pwrite64: Linux pwrite64(2); holes below the offset read as zeros. */
long sys_pwrite64(const struct shim_args *a)
{
    struct file *f;
    u64 buf, n;
    long r = rw_args(a, &f, &buf, &n, false);
    if (!r && !offset_ok(arg_u64(a, 3), arg_u64(a, 2)))
        return -EINVAL;
    return r ? r : vfs_pwrite(f, (const void *)buf, n, arg_u64(a, 3));
}

/* sys_close: Linux close(2). */
long sys_close(const struct shim_args *a) { return fd_close(arg_int(a, 0)); }

/* sys_lseek: Linux lseek(2): SEEK_SET/CUR/END/DATA/HOLE. */
long sys_lseek(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    if (!f)
        return -EBADF;
    return vfs_lseek(f, arg_long(a, 1), arg_int(a, 2));
}

/* sys_fstat: Linux fstat(2). */
long sys_fstat(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    if (!f)
        return -EBADF;
    return shim_put_stat(arg_uptr(a, 1), f->node);
}

/* sys_sendfile: PARTIAL: Linux sendfile(2) except from the console (EINVAL); offset NULL reads at and moves the file position, else *offset is read and updated. */
long sys_sendfile(const struct shim_args *a)
{
    u64 uoff = arg_uptr(a, 2), off = 0, count = arg_u64(a, 3);
    struct file *out = fd_get(arg_int(a, 0)), *in = fd_get(arg_int(a, 1));
    if (!out || !in)
        return -EBADF;
    if (uoff && copy_from_user(&off, uoff, sizeof(off)) < 0)
        return -EFAULT;
    /* Linux's rw_verify_area: a negative count, or an offset the count carries past 2^63. */
    if ((s64)count < 0 || (uoff && !offset_ok(off, count)))
        return -EINVAL;
    long r = vfs_sendfile(out, in, uoff ? &off : NULL, count);
    if (uoff && copy_to_user(uoff, &off, sizeof(off)) < 0)
        return -EFAULT;
    return r;
}
