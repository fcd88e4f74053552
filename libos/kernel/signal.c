/* SPDX-License-Identifier: Apache-2.0 */
/* signal.c: signal dispositions, mask and alternate stack as bookkeeping; fatal signals end the VM.
 *
 * No handler runs in this version: a signal the application sends itself takes
 * its default action (terminate, or nothing for the ignored-by-default ones)
 * unless it is ignored or blocked; faults always kill (arch/x86_64/trap.c).
 */
#include <libos/errno.h>
#include <libos/log.h>
#include <libos/signal.h>

#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)
#define MINSIGSTKSZ 2048
#define UNBLOCKABLE ((1ul << (SIGKILL - 1)) | (1ul << (SIGSTOP - 1)))

static struct k_sigaction actions[NSIG + 1];
static u64 blocked;
static struct k_stack_t altstack = {.flags = SS_DISABLE};

long signal_action(int sig, const struct k_sigaction *act, struct k_sigaction *old)
{
    if (sig < 1 || sig > NSIG)
        return -EINVAL;
    if (act && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    if (old)
        *old = actions[sig];
    if (act) {
        actions[sig] = *act;
        actions[sig].mask &= ~UNBLOCKABLE;
    }
    return 0;
}

long signal_mask(int how, const u64 *set, u64 *old)
{
    if (old)
        *old = blocked;
    if (!set)
        return 0;
    switch (how) {
    case SIG_BLOCK:
        blocked |= *set;
        break;
    case SIG_UNBLOCK:
        blocked &= ~*set;
        break;
    case SIG_SETMASK:
        blocked = *set;
        break;
    default:
        return -EINVAL;
    }
    blocked &= ~UNBLOCKABLE;
    return 0;
}

long signal_altstack(const struct k_stack_t *ss, struct k_stack_t *old, u64 user_sp)
{
    bool on = !(altstack.flags & SS_DISABLE) && user_sp - altstack.sp < altstack.size;
    if (old) {
        *old = altstack;
        old->flags = on ? SS_ONSTACK : altstack.flags;
    }
    if (!ss)
        return 0;
    if (on)
        return -EPERM;
    int mode = ss->flags & ~(int)SS_AUTODISARM;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
        return -EINVAL;
    if (mode == SS_DISABLE) {
        altstack = (struct k_stack_t){.flags = SS_DISABLE};
        return 0;
    }
    if (ss->size < MINSIGSTKSZ)
        return -ENOMEM;
    altstack = *ss;
    altstack.flags = ss->flags & (int)SS_AUTODISARM;
    return 0;
}

static bool ignored_by_default(int sig)
{
    return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH || sig == SIGSTOP ||
           sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

long signal_send_self(int sig)
{
    if (sig == 0)
        return 0;
    if (sig < 0 || sig > NSIG)
        return -EINVAL;
    u64 handler = actions[sig].handler;
    if (sig != SIGKILL && (handler == SIG_IGN || (blocked & (1ul << (sig - 1)))))
        return 0; /* ignored, or blocked (stays pending forever: no delivery yet) */
    if (handler == SIG_DFL || sig == SIGKILL) {
        if (ignored_by_default(sig))
            return 0;
        signal_fatal(sig, 0, 0, "kill");
    }
    kinfo("signal %d has a handler, but handlers do not run yet: ignored", sig);
    return 0;
}

__noreturn void signal_fatal(int sig, u64 addr, u64 rip, const char *cause)
{
    kexit_crash(sig, addr, rip, cause);
}
