/* SPDX-License-Identifier: Apache-2.0 */
/* namei.c: mkdir, rmdir, unlink, rename, link and symlink with their *at variants: copy paths in, call fs/namei.c. */
#include <shim/util.h>

/* Copy two user paths (the second may be the same buffer pair as the first's). */
static long get_paths(u64 ua, char *a, u64 ub, char *b)
{
    long r = shim_get_path(ua, a);
    return r < 0 ? r : shim_get_path(ub, b);
}

static long do_mkdirat(int dirfd, u64 upath, u32 mode)
{
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    return r < 0 ? r : vfs_mkdirat(dirfd, path, mode);
}

/* sys_mkdir: Linux mkdir(2). */
long sys_mkdir(const struct shim_args *a) { return do_mkdirat(AT_FDCWD, arg_uptr(a, 0), arg_uint(a, 1)); }

/* sys_mkdirat: Linux mkdirat(2). */
long sys_mkdirat(const struct shim_args *a) { return do_mkdirat(arg_int(a, 0), arg_uptr(a, 1), arg_uint(a, 2)); }

static long do_unlinkat(int dirfd, u64 upath, int flags)
{
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    return r < 0 ? r : vfs_unlinkat(dirfd, path, flags);
}

/* sys_rmdir: Linux rmdir(2). */
long sys_rmdir(const struct shim_args *a) { return do_unlinkat(AT_FDCWD, arg_uptr(a, 0), AT_REMOVEDIR); }

/* sys_unlink: Linux unlink(2); an open file's data lives until its last close. */
long sys_unlink(const struct shim_args *a) { return do_unlinkat(AT_FDCWD, arg_uptr(a, 0), 0); }

/* sys_unlinkat: Linux unlinkat(2). */
long sys_unlinkat(const struct shim_args *a) { return do_unlinkat(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2)); }

static long do_renameat2(int olddirfd, u64 uold, int newdirfd, u64 unew, unsigned flags)
{
    char oldpath[PATH_MAX], newpath[PATH_MAX];
    long r = get_paths(uold, oldpath, unew, newpath);
    return r < 0 ? r : vfs_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

/* sys_rename: Linux rename(2). */
long sys_rename(const struct shim_args *a) { return do_renameat2(AT_FDCWD, arg_uptr(a, 0), AT_FDCWD, arg_uptr(a, 1), 0); }

/* sys_renameat: Linux renameat(2). */
long sys_renameat(const struct shim_args *a)
{
    return do_renameat2(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), arg_uptr(a, 3), 0);
}

/* sys_renameat2: PARTIAL: NOREPLACE and EXCHANGE; WHITEOUT -> EINVAL. */
long sys_renameat2(const struct shim_args *a)
{
    return do_renameat2(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), arg_uptr(a, 3), arg_uint(a, 4));
}

static long do_linkat(int olddirfd, u64 uold, int newdirfd, u64 unew, int flags)
{
    char oldpath[PATH_MAX], newpath[PATH_MAX];
    long r = get_paths(uold, oldpath, unew, newpath);
    return r < 0 ? r : vfs_linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

/* sys_link: Linux link(2) (does not follow a symlink, as Linux). */
long sys_link(const struct shim_args *a) { return do_linkat(AT_FDCWD, arg_uptr(a, 0), AT_FDCWD, arg_uptr(a, 1), 0); }

/* sys_linkat: Linux linkat(2): AT_SYMLINK_FOLLOW, AT_EMPTY_PATH. */
long sys_linkat(const struct shim_args *a)
{
    return do_linkat(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), arg_uptr(a, 3), arg_int(a, 4));
}

static long do_symlinkat(u64 utarget, int dirfd, u64 upath)
{
    char target[PATH_MAX], path[PATH_MAX];
    long r = get_paths(utarget, target, upath, path);
    return r < 0 ? r : vfs_symlinkat(target, dirfd, path);
}

/* sys_symlink: Linux symlink(2). */
long sys_symlink(const struct shim_args *a) { return do_symlinkat(arg_uptr(a, 0), AT_FDCWD, arg_uptr(a, 1)); }

/* sys_symlinkat: Linux symlinkat(2). */
long sys_symlinkat(const struct shim_args *a) { return do_symlinkat(arg_uptr(a, 0), arg_int(a, 1), arg_uptr(a, 2)); }

static long do_mknodat(int dirfd, u64 upath, u32 mode, u64 dev)
{
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    return r < 0 ? r : vfs_mknodat(dirfd, path, mode, dev);
}

/* sys_mknod: PARTIAL: files, FIFOs, socket nodes; device nodes for root only. */
long sys_mknod(const struct shim_args *a) { return do_mknodat(AT_FDCWD, arg_uptr(a, 0), arg_uint(a, 1), arg_uint(a, 2)); }

/* sys_mknodat: PARTIAL: as mknod. */
long sys_mknodat(const struct shim_args *a)
{
    return do_mknodat(arg_int(a, 0), arg_uptr(a, 1), arg_uint(a, 2), arg_uint(a, 3));
}
