/* SPDX-License-Identifier: Apache-2.0 */
/* stat.c: stat, lstat, newfstatat, statx, statfs and fstatfs. */
#include <libos/mm.h>
#include <libos/p9.h>
#include <libos/string.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define AT_STATX_SYNC_TYPE 0x6000

static long lookup_at(int dirfd, u64 upath, int flags, struct vnode **n)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
        return -EINVAL;
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    if (r < 0)
        return r;
    int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW;
    if (flags & AT_EMPTY_PATH)
        lf |= LOOKUP_EMPTY_OK;
    return vfs_lookup(dirfd, path, lf, n);
}

/* sys_stat: Linux stat(2). */
long sys_stat(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup_at(AT_FDCWD, arg_uptr(a, 0), 0, &n);
    return r < 0 ? r : shim_put_stat(arg_uptr(a, 1), n);
}

/* sys_lstat: Linux lstat(2). */
long sys_lstat(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup_at(AT_FDCWD, arg_uptr(a, 0), AT_SYMLINK_NOFOLLOW, &n);
    return r < 0 ? r : shim_put_stat(arg_uptr(a, 1), n);
}

/* sys_newfstatat: Linux newfstatat(2), including AT_EMPTY_PATH on any fd. */
long sys_newfstatat(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup_at(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 3), &n);
    return r < 0 ? r : shim_put_stat(arg_uptr(a, 2), n);
}

/* sys_statx: PARTIAL: Linux statx(2) without the birth time. */
long sys_statx(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup_at(arg_int(a, 0), arg_uptr(a, 1), arg_int(a, 2), &n);
    return r < 0 ? r : shim_put_statx(arg_uptr(a, 4), n, arg_uint(a, 3));
}

/* The volume client (libos/fs/volume.c, docs/volumes.md) comes with the file syscalls:
 * this reference pulls it out of libos.a into every image with the fs family. */
void (*const shim_fs_volumes)(void) = volumes_mount;

static long put_statfs(u64 uaddr, struct vnode *n)
{
    struct kstatfs k;
    long r = vfs_statfs(n, &k);
    if (r < 0)
        return r;
    struct linux_statfs st;
    memset(&st, 0, sizeof(st));
    st.f_type = (s64)k.type;
    st.f_bsize = st.f_frsize = (s64)k.bsize;
    st.f_blocks = k.blocks;
    st.f_bfree = k.bfree;
    st.f_bavail = k.bavail;
    st.f_files = k.files;
    st.f_ffree = k.ffree;
    st.f_namelen = (s64)k.namelen;
    return copy_to_user(uaddr, &st, sizeof(st));
}

/* sys_statfs: PARTIAL: one RAM filesystem; no inode counts. */
long sys_statfs(const struct shim_args *a)
{
    struct vnode *n;
    long r = lookup_at(AT_FDCWD, arg_uptr(a, 0), 0, &n);
    return r < 0 ? r : put_statfs(arg_uptr(a, 1), n);
}

/* sys_fstatfs: PARTIAL: one RAM filesystem; no inode counts. */
long sys_fstatfs(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    return f ? put_statfs(arg_uptr(a, 1), f->node) : -EBADF;
}
