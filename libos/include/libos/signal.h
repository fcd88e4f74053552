/* SPDX-License-Identifier: Apache-2.0 */
/* signal.h: signal numbers, siginfo, per-thread and per-process signal state, sending and delivery (kernel/signal.c).
 *
 * Interface (docs/tasks.md, "Signals"):
 *   State: struct task_signals lives in every struct task (task.h), struct
 *   proc_signals in struct process (proc.h); only signal.c reads or writes them.
 *   Sending: signal_send_thread()/signal_send_process() queue a signal and
 *   task_kick() the thread that will take it. Faults: signal_force_fault() from
 *   trap.c. Delivery: signal_deliver() on the way back to ring 3 (task.h).
 *   signal_fatal() ends the VM as Linux kills a process with a core-dumping signal.
 */
#ifndef LIBOS_SIGNAL_H
#define LIBOS_SIGNAL_H

#include <libos/types.h>

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGURG 23
#define SIGSTKFLT 16
#define SIGXCPU 24
#define SIGXFSZ 25
#define SIGVTALRM 26
#define SIGPROF 27
#define SIGWINCH 28
#define SIGIO 29
#define SIGPWR 30
#define SIGSYS 31
#define SIGRTMIN 32
#define NSIG 64

#define SIGBIT(s) (1ul << ((s) - 1))

/* sa_flags */
#define SA_NOCLDSTOP 0x00000001u
#define SA_NOCLDWAIT 0x00000002u
#define SA_SIGINFO 0x00000004u
#define SA_RESTORER 0x04000000u
#define SA_ONSTACK 0x08000000u
#define SA_RESTART 0x10000000u
#define SA_NODEFER 0x40000000u
#define SA_RESETHAND 0x80000000u

/* sigaltstack flags */
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)

#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

#define SIG_DFL 0ul
#define SIG_IGN 1ul

/* Linux's struct sigaction as the kernel sees it (x86-64). */
struct k_sigaction {
    u64 handler;
    u64 flags;
    u64 restorer;
    u64 mask;
};
_Static_assert(sizeof(struct k_sigaction) == 32, "x86-64 kernel sigaction");

struct k_stack_t {
    u64 sp;
    s32 flags;
    s32 pad;
    u64 size;
};
_Static_assert(sizeof(struct k_stack_t) == 24, "x86-64 stack_t");

/* Linux's siginfo_t for x86-64: 128 bytes; the union is filled per si_code. */
struct ksiginfo {
    s32 si_signo, si_errno, si_code;
    s32 pad0;
    union {
        struct { s32 pid; u32 uid; u64 value; } kill;             /* SI_USER, SI_QUEUE, SI_TKILL */
        struct { s32 tid; s32 overrun; u64 value; } timer;        /* SI_TIMER */
        struct { u64 addr; u16 addr_lsb; } fault;                 /* SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP */
        struct { s32 pid; u32 uid; s32 status; s32 pad; u64 utime, stime; } child; /* SIGCHLD */
        struct { s64 band; s32 fd; } poll;                        /* SIGIO */
        u8 bytes[112];
    } u;
};
_Static_assert(sizeof(struct ksiginfo) == 128, "siginfo_t");

/* si_code values. */
#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_QUEUE -1
#define SI_TIMER -2
#define SI_TKILL -6
#define SI_MESGQ -3
#define SI_ASYNCIO -4
#define SI_SIGIO -5
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define BUS_ADRERR 2
#define FPE_INTDIV 1
#define ILL_ILLOPN 2
#define TRAP_BRKPT 1

/* Per-thread signal state (owned by signal.c). */
struct task_signals {
    u64 blocked;                /* the thread's mask */
    u64 pending;                /* thread-directed pending set (tkill, faults, SIGEV_THREAD_ID) */
    struct k_stack_t altstack;  /* sigaltstack */
    u64 saved_mask;             /* sigsuspend/ppoll/pselect6: restored after delivery */
    bool restore_mask;
    void *queue;                /* signal.c's queued siginfos for this thread */
    const char *fault_cause;    /* the CPU exception behind a queued fault signal (crash report) */
};

/* Per-process signal state (owned by signal.c). */
struct proc_signals {
    struct k_sigaction actions[NSIG + 1];
    u64 pending;                /* process-directed pending set (kill, alarm, host signals) */
    void *queue;                /* signal.c's queued siginfos for the process */
};

struct task;
struct process;
struct regs;

/* A new thread: mask inherited from parent (NULL for the first thread), nothing pending, no altstack. */
void signal_task_init(struct task *t, const struct task *parent);
/* A thread is freed: drop the siginfos still queued for it. */
void signal_task_free(struct task *t);
/* A new process's dispositions: all SIG_DFL. */
void signal_process_init(struct process *p);
/* fork: the child gets the parent's dispositions and nothing pending. */
void signal_process_copy(struct process *child, const struct process *parent);
/* A reaped process: drop the siginfos still queued for it. */
void signal_process_free(struct process *p);
/* t has a pending signal its mask does not block (thread or process set). */
bool signal_pending(const struct task *t);
/* Queue info->si_signo for one thread / the process (Linux's choice of thread:
 * one that does not block it, else it stays pending). 0, or -EINVAL/-EAGAIN. */
long signal_send_thread(struct task *t, const struct ksiginfo *info);
long signal_send_process(struct process *p, const struct ksiginfo *info);
/* A CPU exception in ring 3 (trap.c): forced as Linux's force_sig_fault: a blocked
 * or ignored fault signal kills the process with its crash report. */
void signal_force_fault(struct regs *r, int sig, int code, u64 addr, const char *cause);
/* On the way back to ring 3: take the next deliverable signal, run its default
 * action or build the handler's frame in r; syscall restart decisions happen here. */
void signal_deliver(struct regs *r);

/* Take the lowest pending signal in mask for t (thread set first, then the
 * process set) without running its action: signalfd reads, rt_sigtimedwait.
 * Returns the signal number with *out filled, or 0 when none is pending. */
int signal_dequeue(struct task *t, u64 mask, struct ksiginfo *out);
/* The signals in mask pending for t (its thread set and the process set), without
 * taking any: what signal_dequeue(t, mask, ...) would find (signalfd's poll). */
u64 signal_pending_mask(const struct task *t, u64 mask);

/* 0 or -EINVAL (bad number, SIGKILL/SIGSTOP change). act/old may be NULL. */
long signal_action(int sig, const struct k_sigaction *act, struct k_sigaction *old);
/* how = SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK; set/old may be NULL. */
long signal_mask(int how, const u64 *set, u64 *old);
long signal_altstack(const struct k_stack_t *ss, struct k_stack_t *old, u64 user_sp);
/* A signal sent to ourselves (kill/tgkill/raise): 0 if ignored or blocked, else terminates. */
long signal_send_self(int sig);

/* Ring 3 faulted with sig (trap.c): true when a handler will run for it, so the
 * fault becomes signal_force_fault(); false: trap.c writes the crash report. */
bool signal_fault_has_handler(int sig);
/* sigsuspend/ppoll/pselect6: *mask replaces the thread's mask while it waits; the
 * old one comes back on the way out: after the handler's frame captured it when
 * the syscall was interrupted, at once when it returned normally (as Linux). */
void signal_set_temp_mask(const u64 *mask);
/* rt_sigreturn: restore the frame at r->rsp - 8 into r; kills on a forged frame. */
long signal_return(struct regs *r);

/* The crash report of a fatal fault (arch/x86_64/trap.c): the fault line, the
 * register dump of r, the VMA list, then signal_fatal(). */
__noreturn void signal_crash_report(const struct regs *r, int sig, u64 addr, const char *cause);
/* execve (exec/execve.c): dispositions and t's altstack as a new program gets them. */
void signal_exec_reset(struct task *t);


/* Kill the process with sig: pid 1 (the application) with marker D2U:CRASH, exit
 * value 128+sig; any other process with one log line (pid, comm, signal, address). */
__noreturn void signal_fatal(int sig, u64 addr, u64 rip, const char *cause);

#endif /* LIBOS_SIGNAL_H */
