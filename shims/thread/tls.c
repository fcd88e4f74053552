/* SPDX-License-Identifier: Apache-2.0 */
/* tls.c: arch_prctl (FS/GS base), set_tid_address and the robust-list registration. */
#include <libos/cpu.h>
#include <libos/memlayout.h>
#include <libos/task.h>
#include <shim/util.h>

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define ROBUST_LIST_HEAD_SIZE 24

/* sys_arch_prctl: PARTIAL: FS/GS base get and set; other codes -> EINVAL. */
long sys_arch_prctl(const struct shim_args *a)
{
    int code = arg_int(a, 0);
    u64 addr = arg_u64(a, 1);
    switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
        if (addr >= USER_TOP)
            return -EPERM; /* Linux: a base outside the user half is refused */
        if (code == ARCH_SET_FS)
            cpu_set_user_fs(addr);
        else
            cpu_set_user_gs(addr);
        return 0;
    case ARCH_GET_FS:
        return shim_put_u64(addr, cpu_user_fs());
    case ARCH_GET_GS:
        return shim_put_u64(addr, cpu_user_gs());
    default:
        return -EINVAL;
    }
}

/* sys_set_tid_address: Linux set_tid_address(2): the word cleared and woken at thread exit; returns the tid. */
long sys_set_tid_address(const struct shim_args *a)
{
    current->clear_child_tid = arg_uptr(a, 0);
    return current->tid;
}

/* sys_set_robust_list: Linux set_robust_list(2): walked at thread exit (kernel/task.c). */
long sys_set_robust_list(const struct shim_args *a)
{
    if (arg_u64(a, 1) != ROBUST_LIST_HEAD_SIZE)
        return -EINVAL;
    current->robust_list = arg_uptr(a, 0);
    current->robust_len = arg_u64(a, 1);
    return 0;
}

/* sys_get_robust_list: Linux get_robust_list(2) for a thread of ours (0: the caller). */
long sys_get_robust_list(const struct shim_args *a)
{
    int tid = arg_int(a, 0);
    struct task *t = tid == 0 ? current : task_find(tid);
    if (!t)
        return -ESRCH;
    if (shim_put_u64(arg_uptr(a, 1), t->robust_list) < 0 || shim_put_u64(arg_uptr(a, 2), t->robust_len) < 0)
        return -EFAULT;
    return 0;
}
