/* SPDX-License-Identifier: Apache-2.0 */
/* task.c: thread objects: kernel stacks with guard pages, creation for clone, lookup, exit and the robust-list release.
 *
 * Kernel stacks live in their own region (memlayout.h KSTACK_REGION_BASE), one
 * 64 KiB slot per thread of which the top KSTACK_SIZE bytes are mapped: an overflow
 * runs into unmapped pages and ends in a double-fault report, not in a neighbour.
 */
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/futex.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/x86.h>

#include "proc_internal.h"
#include "task_internal.h"

#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu
#define ROBUST_LIST_LIMIT 2048 /* Linux's bound on a (possibly circular) user list */
#define TID_MAX 4194304        /* Linux's pid_max limit */

#define MIN_THREADS_MAX 64
#define FREE_PAGES_RESERVE 256 /* 1 MiB left for the program's own page faults */

static u64 slot_used[KSTACK_SLOTS / 64];
static int next_tid = 2;
static u32 live_tasks;

/* Linux's threads-max: kernel stacks may take an eighth of RAM. Past that, or with
 * almost no free memory, a new thread is EAGAIN, so a thread flood ends in
 * pthread_create's error instead of the program's next page fault finding no frame. */
static bool may_add_task(void)
{
    u64 threads_max = pmm_total_pages() * PAGE_SIZE / (8 * KSTACK_SIZE);
    if (live_tasks >= MAX(threads_max, (u64)MIN_THREADS_MAX))
        return false;
    return pmm_free_pages() >= FREE_PAGES_RESERVE + KSTACK_SIZE / PAGE_SIZE;
}

static bool kstack_alloc(struct task *t)
{
    for (u32 w = 0; w < KSTACK_SLOTS / 64; w++) {
        if (slot_used[w] == ~0ul)
            continue;
        u32 i = w * 64 + (u32)__builtin_ctzl(~slot_used[w]);
        u64 top = KSTACK_REGION_BASE + (u64)(i + 1) * KSTACK_SLOT;
        for (u64 va = top - KSTACK_SIZE; va < top; va += PAGE_SIZE) {
            u64 frame = pmm_alloc();
            if (!frame || vm_map_page(va, frame, PTE_W | PTE_G | vm_nx_bit) < 0) {
                if (frame)
                    pmm_free(frame);
                for (u64 v = top - KSTACK_SIZE; v < va; v += PAGE_SIZE)
                    pmm_free(vm_unmap_page(v));
                return false;
            }
        }
        slot_used[w] |= 1ul << (i % 64);
        t->kstack_base = top - KSTACK_SIZE;
        t->kstack_top = top;
        return true;
    }
    return false;
}

static void kstack_free(struct task *t)
{
    for (u64 va = t->kstack_base; va < t->kstack_top; va += PAGE_SIZE) {
        u64 frame = vm_unmap_page(va);
        if (frame)
            pmm_free(frame);
    }
    u32 i = (u32)((t->kstack_top - KSTACK_REGION_BASE) / KSTACK_SLOT) - 1;
    slot_used[i / 64] &= ~(1ul << (i % 64));
}

struct task *task_alloc(bool user, long *err)
{
    struct task *t = live_tasks && !may_add_task() ? NULL : kzalloc(sizeof(*t));
    if (!t)
        goto fail;
    if (user) {
        /* kmalloc aligns to 16; XSAVE needs 64. Zeroed: XRSTOR wants a clean header. */
        t->fpu_alloc = kzalloc(cpu_fpu_size() + 48);
        if (!t->fpu_alloc)
            goto fail;
        t->fpu = (void *)ALIGN_UP((u64)t->fpu_alloc, 64ul);
    }
    if (!kstack_alloc(t))
        goto fail;
    t->syscall_nr = -1;
    t->wake_deadline = ~0ul;
    live_tasks++;
    return t;
fail:
    if (t)
        kfree(t->fpu_alloc);
    kfree(t);
    *err = -EAGAIN;
    return NULL;
}

void task_free(struct task *t)
{
    struct process *p = t->process;
    live_tasks--;
    signal_task_free(t); /* its queued siginfos */
    kstack_free(t);
    kfree(t->fpu_alloc);
    kfree(t);
    if (p)
        process_task_gone(p);
}

bool task_may_add(void) { return may_add_task(); }

void task_prepare_stack(struct task *t, void (*entry)(void))
{
    /* sched_switch_stack pops six callee-saved registers and returns: the frame
     * below the user registers, so the trampoline finds RSP at struct regs. */
    u64 *sp = (u64 *)(t->kstack_top - sizeof(struct regs));
    *--sp = (u64)entry;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    t->kernel_rsp = (u64)sp;
}

void task_link(struct task *t)
{
    struct process *p = t->process;
    struct task **pp = &p->threads;
    while (*pp)
        pp = &(*pp)->thread_next;
    *pp = t;
    t->thread_next = NULL;
    p->nthreads++;
}

static void task_unlink(struct task *t)
{
    struct process *p = t->process;
    for (struct task **pp = &p->threads; *pp; pp = &(*pp)->thread_next)
        if (*pp == t) {
            *pp = t->thread_next;
            p->nthreads--;
            break;
        }
}

struct task *task_find(int tid)
{
    for (struct task *t = current_process()->threads; t; t = t->thread_next)
        if (t->tid == tid)
            return t;
    return NULL;
}

int task_alloc_id(void)
{
    /* Increasing as on Linux, wrapping at pid_max past the ones still in use; pids
     * and tids are one space. */
    while (proc_id_in_use(next_tid))
        next_tid = next_tid + 1 >= TID_MAX ? 2 : next_tid + 1;
    int tid = next_tid;
    next_tid = next_tid + 1 >= TID_MAX ? 2 : next_tid + 1;
    return tid;
}

extern void task_user_trampoline(void); /* switch.S */

struct task *task_create_in(struct process *p, int tid, const struct regs *regs, u64 user_sp,
                            bool set_tls, u64 tls, long *err)
{
    struct task *t = task_alloc(true, err);
    if (!t)
        return NULL;
    t->process = p;
    t->tid = tid;
    struct regs *f = (struct regs *)(t->kstack_top - sizeof(struct regs));
    *f = *regs;
    f->rax = 0; /* clone returns 0 in the child */
    if (user_sp)
        f->rsp = user_sp;
    t->user_regs = f;
    task_prepare_stack(t, task_user_trampoline);
    /* The parent runs, so the registers hold its live state: the child starts with
     * a copy of its FPU state and user segment bases, as Linux's copy_thread. */
    cpu_fpu_save(t->fpu);
    t->fs_base = set_tls ? tls : rdmsr(MSR_FS_BASE);
    t->gs_base = rdmsr(MSR_KERNEL_GS_BASE);
    memcpy(t->comm, current->comm, sizeof(t->comm));
    signal_task_init(t, current);
    task_link(t);
    return t;
}

struct task *task_create_thread(const struct regs *regs, u64 user_sp, bool set_tls, u64 tls,
                                long *err)
{
    struct task *t = task_create_in(current->process, task_alloc_id(), regs, user_sp, set_tls, tls, err);
    if (t)
        sched_add_new(t);
    return t;
}

/* -- exit ------------------------------------------------------------------------------ */

/* One robust futex of a dying owner: mark it OWNER_DIED and wake a waiter (Linux's
 * handle_futex_death). A pending lock operation on a free word still wakes one. */
static void robust_release(u64 uaddr, int tid, bool pending)
{
    u32 v;
    if ((uaddr & 3) || copy_from_user(&v, uaddr, sizeof(v)) < 0)
        return;
    if (pending && v == 0) {
        futex_wake(uaddr, 1, FUTEX_BITSET_ANY);
        return;
    }
    if ((v & FUTEX_TID_MASK) != (u32)tid)
        return;
    u32 nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (copy_to_user(uaddr, &nv, sizeof(nv)) < 0)
        return;
    if (v & FUTEX_WAITERS)
        futex_wake(uaddr, 1, FUTEX_BITSET_ANY);
}

/* Walk the thread's robust list (struct robust_list_head: next, futex_offset,
 * list_op_pending); the low bit of an entry marks a PI futex and is masked off. */
void task_robust_release(struct task *t)
{
    struct {
        u64 next;
        s64 offset;
        u64 pending;
    } head;
    u64 list = t->robust_list;
    t->robust_list = 0;
    if (!list || copy_from_user(&head, list, sizeof(head)) < 0)
        return;
    u64 pending = head.pending & ~1ul;
    u64 entry = head.next & ~1ul;
    for (int n = 0; entry && entry != list && n < ROBUST_LIST_LIMIT; n++) {
        u64 next;
        if (copy_from_user(&next, entry, sizeof(next)) < 0)
            return;
        if (entry != pending)
            robust_release(entry + (u64)head.offset, t->tid, false);
        entry = next & ~1ul;
    }
    if (pending)
        robust_release(pending + (u64)head.offset, t->tid, true);
}

__noreturn void task_exit(int code)
{
    struct task *t = current;
    struct process *p = t->process;
    /* Each is done once: a copy-on-write fault with no frame left kills the process
     * from inside these user writes, and that exit must not try them again. */
    task_robust_release(t);
    u64 ctid = t->clear_child_tid;
    t->clear_child_tid = 0;
    if (ctid) {
        /* pthread_join waits for this word to become 0 (CLONE_CHILD_CLEARTID). */
        int zero = 0;
        if (copy_to_user(ctid, &zero, sizeof(zero)) == 0)
            futex_wake(ctid, 1, FUTEX_BITSET_ANY);
    }
    if (t->tid == p->pid && !p->exiting)
        p->exit_code = code; /* the process's status if other threads outlive it */
    if (p->nthreads == 1 && !p->exiting) {
        p->exiting = true;
        p->wait_status = ((t->tid == p->pid ? code : p->exit_code) & 0xff) << 8;
    }
    task_unlink(t);
    if (p->nthreads == 0)
        process_finish(p); /* pid 1: the VM ends here */
    else if (p->exec_task && p->nthreads == 1)
        task_wake(p->exec_task, 0); /* the exec'ing thread is alone now (exec/dethread.c) */
    t->state = TASK_DEAD;
    schedule(); /* the next task frees our stack */
    panic("a dead task was scheduled again");
}

/* Every thread of the process ends with status: the others get SIGKILL (they die on
 * their way back to ring 3, or at once from an interruptible wait), then we exit. */
static __noreturn void group_exit(int status)
{
    struct process *p = current_process();
    if (!p->exiting) {
        p->exiting = true;
        p->wait_status = status;
        if (p->pid == 1 && p->nthreads > 1)
            process_finish(p); /* the VM ends: no need to wait for the other threads */
        for (struct task *t = p->threads; t; t = t->thread_next) {
            if (t == current)
                continue;
            struct ksiginfo info = {.si_signo = SIGKILL, .si_code = SI_KERNEL};
            signal_send_thread(t, &info);
        }
    }
    task_exit(0);
}

__noreturn void process_exit_group(int code) { group_exit((code & 0xff) << 8); }

__noreturn void process_exit_signal(int sig, bool core) { group_exit((sig & 0x7f) | (core ? 0x80 : 0)); }
