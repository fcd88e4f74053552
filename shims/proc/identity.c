/* SPDX-License-Identifier: Apache-2.0 */
/* identity.c: pid/tid/ppid, process group and session, user and group ids. */
#include <libos/string.h>
#include <libos/task.h>
#include <shim/util.h>

/* sys_getpid: Linux getpid(2): pid 1 for the image's program, like a container's init. */
long sys_getpid(const struct shim_args *a) { return current_process()->pid; }
/* sys_gettid: Linux gettid(2): the calling thread's id (the main thread's is the pid). */
long sys_gettid(const struct shim_args *a) { return current->tid; }
/* sys_getppid: Linux getppid(2): 0 for pid 1 (its parent is outside the VM). */
long sys_getppid(const struct shim_args *a) { return current_process()->ppid; }
/* sys_getpgrp: Linux getpgrp(2). */
long sys_getpgrp(const struct shim_args *a) { return current_process()->pgid; }

/* pid 0 names the caller. */
static struct process *target(int pid)
{
    if (pid < 0)
        return NULL;
    return pid == 0 ? current_process() : process_find(pid);
}

/* sys_getpgid: Linux getpgid(2). */
long sys_getpgid(const struct shim_args *a)
{
    struct process *p = target(arg_int(a, 0));
    return p ? p->pgid : -ESRCH;
}

/* sys_getsid: Linux getsid(2). */
long sys_getsid(const struct shim_args *a)
{
    struct process *p = target(arg_int(a, 0));
    return p ? p->sid : -ESRCH;
}

/* sys_setpgid: Linux setpgid(2). */
long sys_setpgid(const struct shim_args *a) { return process_setpgid(arg_int(a, 0), arg_int(a, 1)); }
/* sys_setsid: Linux setsid(2). */
long sys_setsid(const struct shim_args *a) { return process_setsid(); }

/* sys_getuid: Linux getuid(2). */
long sys_getuid(const struct shim_args *a) { return current_process()->uid; }
/* sys_geteuid: Linux geteuid(2). */
long sys_geteuid(const struct shim_args *a) { return current_process()->euid; }
/* sys_getgid: Linux getgid(2). */
long sys_getgid(const struct shim_args *a) { return current_process()->gid; }
/* sys_getegid: Linux getegid(2). */
long sys_getegid(const struct shim_args *a) { return current_process()->egid; }

static long put3(const struct shim_args *a, u32 r, u32 e, u32 s)
{
    if (copy_to_user(arg_uptr(a, 0), &r, 4) < 0 || copy_to_user(arg_uptr(a, 1), &e, 4) < 0 ||
        copy_to_user(arg_uptr(a, 2), &s, 4) < 0)
        return -EFAULT;
    return 0;
}

/* sys_getresuid: Linux getresuid(2). */
long sys_getresuid(const struct shim_args *a) { return put3(a, current_process()->uid, current_process()->euid, current_process()->suid); }
/* sys_getresgid: Linux getresgid(2). */
long sys_getresgid(const struct shim_args *a) { return put3(a, current_process()->gid, current_process()->egid, current_process()->sgid); }

/* Linux's rule without capabilities beyond "euid 0 may do anything". */
static bool may_set(u32 id, u32 r, u32 e, u32 s, u32 privileged) { return privileged == 0 || id == r || id == e || id == s; }

/* sys_setuid: PARTIAL: bookkeeping of the ids, Linux's permission rule. */
long sys_setuid(const struct shim_args *a)
{
    u32 id = arg_uint(a, 0);
    if (!may_set(id, current_process()->uid, current_process()->euid, current_process()->suid, current_process()->euid))
        return -EPERM;
    if (current_process()->euid == 0)
        current_process()->uid = current_process()->suid = id;
    current_process()->euid = id;
    return 0;
}

/* sys_setgid: PARTIAL: bookkeeping of the ids, Linux's permission rule. */
long sys_setgid(const struct shim_args *a)
{
    u32 id = arg_uint(a, 0);
    if (!may_set(id, current_process()->gid, current_process()->egid, current_process()->sgid, current_process()->euid))
        return -EPERM;
    if (current_process()->euid == 0)
        current_process()->gid = current_process()->sgid = id;
    current_process()->egid = id;
    return 0;
}

static long setres(u32 *r, u32 *e, u32 *s, const struct shim_args *a)
{
    u32 v[3] = {arg_uint(a, 0), arg_uint(a, 1), arg_uint(a, 2)};
    for (int i = 0; i < 3; i++)
        if (v[i] != ~0u && !may_set(v[i], *r, *e, *s, current_process()->euid))
            return -EPERM;
    if (v[0] != ~0u)
        *r = v[0];
    if (v[1] != ~0u)
        *e = v[1];
    if (v[2] != ~0u)
        *s = v[2];
    return 0;
}

/* sys_setresuid: PARTIAL: bookkeeping (-1 keeps a value). */
long sys_setresuid(const struct shim_args *a) { return setres(&current_process()->uid, &current_process()->euid, &current_process()->suid, a); }
/* sys_setresgid: PARTIAL: bookkeeping (-1 keeps a value). */
long sys_setresgid(const struct shim_args *a) { return setres(&current_process()->gid, &current_process()->egid, &current_process()->sgid, a); }

/* sys_getgroups: Linux getgroups(2): the supplementary groups (size 0: their count). */
long sys_getgroups(const struct shim_args *a)
{
    struct process *p = current_process();
    int size = arg_int(a, 0);
    if (size < 0)
        return -EINVAL;
    if (size == 0)
        return p->ngroups;
    if ((u32)size < p->ngroups)
        return -EINVAL;
    if (p->ngroups && copy_to_user(arg_uptr(a, 1), p->groups, p->ngroups * 4) < 0)
        return -EFAULT;
    return p->ngroups;
}

/* sys_setgroups: PARTIAL: Linux setgroups(2) with CAP_SETGID as euid 0; at most
 * NGROUPS_KEPT (64) groups, more is EINVAL. */
long sys_setgroups(const struct shim_args *a)
{
    struct process *p = current_process();
    int size = arg_int(a, 0);
    u32 groups[NGROUPS_KEPT];
    if (size < 0 || size > NGROUPS_KEPT)
        return -EINVAL;
    if (p->euid != 0)
        return -EPERM;
    if (size && copy_from_user(groups, arg_uptr(a, 1), (size_t)size * 4) < 0)
        return -EFAULT;
    memcpy(p->groups, groups, (size_t)size * 4);
    p->ngroups = (u32)size;
    return 0;
}

/* Linux's __sys_setreuid rules (privileged: euid 0, as Docker's CAP_SETUID/CAP_SETGID). */
static long setre(u32 *r, u32 *e, u32 *s, const struct shim_args *a)
{
    u32 nr = arg_uint(a, 0), ne = arg_uint(a, 1);
    bool priv = current_process()->euid == 0;
    if (nr != ~0u && !priv && nr != *r && nr != *e)
        return -EPERM;
    if (ne != ~0u && !priv && ne != *r && ne != *e && ne != *s)
        return -EPERM;
    u32 old_r = *r;
    if (nr != ~0u)
        *r = nr;
    if (ne != ~0u)
        *e = ne;
    if (nr != ~0u || (ne != ~0u && ne != old_r))
        *s = *e;
    return 0;
}

/* sys_setreuid: PARTIAL: bookkeeping, Linux's rules (-1 keeps a value; the saved id follows). */
long sys_setreuid(const struct shim_args *a) { return setre(&current_process()->uid, &current_process()->euid, &current_process()->suid, a); }
/* sys_setregid: PARTIAL: as setreuid. */
long sys_setregid(const struct shim_args *a) { return setre(&current_process()->gid, &current_process()->egid, &current_process()->sgid, a); }
