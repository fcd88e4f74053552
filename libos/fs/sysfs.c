/* SPDX-License-Identifier: Apache-2.0 */
/* sysfs.c: the part of /sys programs read to count CPUs: /sys/devices/system/cpu with one CPU, cpu0. */
#include <libos/string.h>
#include <libos/vfs.h>

/* glibc's sysconf(_SC_NPROCESSORS_ONLN) parses "online"; _SC_NPROCESSORS_CONF counts the
 * cpuN directories; other programs read "possible" and "present". One vCPU: all "0". */
static const char cpu_list[] = "0\n";
static const char none[] = "\n"; /* "offline": an empty list */

static long list_pread(struct file *f, void *buf, size_t n, u64 off)
{
    (void)f;
    return kfile_pread_text(cpu_list, sizeof(cpu_list) - 1, buf, n, off);
}

static long none_pread(struct file *f, void *buf, size_t n, u64 off)
{
    (void)f;
    return kfile_pread_text(none, sizeof(none) - 1, buf, n, off);
}

/* No write op: sysfs refuses to open these for writing (EACCES), even for root. */
static const struct file_ops list_ops = {.read = kfile_read_at_pos, .pread = list_pread, .seekable = true};
static const struct file_ops none_ops = {.read = kfile_read_at_pos, .pread = none_pread, .seekable = true};

#define SYSFS_SIZE 4096 /* every sysfs attribute stats as one page */

void sysfs_init(void)
{
    struct vnode *sys = ramfs_child(vfs_root(), "sys", 3);
    if (sys && (!S_ISDIR(sys->mode) || sys->nchildren))
        return; /* the image brought its own /sys: leave it alone */
    sys = kfile_dir(vfs_root(), "sys");
    struct vnode *cpu = kfile_dir(kfile_dir(kfile_dir(sys, "devices"), "system"), "cpu");
    kfile_dir(cpu, "cpu0");
    kfile_new(cpu, "online", &list_ops, SYSFS_SIZE);
    kfile_new(cpu, "possible", &list_ops, SYSFS_SIZE);
    kfile_new(cpu, "present", &list_ops, SYSFS_SIZE);
    kfile_new(cpu, "offline", &none_ops, SYSFS_SIZE);
}
