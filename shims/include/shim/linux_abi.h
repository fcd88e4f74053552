/* SPDX-License-Identifier: Apache-2.0 */
/* linux_abi.h: Linux x86-64 user-ABI structures the shims copy in and out, with size checks. */
#ifndef SHIM_LINUX_ABI_H
#define SHIM_LINUX_ABI_H

#include <libos/types.h>

struct linux_timespec {
    s64 tv_sec, tv_nsec;
};
_Static_assert(sizeof(struct linux_timespec) == 16, "struct timespec");

struct linux_timeval {
    s64 tv_sec, tv_usec;
};
_Static_assert(sizeof(struct linux_timeval) == 16, "struct timeval");

struct linux_iovec {
    u64 base, len;
};
_Static_assert(sizeof(struct linux_iovec) == 16, "struct iovec");

struct linux_stat {
    u64 st_dev, st_ino, st_nlink;
    u32 st_mode, st_uid, st_gid, pad0;
    u64 st_rdev;
    s64 st_size, st_blksize, st_blocks;
    u64 st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
    s64 unused[3];
};
_Static_assert(sizeof(struct linux_stat) == 144, "x86-64 struct stat");

struct linux_statx_timestamp {
    s64 tv_sec;
    u32 tv_nsec;
    s32 reserved;
};

struct linux_statx {
    u32 stx_mask, stx_blksize;
    u64 stx_attributes;
    u32 stx_nlink, stx_uid, stx_gid;
    u16 stx_mode, spare0;
    u64 stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct linux_statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
    u32 stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    u64 stx_mnt_id;
    u32 stx_dio_mem_align, stx_dio_offset_align;
    u64 spare3[12];
};
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx");

struct linux_statfs {
    s64 f_type, f_bsize;
    u64 f_blocks, f_bfree, f_bavail, f_files, f_ffree;
    s32 f_fsid[2];
    s64 f_namelen, f_frsize, f_flags;
    s64 f_spare[4];
};
_Static_assert(sizeof(struct linux_statfs) == 120, "x86-64 struct statfs");

struct linux_utsname {
    char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};
_Static_assert(sizeof(struct linux_utsname) == 390, "struct new_utsname");

struct linux_rlimit {
    u64 rlim_cur, rlim_max;
};

struct linux_sysinfo {
    s64 uptime;
    u64 loads[3];
    u64 totalram, freeram, sharedram, bufferram, totalswap, freeswap;
    u16 procs, pad;
    u32 pad2;
    u64 totalhigh, freehigh;
    u32 mem_unit;
    u32 pad3;
};
_Static_assert(sizeof(struct linux_sysinfo) == 112, "x86-64 struct sysinfo");

struct linux_tms {
    s64 tms_utime, tms_stime, tms_cutime, tms_cstime;
};

struct linux_rusage {
    struct linux_timeval ru_utime, ru_stime;
    s64 ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt, ru_nswap, ru_inblock,
        ru_oublock, ru_msgsnd, ru_msgrcv, ru_nsignals, ru_nvcsw, ru_nivcsw;
};
_Static_assert(sizeof(struct linux_rusage) == 144, "struct rusage");

struct linux_itimerval {
    struct linux_timeval it_interval, it_value;
};

struct linux_flock {
    s16 l_type, l_whence;
    s32 pad;
    s64 l_start, l_len;
    s32 l_pid, pad2;
};
_Static_assert(sizeof(struct linux_flock) == 32, "x86-64 struct flock");

#endif /* SHIM_LINUX_ABI_H */
