/* SPDX-License-Identifier: Apache-2.0 */
/* proc.h: the process object: identity, limits, name, signal dispositions and its threads (docs/tasks.md).
 *
 * Interface: proc_init() takes uid/gid from image_config; the fields are read and
 * written by the proc/thread shims; proc_exit_group() ends the VM with the code.
 * Threads are struct task (task.h); what they share lives here. Today one process
 * exists (`proc`); the processes issue makes more and copies this object for fork.
 * The address space (mm/uvm.c), fd table (fs/file.c) and cwd (fs/path.c) are
 * process-wide state of their subsystems.
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

struct process {
    int pid, ppid, pgid, sid;
    u32 uid, euid, suid, gid, egid, sgid;
    u32 umask;
    char comm[16];           /* the program's name at exec (each thread's own is task->comm) */
    struct rlimit64 rlim[RLIM_NLIMITS];
    const char *exec_path;
    u64 start_tsc;           /* TSC at exec, for the CPU-time clocks */
    struct task *threads;    /* task->thread_next list, creation order */
    int nthreads;
    bool exiting;            /* exit_group in progress */
    int exit_code;
    u64 cpu_ticks;           /* CPU time (TSC ticks) of every finished slice of its threads */
    struct proc_signals sig; /* dispositions, process-wide pending set (signal.c) */
    /* Where exec put the argument and environment strings and the initial stack pointer
     * (Linux's mm->arg_start...): /proc/[pid]/cmdline and environ read the live bytes. */
    u64 arg_start, arg_end, env_start, env_end, start_stack;
};

extern struct process proc;

void proc_init(void);
/* The process table (contract for #10; today it holds `proc` alone):
 * process_find(pid) gives the process (zombies included) or NULL; process_next(NULL)
 * is the first process in pid order, process_next(p) the one after p or NULL. */
struct process *process_find(int pid);
struct process *process_next(struct process *p);
void proc_set_comm(const char *name);
__noreturn void proc_exit_group(int code);

#endif /* LIBOS_PROC_H */
