/* SPDX-License-Identifier: Apache-2.0 */
/* dethread.c: what execve does to the process past the point of no return: other threads end, inherited state is reset (Linux's de_thread, begin_new_exec). */
#include <libos/errno.h>
#include <libos/log.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/timers.h>
#include <libos/vfs.h>

#include "exec_internal.h"

long exec_dethread(void)
{
    struct process *p = current_process();
    if (p->exec_task && p->exec_task != current)
        return -EAGAIN; /* another thread's exec wins; we are killed on the way out */
    if (p->nthreads > 1) {
        /* Every other thread sees a pending kill (signal_pending() is true for it) and
         * ends in task_exit() on its way back to ring 3 (signal_deliver()); its robust
         * list and CLEARTID word are released in the old address space, still there.
         * The last of them wakes us (task_exit); one in an uninterruptible sleep
         * (console output pacing) ends when that sleep does. The kernel is never
         * preempted, so no exit can slip between the count and the sleep. */
        p->exec_task = current;
        for (struct task *t = p->threads; t; t = t->thread_next)
            if (t != current)
                task_kick(t);
        while (p->nthreads > 1)
            waitq_wait(NULL, ~0ul, 0);
        p->exec_task = NULL;
    }
    /* The survivor is the thread-group leader now: its tid is the pid. */
    current->tid = p->pid;
    return 0;
}

void exec_reset_process(void)
{
    /* Close-on-exec descriptors, in a table of our own: a CLONE_FILES sharer keeps
     * them. Out of memory, the shared table stays (the new program still runs). */
    if (fdtable_unshare() < 0)
        kinfo("exec: no memory to unshare the fd table; close-on-exec acts on the shared one");
    for (int fd = 0; fd < fd_table_slots(current_process()); fd++)
        if (fd_get(fd) && fd_get_cloexec(fd) == 1)
            fd_close(fd);
    signal_exec_reset(current);
    ptimers_exec_reset();
    /* Thread bookkeeping of the old image: its memory is about to go (Linux's
     * exec_mm_release and rseq_execve). Robust futexes still held are released now,
     * in the old address space, as at exit: a process-shared robust mutex locked
     * before exec would otherwise never become EOWNERDEAD. A vfork parent sharing the
     * memory is released by process_vfork_release() once the new space exists. */
    task_robust_release(current);
    current->clear_child_tid = 0;
    current->robust_len = 0;
    current->rseq = current->rseq_len = 0;
    current->rseq_sig = 0;
    current->restart_deadline = 0;
    current->restart_rmtp = 0;
}
