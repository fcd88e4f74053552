/* SPDX-License-Identifier: Apache-2.0 */
/* clone.c: clone and clone3: threads (glibc's and musl's pthread_create, Go's newosproc) and new processes (fork, vfork, posix_spawn). */
#include <libos/memlayout.h>
#include <libos/pidfd.h>
#include <libos/proc.h>
#include <libos/task.h>
#include <libos/uvm.h>
#include <shim/util.h>

#define CSIGNAL 0xffu
#define CLONE_VM 0x00000100u
#define CLONE_FS 0x00000200u
#define CLONE_FILES 0x00000400u
#define CLONE_SIGHAND 0x00000800u
#define CLONE_PIDFD 0x00001000u
#define CLONE_PTRACE 0x00002000u
#define CLONE_VFORK 0x00004000u
#define CLONE_PARENT 0x00008000u
#define CLONE_THREAD 0x00010000u
#define CLONE_SYSVSEM 0x00040000u
#define CLONE_SETTLS 0x00080000u
#define CLONE_PARENT_SETTID 0x00100000u
#define CLONE_CHILD_CLEARTID 0x00200000u
#define CLONE_DETACHED 0x00400000u
#define CLONE_UNTRACED 0x00800000u
#define CLONE_CHILD_SETTID 0x01000000u
#define CLONE_IO 0x80000000u
#define CLONE_INTO_CGROUP 0x200000000ul
#define CLONE_ARGS_SIZE_VER0 64
#define CLONE_ARGS_SIZE_VER2 88

/* What a thread of ours can be asked for: sharing everything we have one of
 * anyway, plus the tid and TLS bookkeeping. */
#define THREAD_FLAGS_OK                                                                            \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |            \
     CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED |                  \
     CLONE_CHILD_SETTID | CLONE_UNTRACED | CLONE_PTRACE | CLONE_IO | CLONE_PARENT)
#define THREAD_FLAGS_NEEDED (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
/* A new process may also share the address space (vfork, posix_spawn), fds and fs
 * context, and ask for the tid words; CLONE_SIGHAND without CLONE_THREAD (shared
 * dispositions between processes) is not supported. */
#define PROCESS_FLAGS_OK                                                                           \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_VFORK | CLONE_PARENT | CLONE_SYSVSEM |              \
     CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED |                  \
     CLONE_CHILD_SETTID | CLONE_UNTRACED | CLONE_PTRACE | CLONE_IO | CLONE_PIDFD)

struct clone_args {
    u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    u64 set_tid, set_tid_size, cgroup;
};

/* A new process: the child's first thread, then the tid words (the child's in its
 * own address space), then for CLONE_VFORK the wait until it execs or exits. */
static long new_process(const struct shim_args *a, u64 flags, int exit_signal, u64 sp, u64 ptid, u64 ctid,
                        u64 tls, u64 upidfd)
{
    long err, pidfd = -1;
    if (flags & CLONE_PIDFD) {
        pidfd = pidfd_reserve(); /* its errors fail the clone before the child exists */
        if (pidfd < 0)
            return pidfd;
    }
    struct task *t = process_fork(a->regs, flags, exit_signal, sp, flags & CLONE_SETTLS, tls, &err);
    if (!t) {
        if (pidfd >= 0)
            pidfd_cancel((int)pidfd);
        return err;
    }
    struct process *child = t->process;
    int pid = child->pid;
    if (pidfd >= 0) {
        pidfd_bind((int)pidfd, child);
        shim_put_int(upidfd, (int)pidfd);
    }
    if (flags & CLONE_PARENT_SETTID)
        shim_put_int(ptid, pid);
    if (flags & CLONE_CHILD_SETTID) {
        /* glibc's fork points this at the child's own TLS: write it in the child's
         * address space (a copy-on-write break there, not in ours). */
        struct mm *ours = uvm_active();
        uvm_activate(child->mm);
        shim_put_int(ctid, pid);
        uvm_activate(ours);
    }
    if (flags & CLONE_CHILD_CLEARTID)
        t->clear_child_tid = ctid;
    task_start(t);
    if (flags & CLONE_VFORK)
        process_vfork_wait(child);
    return pid;
}

static long do_clone(const struct shim_args *a, u64 flags, int exit_signal, u64 sp, u64 ptid, u64 ctid,
                     u64 tls, u64 upidfd)
{
    /* Linux's own consistency rules first (copy_process). */
    if ((flags & CLONE_PIDFD) && (flags & (CLONE_DETACHED | CLONE_THREAD)))
        return -EINVAL;
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
        return -EINVAL;
    if ((flags & CLONE_SETTLS) && tls >= USER_TOP)
        return -EPERM; /* as arch_prctl(ARCH_SET_FS) */
    if (!(flags & CLONE_THREAD)) {
        if (flags & ~(u64)(PROCESS_FLAGS_OK | CSIGNAL))
            return -EINVAL; /* namespaces, shared dispositions between processes */
        return new_process(a, flags, exit_signal, sp, ptid, ctid, tls, upidfd);
    }
    /* Threads sharing less than the fd table and fs context are not supported. */
    if ((flags & THREAD_FLAGS_NEEDED) != THREAD_FLAGS_NEEDED || (flags & CLONE_VFORK))
        return -EINVAL;
    if (flags & ~(u64)(THREAD_FLAGS_OK | CSIGNAL))
        return -EINVAL; /* namespaces, pidfds (EINVAL with CLONE_THREAD on Linux too) */
    long err;
    struct task *t = task_create_thread(a->regs, sp, flags & CLONE_SETTLS, tls, &err);
    if (!t)
        return err;
    /* The child cannot run before we return (one CPU, no kernel preemption), so it
     * finds both words written. A fault is ignored, as Linux ignores it. */
    if (flags & CLONE_PARENT_SETTID)
        shim_put_int(ptid, t->tid);
    if (flags & CLONE_CHILD_SETTID)
        shim_put_int(ctid, t->tid);
    if (flags & CLONE_CHILD_CLEARTID)
        t->clear_child_tid = ctid;
    return t->tid;
}

/* sys_clone: PARTIAL: threads and processes; namespaces and CLONE_SIGHAND without CLONE_THREAD -> EINVAL. */
long sys_clone(const struct shim_args *a)
{
    /* x86-64 order: flags, stack, parent_tid, child_tid, tls; CLONE_PIDFD writes the
     * pidfd where parent_tid points, so it excludes CLONE_PARENT_SETTID (EINVAL). */
    u64 flags = (u32)arg_u64(a, 0);
    if ((flags & CLONE_PIDFD) && (flags & CLONE_PARENT_SETTID))
        return -EINVAL;
    return do_clone(a, flags & ~(u64)CSIGNAL, (int)(flags & CSIGNAL), arg_uptr(a, 1), arg_uptr(a, 2),
                    arg_uptr(a, 3), arg_u64(a, 4), arg_uptr(a, 2));
}

/* sys_fork: Linux fork(2): clone(SIGCHLD). */
long sys_fork(const struct shim_args *a) { return new_process(a, 0, SIGCHLD, 0, 0, 0, 0, 0); }

/* sys_vfork: Linux vfork(2): clone(CLONE_VM|CLONE_VFORK|SIGCHLD). */
long sys_vfork(const struct shim_args *a) { return new_process(a, CLONE_VM | CLONE_VFORK, SIGCHLD, 0, 0, 0, 0, 0); }

/* sys_clone3: PARTIAL: as clone, from struct clone_args; set_tid and cgroups -> EINVAL. */
long sys_clone3(const struct shim_args *a)
{
    u64 size = arg_u64(a, 1);
    struct clone_args ca = {0};
    if (size < CLONE_ARGS_SIZE_VER0)
        return -EINVAL;
    if (size > PAGE_SIZE)
        return -E2BIG;
    if (copy_from_user(&ca, arg_uptr(a, 0), MIN(size, sizeof(ca))) < 0)
        return -EFAULT;
    /* A newer program's larger struct is fine if what we do not know is zero. */
    for (u64 off = sizeof(ca); off < size; off += 8) {
        u64 word = 0;
        if (copy_from_user(&word, arg_uptr(a, 0) + off, MIN(8ul, size - off)) < 0)
            return -EFAULT;
        if (word)
            return -E2BIG;
    }
    if (ca.exit_signal & ~(u64)CSIGNAL)
        return -EINVAL;
    if ((ca.flags & (CLONE_THREAD | CLONE_PARENT)) && ca.exit_signal)
        return -EINVAL;
    if (ca.flags & CSIGNAL)
        return -EINVAL; /* clone3 takes the signal in exit_signal */
    if ((ca.stack == 0) != (ca.stack_size == 0))
        return -EINVAL;
    if (ca.set_tid || ca.set_tid_size || (ca.flags & CLONE_INTO_CGROUP))
        return -EINVAL; /* choosing tids needs pid namespaces; no cgroups */
    u64 sp = ca.stack ? ca.stack + ca.stack_size : 0;
    return do_clone(a, ca.flags, (int)ca.exit_signal, sp, ca.parent_tid, ca.child_tid, ca.tls, ca.pidfd);
}
