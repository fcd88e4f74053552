/* SPDX-License-Identifier: Apache-2.0 */
/* inotify.c: inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch: instances that never report an event (libos/fs/inotify.c). */
#include <libos/eventfds.h>
#include <libos/vfs.h>
#include <shim/util.h>

#define IN_ALL_EVENTS 0x00000fffu
#define IN_ONLYDIR 0x01000000u
#define IN_DONT_FOLLOW 0x02000000u
#define IN_MASK_CREATE 0x10000000u
#define IN_MASK_ADD 0x20000000u

/* sys_inotify_init: STUB: as inotify_init1(0). */
long sys_inotify_init(const struct shim_args *a) { return inotify_create(0); }
/* sys_inotify_init1: STUB: a real fd (IN_NONBLOCK, IN_CLOEXEC) that never reports an event. */
long sys_inotify_init1(const struct shim_args *a) { return inotify_create(arg_int(a, 0)); }

/* sys_inotify_add_watch: STUB: Linux's checks and watch numbers; nothing is watched. */
long sys_inotify_add_watch(const struct shim_args *a)
{
    u32 mask = arg_uint(a, 2);
    if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
        return -EINVAL;
    if (!(mask & IN_ALL_EVENTS))
        return -EINVAL;
    int fd = arg_int(a, 0);
    long r = inotify_check(fd);
    if (r < 0)
        return r;
    char path[PATH_MAX];
    r = shim_get_path(arg_uptr(a, 1), path);
    if (r < 0)
        return r;
    struct vnode *n;
    int lf = (mask & IN_DONT_FOLLOW ? 0 : LOOKUP_FOLLOW) | (mask & IN_ONLYDIR ? LOOKUP_DIRECTORY : 0);
    r = vfs_lookup(AT_FDCWD, path, lf, &n);
    if (r < 0)
        return r;
    return inotify_add_watch_node(fd, n, mask);
}

/* sys_inotify_rm_watch: STUB: removes the watch (no IN_IGNORED event is queued). */
long sys_inotify_rm_watch(const struct shim_args *a) { return inotify_rm_watch_wd(arg_int(a, 0), arg_int(a, 1)); }
