/* SPDX-License-Identifier: Apache-2.0 */
/* sched.c: scheduling calls: yield, policies and priorities, affinity on one CPU. */
#include <libos/task.h>
#include <libos/string.h>
#include <shim/util.h>

#define SCHED_OTHER 0
#define SCHED_FIFO 1
#define SCHED_RR 2
#define SCHED_BATCH 3
#define SCHED_IDLE 5
#define SCHED_DEADLINE 6
#define MEMBARRIER_CMD_QUERY 0
#define MEMBARRIER_BASIC 0x1f /* GLOBAL, GLOBAL_EXPEDITED (+register), PRIVATE_EXPEDITED (+register) */

/* pid 0 (the caller), or a thread of ours (the pid is the main thread's tid). */
static bool is_self(int pid) { return pid == 0 || pid == current_process()->pid || task_find_any(pid); }

/* sys_sched_yield: Linux sched_yield(2): the caller goes to the back of the run queue. */
long sys_sched_yield(const struct shim_args *a)
{
    schedule();
    return 0;
}

/* sys_getpriority: PARTIAL: nice 0, encoded as 20 - nice like the raw syscall. */
long sys_getpriority(const struct shim_args *a) { return 20; }
/* sys_setpriority: STUB: accepted and ignored. */
long sys_setpriority(const struct shim_args *a) { return 0; }

/* sys_sched_getparam: PARTIAL: priority 0. */
long sys_sched_getparam(const struct shim_args *a)
{
    return is_self(arg_int(a, 0)) ? shim_put_int(arg_uptr(a, 1), 0) : -ESRCH;
}

/* sys_sched_setscheduler: STUB: accepted and ignored. */
long sys_sched_setscheduler(const struct shim_args *a)
{
    int policy = arg_int(a, 1);
    if (!is_self(arg_int(a, 0)))
        return -ESRCH;
    return policy < 0 || policy > SCHED_DEADLINE || policy == 4 ? -EINVAL : 0;
}

/* sys_sched_getscheduler: PARTIAL: SCHED_OTHER. */
long sys_sched_getscheduler(const struct shim_args *a) { return is_self(arg_int(a, 0)) ? SCHED_OTHER : -ESRCH; }

/* sys_sched_get_priority_max: Linux values (99 for the real-time policies). */
long sys_sched_get_priority_max(const struct shim_args *a)
{
    int p = arg_int(a, 0);
    return p == SCHED_FIFO || p == SCHED_RR ? 99 : p == SCHED_OTHER || p == SCHED_BATCH || p == SCHED_IDLE || p == SCHED_DEADLINE ? 0 : -EINVAL;
}

/* sys_sched_get_priority_min: Linux values (1 for the real-time policies). */
long sys_sched_get_priority_min(const struct shim_args *a)
{
    int p = arg_int(a, 0);
    return p == SCHED_FIFO || p == SCHED_RR ? 1 : p == SCHED_OTHER || p == SCHED_BATCH || p == SCHED_IDLE || p == SCHED_DEADLINE ? 0 : -EINVAL;
}

/* sys_sched_getaffinity: Linux sched_getaffinity(2): CPU 0 only; returns the mask size (8). */
long sys_sched_getaffinity(const struct shim_args *a)
{
    u64 len = arg_u64(a, 1);
    if (!is_self(arg_int(a, 0)))
        return -ESRCH;
    if (len < sizeof(u64) || (len & (sizeof(u64) - 1)))
        return -EINVAL;
    u64 mask = 1;
    return copy_to_user(arg_uptr(a, 2), &mask, sizeof(mask)) < 0 ? -EFAULT : (long)sizeof(mask);
}

/* sys_sched_setaffinity: STUB: any mask containing CPU 0 is fine. */
long sys_sched_setaffinity(const struct shim_args *a)
{
    u8 first;
    if (!is_self(arg_int(a, 0)))
        return -ESRCH;
    if (arg_u64(a, 1) == 0 || copy_from_user(&first, arg_uptr(a, 2), 1) < 0)
        return -EFAULT;
    return (first & 1) ? 0 : -EINVAL;
}

/* sys_getcpu: Linux getcpu(2): CPU 0, node 0. */
long sys_getcpu(const struct shim_args *a)
{
    if (arg_uptr(a, 0) && shim_put_int(arg_uptr(a, 0), 0) < 0)
        return -EFAULT;
    if (arg_uptr(a, 1) && shim_put_int(arg_uptr(a, 1), 0) < 0)
        return -EFAULT;
    return 0;
}

/* sys_membarrier: PARTIAL: one CPU, so every barrier is already there. */
long sys_membarrier(const struct shim_args *a)
{
    int cmd = arg_int(a, 0);
    if (cmd == MEMBARRIER_CMD_QUERY)
        return MEMBARRIER_BASIC;
    return (cmd & MEMBARRIER_BASIC) && !(cmd & (cmd - 1)) ? 0 : -EINVAL;
}

#define SCHED_ATTR_SIZE_VER0 48
#define SCHED_ATTR_SIZE_VER1 56
#define PAGE 4096

struct sched_attr {
    u32 size, policy;
    u64 flags;
    s32 nice;
    u32 priority;
    u64 runtime, deadline, period;
    u32 util_min, util_max;
};

/* sys_sched_setparam: PARTIAL: every task is SCHED_OTHER, whose only priority is 0. */
long sys_sched_setparam(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    s32 prio;
    if (pid < 0 || arg_uptr(a, 1) == 0)
        return -EINVAL;
    if (copy_from_user(&prio, arg_uptr(a, 1), 4) < 0)
        return -EFAULT;
    if (!is_self(pid))
        return -ESRCH;
    return prio == 0 ? 0 : -EINVAL;
}

/* sys_sched_rr_get_interval: PARTIAL: the scheduler's 10 ms quantum (Linux 6.1 gives
 * SCHED_OTHER tasks their CFS slice, a few ms). */
long sys_sched_rr_get_interval(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    if (pid < 0)
        return -EINVAL;
    if (!is_self(pid))
        return -ESRCH;
    struct { s64 sec, nsec; } ts = {0, 10000000};
    return copy_to_user(arg_uptr(a, 1), &ts, sizeof(ts)) < 0 ? -EFAULT : 0;
}

/* sys_sched_getattr: PARTIAL: SCHED_OTHER, nice 0 (as sched_getscheduler); no utilization clamps. */
long sys_sched_getattr(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    u32 usize = arg_uint(a, 2);
    if (pid < 0 || arg_uptr(a, 1) == 0 || usize < SCHED_ATTR_SIZE_VER0 || usize > PAGE || arg_uint(a, 3))
        return -EINVAL;
    if (!is_self(pid))
        return -ESRCH;
    struct sched_attr k;
    memset(&k, 0, sizeof(k));
    k.size = MIN(usize, (u32)sizeof(k));
    k.policy = SCHED_OTHER;
    return copy_to_user(arg_uptr(a, 1), &k, k.size) < 0 ? -EFAULT : 0;
}

/* sys_sched_setattr: STUB: Linux's checks (size, E2BIG, policy, priority), then accepted
 * and ignored like sched_setscheduler: one run queue without priorities. */
long sys_sched_setattr(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    u64 uattr = arg_uptr(a, 1);
    u32 size;
    if (pid < 0 || uattr == 0 || arg_uint(a, 2))
        return -EINVAL;
    if (copy_from_user(&size, uattr, 4) < 0)
        return -EFAULT;
    if (size == 0)
        size = SCHED_ATTR_SIZE_VER0;
    if (size < SCHED_ATTR_SIZE_VER0 || size > PAGE)
        goto too_big;
    struct sched_attr k;
    memset(&k, 0, sizeof(k));
    if (copy_from_user(&k, uattr, MIN(size, (u32)sizeof(k))) < 0)
        return -EFAULT;
    for (u32 off = sizeof(k); off < size; off++) {
        u8 b;
        if (copy_from_user(&b, uattr + off, 1) < 0)
            return -EFAULT;
        if (b)
            goto too_big;
    }
    if (k.policy > SCHED_DEADLINE || k.policy == 4 || k.flags & ~0x7ful)
        return -EINVAL;
    bool rt = k.policy == SCHED_FIFO || k.policy == SCHED_RR;
    if (rt ? k.priority < 1 || k.priority > 99 : k.priority != 0)
        return -EINVAL;
    return is_self(pid) ? 0 : -ESRCH;
too_big:
    size = sizeof(struct sched_attr);
    return copy_to_user(uattr, &size, 4) < 0 ? -EFAULT : -E2BIG;
}

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_USER 3
#define IOPRIO_CLASS_RT 1
#define IOPRIO_CLASS_IDLE 3

/* The process ioprio's who names (PARTIAL: a group or user means the caller). */
static struct process *ioprio_target(int which, int who, long *err)
{
    *err = 0;
    if (which < IOPRIO_WHO_PROCESS || which > IOPRIO_WHO_USER) {
        *err = -EINVAL;
        return NULL;
    }
    struct process *p = which != IOPRIO_WHO_PROCESS || who == 0 ? current_process() : process_find(who);
    if (!p)
        *err = -ESRCH;
    return p;
}

/* sys_ioprio_get: PARTIAL: the value ioprio_set stored (0 until then, as Linux). */
long sys_ioprio_get(const struct shim_args *a)
{
    long err;
    struct process *p = ioprio_target(arg_int(a, 0), arg_int(a, 1), &err);
    return p ? p->ioprio : err;
}

/* sys_ioprio_set: STUB: Linux's checks (RT needs CAP_SYS_NICE, which Docker does not
 * give: EPERM), then stored: there is no block device to schedule. */
long sys_ioprio_set(const struct shim_args *a)
{
    u32 v = arg_uint(a, 2), cls = v >> 13, data = v & 0x1fff;
    if (cls > IOPRIO_CLASS_IDLE || data >= 8 || (cls == 0 && data != 0))
        return -EINVAL;
    if (cls == IOPRIO_CLASS_RT)
        return -EPERM;
    long err;
    struct process *p = ioprio_target(arg_int(a, 0), arg_int(a, 1), &err);
    if (!p)
        return err;
    p->ioprio = (u16)v;
    return 0;
}

/* sys_personality: PARTIAL: query, and the values Docker's default seccomp profile allows
 * (PER_LINUX, PER_LINUX32, UNAME26 and both): stored and returned, with no effect; others EPERM. */
long sys_personality(const struct shim_args *a)
{
    u32 v = arg_uint(a, 0), old = current_process()->persona;
    if (v == 0xffffffffu)
        return old;
    if (v != 0 && v != 8 && v != 0x20000 && v != 0x20008)
        return -EPERM;
    current_process()->persona = v;
    return old;
}

/* sys_mq_getsetattr: PARTIAL: mq_open is not supported, so no fd is a message queue:
 * Linux's checks of the new attributes, then EBADF as Linux gives for any other fd. */
long sys_mq_getsetattr(const struct shim_args *a)
{
    struct { s64 flags, maxmsg, msgsize, curmsgs, pad[4]; } attr;
    if (arg_uptr(a, 1)) {
        if (copy_from_user(&attr, arg_uptr(a, 1), sizeof(attr)) < 0)
            return -EFAULT;
        if (attr.flags & ~(s64)04000) /* O_NONBLOCK */
            return -EINVAL;
    }
    return -EBADF;
}
