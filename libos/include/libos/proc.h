/* SPDX-License-Identifier: Apache-2.0 */
/* proc.h: the process object: identity, limits, name, signal dispositions, its threads, address space, fds, the process tree (docs/processes.md).
 *
 * Interface: proc_init() makes pid 1 (uid/gid from image_config); the running one
 * is current_process() (task.h). fork/vfork/clone make more (kernel/fork.c), exit
 * and wait end and reap them (kernel/proc.c). Threads are struct task (task.h);
 * what they share lives here: the address space (struct mm, mm/uvm.c), the fd table
 * (struct fdtable, fs/file.c) and cwd/umask (struct fs_struct, fs/path.c) hang off
 * it by pointer and are reference counted (shared by CLONE_VM/FILES/FS).
 */
#ifndef LIBOS_PROC_H
#define LIBOS_PROC_H

#include <libos/signal.h>
#include <libos/types.h>

#define RLIMIT_CPU 0
#define RLIMIT_FSIZE 1
#define RLIMIT_DATA 2
#define RLIMIT_STACK 3
#define RLIMIT_CORE 4
#define RLIMIT_RSS 5
#define RLIMIT_NPROC 6
#define RLIMIT_NOFILE 7
#define RLIMIT_MEMLOCK 8
#define RLIMIT_AS 9
#define RLIM_NLIMITS 16
#define RLIM_INFINITY (~0ul)

struct rlimit64 {
    u64 cur, max;
};

struct mm;
struct fdtable;
struct fs_struct;
struct task;
struct regs;
struct waitq;

/* A waiting parent's view of a finished child (struct rusage's times and size). */
struct proc_usage {
    u64 cpu_ns;     /* CPU time of the process (user and kernel together) */
    u64 maxrss_kb;  /* resident set at exit */
};

enum proc_state {
    PROC_ALIVE,
    PROC_ZOMBIE, /* exited, waits for its parent's wait */
};

#define NGROUPS_KEPT 64 /* supplementary groups kept per process (Linux allows 65536) */

struct process {
    int pid, ppid, pgid, sid;
    u64 serial;              /* unique for the VM's life: a pidfd tells a reused pid apart */
    u32 uid, euid, suid, gid, egid, sgid;
    u32 ngroups;             /* supplementary groups (setgroups, run -u as runc sets them) */
    u32 groups[NGROUPS_KEPT];
    /* Capabilities (docs/processes.md): euid 0 holds Docker's default set, others none;
     * capset(2) can only drop, recorded here (inherited by fork). chroot checks
     * CAP_SYS_CHROOT in them; other permission checks still follow euid 0. */
    u64 cap_drop_prm, cap_drop_eff, cap_inh;
    u32 persona;             /* personality(2): stored, no flag has an effect */
    u16 ioprio;              /* ioprio_set(2): stored (there is no block device to schedule) */
    char comm[16];           /* the program's name at exec (each thread's own is task->comm) */
    struct rlimit64 rlim[RLIM_NLIMITS];
    const char *exec_path;   /* interned by exec_intern(): shared, never freed */
    u64 start_tsc;           /* TSC at exec, for the CPU-time clocks */
    struct task *threads;    /* task->thread_next list, creation order */
    int nthreads;
    bool exiting;            /* exit_group or a fatal signal in progress: wait_status is set */
    int exit_code;           /* the main thread's exit(2) code, if other threads outlive it */
    u64 cpu_ticks;           /* CPU time (TSC ticks) of every finished slice of its threads */
    struct proc_signals sig; /* dispositions, process-wide pending set (signal.c) */
    struct task *exec_task;  /* a thread in execve ending the others (exec/dethread.c), or NULL */

    struct mm *mm;             /* address space (mm/uvm.c) */
    struct fdtable *files;     /* fd table (fs/file.c) */
    struct fs_struct *fs;      /* cwd and umask (fs/path.c) */

    /* The process tree (kernel/proc.c). */
    enum proc_state state;
    struct process *parent;    /* NULL for pid 1 */
    struct process *children;  /* youngest first, through sibling */
    struct process *sibling;
    struct process *next;      /* the process table, in pid order */
    int exit_signal;           /* sent to the parent at exit (SIGCHLD; 0: none, a clone flag) */
    int wait_status;           /* Linux's wait status once a zombie */
    int pdeath_signal;         /* PR_SET_PDEATHSIG */
    bool subreaper;            /* PR_SET_CHILD_SUBREAPER */
    bool did_exec;             /* setpgid on a child that has exec'd: EACCES */
    bool autoreap;             /* its parent wants no zombie: freed with its last thread */
    bool vfork_pending;        /* made by vfork: its parent sleeps until exec or exit */
    struct waitq *vfork_wq;    /* where that parent sleeps (on its stack), NULL once released */
    struct waitq *child_wq;    /* wait4/waitid sleep here until a child changes state */
    struct proc_usage usage;   /* its own, filled at exit */
    struct proc_usage children_usage; /* reaped descendants (RUSAGE_CHILDREN) */
    void *timers;              /* interval timers (kernel/timers.c), made on first use */
    /* Where exec put the argument and environment strings and the initial stack pointer
     * (Linux's mm->arg_start...): /proc/[pid]/cmdline and environ read the live bytes. */
    u64 arg_start, arg_end, env_start, env_end, start_stack;
};

/* Boot: pid 1 (pgid and sid 1, no parent), its fd table and fs context. */
void proc_init(void);
/* The process table:
 * process_find(pid) gives the process (zombies included) or NULL; process_next(NULL)
 * is the first process in pid order, process_next(p) the one after p or NULL. */
struct process *process_find(int pid);
struct process *process_next(struct process *p);
void proc_set_comm(const char *name);
/* Processes that have not been reaped (sysinfo's procs), and live ones of uid. */
int process_count(void);
int process_count_uid(u32 uid);

/* execve's point of no return calls this (exec/): a vfork parent waiting for this
 * process resumes, and setpgid on it now fails with EACCES, as Linux. */
void process_vfork_release(void);

/* The console's foreground process group (TIOCGPGRP/TIOCSPGRP, fs/console.c). */
int proc_tty_pgrp(void);
long proc_tty_set_pgrp(int pgid);

/* fork, vfork and clone without CLONE_VM|CLONE_THREAD (kernel/fork.c): the child's
 * first thread starts from regs with RAX 0 (RSP user_sp unless 0, FS base tls when
 * set_tls). flags are clone's (CLONE_VM, FS, FILES, VFORK, PARENT, ...), exit_signal
 * the child's. Returns the child's first task (not yet run), or NULL with *err. A
 * CLONE_VFORK caller must call process_vfork_wait(child) after its bookkeeping. */
struct task *process_fork(const struct regs *regs, u64 flags, int exit_signal, u64 user_sp,
                          bool set_tls, u64 tls, long *err);
void process_vfork_wait(struct process *child);

/* wait4/waitid (kernel/proc.c). idtype P_ALL/P_PID/P_PGID; options Linux's (WNOHANG,
 * WEXITED, WSTOPPED, WCONTINUED, WNOWAIT, __WALL, __WCLONE). 0 with *out filled, 0
 * with out->pid 0 (WNOHANG, nothing yet), -ECHILD, -EINVAL or -ERESTARTSYS. */
#define P_ALL 0
#define P_PID 1
#define P_PGID 2
#define P_PIDFD 3
#define WNOHANG 0x00000001
#define WSTOPPED 0x00000002
#define WUNTRACED WSTOPPED
#define WEXITED 0x00000004
#define WCONTINUED 0x00000008
#define WNOWAIT 0x01000000
#define __WNOTHREAD 0x20000000
#define __WALL 0x40000000
#define __WCLONE 0x80000000
#define CLD_EXITED 1
#define CLD_KILLED 2
#define CLD_DUMPED 3
struct wait_result {
    int pid;
    u32 uid;
    int status;     /* wait4's encoding */
    int code;       /* CLD_* */
    int si_status;  /* exit code or signal */
    struct proc_usage usage;
};
long process_wait(int idtype, int id, int options, struct wait_result *out);

/* Process groups and sessions (setpgid, setsid, getpgid, getsid): Linux's rules. */
long process_setpgid(int pid, int pgid);
long process_setsid(void);
/* kill(2) to pid > 0, 0 (own group), -1 (all but pid 1 and the caller), < -1 (a group). */
long process_kill(int pid, const struct ksiginfo *info);

/* The end of a process (kernel/proc.c): the last thread calls process_finish() with
 * the wait status; pid 1's ends the VM with code (or the crash marker). */
void process_finish(struct process *p);

/* Docker's default capability set (CAP_CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID,
 * SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP):
 * the bounding set, and what root in a container holds. */
#define DOCKER_CAPS 0x00000000a80425fbul
#define CAP_WAKE_ALARM 35
/* Linux's in_group_p: the effective gid or a supplementary group. */
static inline bool proc_in_group(const struct process *p, u32 gid)
{
    if (p->egid == gid)
        return true;
    for (u32 i = 0; i < p->ngroups; i++)
        if (p->groups[i] == gid)
            return true;
    return false;
}
/* A process's permitted and effective sets. */
static inline u64 proc_cap_prm(const struct process *p) { return p->euid == 0 ? DOCKER_CAPS & ~p->cap_drop_prm : 0; }
static inline u64 proc_cap_eff(const struct process *p) { return p->euid == 0 ? DOCKER_CAPS & ~p->cap_drop_eff : 0; }

#endif /* LIBOS_PROC_H */
