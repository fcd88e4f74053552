/* SPDX-License-Identifier: Apache-2.0 */
/* rlimit.c: getrlimit, setrlimit and prlimit64 on the process's stored limits. */
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/vfs.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

static long set_limit_of(struct process *p, unsigned res, const struct linux_rlimit *nl)
{
    if (nl->rlim_cur > nl->rlim_max)
        return -EINVAL;
    struct rlimit64 *cur = &p->rlim[res];
    if (nl->rlim_max > cur->max && current_process()->euid != 0)
        return -EPERM;
    if (res == RLIMIT_NOFILE && nl->rlim_max > FD_MAX)
        return -EPERM; /* the fd table has FD_MAX slots (Linux: above nr_open) */
    cur->cur = nl->rlim_cur;
    cur->max = nl->rlim_max;
    return 0;
}

static long set_limit(unsigned res, const struct linux_rlimit *nl) { return set_limit_of(current_process(), res, nl); }

/* sys_getrlimit: Linux getrlimit(2). */
long sys_getrlimit(const struct shim_args *a)
{
    unsigned res = arg_uint(a, 0);
    if (res >= RLIM_NLIMITS)
        return -EINVAL;
    struct linux_rlimit r = {current_process()->rlim[res].cur, current_process()->rlim[res].max};
    return copy_to_user(arg_uptr(a, 1), &r, sizeof(r));
}

/* sys_setrlimit: Linux setrlimit(2). */
long sys_setrlimit(const struct shim_args *a)
{
    unsigned res = arg_uint(a, 0);
    if (res >= RLIM_NLIMITS)
        return -EINVAL;
    struct linux_rlimit r;
    if (copy_from_user(&r, arg_uptr(a, 1), sizeof(r)) < 0)
        return -EFAULT;
    return set_limit(res, &r);
}

/* sys_prlimit64: PARTIAL: any process (root or the same uid); limits are stored, NOFILE and NPROC enforced. */
long sys_prlimit64(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    unsigned res = arg_uint(a, 1);
    u64 unew = arg_uptr(a, 2), uold = arg_uptr(a, 3);
    if (res >= RLIM_NLIMITS)
        return -EINVAL;
    struct process *p = pid == 0 ? current_process() : pid > 0 ? process_find(pid) : NULL;
    if (!p || p->state != PROC_ALIVE)
        return -ESRCH;
    struct process *me = current_process();
    if (p != me && me->euid != 0 && (me->uid != p->uid || me->uid != p->euid || me->uid != p->suid))
        return -EPERM; /* Linux's check without CAP_SYS_RESOURCE */
    struct linux_rlimit old = {p->rlim[res].cur, p->rlim[res].max}, nl;
    if (unew) {
        if (copy_from_user(&nl, unew, sizeof(nl)) < 0)
            return -EFAULT;
        long r = set_limit_of(p, res, &nl);
        if (r < 0)
            return r;
    }
    if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
        return -EFAULT;
    return 0;
}
