/* SPDX-License-Identifier: Apache-2.0 */
/* open.c: open, creat, openat and access checks. */
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/vfs.h>
#include <shim/util.h>

#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4
#define AT_EACCESS 0x200

static long do_openat(int dirfd, u64 upath, int flags, u32 mode)
{
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    if (r < 0)
        return r;
    return vfs_openat(dirfd, path, flags, mode);
}

/* sys_open: PARTIAL: Linux open(2); O_TMPFILE -> EOPNOTSUPP. */
long sys_open(const struct shim_args *a) { return do_openat(AT_FDCWD, arg_uptr(a, 0), arg_int(a, 1), arg_uint(a, 2)); }

/* sys_creat: Linux creat(2): open(path, O_CREAT | O_WRONLY | O_TRUNC, mode). */
long sys_creat(const struct shim_args *a)
{
    return do_openat(AT_FDCWD, arg_uptr(a, 0), O_CREAT | O_WRONLY | O_TRUNC, arg_uint(a, 1));
}

/* sys_openat: PARTIAL: Linux openat(2); O_TMPFILE -> EOPNOTSUPP. */
long sys_openat(const struct shim_args *a)
{
    return do_openat(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), arg_uint(a, 3));
}

static long do_access(int dirfd, u64 upath, int mode, int flags)
{
    if (mode & ~(R_OK | W_OK | X_OK))
        return -EINVAL;
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    if (r < 0)
        return r;
    struct vnode *n;
    int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW;
    if (flags & AT_EMPTY_PATH)
        lf |= LOOKUP_EMPTY_OK;
    r = vfs_lookup(dirfd, path, lf, &n);
    if (r < 0)
        return r;
    if ((mode & W_OK) && vfs_rofs(n) < 0)
        return -EROFS;
    u32 uid = (flags & AT_EACCESS) ? current_process()->euid : current_process()->uid;
    if (uid == 0) /* root: R and W always; X if any execute bit (or a directory) */
        return (mode & X_OK) && !S_ISDIR(n->mode) && !(n->mode & 0111) ? -EACCES : 0;
    u32 bits = n->uid == uid ? (n->mode >> 6) & 7 : n->gid == current_process()->gid ? (n->mode >> 3) & 7 : n->mode & 7;
    return ((u32)mode & ~bits) ? -EACCES : 0;
}

/* sys_access: PARTIAL: Linux access(2) with the mode bits (root passes R and W). */
long sys_access(const struct shim_args *a) { return do_access(AT_FDCWD, arg_uptr(a, 0), arg_int(a, 1), 0); }

/* sys_faccessat: PARTIAL: Linux faccessat(2) (the syscall has no flags argument). */
long sys_faccessat(const struct shim_args *a) { return do_access(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), 0); }

/* sys_faccessat2: PARTIAL: Linux faccessat2(2). */
long sys_faccessat2(const struct shim_args *a)
{
    return do_access(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), arg_int(a, 3));
}
