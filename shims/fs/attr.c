/* SPDX-License-Identifier: Apache-2.0 */
/* attr.c: chmod, chown, utimensat, utimes and truncate families: decode, look up, call fs/attr.c. */
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

static long lookup(int dirfd, u64 upath, int flags, struct vnode **n)
{
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    if (r < 0)
        return r;
    int lf = ((flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW) | ((flags & AT_EMPTY_PATH) ? LOOKUP_EMPTY_OK : 0);
    return vfs_lookup(dirfd, path, lf, n);
}

/* The vnode of an fd that may change attributes (not O_PATH, as Linux's fdget). */
static struct vnode *fd_node(int fd)
{
    struct file *f = fd_get(fd);
    return f && !(f->flags & O_PATH) ? f->node : NULL;
}

/* sys_chmod: Linux chmod(2). */
long sys_chmod(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup(AT_FDCWD, arg_uptr(a, 0), 0, &n);
    return r < 0 ? r : vfs_chmod(n, arg_uint(a, 1));
}

/* sys_fchmod: Linux fchmod(2). */
long sys_fchmod(const struct shim_args *a)
{
    struct vnode *n = fd_node(arg_int(a, 0));
    return n ? vfs_chmod(n, arg_uint(a, 1)) : -EBADF;
}

/* sys_fchmodat: Linux fchmodat(2) (the syscall has no flags argument). */
long sys_fchmodat(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup(arg_int(a, 0), arg_uptr(a, 1), 0, &n);
    return r < 0 ? r : vfs_chmod(n, arg_uint(a, 2));
}

/* sys_chown: Linux chown(2); uid/gid -1 keep the current value. */
long sys_chown(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup(AT_FDCWD, arg_uptr(a, 0), 0, &n);
    return r < 0 ? r : vfs_chown(n, arg_uint(a, 1), arg_uint(a, 2));
}

/* sys_lchown: Linux lchown(2). */
long sys_lchown(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup(AT_FDCWD, arg_uptr(a, 0), AT_SYMLINK_NOFOLLOW, &n);
    return r < 0 ? r : vfs_chown(n, arg_uint(a, 1), arg_uint(a, 2));
}

/* sys_fchown: Linux fchown(2). */
long sys_fchown(const struct shim_args *a)
{
    struct vnode *n = fd_node(arg_int(a, 0));
    return n ? vfs_chown(n, arg_uint(a, 1), arg_uint(a, 2)) : -EBADF;
}

/* sys_fchownat: Linux fchownat(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH. */
long sys_fchownat(const struct shim_args *a)
{
    int flags = arg_int(a, 4);
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct vnode *n;
    long r = lookup(arg_int(a, 0), arg_uptr(a, 1), flags, &n);
    return r < 0 ? r : vfs_chown(n, arg_uint(a, 2), arg_uint(a, 3));
}

static bool nsec_ok(s64 ns) { return (ns >= 0 && ns < (s64)NSEC_PER_SEC) || ns == UTIME_NOW || ns == UTIME_OMIT; }

/* sys_utimensat: Linux utimensat(2), including a NULL path (futimens). */
long sys_utimensat(const struct shim_args *a)
{
    int dirfd = arg_int(a, 0), flags = arg_int(a, 3);
    u64 upath = arg_uptr(a, 1), utimes = arg_uptr(a, 2);
    struct ktimespec t[2];
    if (utimes) {
        struct linux_timespec ut[2];
        if (copy_from_user(ut, utimes, sizeof(ut)) < 0)
            return -EFAULT;
        t[0] = (struct ktimespec){ut[0].tv_sec, ut[0].tv_nsec};
        t[1] = (struct ktimespec){ut[1].tv_sec, ut[1].tv_nsec};
    }
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    if (utimes && (!nsec_ok(t[0].nsec) || !nsec_ok(t[1].nsec)))
        return -EINVAL;
    struct vnode *n;
    if (!upath && dirfd != AT_FDCWD) {
        if (flags)
            return -EINVAL;
        if (!(n = fd_node(dirfd)))
            return -EBADF;
    } else {
        long r = lookup(dirfd, upath, flags, &n);
        if (r < 0)
            return r;
    }
    return vfs_utimens(n, utimes ? t : NULL);
}

/* sys_utimes: Linux utimes(2) (microseconds). */
long sys_utimes(const struct shim_args *a)
{
    u64 utimes = arg_uptr(a, 1);
    struct ktimespec t[2];
    if (utimes) {
        struct linux_timeval tv[2];
        if (copy_from_user(tv, utimes, sizeof(tv)) < 0)
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
                return -EINVAL;
            t[i] = (struct ktimespec){tv[i].tv_sec, tv[i].tv_usec * 1000};
        }
    }
    struct vnode *n;
    long r = lookup(AT_FDCWD, arg_uptr(a, 0), 0, &n);
    return r < 0 ? r : vfs_utimens(n, utimes ? t : NULL);
}

/* sys_truncate: Linux truncate(2). */
long sys_truncate(const struct shim_args *a)
{
    if (arg_long(a, 1) < 0)
        return -EINVAL; /* before the lookup, as Linux */
    struct vnode *n;
    long r = lookup(AT_FDCWD, arg_uptr(a, 0), 0, &n);
    return r < 0 ? r : vfs_truncate(n, arg_long(a, 1));
}
