/* SPDX-License-Identifier: Apache-2.0 */
/* proc_internal.h: what kernel/proc.c (the process table and tree), kernel/fork.c and kernel/task.c share, nothing else. */
#ifndef KERNEL_PROC_INTERNAL_H
#define KERNEL_PROC_INTERNAL_H

#include <libos/proc.h>

/* A zeroed process object with its wait queue, or NULL. */
struct process *process_alloc(void);
/* Put p in the table and under parent (NULL: pid 1). */
void process_link(struct process *p, struct process *parent);
/* The pid/tid space: an id held by a process (zombies too) or a thread. */
bool proc_id_in_use(int id);
/* A task of p was freed (task_free): an auto-reaped process goes with its last one. */
void process_task_gone(struct process *p);

#endif
