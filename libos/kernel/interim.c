/* SPDX-License-Identifier: Apache-2.0 */
/* interim.c: stand-ins for the signal interface while it is being built (deleted by the signals work).
 *
 * Each function here is replaced by its real implementation in kernel/signal.c;
 * whoever implements one deletes it from this file (the task and timer stand-ins
 * are gone: kernel/sched.c, task.c and time.c). Nothing may depend on this file's behaviour.
 */
#include <libos/errno.h>
#include <libos/task.h>

/* ---- signals (replaced by kernel/signal.c) ---- */
void signal_task_init(struct task *t, const struct task *parent) { (void)t, (void)parent; }
void signal_process_init(struct process *p) { (void)p; }
bool signal_pending(const struct task *t) { (void)t; return false; }
long signal_send_thread(struct task *t, const struct ksiginfo *info) { (void)t; return signal_send_self(info->si_signo); }
long signal_send_process(struct process *p, const struct ksiginfo *info) { (void)p; return signal_send_self(info->si_signo); }
void signal_force_fault(struct regs *r, int sig, int code, u64 addr, const char *cause)
{
    (void)code;
    signal_fatal(sig, addr, r->rip, cause);
}
void signal_deliver(struct regs *r) { (void)r; }
int signal_dequeue(struct task *t, u64 mask, struct ksiginfo *out) { (void)t, (void)mask, (void)out; return 0; }
