/* SPDX-License-Identifier: Apache-2.0 */
/* sched.c: the run queue on one vCPU, context switches, preemption, wait queues, the idle task and CPU time (docs/tasks.md).
 *
 * Rules (task.h): the kernel runs with interrupts off and is never preempted; a
 * task leaves the CPU only in schedule(), called when it blocks, yields, exits, or
 * on its way back to ring 3 when TASK_WORK_RESCHED is set. The LAPIC timer sets
 * that bit when a quantum ends while another task waits on the run queue; it is
 * armed only for the earliest kernel timer and, while more than one task is
 * runnable, for the end of the quantum (tickless otherwise).
 */
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/hostsig.h>
#include <libos/log.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/uaccess.h>
#include <libos/uvm.h>
#include <libos/x86.h>

#include "task_internal.h"

#define QUANTUM_NS 10000000ul /* 10 ms */

_Static_assert(__builtin_offsetof(struct task, work) == TASK_WORK_OFFSET, "asm offset of work");

struct task *current;
u64 syscalls_entered;
struct waitq readiness_wq = WAITQ_INIT;

static struct task *rq_head, *rq_tail; /* runnable tasks other than current, FIFO */
static struct task *idle;
static struct task *fpu_owner;         /* whose FPU state the registers hold */
static u64 msr_fs, msr_gs;             /* the user FS/GS bases last loaded */
static u64 slice_end;                  /* time_mono_ns() when current's quantum ends */

/* switch.S */
struct task *sched_switch_stack(u64 *save_rsp, u64 new_rsp, struct task *prev);
void task_idle_trampoline(void);
/* Called from switch.S. */
void sched_finish_switch(struct task *prev);
__noreturn void sched_idle_loop(void);

static void rq_push(struct task *t)
{
    t->rq_next = NULL;
    if (rq_tail)
        rq_tail->rq_next = t;
    else
        rq_head = t;
    rq_tail = t;
}

static struct task *rq_pop(void)
{
    struct task *t = rq_head;
    if (t) {
        rq_head = t->rq_next;
        if (!rq_head)
            rq_tail = NULL;
        t->rq_next = NULL;
    }
    return t;
}

/* A task became runnable. If current ran alone so far, its quantum starts now and
 * the timer must come at its end (the one case that arms the quantum). */
static void make_runnable(struct task *t)
{
    bool was_alone = !rq_head;
    t->state = TASK_RUNNABLE;
    rq_push(t);
    if (was_alone && current != idle) {
        slice_end = time_mono_ns() + QUANTUM_NS;
        time_timer_program(slice_end);
    }
}

void sched_add_new(struct task *t) { make_runnable(t); }

void task_start(struct task *t) { make_runnable(t); }

static void account(struct task *t, u64 tsc)
{
    if (t == idle)
        return;
    u64 d = tsc - t->ran_since;
    t->cpu_ticks += d;
    t->process->cpu_ticks += d;
}

u64 task_cpu_ns(const struct task *t)
{
    u64 ticks = t->cpu_ticks;
    if (t == current)
        ticks += rdtsc() - t->ran_since;
    return time_ticks_to_ns(ticks);
}

u64 process_cpu_ns(const struct process *p)
{
    u64 ticks = p->cpu_ticks;
    if (current != idle && current->process == p)
        ticks += rdtsc() - current->ran_since;
    return time_ticks_to_ns(ticks);
}

static void switch_to(struct task *next)
{
    struct task *prev = current;
    u64 tsc = rdtsc();
    account(prev, tsc);
    next->ran_since = tsc;
    if (prev != idle) {
        /* The program may have changed them itself (wrfsbase): read, not trust. */
        msr_fs = rdmsr(MSR_FS_BASE);
        msr_gs = rdmsr(MSR_KERNEL_GS_BASE);
        prev->fs_base = msr_fs;
        prev->gs_base = msr_gs;
    }
    if (next != idle) {
        if (next->fs_base != msr_fs)
            wrmsr(MSR_FS_BASE, msr_fs = next->fs_base);
        if (next->gs_base != msr_gs)
            wrmsr(MSR_KERNEL_GS_BASE, msr_gs = next->gs_base); /* swapgs makes it GS in ring 3 */
        /* FPU: saved only when another thread needs the registers, so switching to
         * idle and back to the same thread costs nothing. */
        if (fpu_owner != next) {
            if (fpu_owner)
                cpu_fpu_save(fpu_owner->fpu);
            cpu_fpu_restore(next->fpu);
            fpu_owner = next;
        }
        cpu_set_kernel_stack(next->kstack_top); /* TSS.RSP0 and the SYSCALL stack */
        uvm_activate(next->process->mm); /* CR3, when next is another address space's */
        slice_end = time_mono_ns() + QUANTUM_NS;
    }
    current = next;
    struct task *last = sched_switch_stack(&prev->kernel_rsp, next->kernel_rsp, prev);
    sched_finish_switch(last);
}

void sched_finish_switch(struct task *prev)
{
    if (prev->state == TASK_DEAD) {
        if (fpu_owner == prev)
            fpu_owner = NULL;
        task_free(prev); /* its stack is no longer in use: we are on ours */
    }
    if (rq_head && current != idle)
        time_timer_program(slice_end);
}

void schedule(void)
{
    struct task *prev = current;
    prev->work &= ~TASK_WORK_RESCHED;
    if (prev->state == TASK_RUNNABLE && prev != idle)
        rq_push(prev);
    struct task *next = rq_pop();
    if (!next)
        next = idle;
    if (next != prev)
        switch_to(next);
}

void task_return_work(struct regs *r)
{
    for (;;) {
        u32 w = current->work;
        if (w & TASK_WORK_RESCHED) {
            schedule(); /* clears the bit */
        } else if (w & TASK_WORK_SIGNAL) {
            current->work &= ~TASK_WORK_SIGNAL;
            signal_deliver(r);
        } else {
            current->work = 0;
            return;
        }
    }
}

void sched_timer_interrupt(struct regs *r)
{
    time_timer_fired();
    struct task *queued = rq_tail;
    ktimer_run_expired();
    if (current != idle && regs_from_user(r) && rq_head) {
        /* A task a timer woke (a sleep ended) runs at once, as Linux's wake-up
         * preemption would; otherwise the quantum decides. */
        if (rq_tail != queued || time_mono_ns() >= slice_end)
            current->work |= TASK_WORK_RESCHED;
    }
    u64 next = ktimer_next_deadline();
    if (rq_head && current != idle && !(current->work & TASK_WORK_RESCHED))
        next = MIN(next, slice_end);
    if (next != ~0ul)
        time_timer_program(next);
}

__noreturn void sched_idle_loop(void)
{
    bool stuck_reported = false;
    for (;;) {
        ktimer_run_expired();
        if (rq_head) {
            schedule();
            continue;
        }
        u64 next = ktimer_next_deadline();
        if (next != ~0ul)
            time_timer_program(next);
        else if (!stuck_reported && !hostsig_enabled()) {
            /* Nothing can wake anyone: no timer, and no signal can come from the host. */
            kinfo("every thread is blocked and no timer is armed: the application is stuck");
            for (struct process *p = process_next(NULL); p; p = process_next(p))
                for (struct task *t = p->threads; t; t = t->thread_next)
                    if (t->user_regs && t->user_regs->vector == REGS_VECTOR_SYSCALL)
                        kinfo("  thread %d of process %d waits in syscall %lu (0x%lx, 0x%lx, 0x%lx) from rip 0x%lx",
                              t->tid, p->pid, t->user_regs->rax, t->user_regs->rdi, t->user_regs->rsi,
                              t->user_regs->rdx, t->user_regs->rip);
            stuck_reported = true;
        }
        irq_enable_and_halt(); /* the timer interrupt runs the timers, then we look again */
        irq_disable();
    }
}

/* -- wait queues ---------------------------------------------------------------------- */

void waitq_add(struct waitq *wq, struct task *t)
{
    t->wq = wq;
    t->wq_next = NULL;
    if (wq->tail)
        wq->tail->wq_next = t;
    else
        wq->head = t;
    wq->tail = t;
}

void waitq_remove(struct task *t)
{
    struct waitq *wq = t->wq;
    if (!wq)
        return;
    struct task *prev = NULL;
    for (struct task *q = wq->head; q; prev = q, q = q->wq_next) {
        if (q != t)
            continue;
        if (prev)
            prev->wq_next = t->wq_next;
        else
            wq->head = t->wq_next;
        if (wq->tail == t)
            wq->tail = prev;
        break;
    }
    t->wq = NULL;
    t->wq_next = NULL;
}

void task_wake(struct task *t, int result)
{
    if (t->state != TASK_BLOCKED)
        return;
    waitq_remove(t);
    ktimer_cancel(&t->wake_timer);
    t->wake_result = result;
    make_runnable(t);
}

void task_kick(struct task *t)
{
    t->work |= TASK_WORK_SIGNAL;
    if (t->state == TASK_BLOCKED && (t->wait_flags & WAIT_INTERRUPTIBLE))
        task_wake(t, -EINTR);
}

static void wake_timer_fired(struct ktimer *k)
{
    struct task *t = (struct task *)((char *)k - __builtin_offsetof(struct task, wake_timer));
    task_wake(t, -ETIMEDOUT);
}

int waitq_wait(struct waitq *wq, u64 deadline, u32 flags)
{
    struct task *t = current;
    if ((flags & WAIT_INTERRUPTIBLE) && signal_pending(t))
        return -EINTR;
    if (deadline != ~0ul && deadline <= time_mono_ns())
        return -ETIMEDOUT;
    t->state = TASK_BLOCKED;
    t->wait_flags = flags;
    t->wake_deadline = deadline;
    t->wake_result = 0;
    if (wq)
        waitq_add(wq, t);
    if (deadline != ~0ul)
        ktimer_arm(&t->wake_timer, deadline, wake_timer_fired);
    schedule();
    return t->wake_result;
}

int waitq_wake(struct waitq *wq, int n)
{
    int woken = 0;
    while (wq->head && (n < 0 || woken < n)) {
        struct task *t = wq->head;
        if (t->state != TASK_BLOCKED) {
            waitq_remove(t); /* never left queued by the rules; never loop on it */
            continue;
        }
        task_wake(t, 0);
        woken++;
    }
    return woken;
}

u64 readiness_gen;
void readiness_changed(void)
{
    readiness_gen++;
    waitq_wake(&readiness_wq, -1);
}

void time_sleep_until(u64 deadline)
{
    while (waitq_wait(NULL, deadline, 0) != -ETIMEDOUT)
        ;
}

/* -- sleeping syscalls ------------------------------------------------------------------ */

long task_nanosleep(u64 deadline, int clock, bool absolute, u64 rmtp)
{
    for (;;) {
        int r = waitq_wait(NULL, deadline, WAIT_INTERRUPTIBLE);
        if (r == -ETIMEDOUT)
            return 0;
        if (r != -EINTR)
            continue;
        if (absolute)
            return -ERESTARTNOHAND; /* Linux: the same call again, or EINTR */
        u64 now = time_mono_ns(), left = deadline > now ? deadline - now : 0;
        struct {
            s64 sec, nsec;
        } ts = {(s64)(left / NSEC_PER_SEC), (s64)(left % NSEC_PER_SEC)};
        if (rmtp && copy_to_user(rmtp, &ts, sizeof(ts)) < 0)
            return -EFAULT;
        current->restart_deadline = deadline;
        current->restart_clock = clock;
        current->restart_rmtp = rmtp;
        return -ERESTART_RESTARTBLOCK;
    }
}

long task_nanosleep_restart(void)
{
    return task_nanosleep(current->restart_deadline, current->restart_clock, false,
                          current->restart_rmtp);
}

/* -- boot -------------------------------------------------------------------------------- */

void sched_init(void)
{
    long err;
    struct task *t = task_alloc(true, &err);
    if (!t)
        panic("sched: no memory for the first thread");
    struct process *init = process_find(1);
    t->tid = init->pid;
    t->process = init;
    t->state = TASK_RUNNABLE;
    t->ran_since = rdtsc();
    t->user_regs = (struct regs *)(t->kstack_top - sizeof(struct regs));
    signal_task_init(t, NULL);
    task_link(t);
    fpu_owner = t;

    idle = task_alloc(false, &err);
    if (!idle)
        panic("sched: no memory for the idle task");
    idle->process = init; /* never in its thread list; timers may look at current */
    idle->state = TASK_RUNNABLE;
    task_prepare_stack(idle, task_idle_trampoline);

    current = t;
    cpu_set_kernel_stack(t->kstack_top);
}
