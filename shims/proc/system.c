/* SPDX-License-Identifier: Apache-2.0 */
/* system.c: uname, sysinfo, umask, rusage and times: what the process can learn about its machine. */
#include <libos/cmdline.h>
#include <libos/image_config.h>
#include <libos/mm.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define RUSAGE_SELF 0
#define RUSAGE_CHILDREN (-1)
#define RUSAGE_THREAD 1
#define CLK_TCK 100

/* sys_uname: PARTIAL: a Linux 6.1 x86-64 machine named after the image's hostname. */
long sys_uname(const struct shim_args *a)
{
    struct linux_utsname u;
    memset(&u, 0, sizeof(u));
    strlcpy(u.sysname, "Linux", sizeof(u.sysname));
    /* d2u.hostname= (dock2uni run), else the image's Hostname: as /etc/hostname (net/inet_etc.c). */
    const char *name = kopts.hostname[0]    ? kopts.hostname
                       : image_hostname[0] ? image_hostname
                                           : "localhost";
    strlcpy(u.nodename, name, sizeof(u.nodename));
    strlcpy(u.release, "6.1.0", sizeof(u.release)); /* glibc refuses kernels older than its minimum */
    strlcpy(u.version, "#1 SMP dock2uni", sizeof(u.version));
    strlcpy(u.machine, "x86_64", sizeof(u.machine));
    strlcpy(u.domainname, "(none)", sizeof(u.domainname));
    return copy_to_user(arg_uptr(a, 0), &u, sizeof(u));
}

/* sys_umask: Linux umask(2). */
long sys_umask(const struct shim_args *a)
{
    return vfs_set_umask(arg_uint(a, 0));
}

/* sys_sysinfo: PARTIAL: uptime and memory from the frame allocator; no swap or load. */
long sys_sysinfo(const struct shim_args *a)
{
    struct linux_sysinfo si;
    memset(&si, 0, sizeof(si));
    si.uptime = (s64)(time_mono_ns() / NSEC_PER_SEC);
    si.totalram = pmm_total_pages() * PAGE_SIZE;
    si.freeram = pmm_free_pages() * PAGE_SIZE;
    si.procs = (u16)process_count();
    si.mem_unit = 1;
    return copy_to_user(arg_uptr(a, 0), &si, sizeof(si));
}

static u64 cpu_ns(void) { return process_cpu_ns(current_process()); }

/* sys_getrusage: PARTIAL: user time = CPU time (user and kernel together); RUSAGE_CHILDREN sums reaped children. */
long sys_getrusage(const struct shim_args *a)
{
    int who = arg_int(a, 0);
    if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
        return -EINVAL;
    struct linux_rusage ru;
    memset(&ru, 0, sizeof(ru));
    u64 ns = who == RUSAGE_CHILDREN ? current_process()->children_usage.cpu_ns
             : who == RUSAGE_THREAD ? task_cpu_ns(current) : cpu_ns();
    ru.ru_utime.tv_sec = (s64)(ns / NSEC_PER_SEC);
    ru.ru_utime.tv_usec = (s64)(ns % NSEC_PER_SEC / 1000);
    ru.ru_maxrss = who == RUSAGE_CHILDREN ? (s64)current_process()->children_usage.maxrss_kb
                                          : (s64)(uvm_resident_pages() * PAGE_SIZE / 1024);
    return copy_to_user(arg_uptr(a, 1), &ru, sizeof(ru));
}

/* sys_times: PARTIAL: user time = CPU time (user and kernel together), children's of reaped ones; system time 0. */
long sys_times(const struct shim_args *a)
{
    struct linux_tms t = {.tms_utime = (s64)(cpu_ns() / (NSEC_PER_SEC / CLK_TCK)),
                          .tms_cutime = (s64)(current_process()->children_usage.cpu_ns / (NSEC_PER_SEC / CLK_TCK))};
    if (arg_uptr(a, 0) && copy_to_user(arg_uptr(a, 0), &t, sizeof(t)) < 0)
        return -EFAULT;
    return (long)(time_mono_ns() / (NSEC_PER_SEC / CLK_TCK));
}
