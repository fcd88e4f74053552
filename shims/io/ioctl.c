/* SPDX-License-Identifier: Apache-2.0 */
/* ioctl.c: ioctl(2): the fd-level requests here, everything else to the file (the tty). */
#include <libos/vfs.h>
#include <shim/util.h>

#define FIONBIO 0x5421
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451
#define FIOASYNC 0x5452

/* sys_ioctl: Linux ioctl(2); FIONBIO/FIOCLEX/FIONCLEX/FIOASYNC for any fd, tty requests on the console, else ENOTTY. */
long sys_ioctl(const struct shim_args *a)
{
    int fd = arg_int(a, 0);
    unsigned cmd = arg_uint(a, 1);
    u64 arg = arg_u64(a, 2);
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    switch (cmd) {
    case FIOCLEX:
        return fd_set_cloexec(fd, true);
    case FIONCLEX:
        return fd_set_cloexec(fd, false);
    case FIONBIO:
    case FIOASYNC: {
        int on;
        if (copy_from_user(&on, arg, sizeof(on)) < 0)
            return -EFAULT;
        int bit = cmd == FIONBIO ? O_NONBLOCK : O_ASYNC;
        f->flags = on ? f->flags | bit : f->flags & ~bit;
        return 0;
    }
    default:
        return vfs_ioctl(f, cmd, arg);
    }
}
