/* SPDX-License-Identifier: Apache-2.0 */
/* kill.c: kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo and the pidfd calls to processes and threads (kernel/proc.c finds the targets). */
#include <libos/pidfd.h>
#include <libos/proc.h>
#include <libos/signal.h>
#include <libos/task.h>
#include <shim/util.h>

static long sig_ok(int sig) { return sig < 0 || sig > NSIG ? -EINVAL : 0; }

static struct ksiginfo user_info(int sig, int code)
{
    struct ksiginfo info = {.si_signo = sig, .si_code = code};
    info.u.kill.pid = current_process()->pid;
    info.u.kill.uid = current_process()->uid;
    return info;
}

/* sys_kill: Linux kill(2): a pid, 0 (our group), -1 (all but pid 1 and us), -pgid. */
long sys_kill(const struct shim_args *a)
{
    int pid = arg_int(a, 0), sig = arg_int(a, 1);
    if (sig_ok(sig) < 0)
        return -EINVAL;
    if (pid == (int)0x80000000u)
        return -ESRCH; /* Linux: INT_MIN has no group */
    struct ksiginfo info = user_info(sig, SI_USER);
    return process_kill(pid, &info);
}

static long to_thread(int tgid, int tid, int sig)
{
    if (tid <= 0 || sig_ok(sig) < 0)
        return -EINVAL;
    struct task *t = task_find_any(tid);
    if (!t || (tgid >= 0 && tgid != t->process->pid))
        return -ESRCH;
    if (sig == 0 || t->process->exiting)
        return 0;
    struct ksiginfo info = user_info(sig, SI_TKILL);
    return signal_send_thread(t, &info);
}

/* sys_tkill: Linux tkill(2). */
long sys_tkill(const struct shim_args *a)
{
    return to_thread(-1, arg_int(a, 0), arg_int(a, 1));
}

/* sys_tgkill: Linux tgkill(2). */
long sys_tgkill(const struct shim_args *a)
{
    int tgid = arg_int(a, 0);
    if (tgid <= 0)
        return -EINVAL;
    return to_thread(tgid, arg_int(a, 1), arg_int(a, 2));
}

static long get_info(u64 uinfo, int sig, struct ksiginfo *info)
{
    if (copy_from_user(info, uinfo, sizeof(*info)) < 0)
        return -EFAULT;
    info->si_signo = sig;
    return 0;
}

/* sys_rt_sigqueueinfo: Linux rt_sigqueueinfo(2). */
long sys_rt_sigqueueinfo(const struct shim_args *a)
{
    int pid = arg_int(a, 0), sig = arg_int(a, 1);
    struct ksiginfo info;
    if (sig_ok(sig) < 0)
        return -EINVAL;
    if (get_info(arg_uptr(a, 2), sig, &info) < 0)
        return -EFAULT;
    struct process *p = pid > 0 ? process_find(pid) : NULL;
    if (!p)
        return -ESRCH;
    if (p != current_process() && (info.si_code >= 0 || info.si_code == SI_TKILL))
        return -EPERM; /* Linux: only the kernel may claim those codes for another process */
    if (!sig || p->state != PROC_ALIVE || p->exiting)
        return 0;
    return signal_send_process(p, &info);
}

/* sys_rt_tgsigqueueinfo: Linux rt_tgsigqueueinfo(2). */
long sys_rt_tgsigqueueinfo(const struct shim_args *a)
{
    int tgid = arg_int(a, 0), tid = arg_int(a, 1), sig = arg_int(a, 2);
    struct ksiginfo info;
    if (tgid <= 0 || tid <= 0 || sig_ok(sig) < 0)
        return -EINVAL;
    if (get_info(arg_uptr(a, 3), sig, &info) < 0)
        return -EFAULT;
    struct task *t = task_find_any(tid);
    if (!t || tgid != t->process->pid)
        return -ESRCH;
    if (t->process != current_process() && (info.si_code >= 0 || info.si_code == SI_TKILL))
        return -EPERM;
    return sig && !t->process->exiting ? signal_send_thread(t, &info) : 0;
}

/* sys_pidfd_send_signal: Linux pidfd_send_signal(2): kill(2) or rt_sigqueueinfo(2) to the
 * process a pidfd names (ESRCH once it has been reaped), in Linux's order of checks. */
long sys_pidfd_send_signal(const struct shim_args *a)
{
    int sig = arg_int(a, 1);
    if (arg_uint(a, 3))
        return -EINVAL;
    struct process *p;
    int pid;
    long r = pidfd_target(arg_int(a, 0), &p, &pid, NULL);
    if (r < 0)
        return r;
    struct ksiginfo info;
    if (arg_uptr(a, 2)) {
        if (copy_from_user(&info, arg_uptr(a, 2), sizeof(info)) < 0)
            return -EFAULT;
        if (info.si_signo != sig)
            return -EINVAL;
        if (p != current_process() && (info.si_code >= 0 || info.si_code == SI_TKILL))
            return -EPERM; /* only the kernel may claim those codes for another process */
    } else {
        info = user_info(sig, SI_USER);
    }
    if (sig_ok(sig) < 0)
        return -EINVAL;
    if (!p)
        return -ESRCH;
    return process_kill(pid, &info);
}

/* sys_pidfd_open: Linux pidfd_open(2): a thread-group leader (a zombie too), PIDFD_NONBLOCK. */
long sys_pidfd_open(const struct shim_args *a)
{
    int pid = arg_int(a, 0);
    unsigned flags = arg_uint(a, 1);
    if (flags & ~(unsigned)O_NONBLOCK)
        return -EINVAL; /* PIDFD_NONBLOCK is O_NONBLOCK */
    if (pid <= 0)
        return -EINVAL;
    struct process *p = process_find(pid);
    if (!p)
        return task_find_any(pid) ? -EINVAL : -ESRCH; /* a thread's tid is not a process */
    return pidfd_create(p, (int)flags);
}
