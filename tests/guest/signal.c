/* signal.c: guest tests of the signal family: sigaction and mask bookkeeping, kill to self, sigaltstack. */
#include "guest.h"

#include <limits.h>
#include <signal.h>
#include <sys/syscall.h>

static void handler(int sig) { (void)sig; }

static void test_sigaction(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sa.sa_flags = SA_RESTART;
    CHECK("sigaction_install", sigaction(SIGUSR1, &sa, &old) == 0 && old.sa_handler == SIG_DFL);
    CHECK("sigaction_query", sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == handler &&
                                 (old.sa_flags & SA_RESTART) && sigismember(&old.sa_mask, SIGUSR2));
    sa.sa_handler = SIG_IGN;
    CHECK("sigaction_ignore", sigaction(SIGUSR1, &sa, &old) == 0 && old.sa_handler == handler);
    EXPECT_ERR("sigaction_sigkill", sigaction(SIGKILL, &sa, NULL), EINVAL);
    EXPECT_ERR("sigaction_sigstop", sigaction(SIGSTOP, &sa, NULL), EINVAL);
    CHECK("sigaction_query_sigkill", sigaction(SIGKILL, NULL, &old) == 0);
    EXPECT_ERR("sigaction_zero", sigaction(0, &sa, NULL), EINVAL);
    EXPECT_ERR("sigaction_too_big", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8), EINVAL);
    EXPECT_ERR("rt_sigaction_bad_setsize", syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4), EINVAL);
}

static void test_mask(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    CHECK("sigprocmask_block", sigprocmask(SIG_BLOCK, &set, &old) == 0 && !sigismember(&old, SIGUSR2));
    CHECK("sigprocmask_query", sigprocmask(SIG_SETMASK, NULL, &old) == 0 && sigismember(&old, SIGUSR2));
    sigaddset(&set, SIGKILL);
    CHECK("sigkill_not_blockable", sigprocmask(SIG_BLOCK, &set, NULL) == 0 &&
                                       sigprocmask(SIG_SETMASK, NULL, &old) == 0 && !sigismember(&old, SIGKILL));
    CHECK("sigprocmask_unblock", sigprocmask(SIG_UNBLOCK, &set, &old) == 0 &&
                                     sigprocmask(SIG_SETMASK, NULL, &old) == 0 && !sigismember(&old, SIGUSR2));
    EXPECT_ERR("sigprocmask_bad_how", syscall(SYS_rt_sigprocmask, 7, &set, NULL, 8), EINVAL);
    sigset_t pending;
    CHECK("sigpending_empty", sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR2));
}

static void test_kill(void)
{
    CHECK("kill_self_zero", kill(getpid(), 0) == 0);
    CHECK("kill_ignored_signal", kill(getpid(), SIGUSR1) == 0); /* SIG_IGN from test_sigaction */
    CHECK("raise_default_ignored", raise(SIGCHLD) == 0);
    CHECK("raise_sigwinch", raise(SIGWINCH) == 0);
    EXPECT_ERR("kill_missing_pid", kill(INT_MAX, 0), ESRCH);
    EXPECT_ERR("kill_bad_signal", kill(getpid(), 1000), EINVAL);
    CHECK("tgkill_self_zero", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) == 0);
    EXPECT_ERR("tgkill_bad_tid", syscall(SYS_tgkill, getpid(), -5, 0), EINVAL);
}

static void test_altstack(void)
{
    static char stack[65536];
    stack_t ss = {.ss_sp = stack, .ss_size = sizeof(stack), .ss_flags = 0}, old;
    CHECK("sigaltstack_initially_disabled", sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE));
    CHECK("sigaltstack_set", sigaltstack(&ss, NULL) == 0);
    CHECK("sigaltstack_query", sigaltstack(NULL, &old) == 0 && old.ss_sp == stack && old.ss_size == sizeof(stack) &&
                                   old.ss_flags == 0);
    stack_t tiny = {.ss_sp = stack, .ss_size = 16, .ss_flags = 0};
    EXPECT_ERR("sigaltstack_too_small", sigaltstack(&tiny, NULL), ENOMEM);
    stack_t off = {.ss_flags = SS_DISABLE};
    CHECK("sigaltstack_disable", sigaltstack(&off, NULL) == 0 && sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE));
}

int main(void)
{
    guest_begin();
    test_sigaction();
    test_mask();
    test_kill();
    test_altstack();
    return guest_finish();
}
