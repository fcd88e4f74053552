/* SPDX-License-Identifier: Apache-2.0 */
/* xattr.c: the twelve extended-attribute syscalls: decode, look up, copy in the Linux order, call fs/xattr.c. */
#include <libos/heap.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

/* The node a path names (follow: the stat/lstat distinction of the l* calls). */
static long path_node(u64 upath, bool follow, struct vnode **n)
{
    char path[PATH_MAX];
    long r = shim_get_path(upath, path);
    return r < 0 ? r : vfs_lookup(AT_FDCWD, path, follow ? LOOKUP_FOLLOW : 0, n);
}

/* The node of an fd (not O_PATH: Linux's fdget gives EBADF for the f* calls). */
static long fd_node(int fd, struct vnode **n)
{
    struct file *f = fd_get(fd);
    if (!f || (f->flags & O_PATH))
        return -EBADF;
    *n = f->node;
    return 0;
}

/* The name into buf[XATTR_NAME_MAX + 1]: empty or too long is ERANGE, as Linux's
 * strncpy_from_user check in setxattr_copy()/getxattr(). */
static long get_name(u64 uname, char *buf)
{
    long n = copy_string_from_user(buf, uname, XATTR_NAME_MAX + 1);
    if (n == -ENAMETOOLONG || n == 0)
        return -ERANGE;
    return n < 0 ? n : 0;
}

static long do_set(struct vnode *n, u64 uname, u64 uvalue, u64 size, int flags)
{
    char name[XATTR_NAME_MAX + 1];
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return -EINVAL;
    long r = get_name(uname, name);
    if (r < 0)
        return r;
    if (size > XATTR_SIZE_MAX)
        return -E2BIG;
    void *value = NULL;
    if (size) {
        value = kmalloc(size);
        if (!value)
            return -ENOMEM;
        r = copy_from_user(value, uvalue, size);
    }
    if (r == 0)
        r = vfs_setxattr(n, name, value, size, flags);
    kfree(value);
    return r;
}

static long do_get(struct vnode *n, u64 uname, u64 ubuf, u64 size)
{
    char name[XATTR_NAME_MAX + 1];
    long r = get_name(uname, name);
    if (r < 0)
        return r;
    size = MIN(size, (u64)XATTR_SIZE_MAX);
    void *buf = size ? kmalloc(size) : NULL;
    if (size && !buf)
        return -ENOMEM;
    r = vfs_getxattr(n, name, buf, size);
    if (r == -ERANGE && size >= XATTR_SIZE_MAX)
        r = -E2BIG;
    if (r > 0 && size && copy_to_user(ubuf, buf, (size_t)r) < 0)
        r = -EFAULT;
    kfree(buf);
    return r;
}

static long do_list(struct vnode *n, u64 ubuf, u64 size)
{
    size = MIN(size, (u64)XATTR_LIST_MAX);
    char *buf = size ? kmalloc(size) : NULL;
    if (size && !buf)
        return -ENOMEM;
    long r = vfs_listxattr(n, buf, size);
    if (r == -ERANGE && size >= XATTR_LIST_MAX)
        r = -E2BIG;
    if (r > 0 && size && copy_to_user(ubuf, buf, (size_t)r) < 0)
        r = -EFAULT;
    kfree(buf);
    return r;
}

static long do_remove(struct vnode *n, u64 uname)
{
    char name[XATTR_NAME_MAX + 1];
    long r = get_name(uname, name);
    return r < 0 ? r : vfs_removexattr(n, name);
}

/* sys_setxattr: Linux setxattr(2). */
long sys_setxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), true, &n);
    return r < 0 ? r : do_set(n, arg_uptr(a, 1), arg_uptr(a, 2), arg_u64(a, 3), arg_int(a, 4));
}

/* sys_lsetxattr: Linux lsetxattr(2): the link itself. */
long sys_lsetxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), false, &n);
    return r < 0 ? r : do_set(n, arg_uptr(a, 1), arg_uptr(a, 2), arg_u64(a, 3), arg_int(a, 4));
}

/* sys_fsetxattr: Linux fsetxattr(2). */
long sys_fsetxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = fd_node(arg_int(a, 0), &n);
    return r < 0 ? r : do_set(n, arg_uptr(a, 1), arg_uptr(a, 2), arg_u64(a, 3), arg_int(a, 4));
}

/* sys_getxattr: Linux getxattr(2); size 0 asks for the value's size. */
long sys_getxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), true, &n);
    return r < 0 ? r : do_get(n, arg_uptr(a, 1), arg_uptr(a, 2), arg_u64(a, 3));
}

/* sys_lgetxattr: Linux lgetxattr(2). */
long sys_lgetxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), false, &n);
    return r < 0 ? r : do_get(n, arg_uptr(a, 1), arg_uptr(a, 2), arg_u64(a, 3));
}

/* sys_fgetxattr: Linux fgetxattr(2). */
long sys_fgetxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = fd_node(arg_int(a, 0), &n);
    return r < 0 ? r : do_get(n, arg_uptr(a, 1), arg_uptr(a, 2), arg_u64(a, 3));
}

/* sys_listxattr: Linux listxattr(2): NUL-terminated names; size 0 asks for the size. */
long sys_listxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), true, &n);
    return r < 0 ? r : do_list(n, arg_uptr(a, 1), arg_u64(a, 2));
}

/* sys_llistxattr: Linux llistxattr(2). */
long sys_llistxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), false, &n);
    return r < 0 ? r : do_list(n, arg_uptr(a, 1), arg_u64(a, 2));
}

/* sys_flistxattr: Linux flistxattr(2). */
long sys_flistxattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = fd_node(arg_int(a, 0), &n);
    return r < 0 ? r : do_list(n, arg_uptr(a, 1), arg_u64(a, 2));
}

/* sys_removexattr: Linux removexattr(2). */
long sys_removexattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), true, &n);
    return r < 0 ? r : do_remove(n, arg_uptr(a, 1));
}

/* sys_lremovexattr: Linux lremovexattr(2). */
long sys_lremovexattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = path_node(arg_uptr(a, 0), false, &n);
    return r < 0 ? r : do_remove(n, arg_uptr(a, 1));
}

/* sys_fremovexattr: Linux fremovexattr(2). */
long sys_fremovexattr(const struct shim_args *a)
{
    struct vnode *n;
    long r = fd_node(arg_int(a, 0), &n);
    return r < 0 ? r : do_remove(n, arg_uptr(a, 1));
}
