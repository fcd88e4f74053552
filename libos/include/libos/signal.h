/* SPDX-License-Identifier: Apache-2.0 */
/* signal.h: signal numbers and the per-process signal bookkeeping (kernel/signal.c).
 *
 * Interface: dispositions and masks are stored and returned (rt_sigaction,
 * rt_sigprocmask, sigaltstack) but no handler runs yet. signal_fatal() ends
 * the VM the way Linux kills the process for a signal it cannot deliver.
 */
#ifndef LIBOS_SIGNAL_H
#define LIBOS_SIGNAL_H

#include <libos/types.h>

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGURG 23
#define SIGWINCH 28
#define NSIG 64

#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

#define SIG_DFL 0ul
#define SIG_IGN 1ul

/* Linux's struct sigaction as the kernel sees it (x86-64). */
struct k_sigaction {
    u64 handler;
    u64 flags;
    u64 restorer;
    u64 mask;
};
_Static_assert(sizeof(struct k_sigaction) == 32, "x86-64 kernel sigaction");

struct k_stack_t {
    u64 sp;
    s32 flags;
    s32 pad;
    u64 size;
};
_Static_assert(sizeof(struct k_stack_t) == 24, "x86-64 stack_t");

/* 0 or -EINVAL (bad number, SIGKILL/SIGSTOP change). act/old may be NULL. */
long signal_action(int sig, const struct k_sigaction *act, struct k_sigaction *old);
/* how = SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK; set/old may be NULL. */
long signal_mask(int how, const u64 *set, u64 *old);
long signal_altstack(const struct k_stack_t *ss, struct k_stack_t *old, u64 user_sp);
/* A signal sent to ourselves (kill/tgkill/raise): 0 if ignored or blocked, else terminates. */
long signal_send_self(int sig);

/* Kill the application with sig: marker D2U:CRASH, exit value 128+sig. */
__noreturn void signal_fatal(int sig, u64 addr, u64 rip, const char *cause);

#endif /* LIBOS_SIGNAL_H */
