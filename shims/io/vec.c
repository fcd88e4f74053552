/* SPDX-License-Identifier: Apache-2.0 */
/* vec.c: readv, writev, preadv and pwritev: loops over the single-buffer vfs operations. */
#include <libos/heap.h>
#include <libos/socket.h>
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define IOV_MAX 1024
#define MAX_RW_COUNT 0x7ffff000ul /* Linux caps one transfer at INT_MAX rounded down to a page */

enum vec_op { VEC_READ, VEC_WRITE, VEC_PREAD, VEC_PWRITE };

#define GATHER_MAX 4096 /* PIPE_BUF: a writev up to this size is one write, so atomic on a pipe */

/* A writev of at most GATHER_MAX bytes whose buffers are all readable: gathered into
 * one kernel buffer and written at once, so a pipe takes it whole or not at all (Linux
 * writes the vector as one call). NOT_GATHERED (buffers not all readable), or the
 * write's result (which may be 1: a one-byte write is not "not applicable"). */
#define NOT_GATHERED (-0x7fffffffl)
static long gather_write(struct file *f, u64 uiov, int iovcnt, u64 sum)
{
    u8 buf[GATHER_MAX];
    u64 at = 0;
    for (int i = 0; i < iovcnt; i++) {
        struct linux_iovec v;
        if (copy_from_user(&v, uiov + (u64)i * sizeof(v), sizeof(v)) < 0 || at + v.len > sum)
            return NOT_GATHERED;
        if (v.len == 0)
            continue;
        if (uvm_accessible(v.base, v.len, false) < v.len || copy_from_user(buf + at, v.base, v.len) < 0)
            return NOT_GATHERED;
        at += v.len;
    }
    return vfs_write(f, buf, at);
}

/* readv/writev on a socket: one recvmsg/sendmsg of the whole vector, so a datagram
 * is one message (Linux's sock_read_iter/sock_write_iter). */
static long sock_vec(struct socket *s, u64 uiov, int iovcnt, bool write)
{
    struct kiovec *iov = kmalloc((size_t)(iovcnt ? iovcnt : 1) * sizeof(*iov));
    if (!iov)
        return -ENOMEM;
    u64 sum = 0;
    for (int i = 0; i < iovcnt; i++) {
        struct linux_iovec v;
        if (copy_from_user(&v, uiov + (u64)i * sizeof(v), sizeof(v)) < 0) {
            kfree(iov);
            return -EFAULT;
        }
        v.len = MIN(v.len, MAX_RW_COUNT - sum);
        sum += v.len;
        iov[i] = (struct kiovec){v.base, v.len};
    }
    struct kmsg m = {.iov = iov, .iovlen = (u32)iovcnt};
    if (!write && sum == 0) {
        kfree(iov);
        return 0; /* sock_read_iter: an empty read returns at once */
    }
    long r = write ? sock_sendmsg(s, &m, 0) : sock_recvmsg(s, &m, 0);
    kfree(iov);
    return r;
}

static long do_vec(enum vec_op op, int fd, u64 uiov, int iovcnt, u64 off)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (iovcnt < 0 || iovcnt > IOV_MAX)
        return -EINVAL;
    /* First pass, as Linux's import_iovec: the whole vector is read and every
     * buffer must be a user range (its whole length; the cap comes after) before a
     * byte moves, so a kernel address in any element is EFAULT for the call. */
    u64 sum = 0;
    for (int i = 0; i < iovcnt; i++) {
        struct linux_iovec v;
        if (copy_from_user(&v, uiov + (u64)i * sizeof(v), sizeof(v)) < 0)
            return -EFAULT;
        if ((s64)v.len < 0)
            return -EINVAL;
        if (!user_range_ok(v.base, v.len))
            return -EFAULT;
        sum += MIN(v.len, MAX_RW_COUNT - sum);
    }
    struct socket *s = sock_of_file(f);
    if (s && (op == VEC_READ || op == VEC_WRITE)) {
        if ((f->flags & O_ACCMODE) == (op == VEC_READ ? O_WRONLY : O_RDONLY))
            return -EBADF;
        return sock_vec(s, uiov, iovcnt, op == VEC_WRITE);
    }
    if (op == VEC_WRITE && iovcnt > 1 && sum <= GATHER_MAX) {
        long r = gather_write(f, uiov, iovcnt, sum);
        if (r != NOT_GATHERED)
            return r;
    }
    long total = 0;
    for (int i = 0; i < iovcnt && (u64)total < MAX_RW_COUNT; i++) {
        struct linux_iovec v;
        if (copy_from_user(&v, uiov + (u64)i * sizeof(v), sizeof(v)) < 0)
            return total ? total : -EFAULT;
        v.len = MIN(v.len, MAX_RW_COUNT - (u64)total);
        if (v.len == 0)
            continue;
        /* The bytes up to the first page that cannot be copied move; then stop. */
        u64 ok = uvm_accessible(v.base, v.len, op == VEC_READ || op == VEC_PREAD);
        if (ok == 0)
            return total ? total : -EFAULT;
        bool cut = ok < v.len;
        v.len = ok;
        /* Past the first segment a read must not wait for more: Linux's readv is one
         * read of the whole vector (a pipe gives what it holds). The kernel is not
         * preemptible, so no other thread sees the borrowed O_NONBLOCK. */
        int nb = f->flags & O_NONBLOCK;
        if (op == VEC_READ && total > 0)
            f->flags |= O_NONBLOCK;
        long r = op == VEC_READ    ? vfs_read(f, (void *)v.base, v.len)
                 : op == VEC_WRITE ? vfs_write(f, (const void *)v.base, v.len)
                 : op == VEC_PREAD ? vfs_pread(f, (void *)v.base, v.len, off + (u64)total)
                                   : vfs_pwrite(f, (const void *)v.base, v.len, off + (u64)total);
        f->flags = (f->flags & ~O_NONBLOCK) | nb;
        if (r < 0)
            return total ? total : r;
        total += r;
        if ((u64)r < v.len || cut)
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

/* sys_pwritev: Linux pwritev(2) (offset in a[3]; the high half a[4] is 0 on 64-bit). */
long sys_pwritev(const struct shim_args *a)
{
    if ((s64)arg_u64(a, 3) < 0)
        return -EINVAL;
    return do_vec(VEC_PWRITE, arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), arg_u64(a, 3));
}

#define RWF_HIPRI 0x1
#define RWF_DSYNC 0x2
#define RWF_SYNC 0x4
#define RWF_NOWAIT 0x8
#define RWF_APPEND 0x10
#define RWF_SUPPORTED (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND) /* Linux 6.1 */

/* preadv2/pwritev2: offset -1 is the file position; the RWF_* flags Linux 6.1 knows.
 * HIPRI, DSYNC, SYNC have nothing to do on a RAM filesystem; NOWAIT: a read that
 * would wait returns EAGAIN; APPEND writes at the end. */
static long vec2(bool write, const struct shim_args *a)
{
    int fd = arg_int(a, 0);
    s64 off = (s64)arg_u64(a, 3);
    u32 flags = arg_uint(a, 5);
    if (arg_u64(a, 5) & ~(u64)RWF_SUPPORTED)
        return -EOPNOTSUPP;
    if (off < -1)
        return -EINVAL;
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (!write && (flags & RWF_APPEND))
        return -EOPNOTSUPP; /* Linux: RWF_APPEND on a read is EOPNOTSUPP (kiocb_set_rw_flags) */
    int saved = f->flags;
    f->refs++; /* another thread may close the fd while we wait */
    if (flags & RWF_NOWAIT)
        f->flags |= O_NONBLOCK;
    if (write && (flags & RWF_APPEND))
        f->flags |= O_APPEND;
    long r;
    if (write && (flags & RWF_APPEND) && off >= 0)
        r = do_vec(VEC_PWRITE, fd, arg_uptr(a, 1), arg_int(a, 2), f->node ? f->node->size : 0);
    else if (off == -1)
        r = do_vec(write ? VEC_WRITE : VEC_READ, fd, arg_uptr(a, 1), arg_int(a, 2), 0);
    else
        r = do_vec(write ? VEC_PWRITE : VEC_PREAD, fd, arg_uptr(a, 1), arg_int(a, 2), (u64)off);
    f->flags = (f->flags & ~(O_NONBLOCK | O_APPEND)) | (saved & (O_NONBLOCK | O_APPEND));
    file_put(f);
    return r;
}

/* sys_preadv2: PARTIAL: as preadv; offset -1 reads at the position; RWF_* as vec2. */
long sys_preadv2(const struct shim_args *a) { return vec2(false, a); }
/* sys_pwritev2: PARTIAL: as pwritev; offset -1 writes at the position; RWF_* as vec2. */
long sys_pwritev2(const struct shim_args *a) { return vec2(true, a); }
