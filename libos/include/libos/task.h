/* SPDX-License-Identifier: Apache-2.0 */
/* task.h: threads (struct task), the run queue on one vCPU, wait queues and the return-to-user work (docs/tasks.md).
 *
 * Layering: arch -> mm -> tasks -> vfs -> fs/net -> shims. This header may include
 * arch, mm, proc.h and signal.h; nothing below it includes it.
 *
 * Rules every caller relies on:
 *   - The kernel is not preemptible and runs with interrupts off. Interrupts are
 *     taken only in ring 3 and while the idle task halts, so a condition checked
 *     in the kernel cannot change before the caller blocks: no lost wake-ups.
 *   - A blocking syscall blocks only its thread: it sleeps on a wait queue with a
 *     deadline, re-checks its condition when woken, and gives up with -EINTR when
 *     the wait is interruptible and a signal is pending (signal_pending()). The
 *     syscall then returns the ERESTART* code Linux uses for it (errno.h); the
 *     signal code turns that into EINTR or a restart on the way out (signal.c).
 *   - Before every return to ring 3 (syscall, interrupt, exception) the exit path
 *     calls task_return_work() when current->work is non-zero: it reschedules when
 *     TASK_WORK_RESCHED is set and delivers signals (signal_deliver()) when
 *     TASK_WORK_SIGNAL is set, then returns through IRETQ.
 */
#ifndef LIBOS_TASK_H
#define LIBOS_TASK_H

#include <libos/proc.h>
#include <libos/regs.h>
#include <libos/signal.h>
#include <libos/time.h>
#include <libos/types.h>

enum task_state {
    TASK_RUNNABLE, /* on the run queue, or current */
    TASK_BLOCKED,  /* on a wait queue (or none: a pure sleep) until woken or its deadline */
    TASK_DEAD,     /* exited; its kernel stack is freed by the next task that runs */
};

/* current->work bits: what task_return_work() must do before ring 3 runs again. */
#define TASK_WORK_RESCHED 0x1u /* the quantum ended or a higher-priority wake-up */
#define TASK_WORK_SIGNAL 0x2u  /* a signal may be deliverable */

/* Wait flags. */
#define WAIT_INTERRUPTIBLE 0x1u /* a pending signal ends the wait with -EINTR */

struct waitq {
    struct task *head, *tail; /* FIFO of blocked tasks (task->wq_next) */
};
#define WAITQ_INIT {0, 0}

/* One thread. Everything a thread owns on Linux lives here; what its threads share
 * lives in struct process (proc.h). */
struct task {
    int tid;
    enum task_state state;
    struct process *process;
    struct task *thread_next;   /* process->threads list */
    struct task *rq_next;       /* run queue link */
    u32 work;                   /* TASK_WORK_* */

    /* Kernel context: the stack (guard page below), the saved kernel RSP while
     * switched out, and the user frame at the top of the stack. */
    u64 kstack_base, kstack_top, kernel_rsp;
    struct regs *user_regs;
    void *fpu;                  /* XSAVE/FXSAVE area, 64-byte aligned, cpu_fpu_size() bytes; valid
                                 * while another thread owns the FPU registers (sched.c): the
                                 * running thread's state is in the registers themselves */
    void *fpu_alloc;            /* the allocation fpu lies in */
    u64 fs_base, gs_base;       /* the user's FS/GS bases while switched out */

    /* Waiting. */
    struct waitq *wq;           /* the queue we sleep on, or NULL */
    struct task *wq_next;
    u64 wake_deadline;          /* time_mono_ns() value, ~0 for none */
    struct ktimer wake_timer;   /* armed for wake_deadline while blocked */
    u32 wait_flags;
    u64 wait_key;               /* owner-defined (futex: the key and bitset) */
    u64 wait_key2;
    int wake_result;            /* 0 woken, -ETIMEDOUT, -EINTR */

    /* Thread bookkeeping of the Linux ABI. */
    u64 clear_child_tid;        /* CLONE_CHILD_CLEARTID / set_tid_address */
    u64 robust_list, robust_len;
    u64 rseq, rseq_len;
    u32 rseq_sig;
    char comm[16];              /* PR_SET_NAME is per thread */
    u64 cpu_ticks, ran_since;   /* CPU time in TSC ticks and the TSC at switch-in (task_cpu_ns()) */
    int syscall_nr;             /* the syscall in progress (restart bookkeeping), -1 if none */
    u64 syscall_seq;            /* syscalls_entered when its current (or last) syscall began */
    /* An interrupted relative sleep (nanosleep, clock_nanosleep without TIMER_ABSTIME)
     * returns -ERESTART_RESTARTBLOCK after storing what restart_syscall needs here;
     * restart_syscall calls task_nanosleep_restart(), which sleeps on to the same
     * deadline (a time_mono_ns() value) and writes the time left to restart_rmtp. */
    u64 restart_deadline;
    int restart_clock;          /* the clock id the program named (for reporting only) */
    u64 restart_rmtp;           /* user struct timespec * for the time left, or 0 */

    struct task_signals sig;    /* mask, pending set, altstack (signal.h, owned by signal.c) */
};

/* The running thread. Never NULL after sched_init(). */
extern struct task *current;
/* System calls entered by all threads (shims/common/dispatch.c): a volume's node used
 * at or after current->syscall_seq may be held by the current syscall (fs/9p_vfs.c). */
extern u64 syscalls_entered;

static inline struct process *current_process(void) { return current->process; }

/* Boot: the first process and its first thread (tid = pid = 1), idle task, timer. */
void sched_init(void);

/* New thread in current's process (clone with CLONE_VM|CLONE_THREAD...): a copy
 * of the user frame regs with RAX 0, RSP user_sp (0: unchanged), FS base tls
 * (when set_tls). Returns the task (runnable) or NULL with *err = -EAGAIN/-ENOMEM. */
struct task *task_create_thread(const struct regs *regs, u64 user_sp, bool set_tls, u64 tls,
                                long *err);
/* A new process's first task (process_fork()) becomes runnable. */
void task_start(struct task *t);
/* Look up a thread of current's process by tid, or NULL. */
struct task *task_find(int tid);
/* Look up any thread of any process by tid (tkill, tgkill), or NULL. */
struct task *task_find_any(int tid);

/* Give up the CPU: run the next runnable task (the idle task when none). Returns
 * when current runs again. */
void schedule(void);
/* Make t runnable (from BLOCKED); no effect otherwise. Safe in interrupt context. */
void task_wake(struct task *t, int result);
/* A signal was queued for t: set TASK_WORK_SIGNAL and end an interruptible wait. */
void task_kick(struct task *t);

/* Block current on wq (may be NULL: just sleep) until woken, the deadline passes
 * (time_mono_ns() value; ~0ul = none), or -- with WAIT_INTERRUPTIBLE -- a signal is
 * pending. Returns 0, -ETIMEDOUT or -EINTR. The caller re-checks its condition. */
int waitq_wait(struct waitq *wq, u64 deadline, u32 flags);
/* Wake up to n waiters (n < 0: all) in FIFO order; returns how many were woken. */
int waitq_wake(struct waitq *wq, int n);
/* Remove t from its wait queue without waking it (futex requeue, timeouts). */
void waitq_remove(struct task *t);
/* Append a blocked t to wq (futex requeue). */
void waitq_add(struct waitq *wq, struct task *t);

/* Readiness: every poll/select/epoll waiter sleeps on this one queue, and whatever
 * changes a file's readiness (console input, eventfd, timerfd, a queued signal for
 * signalfd, pipes, sockets) calls readiness_changed(), which wakes them all to
 * rescan. With one CPU and few waiters a rescan is cheaper than per-file lists. */
extern struct waitq readiness_wq;
/* Counts readiness_changed() calls: epoll's EPOLLET reports a ready file again only
 * after a change (fs/epoll.c). */
extern u64 readiness_gen;
void readiness_changed(void);

/* exit(2): end the calling thread (CLEARTID store and futex wake, robust list
 * released). The last thread ends the process with code. */
__noreturn void task_exit(int code);
/* Release the robust futexes t still holds (OWNER_DIED, a waiter woken) and forget its
 * list: at exit, and at exec while the old address space is still there. */
void task_robust_release(struct task *t);
/* exit_group(2) from any thread: every thread of the process ends, the process
 * exits with code (pid 1: the VM exits with it, every other process with it). */
__noreturn void process_exit_group(int code);
/* The process is killed by sig (core: the wait status's core-dump bit): every
 * thread ends; pid 1 ends the VM with 128 + sig. */
__noreturn void process_exit_signal(int sig, bool core);

/* The exit path, called with interrupts off when current->work != 0 just before
 * returning to ring 3 through frame r. Clears each bit before acting on it and loops
 * until work is 0 (signal_deliver() may set TASK_WORK_SIGNAL again). */
void task_return_work(struct regs *r);

/* The LAPIC timer interrupt (trap.c): runs expired ktimers, ends the quantum of a
 * task interrupted in ring 3 (TASK_WORK_RESCHED), re-programs the timer. */
void sched_timer_interrupt(struct regs *r);

/* CPU time in ns (CLOCK_THREAD_CPUTIME_ID / CLOCK_PROCESS_CPUTIME_ID): time spent
 * running, user and kernel together, including the current slice. */
u64 task_cpu_ns(const struct task *t);
u64 process_cpu_ns(const struct process *p);

/* nanosleep and clock_nanosleep: sleep until deadline (time_mono_ns()). Returns 0,
 * or on a signal -ERESTART_RESTARTBLOCK with the time left written to rmtp (if not 0)
 * and current->restart_* set, or -ERESTARTNOHAND when absolute (no time left is
 * written, the same call is simply repeated). */
long task_nanosleep(u64 deadline, int clock, bool absolute, u64 rmtp);
/* restart_syscall after an interrupted relative sleep: continue to restart_deadline. */
long task_nanosleep_restart(void);

#endif /* LIBOS_TASK_H */
