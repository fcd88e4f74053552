/* SPDX-License-Identifier: Apache-2.0 */
/* signal.c: signal state, sending, dequeuing and the delivery decision on the way back to ring 3 (docs/signals.md).
 *
 * Each thread has a mask and a pending set, the process a pending set and the
 * dispositions. Every pending signal has a queued siginfo: one per standard
 * signal (a second one merges into the first, as Linux), any number (bounded)
 * per real-time signal. Delivery runs in signal_deliver() from the return-to-user
 * work: default actions here, the handler's frame in signal_frame.c.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/task.h>

#include "signal_internal.h"

#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
/* Linux takes these first (a fault must be handled before anything else). */
#define SYNCHRONOUS (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | \
                     SIGBIT(SIGFPE) | SIGBIT(SIGSYS))
#define DEFAULT_IGNORE (SIGBIT(SIGCHLD) | SIGBIT(SIGURG) | SIGBIT(SIGWINCH) | SIGBIT(SIGCONT))
#define DEFAULT_STOP (SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU))
#define DEFAULT_CORE (SIGBIT(SIGQUIT) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGABRT) | \
                      SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGSEGV) | SIGBIT(SIGXCPU) |   \
                      SIGBIT(SIGXFSZ) | SIGBIT(SIGSYS))
/* Linux's RLIMIT_SIGPENDING analogue: queued siginfos per process. */
#define QUEUE_MAX 1024
#define NR_RESTART_SYSCALL 219

struct sigq {
    struct sigq *next;
    struct ksiginfo info;
};

static int queued_count;

static void take(u64 *pending, void **queue, int sig, struct ksiginfo *out);

static const char *const signal_names[32] = {
    "0",       "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",  "SIGTRAP", "SIGABRT",
    "SIGBUS",  "SIGFPE",  "SIGKILL",   "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE",
    "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
    "SIGTTIN", "SIGTTOU", "SIGURG",    "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
    "SIGWINCH", "SIGIO",  "SIGPWR",    "SIGSYS",
};

const char *signal_name(int sig) { return sig > 0 && sig < 32 ? signal_names[sig] : "SIGRT"; }

void signal_task_init(struct task *t, const struct task *parent)
{
    memset(&t->sig, 0, sizeof(t->sig));
    t->sig.altstack.flags = SS_DISABLE;
    if (parent)
        t->sig.blocked = parent->sig.blocked;
}

void signal_task_free(struct task *t)
{
    struct ksiginfo drop;
    while (t->sig.pending)
        take(&t->sig.pending, &t->sig.queue, __builtin_ctzl(t->sig.pending) + 1, &drop);
}

void signal_process_init(struct process *p)
{
    memset(&p->sig, 0, sizeof(p->sig));
}

void signal_process_copy(struct process *child, const struct process *parent)
{
    memset(&child->sig, 0, sizeof(child->sig)); /* nothing pending in a fork child */
    memcpy(child->sig.actions, parent->sig.actions, sizeof(child->sig.actions));
}

void signal_process_free(struct process *p)
{
    struct ksiginfo drop;
    while (p->sig.pending)
        take(&p->sig.pending, &p->sig.queue, __builtin_ctzl(p->sig.pending) + 1, &drop);
}

static u64 deliverable(const struct task *t)
{
    return (t->sig.pending | t->process->sig.pending) & ~t->sig.blocked;
}

/* Another thread of t's process is in execve: t must end (as Linux's SIGKILL of de_thread). */
static bool exec_doomed(const struct task *t) { return t->process->exec_task && t->process->exec_task != t; }

bool signal_pending(const struct task *t) { return deliverable(t) != 0 || exec_doomed(t); }

static bool sig_ignored(const struct process *p, int sig)
{
    u64 h = p->sig.actions[sig].handler;
    return h == SIG_IGN || (h == SIG_DFL && (DEFAULT_IGNORE & SIGBIT(sig)));
}

/* Queue info on (pending, queue). 0, or -EAGAIN when a real-time signal from a
 * program (sigqueue) finds the queue full. */
static long enqueue(u64 *pending, void **queue, const struct ksiginfo *info)
{
    int sig = info->si_signo;
    if (sig < SIGRTMIN && (*pending & SIGBIT(sig)))
        return 0; /* a standard signal is pending at most once */
    struct sigq *q = queued_count < QUEUE_MAX ? kmalloc(sizeof(*q)) : NULL;
    if (!q) {
        /* Linux: a full queue refuses sigqueue's real-time signals; anything
         * else is still marked pending, its details lost. */
        if (sig >= SIGRTMIN && info->si_code != SI_USER && info->si_code != SI_KERNEL)
            return -EAGAIN;
    } else {
        queued_count++;
        q->next = NULL;
        q->info = *info;
        struct sigq **pp = (struct sigq **)queue;
        while (*pp)
            pp = &(*pp)->next;
        *pp = q;
    }
    *pending |= SIGBIT(sig);
    return 0;
}

static long check_sig(const struct ksiginfo *info)
{
    return info->si_signo < 1 || info->si_signo > NSIG ? -EINVAL : 0;
}

long signal_send_thread(struct task *t, const struct ksiginfo *info)
{
    long r = check_sig(info);
    if (r < 0)
        return r;
    int sig = info->si_signo;
    if (sig_ignored(t->process, sig) && !(t->sig.blocked & SIGBIT(sig)))
        return 0;
    r = enqueue(&t->sig.pending, &t->sig.queue, info);
    if (r < 0)
        return r;
    if (!(t->sig.blocked & SIGBIT(sig)))
        task_kick(t);
    readiness_changed(); /* signalfd readers */
    return 0;
}

long signal_send_process(struct process *p, const struct ksiginfo *info)
{
    long r = check_sig(info);
    if (r < 0)
        return r;
    int sig = info->si_signo;
    /* Linux's choice of thread (complete_signal): the thread the pid names -- the
     * main thread -- if it does not block it, else the current one if it takes it,
     * else the first that does not block it; when all block it, it waits in the
     * process set. A worker's kill(getpid()) thus interrupts main's sleep, as on Linux. */
    struct task *target = NULL;
    for (struct task *t = p->threads; t; t = t->thread_next) {
        if (t->state == TASK_DEAD || (t->sig.blocked & SIGBIT(sig)))
            continue;
        if (t->tid == p->pid) {
            target = t;
            break;
        }
        if (!target || t == current)
            target = t; /* current is never the idle task: that is in no thread list */
    }
    if (sig_ignored(p, sig) && target)
        return 0;
    r = enqueue(&p->sig.pending, &p->sig.queue, info);
    if (r < 0)
        return r;
    if (target)
        task_kick(target);
    readiness_changed();
    return 0;
}

/* Remove the first queued siginfo of sig from (pending, queue) into *out. */
static void take(u64 *pending, void **queue, int sig, struct ksiginfo *out)
{
    struct sigq **pp = (struct sigq **)queue, *found = NULL;
    bool more = false;
    for (; *pp;) {
        struct sigq *q = *pp;
        if (q->info.si_signo == sig) {
            if (found) {
                more = true;
                break;
            }
            found = q;
            *pp = q->next;
            continue;
        }
        pp = &q->next;
    }
    if (found) {
        *out = found->info;
        kfree(found);
        queued_count--;
    } else {
        /* Queue overflowed when it was sent: details are lost, as on Linux. */
        memset(out, 0, sizeof(*out));
        out->si_signo = sig;
        out->si_code = SI_USER;
    }
    if (!more)
        *pending &= ~SIGBIT(sig);
}

static int lowest(u64 set)
{
    if (!set)
        return 0;
    u64 sync = set & SYNCHRONOUS;
    return __builtin_ctzl(sync ? sync : set) + 1;
}

int signal_dequeue(struct task *t, u64 mask, struct ksiginfo *out)
{
    int sig = lowest(t->sig.pending & mask);
    if (sig)
        take(&t->sig.pending, &t->sig.queue, sig, out);
    else if ((sig = lowest(t->process->sig.pending & mask)))
        take(&t->process->sig.pending, &t->process->sig.queue, sig, out);
    if (sig && out->si_code == SI_TIMER)
        timers_dequeued(out); /* the overrun count is taken at delivery, as Linux */
    return sig;
}

/* signalfd's poll: what signal_dequeue() would find, without taking it. */
u64 signal_pending_mask(const struct task *t, u64 mask) { return (t->sig.pending | t->process->sig.pending) & mask; }

long signal_action(int sig, const struct k_sigaction *act, struct k_sigaction *old)
{
    if (sig < 1 || sig > NSIG)
        return -EINVAL;
    if (act && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    struct process *p = current_process();
    if (old)
        *old = p->sig.actions[sig];
    if (act) {
        p->sig.actions[sig] = *act;
        p->sig.actions[sig].mask &= ~UNBLOCKABLE;
        /* POSIX: setting an ignoring disposition discards the pending instances. */
        if (sig_ignored(p, sig)) {
            struct ksiginfo drop;
            while (p->sig.pending & SIGBIT(sig))
                take(&p->sig.pending, &p->sig.queue, sig, &drop);
            for (struct task *t = p->threads; t; t = t->thread_next)
                while (t->sig.pending & SIGBIT(sig))
                    take(&t->sig.pending, &t->sig.queue, sig, &drop);
        }
    }
    return 0;
}

/* A new mask for current; a signal it unblocks is delivered on the way out. */
void signal_set_blocked(u64 mask)
{
    current->sig.blocked = mask & ~UNBLOCKABLE;
    if (signal_pending(current))
        current->work |= TASK_WORK_SIGNAL;
}

long signal_mask(int how, const u64 *set, u64 *old)
{
    u64 blocked = current->sig.blocked;
    if (old)
        *old = blocked;
    if (!set)
        return 0;
    switch (how) {
    case SIG_BLOCK:
        blocked |= *set;
        break;
    case SIG_UNBLOCK:
        blocked &= ~*set;
        break;
    case SIG_SETMASK:
        blocked = *set;
        break;
    default:
        return -EINVAL;
    }
    signal_set_blocked(blocked);
    return 0;
}

void signal_set_temp_mask(const u64 *mask)
{
    current->sig.saved_mask = current->sig.blocked;
    current->sig.restore_mask = true;
    current->sig.blocked = *mask & ~UNBLOCKABLE;
    current->work |= TASK_WORK_SIGNAL; /* signal_deliver() puts the old mask back */
}

bool signal_on_altstack(u64 sp)
{
    const struct k_stack_t *a = &current->sig.altstack;
    return !(a->flags & SS_DISABLE) && a->size && sp - a->sp <= a->size && sp > a->sp;
}

long signal_altstack(const struct k_stack_t *ss, struct k_stack_t *old, u64 user_sp)
{
    struct k_stack_t *a = &current->sig.altstack;
    bool on = signal_on_altstack(user_sp);
    if (old) {
        *old = *a;
        if (on)
            old->flags = SS_ONSTACK;
        else if (!a->size)
            old->flags = SS_DISABLE; /* never set: a zeroed task is "disabled", as Linux's sas_ss_flags() */
    }
    if (!ss)
        return 0;
    if (on)
        return -EPERM;
    int mode = ss->flags & ~(int)SS_AUTODISARM;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
        return -EINVAL;
    if (mode == SS_DISABLE) {
        *a = (struct k_stack_t){.flags = SS_DISABLE};
        return 0;
    }
    if (ss->size < MINSIGSTKSZ)
        return -ENOMEM;
    *a = *ss;
    a->flags = ss->flags & (int)SS_AUTODISARM;
    return 0;
}

long signal_send_self(int sig)
{
    if (sig == 0)
        return 0;
    if (sig < 0 || sig > NSIG)
        return -EINVAL;
    struct ksiginfo info = {.si_signo = sig, .si_code = SI_USER};
    info.u.kill.pid = current_process()->pid;
    info.u.kill.uid = current_process()->uid;
    return signal_send_process(current_process(), &info);
}

__noreturn void signal_fatal(int sig, u64 addr, u64 rip, const char *cause)
{
    struct process *p = current_process();
    if (p->pid == 1)
        kexit_crash(sig, addr, rip, cause); /* the application's crash: the VM's end */
    /* Another process: one line, then it dies as Linux kills it. No core file is
     * written; the wait status says "dumped" when RLIMIT_CORE allows one. */
    bool core = (DEFAULT_CORE & SIGBIT(sig)) && p->rlim[RLIMIT_CORE].cur != 0;
    if (!p->exiting)
        kinfo("process %d (%s) killed by signal %d (%s) at address 0x%lx rip 0x%lx (%s)", p->pid, p->comm,
              sig, signal_name(sig), addr, rip, cause);
    process_exit_signal(sig, core);
}

__noreturn static void terminate(int sig)
{
    if (current_process()->pid == 1 && !current_process()->exiting)
        kinfo("terminated by signal %d (%s)", sig, signal_name(sig));
    process_exit_signal(sig, false);
}

bool signal_fault_has_handler(int sig)
{
    u64 h = current_process()->sig.actions[sig].handler;
    return h != SIG_DFL && h != SIG_IGN && !(current->sig.blocked & SIGBIT(sig));
}

void signal_force_fault(struct regs *r, int sig, int code, u64 addr, const char *cause)
{
    if (!signal_fault_has_handler(sig))
        signal_crash_report(r, sig, addr, cause); /* Linux: a blocked or ignored fault kills */
    struct ksiginfo info = {.si_signo = sig, .si_code = code};
    info.u.fault.addr = addr;
    current->sig.fault_cause = cause;
    enqueue(&current->sig.pending, &current->sig.queue, &info);
    current->work |= TASK_WORK_SIGNAL;
}

/* The syscall that r returns from ends with -ERESTART*: EINTR or run it again. */
static void restart_syscall(struct regs *r, const struct k_sigaction *ka)
{
    long ret = (long)r->rax;
    switch (ret) {
    case -ERESTART_RESTARTBLOCK:
        if (ka) {
            r->rax = (u64)-EINTR;
            break;
        }
        r->rax = NR_RESTART_SYSCALL;
        r->rip -= 2;
        break;
    case -ERESTARTNOHAND:
        if (ka) {
            r->rax = (u64)-EINTR;
            break;
        }
        r->rax = (u64)current->syscall_nr;
        r->rip -= 2;
        break;
    case -ERESTARTSYS:
        if (ka && !(ka->flags & SA_RESTART)) {
            r->rax = (u64)-EINTR;
            break;
        }
        __attribute__((fallthrough));
    case -ERESTARTNOINTR:
        r->rax = (u64)current->syscall_nr; /* SYSCALL is 2 bytes (0f 05): run it again */
        r->rip -= 2;
        break;
    default:
        break;
    }
}

static bool is_restart_code(long ret)
{
    return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
           ret == -ERESTART_RESTARTBLOCK;
}

/* The default action of sig, which is being delivered to current. */
static void default_action(const struct regs *r, int sig, const struct ksiginfo *info)
{
    u64 bit = SIGBIT(sig);
    if (bit & DEFAULT_IGNORE)
        return;
    if (bit & DEFAULT_STOP) {
        /* No job control: nothing could send SIGCONT, so stopping would hang the
         * VM forever. Linux would stop the process (docs/signals.md). */
        kinfo("signal %d (%s) would stop the process; there is no job control: ignored", sig,
              signal_name(sig));
        return;
    }
    if (bit & DEFAULT_CORE) {
        if (current->sig.fault_cause) /* a fault whose handler went away before delivery */
            signal_crash_report(r, sig, info->u.fault.addr, current->sig.fault_cause);
        signal_fatal(sig, 0, r->rip, "signal");
    }
    terminate(sig);
}

void signal_deliver(struct regs *r)
{
    current->work &= ~TASK_WORK_SIGNAL;
    if (exec_doomed(current))
        task_exit(0); /* the exec'ing thread waits for this (exec/dethread.c) */
    bool in_syscall = r->vector == REGS_VECTOR_SYSCALL && current->syscall_nr >= 0;
    /* A temporary mask (sigsuspend, ppoll) stays for the delivery only when the
     * syscall was interrupted; a normal return puts the old one back first. */
    if (current->sig.restore_mask && !(in_syscall && is_restart_code((long)r->rax))) {
        current->sig.restore_mask = false;
        current->sig.blocked = current->sig.saved_mask;
    }
again:
    for (;;) {
        struct ksiginfo info;
        int sig = signal_dequeue(current, ~current->sig.blocked, &info);
        if (!sig)
            break;
        struct k_sigaction *ka = &current_process()->sig.actions[sig];
        if (sig == SIGKILL)
            terminate(sig);
        if (ka->handler == SIG_IGN)
            continue;
        if (ka->handler == SIG_DFL) {
            default_action(r, sig, &info);
            continue;
        }
        struct k_sigaction act = *ka;
        if (in_syscall)
            restart_syscall(r, &act);
        in_syscall = false;
        u64 oldmask = current->sig.restore_mask ? current->sig.saved_mask : current->sig.blocked;
        current->sig.restore_mask = false;
        if (signal_frame_setup(r, sig, &info, &act, oldmask) < 0) {
            /* No room for the frame (stack overflow without an altstack): Linux
             * forces SIGSEGV with its default action. */
            kinfo("signal %d: cannot write the signal frame below rsp 0x%lx", sig, r->rsp);
            signal_crash_report(r, SIGSEGV, r->rsp, "signal-frame");
        }
        current->sig.fault_cause = NULL;
        u64 blocked = current->sig.blocked | act.mask;
        if (!(act.flags & SA_NODEFER))
            blocked |= SIGBIT(sig);
        current->sig.blocked = blocked & ~UNBLOCKABLE;
        if (act.flags & SA_RESETHAND)
            ka->handler = SIG_DFL;
        /* Further deliverable signals stack their frames on top, as on Linux. */
    }
    if (in_syscall)
        restart_syscall(r, NULL);
    in_syscall = false;
    if (current->sig.restore_mask) {
        current->sig.restore_mask = false;
        current->sig.blocked = current->sig.saved_mask;
        if (signal_pending(current))
            goto again; /* the old mask lets a pending signal through */
    }
    if (r->vector == REGS_VECTOR_SYSCALL)
        current->syscall_nr = -1; /* restart decided once */
}

/* execve: handled signals go back to SIG_DFL, ignored ones stay ignored (flags, masks
 * and restorers cleared, as Linux's flush_signal_handlers); the mask and the pending
 * signals stay; the alternate stack is gone. */
void signal_exec_reset(struct task *t)
{
    struct process *p = t->process;
    for (int sig = 1; sig <= NSIG; sig++) {
        struct k_sigaction *ka = &p->sig.actions[sig];
        *ka = (struct k_sigaction){.handler = ka->handler == SIG_IGN ? SIG_IGN : SIG_DFL};
    }
    t->sig.altstack = (struct k_stack_t){.flags = SS_DISABLE};
    t->sig.restore_mask = false;
    t->sig.fault_cause = NULL;
}
