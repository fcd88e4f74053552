/* SPDX-License-Identifier: Apache-2.0 */
/* fork.c: new processes: fork, vfork and clone without CLONE_THREAD (copy-on-write address space, fd table, fs context) (docs/processes.md).
 *
 * The child is a copy of the caller's process object (identity, limits, name,
 * dispositions; nothing pending, no timers) with one thread, a copy of the calling
 * one: its user frame with RAX 0, FPU state, FS/GS bases and signal mask. What the
 * clone flags share is shared by reference: CLONE_VM the address space (vfork,
 * posix_spawn), CLONE_FILES the fd table, CLONE_FS cwd and umask; the rest is
 * copied: the address space copy-on-write (mm/uvm.c), the fd table sharing its open
 * file descriptions. Limits: the kernel-wide task bound and free-memory reserve
 * (task.c) and RLIMIT_NPROC for non-root users give EAGAIN, never a panic.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uvm.h>
#include <libos/vfs.h>

#include "proc_internal.h"
#include "task_internal.h"

#define CLONE_VM 0x00000100u
#define CLONE_FS 0x00000200u
#define CLONE_FILES 0x00000400u
#define CLONE_VFORK 0x00004000u
#define CLONE_PARENT 0x00008000u

/* RLIMIT_NPROC, as Linux checks it in copy_process: tasks of the real uid, not for root. */
static bool nproc_ok(const struct process *p)
{
    if (p->uid == 0 || p->euid == 0)
        return true;
    return (u64)process_count_uid(p->uid) < p->rlim[RLIMIT_NPROC].cur;
}

/* Undo a half-made child (before it was linked anywhere). */
static void discard(struct process *c)
{
    if (c->mm)
        uvm_mm_put(c->mm);
    fdtable_put(c->files);
    fs_struct_put(c->fs);
    kfree(c->child_wq);
    kfree(c);
}

struct task *process_fork(const struct regs *regs, u64 flags, int exit_signal, u64 user_sp,
                          bool set_tls, u64 tls, long *err)
{
    struct process *parent = current_process();
    if (!nproc_ok(parent) || !task_may_add()) {
        *err = -EAGAIN;
        return NULL;
    }
    struct process *c = process_alloc();
    if (!c) {
        *err = -EAGAIN;
        return NULL;
    }
    /* Identity, limits, names; the tree and the exit bookkeeping start fresh. */
    c->uid = parent->uid, c->euid = parent->euid, c->suid = parent->suid;
    c->gid = parent->gid, c->egid = parent->egid, c->sgid = parent->sgid;
    c->ngroups = parent->ngroups;
    memcpy(c->groups, parent->groups, sizeof(c->groups));
    c->cap_drop_prm = parent->cap_drop_prm, c->cap_drop_eff = parent->cap_drop_eff, c->cap_inh = parent->cap_inh;
    c->persona = parent->persona, c->ioprio = parent->ioprio;
    c->pgid = parent->pgid;
    c->sid = parent->sid;
    memcpy(c->comm, parent->comm, sizeof(c->comm));
    memcpy(c->rlim, parent->rlim, sizeof(c->rlim));
    c->exec_path = parent->exec_path; /* interned by exec (exec/execve.c): never freed */
    c->start_tsc = parent->start_tsc;
    c->exit_signal = exit_signal;
    signal_process_copy(c, parent);

    *err = -ENOMEM;
    if (flags & CLONE_FILES) {
        fdtable_get(parent->files);
        c->files = parent->files;
    } else if (!(c->files = fdtable_copy(parent->files))) {
        discard(c);
        return NULL;
    }
    if (flags & CLONE_FS) {
        fs_struct_get(parent->fs);
        c->fs = parent->fs;
    } else if (!(c->fs = fs_struct_copy(parent->fs))) {
        discard(c);
        return NULL;
    }
    if (flags & CLONE_VM) {
        uvm_mm_get(parent->mm);
        c->mm = parent->mm;
    } else if (!(c->mm = uvm_fork(err))) {
        discard(c);
        return NULL;
    }
    int pid = task_alloc_id();
    c->pid = pid;
    struct task *t = task_create_in(c, pid, regs, user_sp, set_tls, tls, err);
    if (!t) {
        discard(c);
        return NULL;
    }
    memcpy(t->comm, current->comm, sizeof(t->comm)); /* the calling thread's name */
    struct process *up = (flags & CLONE_PARENT) && parent->parent ? parent->parent : parent;
    process_link(c, up);
    c->vfork_pending = flags & CLONE_VFORK;
    return t;
}

void process_vfork_wait(struct process *child)
{
    /* The child shares our memory (stack included) until it execs or exits: we sleep
     * until process_vfork_release() wakes this queue, the only thing that can (no
     * deadline, not interruptible: Linux's wait is killable only). The child cannot
     * have run yet: it is merely runnable, and the kernel is not preemptible. */
    struct waitq wq = WAITQ_INIT;
    child->vfork_wq = &wq;
    waitq_wait(&wq, ~0ul, 0);
}
