/* SPDX-License-Identifier: Apache-2.0 */
/* sigwait.c: waiting for signals: rt_sigsuspend, pause, rt_sigtimedwait, and restart_syscall. */
#include <libos/signal.h>
#include <libos/task.h>
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define SIGSET_SIZE 8
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

static long wait_for_signal(void)
{
    while (!signal_pending(current))
        waitq_wait(NULL, ~0ul, WAIT_INTERRUPTIBLE);
    return -ERESTARTNOHAND; /* EINTR after the handler; no handler: it waits again */
}

/* sys_rt_sigsuspend: Linux rt_sigsuspend(2): the mask is replaced until a handler has run. */
long sys_rt_sigsuspend(const struct shim_args *a)
{
    if (arg_u64(a, 1) != SIGSET_SIZE)
        return -EINVAL;
    u64 mask;
    if (copy_from_user(&mask, arg_uptr(a, 0), sizeof(mask)) < 0)
        return -EFAULT;
    signal_set_temp_mask(&mask);
    return wait_for_signal();
}

/* sys_pause: Linux pause(2). */
long sys_pause(const struct shim_args *a)
{
    (void)a;
    return wait_for_signal();
}

/* sys_rt_sigtimedwait: Linux rt_sigtimedwait(2): takes a signal of the set without running its handler. */
long sys_rt_sigtimedwait(const struct shim_args *a)
{
    if (arg_u64(a, 3) != SIGSET_SIZE)
        return -EINVAL;
    u64 set;
    if (copy_from_user(&set, arg_uptr(a, 0), sizeof(set)) < 0)
        return -EFAULT;
    set &= ~UNBLOCKABLE;
    u64 deadline = ~0ul;
    if (arg_uptr(a, 2)) {
        struct linux_timespec ts;
        if (copy_from_user(&ts, arg_uptr(a, 2), sizeof(ts)) < 0)
            return -EFAULT;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (s64)NSEC_PER_SEC)
            return -EINVAL;
        deadline = time_mono_ns() + (u64)ts.tv_sec * NSEC_PER_SEC + (u64)ts.tv_nsec;
    }
    struct ksiginfo info;
    int sig = signal_dequeue(current, set, &info);
    while (!sig) {
        if (time_mono_ns() >= deadline)
            return -EAGAIN;
        /* The awaited signals wake us even when blocked (Linux's real_blocked). */
        u64 blocked = current->sig.blocked;
        current->sig.blocked &= ~set;
        int w = waitq_wait(NULL, deadline, WAIT_INTERRUPTIBLE);
        current->sig.blocked = blocked;
        sig = signal_dequeue(current, set, &info);
        if (sig)
            break;
        if (w == -ETIMEDOUT)
            return -EAGAIN;
        if (signal_pending(current))
            return -EINTR; /* another signal's handler runs; sigtimedwait never restarts */
    }
    if (arg_uptr(a, 1) && copy_to_user(arg_uptr(a, 1), &info, sizeof(info)) < 0)
        return -EFAULT;
    return sig;
}

/* sys_restart_syscall: Linux restart_syscall(2): resumes a sleep a signal interrupted
 * (kernel/sched.c's task_nanosleep filled current->restart_*). */
long sys_restart_syscall(const struct shim_args *a)
{
    (void)a;
    if (!current->restart_deadline)
        return -EINTR; /* nothing to restart: Linux's do_no_restart_syscall */
    long r = task_nanosleep_restart();
    if (r != -ERESTART_RESTARTBLOCK)
        current->restart_deadline = 0;
    return r;
}
