/* SPDX-License-Identifier: Apache-2.0 */
/* dispatch.c: the syscall table: filled at boot from the image's families, called on every SYSCALL.
 *
 * The only shim code that touches registers: it unpacks the six argument
 * registers into struct shim_args and stores the result in RAX. A number no
 * linked family provides returns -ENOSYS and is logged once:
 * "dock2uni: unsupported syscall 51 (getsockname)" (docs/shims.md), with
 * "not linked into this image" when the library OS has it but the image's plan
 * left it out (docs/per-image-link.md).
 */
#include <libos/cmdline.h>
#include <libos/cpu.h>
#include <libos/image_config.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/regs.h>
#include <libos/signal.h>
#include <libos/task.h>
#include <shim/shim.h>

#define NR_EXIT 60
#define NR_EXIT_GROUP 231
#define HIGH_REPORTED_MAX 16

struct slot {
    shim_handler handler;
    u8 present, level, err;
};

/* Weak: only images whose plan names their syscalls define it (link.py); a set bit is
 * a syscall the library OS implements that this image does not link. */
extern const u64 image_unlinked_syscalls[SHIM_TABLE_SIZE / 64] __attribute__((weak));

static struct slot table[SHIM_TABLE_SIZE];
static u64 reported[SHIM_TABLE_SIZE / 64];
static u64 high_reported[HIGH_REPORTED_MAX];
static unsigned n_high_reported;

void shim_init(void)
{
    for (const struct shim_family *const *f = image_shim_families; *f; f++) {
        for (u32 i = 0; i < (*f)->count; i++) {
            const struct shim_entry *e = &(*f)->entries[i];
            if (e->nr < SHIM_TABLE_SIZE)
                table[e->nr] = (struct slot){e->handler, 1, e->level, e->err};
        }
    }
}

const char *shim_syscall_name(u64 nr) { return nr < SHIM_TABLE_SIZE ? syscall_names[nr] : NULL; }

static bool first_report(u64 nr)
{
    if (nr < SHIM_TABLE_SIZE) {
        bool seen = reported[nr / 64] & (1ul << (nr % 64));
        reported[nr / 64] |= 1ul << (nr % 64);
        return !seen;
    }
    for (unsigned i = 0; i < n_high_reported; i++)
        if (high_reported[i] == nr)
            return false;
    if (n_high_reported < HIGH_REPORTED_MAX)
        high_reported[n_high_reported++] = nr;
    return true;
}

static long missing(u64 nr)
{
    if (first_report(nr)) {
        const char *name = shim_syscall_name(nr);
        bool unlinked = image_unlinked_syscalls && nr < SHIM_TABLE_SIZE &&
                        (image_unlinked_syscalls[nr / 64] & (1ul << (nr % 64)));
        kinfo("unsupported syscall %lu (%s)%s", nr, name ? name : "unknown",
              unlinked ? ": not linked into this image (the analysis found no caller)" : "");
    }
    return -ENOSYS;
}

__attribute__((section(".text.hot"))) int syscall_dispatch(struct regs *r)
{
    u64 nr = r->rax;
    struct shim_args a = {{r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9}, nr, r};
    long ret;
    current->syscall_nr = (int)nr; /* signal delivery restarts it (signal.c) */
    current->syscall_seq = ++syscalls_entered;
    if (unlikely(kopts.strace) && (nr == NR_EXIT || nr == NR_EXIT_GROUP))
        strace_log(&a, 0, false); /* these never return */
    if (likely(nr < SHIM_TABLE_SIZE && table[nr].handler))
        ret = table[nr].handler(&a);
    else if (nr < SHIM_TABLE_SIZE && table[nr].present)
        ret = -(long)table[nr].err;
    else
        ret = missing(nr);
    if (unlikely(kopts.strace))
        strace_log(&a, ret, true);
    r->rax = (u64)ret;
    /* An ERESTART* code always meets signal_deliver() (the return work of task.h, run
     * on the IRETQ path), which never lets it reach the program. */
    if (unlikely((u64)ret >= (u64)-ERESTART_RESTARTBLOCK && (u64)ret <= (u64)-ERESTARTSYS))
        current->work |= TASK_WORK_SIGNAL;
    /* SYSRET to a RIP at or above the last user page (non-canonical included) is
     * unsafe (libos-design.md §4.1); such returns go through IRETQ. A RIP outside
     * user space (the last page is never mapped) would make IRETQ fault in ring 0:
     * the program is killed instead, as its next instruction fetch would be. */
    if (unlikely(r->rip >= USER_TOP - PAGE_SIZE)) {
        if (r->rip >= USER_TOP)
            signal_fatal(SIGSEGV, r->rip, r->rip, "non-canonical-return");
        return 1;
    }
    return 0;
}
