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
