/* SPDX-License-Identifier: Apache-2.0 */
/* memfd.c: flock(2) and memfd_create(2). */
#include <libos/task.h>
#include <libos/vfs.h>
#include <shim/util.h>

#define MFD_CLOEXEC 0x1
#define MFD_ALLOW_SEALING 0x2
#define MFD_HUGETLB 0x4
#define MFD_NAME_MAX 249 /* NAME_MAX - strlen("memfd:") */

/* sys_flock: Linux flock(2): advisory whole-file locks per open file description (fs/flock.c). */
long sys_flock(const struct shim_args *a)
{
    struct file *f = fd_get(arg_int(a, 0));
    if (!f || (f->flags & O_PATH))
        return -EBADF;
    return vfs_flock(f, arg_int(a, 1));
}

/* sys_memfd_create: PARTIAL: an unlinked file of the RAM filesystem (mode 0777, read-write). */
long sys_memfd_create(const struct shim_args *a)
{
    u32 flags = arg_uint(a, 1);
    char name[MFD_NAME_MAX + 1];
    if (flags & ~(u32)(MFD_CLOEXEC | MFD_ALLOW_SEALING))
        return -EINVAL; /* MFD_HUGETLB included: no huge pages to back it */
    long r = copy_string_from_user(name, arg_uptr(a, 0), sizeof(name));
    if (r < 0)
        return r == -ENAMETOOLONG ? -EINVAL : r;
    struct vnode *n = ramfs_alloc_node(S_IFREG | 0777);
    if (!n)
        return -ENOMEM;
    n->uid = current_process()->euid;
    n->gid = current_process()->egid;
    vnode_get(n); /* freed by the put below if the open fails */
    long err = 0;
    struct file *f = vfs_open_node(n, O_RDWR, &err);
    vnode_put(n);
    if (!f)
        return err;
    long fd = fd_install(f, 0, flags & MFD_CLOEXEC);
    if (fd < 0)
        file_put(f);
    return fd;
}
