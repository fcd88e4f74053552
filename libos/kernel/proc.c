/* SPDX-License-Identifier: Apache-2.0 */
/* proc.c: the process object: identity, limits, name (one process, pid 1; its threads are struct task). */
#include <libos/image_config.h>
#include <libos/log.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>

struct process proc;

void proc_init(void)
{
    proc.pid = proc.pgid = proc.sid = 1; /* the first thread's tid is the pid (sched_init) */
    proc.ppid = 0; /* like a container's init: the parent is outside */
    proc.uid = proc.euid = proc.suid = image_uid;
    proc.gid = proc.egid = proc.sgid = image_gid;
    proc.umask = 022;
    for (int i = 0; i < RLIM_NLIMITS; i++)
        proc.rlim[i] = (struct rlimit64){RLIM_INFINITY, RLIM_INFINITY};
    proc.rlim[RLIMIT_STACK] = (struct rlimit64){8ul << 20, RLIM_INFINITY};
    proc.rlim[RLIMIT_CORE] = (struct rlimit64){0, RLIM_INFINITY};
    proc.rlim[RLIMIT_NOFILE] = (struct rlimit64){1024, 1024};
    proc.rlim[RLIMIT_MEMLOCK] = (struct rlimit64){8ul << 20, 8ul << 20};
    signal_process_init(&proc);
}

struct process *process_find(int pid) { return pid == proc.pid ? &proc : NULL; }

struct process *process_next(struct process *p) { return p ? NULL : &proc; }

void proc_set_comm(const char *name)
{
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' && p[1])
            base = p + 1;
    strlcpy(proc.comm, base, sizeof(proc.comm));
    if (current)
        strlcpy(current->comm, base, sizeof(current->comm)); /* the exec'ing thread's name */
}

/* Stand-in until #10's vfork: no process waits for its child's exec. */
void process_vfork_release(void) {}

__noreturn void proc_exit_group(int code) { kexit(code); }
