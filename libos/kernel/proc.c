/* SPDX-License-Identifier: Apache-2.0 */
/* proc.c: the process table and tree: pid 1, lookup, exit and zombies, wait, reparenting, process groups, kill (docs/processes.md).
 *
 * Every process, zombies included, is on one list in pid order (process_next()).
 * A process ends when its last thread does (task.c): process_finish() releases its
 * address space, fds and fs context, hands its children to the reaper (the nearest
 * PR_SET_CHILD_SUBREAPER ancestor, else pid 1), becomes a zombie and tells its
 * parent (exit_signal, normally SIGCHLD, and a wake-up of wait4/waitid). A parent
 * that ignores SIGCHLD or set SA_NOCLDWAIT gets no zombie: the child is released
 * as soon as its last thread's stack is gone. Pid 1's end is the VM's end.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/image_config.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/timers.h>
#include <libos/uvm.h>
#include <libos/vfs.h>

#include "proc_internal.h"

static struct process *table; /* every process, in pid order */
static int tty_pgrp = 1;      /* the console's foreground process group */

static void table_insert(struct process *p)
{
    struct process **pp = &table;
    while (*pp && (*pp)->pid < p->pid)
        pp = &(*pp)->next;
    p->next = *pp;
    *pp = p;
}

static void table_remove(struct process *p)
{
    for (struct process **pp = &table; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

struct process *process_find(int pid)
{
    for (struct process *p = table; p && p->pid <= pid; p = p->next)
        if (p->pid == pid)
            return p;
    return NULL;
}

struct process *process_next(struct process *p) { return p ? p->next : table; }

int process_count(void)
{
    int n = 0;
    for (struct process *p = table; p; p = p->next)
        n++;
    return n;
}

int process_count_uid(u32 uid)
{
    int n = 0;
    for (struct process *p = table; p; p = p->next)
        if (p->state == PROC_ALIVE && p->uid == uid)
            n += p->nthreads; /* Linux's RLIMIT_NPROC counts tasks */
    return n;
}

/* The pid/tid space is shared: an id is taken while a process (zombie included)
 * or any thread has it. */
bool proc_id_in_use(int id)
{
    for (struct process *p = table; p; p = p->next) {
        if (p->pid == id)
            return true;
        for (struct task *t = p->threads; t; t = t->thread_next)
            if (t->tid == id)
                return true;
    }
    return false;
}

struct task *task_find_any(int tid)
{
    for (struct process *p = table; p; p = p->next)
        for (struct task *t = p->threads; t; t = t->thread_next)
            if (t->tid == tid)
                return t;
    return NULL;
}

struct process *process_alloc(void)
{
    static u64 serials;
    struct process *p = kzalloc(sizeof(*p));
    if (!p)
        return NULL;
    p->serial = ++serials;
    p->child_wq = kzalloc(sizeof(struct waitq));
    if (!p->child_wq) {
        kfree(p);
        return NULL;
    }
    return p;
}

void process_link(struct process *p, struct process *parent)
{
    p->parent = parent;
    p->ppid = parent ? parent->pid : 0;
    if (parent) {
        p->sibling = parent->children;
        parent->children = p;
    }
    table_insert(p);
}

void proc_init(void)
{
    struct process *p = process_alloc();
    if (!p || !(p->files = fdtable_new()) || !(p->fs = fs_struct_new()))
        panic("proc: no memory for pid 1");
    p->pid = p->pgid = p->sid = 1; /* the first thread's tid is the pid (sched_init) */
    p->uid = p->euid = p->suid = image_uid;
    p->gid = p->egid = p->sgid = image_gid;
    for (u32 i = 0; i < image_ngroups && i < NGROUPS_KEPT; i++)
        p->groups[p->ngroups++] = image_groups[i];
    for (int i = 0; i < RLIM_NLIMITS; i++)
        p->rlim[i] = (struct rlimit64){RLIM_INFINITY, RLIM_INFINITY};
    p->rlim[RLIMIT_STACK] = (struct rlimit64){8ul << 20, RLIM_INFINITY};
    p->rlim[RLIMIT_CORE] = (struct rlimit64){0, RLIM_INFINITY};
    /* systemd's DefaultLimitNOFILE (1024:524288), which a container of dockerd or
     * containerd started by systemd inherits (Docker >= 25 no longer raises it): a
     * non-root program may lift its soft limit, as redis does for maxclients 10000 after
     * its entrypoint's gosu. */
    p->rlim[RLIMIT_NOFILE] = (struct rlimit64){1024, 524288};
    p->rlim[RLIMIT_MEMLOCK] = (struct rlimit64){8ul << 20, 8ul << 20};
    p->exit_signal = SIGCHLD;
    signal_process_init(p);
    process_link(p, NULL); /* like a container's init: the parent is outside (ppid 0) */
}

void proc_set_comm(const char *name)
{
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' && p[1])
            base = p + 1;
    strlcpy(current_process()->comm, base, sizeof(current_process()->comm));
    if (current)
        strlcpy(current->comm, base, sizeof(current->comm)); /* the exec'ing thread's name */
}

/* -- the end of a process ------------------------------------------------------------- */

void process_vfork_release(void)
{
    struct process *p = current_process();
    p->did_exec = true;
    p->vfork_pending = false;
    if (p->vfork_wq) {
        struct waitq *wq = p->vfork_wq; /* on the parent's stack: forget it first */
        p->vfork_wq = NULL;
        waitq_wake(wq, -1);
    }
}

/* Remove a reaped (or auto-reaped) process from the table and its parent, free it. */
static void process_release(struct process *p)
{
    struct process *parent = p->parent;
    if (parent) {
        for (struct process **pp = &parent->children; *pp; pp = &(*pp)->sibling)
            if (*pp == p) {
                *pp = p->sibling;
                break;
            }
        parent->children_usage.cpu_ns += p->usage.cpu_ns + p->children_usage.cpu_ns;
        parent->children_usage.maxrss_kb = MAX(parent->children_usage.maxrss_kb, p->usage.maxrss_kb);
    }
    table_remove(p);
    signal_process_free(p);
    kfree(p->child_wq);
    kfree(p);
}

/* Whether parent asked for no zombies: SIGCHLD ignored or SA_NOCLDWAIT (Linux's
 * do_notify_parent), for children whose exit signal is SIGCHLD. */
static bool parent_autoreaps(const struct process *parent, int exit_signal)
{
    const struct k_sigaction *ka = &parent->sig.actions[SIGCHLD];
    return exit_signal == SIGCHLD && (ka->handler == SIG_IGN || (ka->flags & SA_NOCLDWAIT));
}

static void fill_child_info(const struct process *p, struct ksiginfo *info)
{
    int st = p->wait_status;
    memset(info, 0, sizeof(*info));
    info->si_signo = SIGCHLD;
    info->u.child.pid = p->pid;
    info->u.child.uid = p->uid;
    if ((st & 0x7f) == 0) {
        info->si_code = CLD_EXITED;
        info->u.child.status = (st >> 8) & 0xff;
    } else {
        info->si_code = (st & 0x80) ? CLD_DUMPED : CLD_KILLED;
        info->u.child.status = st & 0x7f;
    }
    info->u.child.utime = p->usage.cpu_ns / (NSEC_PER_SEC / 100); /* clock ticks */
}

/* A zombie's parent learns of it: its exit signal, a wake-up of its waiters.
 * Returns true when the parent wants no zombie (the caller releases it). */
static bool notify_parent(struct process *p)
{
    struct process *parent = p->parent;
    bool autoreap = parent_autoreaps(parent, p->exit_signal);
    int sig = p->exit_signal;
    if (sig == SIGCHLD && parent->sig.actions[SIGCHLD].handler == SIG_IGN)
        sig = 0;
    if (sig > 0 && sig <= NSIG) {
        struct ksiginfo info;
        fill_child_info(p, &info);
        info.si_signo = sig;
        signal_send_process(parent, &info);
    }
    waitq_wake(parent->child_wq, -1);
    return autoreap;
}

/* Where the children of a dying process go: its nearest living subreaper ancestor,
 * else pid 1 (Linux's find_new_reaper). */
static struct process *find_reaper(struct process *dying)
{
    for (struct process *a = dying->parent; a; a = a->parent)
        if (a->subreaper && a->state == PROC_ALIVE)
            return a;
    return process_find(1);
}

static void reparent_children(struct process *p)
{
    struct process *reaper = find_reaper(p);
    while (p->children) {
        struct process *c = p->children;
        p->children = c->sibling;
        c->parent = reaper;
        c->ppid = reaper->pid;
        c->sibling = reaper->children;
        reaper->children = c;
        if (c->pdeath_signal && c->state == PROC_ALIVE) {
            struct ksiginfo info = {.si_signo = c->pdeath_signal, .si_code = SI_USER};
            info.u.kill.pid = p->pid;
            info.u.kill.uid = p->uid;
            signal_send_process(c, &info);
        }
        /* A zombie now waits for the reaper: tell it (Linux re-notifies with SIGCHLD). */
        if (c->state == PROC_ZOMBIE && c->exit_signal && notify_parent(c))
            process_release(c);
    }
}

static __noreturn void end_vm(int status)
{
    if (status & 0x7f)
        kexit(128 + (status & 0x7f)); /* terminated by a signal: the shell's 128+S */
    kexit((status >> 8) & 0xff);
}

void process_finish(struct process *p)
{
    if (p->pid == 1)
        end_vm(p->wait_status); /* a container's life is its first process's */
    p->usage.cpu_ns = process_cpu_ns(p);
    p->usage.maxrss_kb = uvm_resident_pages() * PAGE_SIZE / 1024;
    timers_process_exit(p);
    fdtable_put(p->files);
    p->files = NULL;
    fs_struct_put(p->fs);
    p->fs = NULL;
    struct mm *m = p->mm;
    p->mm = NULL;
    uvm_mm_put(m); /* our user memory is gone: nothing may touch it any more */
    process_vfork_release();
    reparent_children(p);
    p->state = PROC_ZOMBIE;
    readiness_changed(); /* its pidfds become readable (fs/pidfd.c) */
    if (p->parent && notify_parent(p))
        p->autoreap = true; /* released with the last thread's stack (task_free) */
}

void process_task_gone(struct process *p)
{
    if (p->nthreads == 0 && p->autoreap)
        process_release(p);
}

/* -- wait4 and waitid ----------------------------------------------------------------- */

static bool wait_matches(const struct process *c, int idtype, int id, int options)
{
    if (idtype == P_PID && c->pid != id)
        return false;
    if (idtype == P_PGID && c->pgid != id)
        return false;
    if (options & __WALL)
        return true;
    /* Linux: a "clone" child (exit signal other than SIGCHLD) only with __WCLONE. */
    bool clone_child = c->exit_signal != SIGCHLD;
    return clone_child == !!(options & __WCLONE);
}

long process_wait(int idtype, int id, int options, struct wait_result *out)
{
    struct process *self = current_process();
    if (idtype == P_PGID && id == 0)
        id = self->pgid;
    memset(out, 0, sizeof(*out));
    for (;;) {
        bool any = false;
        for (struct process *c = self->children; c; c = c->sibling) {
            if (!wait_matches(c, idtype, id, options) || c->autoreap)
                continue; /* an auto-reaped child is as good as gone */
            any = true;
            if (c->state != PROC_ZOMBIE || !(options & WEXITED))
                continue; /* no job control: nothing is ever stopped or continued */
            struct ksiginfo info;
            fill_child_info(c, &info);
            out->pid = c->pid;
            out->uid = c->uid;
            out->status = c->wait_status;
            out->code = info.si_code;
            out->si_status = info.u.child.status;
            out->usage = c->usage;
            if (!(options & WNOWAIT))
                process_release(c);
            return 0;
        }
        if (!any)
            return -ECHILD;
        if (options & WNOHANG)
            return 0;
        if (waitq_wait(self->child_wq, ~0ul, WAIT_INTERRUPTIBLE) == -EINTR)
            return -ERESTARTSYS;
    }
}

/* -- process groups and sessions -------------------------------------------------------- */

static bool group_in_session(int pgid, int sid)
{
    for (struct process *p = table; p; p = p->next)
        if (p->pgid == pgid && p->sid == sid && p->state == PROC_ALIVE)
            return true;
    return false;
}

long process_setpgid(int pid, int pgid)
{
    struct process *self = current_process();
    if (pgid < 0)
        return -EINVAL;
    struct process *p = pid == 0 ? self : process_find(pid);
    if (!p || (p != self && p->parent != self) || p->state != PROC_ALIVE)
        return -ESRCH;
    if (pgid == 0)
        pgid = p->pid;
    if (p != self) {
        if (p->sid != self->sid)
            return -EPERM;
        if (p->did_exec)
            return -EACCES;
    }
    if (p->sid == p->pid)
        return -EPERM; /* a session leader cannot move */
    if (pgid != p->pid && !group_in_session(pgid, self->sid))
        return -EPERM;
    p->pgid = pgid;
    return 0;
}

long process_setsid(void)
{
    struct process *p = current_process();
    /* Linux: EPERM when any process's group id is our pid (we lead a group). */
    for (struct process *q = table; q; q = q->next)
        if (q->pgid == p->pid)
            return -EPERM;
    p->sid = p->pgid = p->pid;
    return p->sid;
}

int proc_tty_pgrp(void) { return tty_pgrp; }

long proc_tty_set_pgrp(int pgid)
{
    if (pgid < 0)
        return -EINVAL;
    if (!group_in_session(pgid, current_process()->sid) || current_process()->sid != 1)
        return -EPERM; /* the console is session 1's controlling terminal */
    tty_pgrp = pgid;
    return 0;
}

/* -- kill ------------------------------------------------------------------------------ */

/* Linux's kill permission: root, or the sender's real or effective uid is the
 * target's real or saved uid. */
static bool may_signal(const struct process *to)
{
    const struct process *me = current_process();
    return me->euid == 0 || me->euid == to->uid || me->euid == to->suid || me->uid == to->uid ||
           me->uid == to->suid;
}

static long send_one(struct process *p, const struct ksiginfo *info)
{
    if (!may_signal(p))
        return -EPERM;
    if (info->si_signo == 0 || p->state != PROC_ALIVE || p->exiting)
        return 0; /* a zombie or dying process: success, nothing to do (Linux) */
    return signal_send_process(p, info);
}

long process_kill(int pid, const struct ksiginfo *info)
{
    struct process *self = current_process();
    if (pid > 0) {
        struct process *p = process_find(pid);
        return p ? send_one(p, info) : -ESRCH;
    }
    int pgid = pid == 0 ? self->pgid : -pid;
    bool found = false;
    long err = -ESRCH, r;
    for (struct process *p = table, *next; p; p = next) {
        next = p->next; /* a signal cannot free a process, but stay safe */
        if (pid == -1 ? (p->pid == 1 || p == self) : p->pgid != pgid)
            continue;
        if (p->state != PROC_ALIVE)
            continue;
        r = send_one(p, info);
        if (r == 0)
            found = true;
        else
            err = r;
    }
    return found ? 0 : err;
}
