/* SPDX-License-Identifier: Apache-2.0 */
/* sigaction.c: rt_sigaction, rt_sigprocmask, rt_sigpending, sigaltstack and rt_sigreturn. */
#include <libos/regs.h>
#include <libos/signal.h>
#include <libos/task.h>
#include <shim/util.h>

#define SIGSET_SIZE 8

/* sys_rt_sigaction: Linux rt_sigaction(2). */
long sys_rt_sigaction(const struct shim_args *a)
{
    int sig = arg_int(a, 0);
    u64 uact = arg_uptr(a, 1), uold = arg_uptr(a, 2);
    if (arg_u64(a, 3) != SIGSET_SIZE)
        return -EINVAL;
    struct k_sigaction act, old;
    if (uact && copy_from_user(&act, uact, sizeof(act)) < 0)
        return -EFAULT;
    long r = signal_action(sig, uact ? &act : NULL, &old);
    if (r < 0)
        return r;
    return uold ? copy_to_user(uold, &old, sizeof(old)) : 0;
}

/* sys_rt_sigprocmask: Linux rt_sigprocmask(2). */
long sys_rt_sigprocmask(const struct shim_args *a)
{
    u64 uset = arg_uptr(a, 1), uold = arg_uptr(a, 2);
    if (arg_u64(a, 3) != SIGSET_SIZE)
        return -EINVAL;
    u64 set, old;
    if (uset && copy_from_user(&set, uset, sizeof(set)) < 0)
        return -EFAULT;
    long r = signal_mask(arg_int(a, 0), uset ? &set : NULL, &old);
    if (r < 0)
        return r;
    return uold ? copy_to_user(uold, &old, sizeof(old)) : 0;
}

/* sys_rt_sigpending: Linux rt_sigpending(2): the blocked signals pending for the thread or the process. */
long sys_rt_sigpending(const struct shim_args *a)
{
    if (arg_u64(a, 1) > SIGSET_SIZE)
        return -EINVAL;
    u64 set = (current->sig.pending | current_process()->sig.pending) & current->sig.blocked;
    return copy_to_user(arg_uptr(a, 0), &set, arg_u64(a, 1));
}

/* sys_sigaltstack: Linux sigaltstack(2), SS_AUTODISARM included. */
long sys_sigaltstack(const struct shim_args *a)
{
    u64 uss = arg_uptr(a, 0), uold = arg_uptr(a, 1);
    struct k_stack_t ss, old;
    if (uss && copy_from_user(&ss, uss, sizeof(ss)) < 0)
        return -EFAULT;
    long r = signal_altstack(uss ? &ss : NULL, &old, a->regs->rsp);
    if (r < 0)
        return r;
    return uold ? copy_to_user(uold, &old, sizeof(old)) : 0;
}

/* sys_rt_sigreturn: Linux rt_sigreturn(2): the handler's frame back into the registers (kernel/signal_frame.c). */
long sys_rt_sigreturn(const struct shim_args *a)
{
    return signal_return(a->regs);
}
