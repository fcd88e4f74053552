/* SPDX-License-Identifier: Apache-2.0 */
/* interim.c: single-thread stand-ins for the task and signal interfaces while they are being built (deleted by the threads/signals work).
 *
 * Each function here is replaced by its real implementation in kernel/sched.c,
 * kernel/task.c, kernel/time.c or kernel/signal.c; whoever implements one deletes
 * it from this file. Nothing may depend on this file's behaviour.
 */
#include <libos/errno.h>
#include <libos/log.h>
#include <libos/task.h>
#include <libos/time.h>

/* ---- tasks (replaced by kernel/sched.c, kernel/task.c) ---- */
static struct task boot_task = {.tid = 1, .process = &proc, .syscall_nr = -1};
struct task *current = &boot_task;

void sched_init(void) { proc.threads = &boot_task; proc.nthreads = 1; }

struct task *task_create_thread(const struct regs *regs, u64 user_sp, bool set_tls, u64 tls, long *err)
{
    (void)regs, (void)user_sp, (void)set_tls, (void)tls;
    *err = -EAGAIN;
    return NULL;
}

struct task *task_find(int tid) { return tid == 1 ? &boot_task : NULL; }
void schedule(void) {}
void task_wake(struct task *t, int result) { (void)t, (void)result; }
void task_kick(struct task *t) { t->work |= TASK_WORK_SIGNAL; }

int waitq_wait(struct waitq *wq, u64 deadline, u32 flags)
{
    (void)wq, (void)flags;
    time_sleep_until(deadline);
    return -ETIMEDOUT;
}

int waitq_wake(struct waitq *wq, int n) { (void)wq, (void)n; return 0; }
void waitq_remove(struct task *t) { (void)t; }
void waitq_add(struct waitq *wq, struct task *t) { (void)wq, (void)t; }
__noreturn void task_exit(int code) { kexit(code); }
__noreturn void process_exit_group(int code) { kexit(code); }
void task_return_work(struct regs *r)
{
    if (current->work & TASK_WORK_SIGNAL)
        signal_deliver(r);
}
struct waitq readiness_wq = WAITQ_INIT;
void readiness_changed(void) {}
void ktimer_arm(struct ktimer *t, u64 deadline, void (*fn)(struct ktimer *t))
{
    t->deadline = deadline, t->fn = fn, t->armed = false; /* never fires here */
}
void ktimer_cancel(struct ktimer *t) { t->armed = false; }
