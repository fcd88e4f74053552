/* SPDX-License-Identifier: Apache-2.0 */
/* rlimit.c: getrlimit, setrlimit and prlimit64 on the process's stored limits. */
#include <libos/proc.h>
#include <libos/vfs.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

static long set_limit(unsigned res, const struct linux_rlimit *nl)
{
    if (nl->rlim_cur > nl->rlim_max)
        return -EINVAL;
    struct rlimit64 *cur = &proc.rlim[res];
    if (nl->rlim_max > cur->max && proc.euid != 0)
        return -EPERM;
    if (res == RLIMIT_NOFILE && nl->rlim_max > FD_MAX)
        return -EPERM; /* the fd table has FD_MAX slots (Linux: above nr_open) */
    cur->cur = nl->rlim_cur;
    cur->max = nl->rlim_max;
    return 0;
}

/* sys_getrlimit: Linux getrlimit(2). */
long sys_getrlimit(const struct shim_args *a)
{
    unsigned res = arg_uint(a, 0);
    if (res >= RLIM_NLIMITS)
        return -EINVAL;
    struct linux_rlimit r = {proc.rlim[res].cur, proc.rlim[res].max};
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

/* sys_prlimit64: PARTIAL: our own process only; limits are stored, not enforced. */
long sys_prlimit64(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    unsigned res = arg_uint(a, 1);
    u64 unew = arg_uptr(a, 2), uold = arg_uptr(a, 3);
    if (pid != 0 && pid != proc.pid)
        return -ESRCH;
    if (res >= RLIM_NLIMITS)
        return -EINVAL;
    struct linux_rlimit old = {proc.rlim[res].cur, proc.rlim[res].max}, nl;
    if (unew) {
        if (copy_from_user(&nl, unew, sizeof(nl)) < 0)
            return -EFAULT;
        long r = set_limit(res, &nl);
        if (r < 0)
            return r;
    }
    if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
        return -EFAULT;
    return 0;
}
