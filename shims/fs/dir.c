/* SPDX-License-Identifier: Apache-2.0 */
/* dir.c: getdents64, getcwd, chdir, fchdir, readlink and readlinkat. */
#include <libos/proc.h>
#include <libos/task.h>
#include <shim/util.h>

/* sys_getdents64: Linux getdents64(2). */
long sys_getdents64(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    u64 buf = arg_uptr(a, 1), n = arg_uint(a, 2);
    if (!f)
        return -EBADF;
    if (!user_range_ok(buf, n))
        return -EFAULT;
    return vfs_getdents(f, (void *)buf, n);
}

/* sys_getcwd: Linux getcwd(2): returns the length including the NUL. */
long sys_getcwd(const struct shim_args *a)
{
    char path[PATH_MAX];
    long len = vfs_dir_path(vfs_cwd(), path, sizeof(path));
    if (len == -ERANGE)
        return -ENAMETOOLONG; /* longer than Linux's one-page limit */
    if (len < 0)
        return len;
    if ((u64)len > arg_u64(a, 1))
        return -ERANGE;
    return copy_to_user(arg_uptr(a, 0), path, (size_t)len) < 0 ? -EFAULT : len;
}

/* sys_chdir: Linux chdir(2). */
long sys_chdir(const struct shim_args *a)
{
    char path[PATH_MAX];
    long r = shim_get_path(arg_uptr(a, 0), path);
    if (r < 0)
        return r;
    struct vnode *n;
    r = vfs_lookup(AT_FDCWD, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &n);
    return r < 0 ? r : vfs_chdir_node(n);
}

/* sys_fchdir: Linux fchdir(2). */
long sys_fchdir(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    return f ? vfs_chdir_node(f->node) : -EBADF;
}

static long do_readlinkat(int dirfd, u64 upath, u64 buf, long size)
{
    if (size <= 0)
        return -EINVAL;
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    if (r < 0)
        return r;
    struct vnode *n;
    r = vfs_lookup(dirfd, path, LOOKUP_EMPTY_OK, &n);
    if (r < 0)
        return r;
    if (!user_range_ok(buf, (u64)size))
        return -EFAULT;
    return vfs_readlink_node(n, (void *)buf, (size_t)size);
}

/* sys_readlink: Linux readlink(2), including /proc/self/exe; EINVAL for non-links. */
long sys_readlink(const struct shim_args *a)
{
    return do_readlinkat(AT_FDCWD, arg_uptr(a, 0), arg_uptr(a, 1), arg_long(a, 2));
}

/* sys_readlinkat: Linux readlinkat(2). */
long sys_readlinkat(const struct shim_args *a)
{
    return do_readlinkat(arg_int(a, 0), arg_uptr(a, 1), arg_uptr(a, 2), arg_long(a, 3));
}

#define CAP_SYS_CHROOT 18

/* sys_chroot: PARTIAL: Linux chroot(2): needs CAP_SYS_CHROOT (in Docker's default set:
 * euid 0 unless capset dropped it), changes the process's root, not its cwd. */
long sys_chroot(const struct shim_args *a)
{
    char path[PATH_MAX];
    long r = shim_get_path(arg_uptr(a, 0), path);
    if (r < 0)
        return r;
    struct vnode *n;
    r = vfs_lookup(AT_FDCWD, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &n);
    if (r < 0)
        return r;
    if (!(proc_cap_eff(current_process()) & (1ul << CAP_SYS_CHROOT)))
        return -EPERM;
    return vfs_chroot_node(n);
}
