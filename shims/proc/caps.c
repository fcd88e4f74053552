/* SPDX-License-Identifier: Apache-2.0 */
/* caps.c: capget/capset: the capability sets of root in a Docker container, which capset may drop. */
#include <libos/proc.h>
#include <libos/task.h>
#include <shim/util.h>

#define CAP_V1 0x19980330u /* one 32-bit word per set */
#define CAP_V2 0x20071026u
#define CAP_V3 0x20080522u /* two words per set (v2 is the same layout) */
#define CAP_SETPCAP 8

struct cap_header {
    u32 version;
    s32 pid;
};
struct cap_data {
    u32 effective, permitted, inheritable;
};

/* Linux's cap_validate_magic: the number of data words, or -EINVAL after writing the
 * version the kernel prefers into the header. */
static long words_of(u64 uhdr, u32 *words)
{
    u32 v;
    if (copy_from_user(&v, uhdr, 4) < 0)
        return -EFAULT;
    if (v == CAP_V1) {
        *words = 1;
        return 0;
    }
    if (v == CAP_V2 || v == CAP_V3) {
        *words = 2;
        return 0;
    }
    v = CAP_V3;
    return copy_to_user(uhdr, &v, 4) < 0 ? -EFAULT : -EINVAL;
}

/* sys_capget: PARTIAL: Linux capget(2) over the sets of proc.h (Docker's default set for euid 0). */
long sys_capget(const struct shim_args *a)
{
    u64 uhdr = arg_uptr(a, 0), udata = arg_uptr(a, 1);
    u32 words;
    long r = words_of(uhdr, &words);
    if (udata == 0 || r < 0)
        return udata == 0 && r == -EINVAL ? 0 : r;
    s32 pid;
    if (copy_from_user(&pid, uhdr + 4, 4) < 0)
        return -EFAULT;
    if (pid < 0)
        return -EINVAL;
    struct process *p = pid == 0 ? current_process() : process_find(pid);
    if (!p)
        return -ESRCH;
    u64 e = proc_cap_eff(p), pr = proc_cap_prm(p), in = p->cap_inh;
    struct cap_data d[2] = {{(u32)e, (u32)pr, (u32)in}, {(u32)(e >> 32), (u32)(pr >> 32), (u32)(in >> 32)}};
    return copy_to_user(udata, d, words * sizeof(d[0])) < 0 ? -EFAULT : 0;
}

static bool subset(u64 a, u64 b) { return (a & ~b) == 0; }

/* sys_capset: PARTIAL: Linux capset(2)'s rules (cap_capset); the new sets can only be
 * smaller, and what is dropped is recorded per process. */
long sys_capset(const struct shim_args *a)
{
    u64 uhdr = arg_uptr(a, 0), udata = arg_uptr(a, 1);
    u32 words;
    long r = words_of(uhdr, &words);
    if (r < 0)
        return r;
    s32 pid;
    if (copy_from_user(&pid, uhdr + 4, 4) < 0)
        return -EFAULT;
    struct process *p = current_process();
    if (pid != 0 && pid != p->pid)
        return -EPERM;
    struct cap_data d[2] = {{0, 0, 0}, {0, 0, 0}};
    if (copy_from_user(d, udata, words * sizeof(d[0])) < 0)
        return -EFAULT;
    u64 e = d[0].effective | (u64)d[1].effective << 32;
    u64 pr = d[0].permitted | (u64)d[1].permitted << 32;
    u64 in = d[0].inheritable | (u64)d[1].inheritable << 32;
    u64 old_prm = proc_cap_prm(p), old_eff = proc_cap_eff(p);
    if (!subset(in, p->cap_inh | old_prm) && !(old_eff & (1ul << CAP_SETPCAP)))
        return -EPERM;
    if (!subset(in, p->cap_inh | DOCKER_CAPS))
        return -EPERM;
    if (!subset(pr, old_prm) || !subset(e, pr))
        return -EPERM;
    p->cap_drop_prm = DOCKER_CAPS & ~pr;
    p->cap_drop_eff = DOCKER_CAPS & ~e;
    p->cap_inh = in;
    return 0;
}
