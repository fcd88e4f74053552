/* SPDX-License-Identifier: Apache-2.0 */
/* task_internal.h: what kernel/task.c (task objects) and kernel/sched.c (the scheduler) share, nothing else. */
#ifndef KERNEL_TASK_INTERNAL_H
#define KERNEL_TASK_INTERNAL_H

#include <libos/task.h>

/* A zeroed task with a kernel stack (guard below) and, for a user thread, an FPU
 * area; NULL with *err = -EAGAIN when memory or stack slots run out. */
struct task *task_alloc(bool user, long *err);
/* Free a dead task's stack, FPU area and object (from the task that runs next). */
void task_free(struct task *t);
/* Its first switch-in returns to entry (switch.S trampolines), below the user frame. */
void task_prepare_stack(struct task *t, void (*entry)(void));
/* Append t to its process's thread list. */
void task_link(struct task *t);
/* A new user task of p with id tid, a copy of regs (RAX 0, RSP user_sp unless 0, FS
 * base tls when set_tls), the caller's FPU state and mask; linked, not yet runnable. */
struct task *task_create_in(struct process *p, int tid, const struct regs *regs, u64 user_sp,
                            bool set_tls, u64 tls, long *err);
/* A free pid/tid. */
int task_alloc_id(void);
/* Another task fits (threads-max, the free-memory reserve). */
bool task_may_add(void);
/* Put a new task on the run queue (sched.c). */
void sched_add_new(struct task *t);

#endif
