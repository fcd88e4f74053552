/* SPDX-License-Identifier: Apache-2.0 */
/* procfs.c: the part of /proc programs need now: /proc/self -> 1, /proc/1/exe -> the program, /proc/cpuinfo. */
#include <libos/heap.h>
#include <libos/string.h>
#include <libos/vfs.h>

static struct vnode *exe;

void procfs_init(void)
{
    struct vnode *proc = ramfs_child(vfs_root(), "proc", 4);
    if (!proc) {
        proc = ramfs_new_node(S_IFDIR | 0555);
        ramfs_link(vfs_root(), "proc", 4, proc);
    }
    if (!S_ISDIR(proc->mode) || ramfs_child(proc, "1", 1))
        return;
    proc->flags |= VN_PINNED; /* procfs has no create or unlink: EPERM, as on Linux */
    struct vnode *pid = ramfs_new_node(S_IFDIR | 0555);
    pid->flags |= VN_PINNED;
    ramfs_link(proc, "1", 1, pid);
    struct vnode *self = ramfs_new_node(S_IFLNK | 0777);
    self->data = (const u8 *)"1";
    self->size = 1;
    ramfs_link(proc, "self", 4, self);
    exe = ramfs_new_node(S_IFLNK | 0777);
    ramfs_link(pid, "exe", 3, exe);
    kfile_new(proc, "cpuinfo", &procfs_cpuinfo_ops, 0);
}

void procfs_set_exe(const char *path)
{
    if (!exe)
        return;
    char *copy = kstrdup(path);
    exe->data = (const u8 *)copy;
    exe->size = copy ? strlen(copy) : 0;
}
