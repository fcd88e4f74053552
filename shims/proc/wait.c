/* SPDX-License-Identifier: Apache-2.0 */
/* wait.c: wait4 and waitid: Linux's status encoding, siginfo and rusage of a reaped child (kernel/proc.c waits). */
#include <libos/pidfd.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define WAIT4_OPTIONS (WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)
#define WAITID_OPTIONS (WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE)

/* struct rusage of a reaped child: CPU time (user and kernel together, reported as
 * user time) and the resident set at exit; the other fields are not counted (0). */
static long put_rusage(u64 uaddr, const struct wait_result *w)
{
    if (!uaddr)
        return 0;
    struct linux_rusage ru;
    memset(&ru, 0, sizeof(ru));
    ru.ru_utime.tv_sec = (s64)(w->usage.cpu_ns / NSEC_PER_SEC);
    ru.ru_utime.tv_usec = (s64)(w->usage.cpu_ns % NSEC_PER_SEC / 1000);
    ru.ru_maxrss = (s64)w->usage.maxrss_kb;
    return copy_to_user(uaddr, &ru, sizeof(ru));
}

/* sys_wait4: PARTIAL: exits and fatal signals; nothing is ever stopped or continued (no job control), rusage has CPU time and maxrss only. */
long sys_wait4(const struct shim_args *a)
{
    int pid = arg_int(a, 0), options = arg_int(a, 2);
    u64 ustatus = arg_uptr(a, 1), urusage = arg_uptr(a, 3);
    if ((unsigned)options & ~(unsigned)WAIT4_OPTIONS)
        return -EINVAL;
    if (pid == (int)0x80000000u)
        return -ESRCH; /* Linux: INT_MIN cannot be negated */
    int idtype = pid > 0 ? P_PID : pid == -1 ? P_ALL : P_PGID;
    int id = pid > 0 ? pid : pid < -1 ? -pid : 0; /* 0: the caller's group */
    struct wait_result w;
    long r = process_wait(idtype, id, options | WEXITED, &w);
    if (r < 0 || w.pid == 0)
        return r;
    if (ustatus && copy_to_user(ustatus, &w.status, sizeof(w.status)) < 0)
        return -EFAULT;
    if (put_rusage(urusage, &w) < 0)
        return -EFAULT;
    return w.pid;
}

/* sys_waitid: PARTIAL: P_ALL, P_PID, P_PGID, P_PIDFD; WSTOPPED/WCONTINUED accepted, never reported (no job control). */
long sys_waitid(const struct shim_args *a)
{
    int idtype = arg_int(a, 0), id = arg_int(a, 1), options = arg_int(a, 3);
    u64 uinfo = arg_uptr(a, 2), urusage = arg_uptr(a, 4);
    bool eagain = false;
    if ((unsigned)options & ~(unsigned)WAITID_OPTIONS)
        return -EINVAL;
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
        return -EINVAL;
    if (idtype == P_PID || idtype == P_PGID) {
        if (id < 0 || (idtype == P_PID && id == 0))
            return -EINVAL;
    } else if (idtype == P_PIDFD) {
        /* The pidfd's process, as P_PID; once reaped it is nobody's child (ECHILD), even
         * if its pid now names another. A nonblocking pidfd waits as WNOHANG and says
         * EAGAIN, unless WNOHANG was asked, when the child has not exited (Linux 5.10). */
        struct process *p;
        bool nonblock;
        long r = id < 0 ? -EINVAL : pidfd_target(id, &p, &id, &nonblock);
        if (r < 0)
            return r;
        if (!p)
            return -ECHILD;
        idtype = P_PID;
        if (nonblock) {
            eagain = !(options & WNOHANG);
            options |= WNOHANG;
        }
    } else if (idtype != P_ALL) {
        return -EINVAL;
    }
    struct wait_result w;
    long r = process_wait(idtype, id, options, &w);
    if (r < 0)
        return r;
    if (eagain && !w.pid)
        return -EAGAIN;
    if (uinfo) {
        /* Linux writes the whole record, zeroes included when WNOHANG found nothing. */
        struct ksiginfo info;
        memset(&info, 0, sizeof(info));
        if (w.pid) {
            info.si_signo = SIGCHLD;
            info.si_code = w.code;
            info.u.child.pid = w.pid;
            info.u.child.uid = w.uid;
            info.u.child.status = w.si_status;
        }
        if (copy_to_user(uinfo, &info, sizeof(info)) < 0)
            return -EFAULT;
    }
    if (w.pid && put_rusage(urusage, &w) < 0)
        return -EFAULT;
    return 0;
}
