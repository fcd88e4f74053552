/* SPDX-License-Identifier: Apache-2.0 */
/* fcntl.c: fcntl, dup, dup2, dup3, fsync, fdatasync and sync. */
#include <libos/pipe.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_SETOWN 8
#define F_GETOWN 9
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1
#define F_UNLCK 2
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

static int owner;

/* sys_fcntl: PARTIAL: descriptor flags, status flags, always-granted record locks. */
long sys_fcntl(const struct shim_args *a)
{
    int fd = arg_int(a, 0), cmd = arg_int(a, 1);
    u64 arg = arg_u64(a, 2);
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        if ((long)arg < 0 || arg >= current_process()->rlim[RLIMIT_NOFILE].cur)
            return -EINVAL;
        return fd_dup(fd, (int)arg, cmd == F_DUPFD_CLOEXEC);
    case F_GETFD:
        return fd_get_cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
        return fd_set_cloexec(fd, arg & FD_CLOEXEC);
    case F_GETFL:
        /* O_LARGEFILE is in the flags of every opened file (64-bit Linux forces it), not
         * in those of eventfd, timerfd and signalfd, as Linux. */
        return f->flags & ~O_DIRECTORY;
    case F_SETFL:
        f->flags = (f->flags & ~SETFL_MASK) | ((int)arg & SETFL_MASK);
        return 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
        return pipe_fcntl_size(f, cmd, arg);
    case F_GETLK:
    case F_OFD_GETLK: {
        struct linux_flock fl;
        if (copy_from_user(&fl, arg, sizeof(fl)) < 0)
            return -EFAULT;
        fl.l_type = F_UNLCK; /* one process: no conflicting lock can exist */
        return copy_to_user(arg, &fl, sizeof(fl));
    }
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        return 0;
    case F_SETOWN:
        owner = (int)arg;
        return 0;
    case F_GETOWN:
        return owner;
    default:
        return -EINVAL;
    }
}

/* sys_dup: Linux dup(2). */
long sys_dup(const struct shim_args *a) { return fd_dup(arg_int(a, 0), 0, false); }

/* sys_dup2: Linux dup2(2). */
long sys_dup2(const struct shim_args *a)
{
    int oldfd = arg_int(a, 0), newfd = arg_int(a, 1);
    if (oldfd == newfd)
        return fd_get(oldfd) ? newfd : -EBADF;
    return fd_dup3(oldfd, newfd, false);
}

/* sys_dup3: Linux dup3(2). */
long sys_dup3(const struct shim_args *a)
{
    int oldfd = arg_int(a, 0), newfd = arg_int(a, 1), flags = arg_int(a, 2);
    if (oldfd == newfd || (flags & ~O_CLOEXEC))
        return -EINVAL;
    return fd_dup3(oldfd, newfd, flags & O_CLOEXEC);
}

/* sys_fsync: PARTIAL: the RAM filesystem has nothing to flush; a volume's file is synced on the host. */
long sys_fsync(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    return f ? vfs_fsync(f, false) : -EBADF;
}
/* sys_fdatasync: PARTIAL: as fsync, the data only. */
long sys_fdatasync(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    return f ? vfs_fsync(f, true) : -EBADF;
}
/* sys_sync: STUB: RAM filesystem, nothing to flush. */
long sys_sync(const struct shim_args *a) { return 0; }
