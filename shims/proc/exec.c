/* SPDX-License-Identifier: Apache-2.0 */
/* exec.c: execve and execveat: copy the path, then libos/exec replaces the program (docs/exec.md). */
#include <libos/exec.h>
#include <libos/heap.h>
#include <shim/util.h>

/* The path is copied here (EFAULT, ENAMETOOLONG first, as Linux's getname); the
 * vectors are read by libos/exec, which knows their limits and order. */
static long do_exec(int dirfd, u64 upath, u64 uargv, u64 uenvp, int flags)
{
    char *path = kmalloc(PATH_MAX);
    if (!path)
        return -ENOMEM;
    long r = shim_get_path(upath, path);
    if (r >= 0)
        r = exec_execve(dirfd, path, uargv, uenvp, flags);
    kfree(path); /* only reached when the exec failed: a success never returns */
    return r;
}

/* sys_execve: Linux execve(2): static, static-PIE and dynamic ELF, #! scripts; set-user-ID bits not honoured. */
long sys_execve(const struct shim_args *a)
{
    return do_exec(AT_FDCWD, arg_uptr(a, 0), arg_uptr(a, 1), arg_uptr(a, 2), 0);
}

/* sys_execveat: Linux execveat(2): dirfd-relative paths, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW; set-user-ID bits not honoured. */
long sys_execveat(const struct shim_args *a)
{
    return do_exec(arg_int(a, 0), arg_uptr(a, 1), arg_uptr(a, 2), arg_uptr(a, 3), arg_int(a, 4));
}
