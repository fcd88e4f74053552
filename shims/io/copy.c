/* SPDX-License-Identifier: Apache-2.0 */
/* copy.c: close_range, copy_file_range, splice, and the calls that have nothing to do on a RAM filesystem (fadvise64, syncfs, sync_file_range). */
#include <libos/pipe.h>
#include <libos/vfs.h>
#include <shim/util.h>

#define CLOSE_RANGE_UNSHARE 0x2
#define CLOSE_RANGE_CLOEXEC 0x4
#define SPLICE_F_NONBLOCK 0x2
#define SPLICE_F_ALL 0xf /* MOVE, NONBLOCK, MORE, GIFT */
#define POSIX_FADV_NOREUSE 5
#define SYNC_FILE_RANGE_ALL 0x7 /* WAIT_BEFORE, WRITE, WAIT_AFTER */

/* sys_close_range: Linux close_range(2), with CLOSE_RANGE_UNSHARE and CLOSE_RANGE_CLOEXEC. */
long sys_close_range(const struct shim_args *a)
{
    u32 flags = arg_uint(a, 2);
    if (arg_u64(a, 2) & ~(u64)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
        return -EINVAL;
    return fd_close_range(arg_uint(a, 0), arg_uint(a, 1), flags & CLOSE_RANGE_UNSHARE, flags & CLOSE_RANGE_CLOEXEC);
}

/* An optional user loff_t: in *v; false on a fault. */
static bool get_off(u64 uptr, u64 *v) { return uptr == 0 || copy_from_user(v, uptr, 8) == 0; }
static bool put_off(u64 uptr, u64 v) { return uptr == 0 || copy_to_user(uptr, &v, 8) == 0; }

/* sys_copy_file_range: Linux copy_file_range(2): a kernel copy through the files' read and write. */
long sys_copy_file_range(const struct shim_args *a)
{
    u64 uin = arg_uptr(a, 1), uout = arg_uptr(a, 3), in_off = 0, out_off = 0;
    if (arg_uint(a, 5))
        return -EINVAL;
    struct file *in = fd_get(arg_int(a, 0)), *out = fd_get(arg_int(a, 2));
    if (!in || !out)
        return -EBADF;
    if (!get_off(uin, &in_off) || !get_off(uout, &out_off))
        return -EFAULT;
    long r = vfs_copy_file_range(in, uin ? &in_off : NULL, out, uout ? &out_off : NULL, arg_u64(a, 4));
    if (r >= 0 && (!put_off(uin, in_off) || !put_off(uout, out_off)))
        return -EFAULT;
    return r;
}

/* sys_splice: PARTIAL: a kernel copy through the files' read and write, at most 4096
 * bytes (PIPE_BUF) per call; SPLICE_F_MOVE, MORE and GIFT are hints. */
long sys_splice(const struct shim_args *a)
{
    u64 uin = arg_uptr(a, 1), uout = arg_uptr(a, 3), in_off = 0, out_off = 0;
    u32 flags = arg_uint(a, 5);
    if (flags & ~SPLICE_F_ALL)
        return -EINVAL;
    struct file *in = fd_get(arg_int(a, 0)), *out = fd_get(arg_int(a, 2));
    if (!in || !out)
        return -EBADF;
    if (!get_off(uin, &in_off) || !get_off(uout, &out_off))
        return -EFAULT;
    long r = vfs_splice(in, uin ? &in_off : NULL, out, uout ? &out_off : NULL, arg_u64(a, 4), flags & SPLICE_F_NONBLOCK);
    if (r >= 0 && (!put_off(uin, in_off) || !put_off(uout, out_off)))
        return -EFAULT;
    return r;
}

/* sys_fadvise64: STUB: Linux's checks (EBADF, ESPIPE for a pipe, EINVAL), then nothing:
 * the page cache is the file itself. */
long sys_fadvise64(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    int advice = arg_int(a, 3);
    if (!f || (f->flags & O_PATH))
        return -EBADF;
    if (pipe_room(f) >= 0 || S_ISFIFO(f->node->mode))
        return -ESPIPE;
    if ((s64)arg_u64(a, 2) < 0 || advice < 0 || advice > POSIX_FADV_NOREUSE)
        return -EINVAL;
    return 0;
}

/* sys_syncfs: STUB: RAM filesystem, nothing to flush; 0 for a valid fd. */
long sys_syncfs(const struct shim_args *a) { return fd_get(arg_int(a, 0)) ? 0 : -EBADF; }

/* sys_sync_file_range: STUB: Linux's checks, then nothing to flush (RAM filesystem). */
long sys_sync_file_range(const struct shim_args *a)
{
    s64 off = (s64)arg_u64(a, 1), n = (s64)arg_u64(a, 2);
    if (arg_u64(a, 3) & ~(u64)SYNC_FILE_RANGE_ALL || off < 0 || n < 0 || off + n < 0)
        return -EINVAL;
    struct file *f = fd_get(arg_int(a, 0));
    if (!f || (f->flags & O_PATH))
        return -EBADF;
    u32 t = f->node->mode & S_IFMT;
    return t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFBLK ? 0 : -ESPIPE;
}
