/* SPDX-License-Identifier: Apache-2.0 */
/* stat.c: struct stat and struct statx from a vnode, shared by the io (fstat) and fs families. */
#include <shim/linux_abi.h>
#include <shim/util.h>

#define STATX_BASIC_STATS 0x7ffu

long shim_put_stat(u64 uaddr, const struct vnode *n)
{
    struct kstat k;
    vfs_stat_node(n, &k);
    struct linux_stat st = {
        .st_dev = k.dev,
        .st_ino = k.ino,
        .st_nlink = k.nlink,
        .st_mode = k.mode,
        .st_uid = k.uid,
        .st_gid = k.gid,
        .st_rdev = k.rdev,
        .st_size = k.size,
        .st_blksize = k.blksize,
        .st_blocks = k.blocks,
        .st_atime = (u64)k.atime.sec,
        .st_atime_nsec = (u64)k.atime.nsec,
        .st_mtime = (u64)k.mtime.sec,
        .st_mtime_nsec = (u64)k.mtime.nsec,
        .st_ctime = (u64)k.ctime.sec,
        .st_ctime_nsec = (u64)k.ctime.nsec,
    };
    return copy_to_user(uaddr, &st, sizeof(st));
}

long shim_put_statx(u64 uaddr, const struct vnode *n, unsigned mask)
{
    struct kstat k;
    vfs_stat_node(n, &k);
    struct linux_statx sx = {
        .stx_mask = STATX_BASIC_STATS, /* everything but the birth time */
        .stx_blksize = (u32)k.blksize,
        .stx_nlink = (u32)k.nlink,
        .stx_uid = k.uid,
        .stx_gid = k.gid,
        .stx_mode = (u16)k.mode,
        .stx_ino = k.ino,
        .stx_size = (u64)k.size,
        .stx_blocks = (u64)k.blocks,
        .stx_atime = {k.atime.sec, (u32)k.atime.nsec, 0},
        .stx_ctime = {k.ctime.sec, (u32)k.ctime.nsec, 0},
        .stx_mtime = {k.mtime.sec, (u32)k.mtime.nsec, 0},
        .stx_rdev_major = dev_major(k.rdev),
        .stx_rdev_minor = dev_minor(k.rdev),
        .stx_dev_major = dev_major(k.dev),
        .stx_dev_minor = dev_minor(k.dev),
    };
    return copy_to_user(uaddr, &sx, sizeof(sx));
}
