/* signal.c: guest tests of the signal family: dispositions, masks, handlers and their frames, faults as signals, waiting, timers. */
#include "guest.h"

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>

#ifdef __GLIBC__
#define sigev_notify_thread_id _sigev_un._tid /* glibc's headers name only the union */
#endif

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1u << 31) /* Linux 4.7; glibc's headers lack it */
#endif

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

/* ---- handlers that run ---- */

static volatile sig_atomic_t hits;
static volatile int last_sig, last_code, last_pid, last_value, last_overrun;
static volatile uintptr_t last_addr;
static volatile int usr2_blocked_inside, usr1_blocked_inside;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    usr1_blocked_inside = sigismember(&cur, SIGUSR1);
    usr2_blocked_inside = sigismember(&cur, SIGUSR2);
    last_sig = sig;
    last_code = si->si_code;
    last_pid = si->si_pid;
    last_value = si->si_value.sival_int;
    last_overrun = si->si_code == SI_TIMER ? si->si_overrun : 0;
    hits++;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags, int masked)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (masked)
        sigaddset(&sa.sa_mask, masked);
    sigaction(sig, &sa, NULL);
}

static void restore_default(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
}

static void test_handlers(void)
{
    install(SIGUSR1, info_handler, 0, SIGUSR2);
    hits = 0;
    CHECK("kill_runs_handler", kill(getpid(), SIGUSR1) == 0 && hits == 1);
    CHECK("siginfo_kill", last_sig == SIGUSR1 && last_code == SI_USER && last_pid == getpid());
    CHECK("handler_mask_has_sa_mask_and_sig", usr2_blocked_inside && usr1_blocked_inside);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    CHECK("mask_restored_after_handler", !sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2));
    CHECK("raise_is_tkill", raise(SIGUSR1) == 0 && hits == 2 && last_code == SI_TKILL);

    union sigval v = {.sival_int = 42};
    install(SIGRTMIN + 1, info_handler, 0, 0);
    CHECK("sigqueue_value", sigqueue(getpid(), SIGRTMIN + 1, v) == 0 && hits == 3 &&
                                last_code == SI_QUEUE && last_value == 42 && last_sig == SIGRTMIN + 1);

    /* Blocked: pending, then delivered the moment it is unblocked. */
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1); /* a standard signal is pending once */
    CHECK("blocked_stays_pending", hits == 3 && sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    CHECK("unblock_delivers_once", hits == 4);

    /* Real-time signals queue every instance, lowest first. */
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < 3; i++) {
        v.sival_int = i;
        sigqueue(getpid(), SIGRTMIN + 1, v);
    }
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    CHECK("rt_signals_queue", hits == 4 + 3 && last_value == 2);

    install(SIGUSR1, info_handler, SA_NODEFER, 0);
    raise(SIGUSR1);
    CHECK("sa_nodefer", !usr1_blocked_inside);

    install(SIGUSR1, info_handler, SA_RESETHAND, 0);
    struct sigaction old;
    raise(SIGUSR1);
    CHECK("sa_resethand", sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == SIG_DFL);

    restore_default(SIGRTMIN + 1);
    restore_default(SIGUSR1);
}

/* ---- faults as signals ---- */

static sigjmp_buf jb;

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    last_sig = sig;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, 1);
}

static void trap_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    last_sig = sig;
    last_code = si->si_code;
    hits++;
}

/* A JIT's recovery: the handler moves RIP past the faulting instruction and returns. */
static volatile uintptr_t resume_at;

static void skip_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    last_sig = sig;
    last_addr = (uintptr_t)si->si_addr;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)resume_at;
    uc->uc_mcontext.gregs[REG_RBX] = 77; /* and the registers come back from the frame */
}

static void test_fault_resume(void)
{
    install(SIGSEGV, skip_handler, 0, 0);
    long rbx_after = 0;
    last_sig = 0;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, %1\n\t"
                     "xorl %%ebx, %%ebx\n\t"
                     "movl $16, %%eax\n\t"
                     "movl $1, (%%rax)\n"
                     "1:\tmovq %%rbx, %0"
                     : "=r"(rbx_after), "=m"(resume_at)
                     :
                     : "rax", "rbx", "memory");
    CHECK("handler_moves_rip_and_returns", last_sig == SIGSEGV && last_addr == 16 && rbx_after == 77);
    restore_default(SIGSEGV);
}

static void test_faults(void)
{
    install(SIGSEGV, fault_handler, SA_NODEFER, 0);
    static volatile uintptr_t bad = 8;
    if (!sigsetjmp(jb, 1))
        *(volatile int *)bad = 1;
    CHECK("segv_maperr", last_sig == SIGSEGV && last_code == SEGV_MAPERR && last_addr == 8);

    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    last_sig = 0;
    if (!sigsetjmp(jb, 1))
        *(volatile char *)(page + 16) = 1;
    CHECK("segv_accerr", last_sig == SIGSEGV && last_code == SEGV_ACCERR && last_addr == (uintptr_t)(page + 16));
    munmap(page, 4096);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    CHECK("siglongjmp_restores_mask", !sigismember(&cur, SIGSEGV));

    /* A page wholly past the end of a mapped file: SIGBUS. */
    install(SIGBUS, fault_handler, 0, 0);
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    size_t inside = ((size_t)st.st_size + 4095) & ~(size_t)4095;
    char *map = mmap(NULL, inside + 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    last_sig = 0;
    volatile char first = 0;
    if (!sigsetjmp(jb, 1))
        first = map[0] + map[inside];
    (void)first;
    CHECK("sigbus_past_end_of_file", last_sig == SIGBUS && last_code == BUS_ADRERR &&
                                         last_addr == (uintptr_t)(map + inside));
    munmap(map, inside + 4096);
    restore_default(SIGBUS);

    install(SIGFPE, fault_handler, 0, 0);
    volatile int zero = 0, num = 7;
    last_sig = 0;
    if (!sigsetjmp(jb, 1))
        num = num / zero;
    CHECK("fpe_intdiv", last_sig == SIGFPE && last_code == FPE_INTDIV);

    /* A privileged instruction: #GP, which Linux reports with SI_KERNEL and no address. */
    last_sig = 0;
    if (!sigsetjmp(jb, 1))
        __asm__ volatile("hlt");
    CHECK("gp_segv_si_kernel", last_sig == SIGSEGV && last_code == SI_KERNEL && last_addr == 0);

    install(SIGILL, fault_handler, 0, 0);
    last_sig = 0;
    uintptr_t ud2_at = 0;
    if (!sigsetjmp(jb, 1))
        __asm__ volatile("leaq 1f(%%rip), %0\n\tmovq %0, %1\n1:\tud2" : "=&r"(ud2_at), "=m"(last_addr));
    CHECK("ill_illopn", last_sig == SIGILL && last_code == ILL_ILLOPN && last_addr != 0);

    install(SIGTRAP, trap_handler, 0, 0);
    hits = 0;
    __asm__ volatile("int3");
    CHECK("int3_sigtrap_continues", hits == 1 && last_sig == SIGTRAP && last_code == SI_KERNEL);

    restore_default(SIGSEGV);
    restore_default(SIGFPE);
    restore_default(SIGILL);
    restore_default(SIGTRAP);
}

/* Stack overflow: the handler can run only on the alternate stack. */
static char *alt_base;
static volatile int on_alt;

static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si, (void)uc;
    char here;
    on_alt = &here > alt_base && &here < alt_base + 65536;
    last_sig = sig;
    siglongjmp(jb, 1);
}

static volatile int depth_limit = -1; /* never reached: the stack ends first */

static int recurse(volatile char *prev, int depth)
{
    volatile char buf[1024];
    buf[0] = prev ? prev[0] + 1 : 0;
    if (depth == depth_limit)
        return buf[0];
    return recurse(buf, depth + 1) + buf[1];
}

static void test_stack_overflow(void)
{
    alt_base = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = {.ss_sp = alt_base, .ss_size = 65536, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    install(SIGSEGV, overflow_handler, SA_ONSTACK, 0);
    last_sig = 0;
    if (!sigsetjmp(jb, 1))
        recurse(NULL, 0);
    CHECK("stack_overflow_handler_on_altstack", last_sig == SIGSEGV && on_alt);
    stack_t cur;
    CHECK("altstack_kept_after_handler", sigaltstack(NULL, &cur) == 0 && cur.ss_sp == alt_base && cur.ss_flags == 0);
    restore_default(SIGSEGV);
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    munmap(alt_base, 65536);
}

/* SS_AUTODISARM: the altstack is off while the handler runs and back afterwards. */
static volatile int autodisarm_seen;

static void autodisarm_handler(int sig)
{
    (void)sig;
    stack_t cur;
    sigaltstack(NULL, &cur);
    autodisarm_seen = (cur.ss_flags & SS_DISABLE) != 0;
}

static void test_autodisarm(void)
{
    static char stack[65536];
    stack_t ss = {.ss_sp = stack, .ss_size = sizeof(stack), .ss_flags = SS_AUTODISARM};
    CHECK("sigaltstack_autodisarm", sigaltstack(&ss, NULL) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = autodisarm_handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    stack_t cur;
    CHECK("autodisarm_in_handler_and_back", autodisarm_seen && sigaltstack(NULL, &cur) == 0 && cur.ss_sp == stack);
    restore_default(SIGUSR2);
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
}

/* The handler changes xmm0 in the frame; rt_sigreturn loads it. */
static void fpu_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    uc->uc_mcontext.fpregs->_xmm[0].element[0] = 0x5eed;
    uc->uc_mcontext.fpregs->_xmm[0].element[1] = 0xf00d;
    /* The handler starts from a clean FPU state whatever the program had. */
    uint64_t x;
    __asm__ volatile("movq %%xmm0, %0" : "=r"(x));
    last_value = x == 0;
}

static void test_fpu_frame(void)
{
    install(SIGUSR1, fpu_handler, 0, 0);
    uint64_t in = 0x1111222233334444ull, out = 0;
    long pid = getpid();
    __asm__ volatile("movq %2, %%xmm0\n\t"
                     "movl $62, %%eax\n\t" /* kill(pid, SIGUSR1) */
                     "movq %3, %%rdi\n\t"
                     "movl $10, %%esi\n\t"
                     "syscall\n\t"
                     "movq %%xmm0, %0"
                     : "=r"(out), "=m"(last_addr)
                     : "r"(in), "r"(pid)
                     : "rax", "rdi", "rsi", "rcx", "r11", "xmm0", "memory");
    CHECK("sigreturn_loads_modified_xmm0", out == 0xf00d00005eedull);
    CHECK("handler_starts_with_clean_fpu", last_value == 1);
    restore_default(SIGUSR1);
}

/* ---- waiting for signals ---- */

static void test_waiting(void)
{
    install(SIGUSR1, info_handler, 0, 0);
    sigset_t set, empty, cur;
    sigemptyset(&set);
    sigemptyset(&empty);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    hits = 0;
    int r = sigsuspend(&empty);
    CHECK("sigsuspend_runs_handler", r == -1 && errno == EINTR && hits == 1);
    sigprocmask(SIG_SETMASK, NULL, &cur);
    CHECK("sigsuspend_restores_mask", sigismember(&cur, SIGUSR1));

    struct timespec ts = {0, 30 * 1000 * 1000};
    siginfo_t si;
    errno = 0;
    CHECK("sigtimedwait_timeout", sigtimedwait(&set, &si, &ts) == -1 && errno == EAGAIN);
    raise(SIGUSR1);
    /* glibc reports raise()'s SI_TKILL as SI_USER here. */
    CHECK("sigtimedwait_takes_pending", sigtimedwait(&set, &si, &ts) == SIGUSR1 && hits == 1 &&
                                            (si.si_code == SI_TKILL || si.si_code == SI_USER));
    union sigval v = {.sival_int = 7};
    sigqueue(getpid(), SIGUSR1, v);
    CHECK("sigwaitinfo_value", sigwaitinfo(&set, &si) == SIGUSR1 && si.si_value.sival_int == 7);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    CHECK("restart_syscall_nothing_to_restart", syscall(SYS_restart_syscall) == -1 && errno == EINTR);
    restore_default(SIGUSR1);
}

/* ---- timers and interrupted calls ---- */

static void count_handler(int sig)
{
    (void)sig;
    hits++;
}

static void install_plain(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void arm(long value_us, long interval_us)
{
    struct itimerval it = {{interval_us / 1000000, interval_us % 1000000},
                           {value_us / 1000000, value_us % 1000000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void test_alarm_and_itimer(void)
{
    install_plain(SIGALRM, count_handler, 0);
    alarm(5);
    CHECK("alarm_returns_seconds_left", alarm(0) == 5);
    hits = 0;
    alarm(1);
    int r = pause();
    CHECK("alarm_interrupts_pause", r == -1 && errno == EINTR && hits == 1);

    arm(20000, 20000);
    while (hits < 6)
        pause();
    struct itimerval cur;
    CHECK("setitimer_periodic_counted", hits == 6 && getitimer(ITIMER_REAL, &cur) == 0 &&
                                            cur.it_interval.tv_usec == 20000);
    arm(0, 0);
    CHECK("setitimer_disarmed", getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 &&
                                    cur.it_value.tv_usec == 0);
    arm(900000, 0);
    CHECK("getitimer_counts_down", getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 &&
                                       cur.it_value.tv_usec > 400000 && cur.it_value.tv_usec <= 900000);
    arm(0, 0);

    /* A handler without SA_RESTART: nanosleep fails with EINTR and the time left. */
    arm(50000, 0);
    struct timespec req = {1, 0}, rem = {0, 0};
    hits = 0;
    r = nanosleep(&req, &rem);
    CHECK("nanosleep_eintr_with_remaining", r == -1 && errno == EINTR && hits == 1 && rem.tv_sec == 0 &&
                                                rem.tv_nsec > 500000000);
    restore_default(SIGALRM);
}

/* SIGPROF and SIGVTALRM come from CPU time: a spinning loop gets them. */
static void spin_until_hits(int want)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while (hits < want && now.tv_sec - start.tv_sec < 10);
}

static void test_cpu_itimers(void)
{
    static const struct {
        const char *name;
        int which, sig;
    } timers[] = {{"itimer_prof_counted", ITIMER_PROF, SIGPROF}, {"itimer_virtual_counted", ITIMER_VIRTUAL, SIGVTALRM}};
    for (int i = 0; i < 2; i++) {
        install_plain(timers[i].sig, count_handler, 0);
        hits = 0;
        struct itimerval it = {{0, 20000}, {0, 20000}}, cur;
        setitimer(timers[i].which, &it, NULL);
        spin_until_hits(3);
        CHECK(timers[i].name, hits >= 3 && getitimer(timers[i].which, &cur) == 0 && cur.it_interval.tv_usec == 20000);
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(timers[i].which, &off, NULL);
        restore_default(timers[i].sig);
    }
}

static void test_posix_timers(void)
{
    int sig = SIGRTMIN + 3;
    install(sig, info_handler, 0, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 99;
    timer_t t;
    CHECK("timer_create", timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
    struct itimerspec its = {{0, 1000000}, {0, 1000000}}; /* every millisecond */
    CHECK("timer_settime", timer_settime(t, 0, &its, NULL) == 0);
    struct timespec nap = {0, 60 * 1000 * 1000}, zero = {0, 0};
    nanosleep(&nap, NULL);
    siginfo_t si;
    /* One signal for all those expirations; the count is taken when it is dequeued,
     * and later expirations (still blocked) do not change timer_getoverrun. */
    int got = sigtimedwait(&set, &si, &zero), overrun = timer_getoverrun(t);
    CHECK("timer_signal_with_overrun", got == sig && si.si_code == SI_TIMER && si.si_value.sival_int == 99 &&
                                           si.si_overrun >= 10);
    CHECK("timer_getoverrun", overrun == si.si_overrun);
    hits = 0;
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    struct timespec wait = {0, 5 * 1000 * 1000};
    while (hits == 0 && nanosleep(&wait, NULL) == 0)
        ;
    CHECK("timer_runs_handler", hits >= 1 && last_sig == sig && last_code == SI_TIMER && last_value == 99);
    struct itimerspec cur;
    CHECK("timer_gettime_periodic", timer_gettime(t, &cur) == 0 && cur.it_interval.tv_nsec == 1000000);
    CHECK("timer_delete", timer_delete(t) == 0);
    EXPECT_ERR("timer_gettime_deleted", syscall(SYS_timer_gettime, 12345, &cur), EINVAL);

    ev.sigev_notify = SIGEV_NONE;
    CHECK("timer_sigev_none", timer_create(CLOCK_REALTIME, &ev, &t) == 0);
    struct itimerspec once = {{0, 0}, {5, 0}};
    timer_settime(t, 0, &once, NULL);
    CHECK("timer_sigev_none_counts_down", timer_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 4 &&
                                              cur.it_value.tv_nsec > 0);
    timer_delete(t);
    /* The alarm clocks need CAP_WAKE_ALARM (not in Docker's default set); Linux checks for
     * an RTC first, so a host without one says EOPNOTSUPP to everybody. */
    errno = 0;
    int made_alarm = timer_create(CLOCK_BOOTTIME_ALARM, &ev, &t) == 0;
    CHECK("timer_alarm_clock_needs_cap", made_alarm ? guest_has_cap(GUEST_CAP_WAKE_ALARM)
                                                    : errno == EOPNOTSUPP || (errno == EPERM && !guest_has_cap(GUEST_CAP_WAKE_ALARM)));
    if (made_alarm)
        timer_delete(t);

    /* An absolute time in the past fires at once. */
    ev.sigev_notify = SIGEV_SIGNAL;
    timer_create(CLOCK_MONOTONIC, &ev, &t);
    struct itimerspec past = {{0, 0}, {0, 1}};
    hits = 0;
    sigprocmask(SIG_BLOCK, &set, NULL);
    timer_settime(t, TIMER_ABSTIME, &past, NULL);
    CHECK("timer_abstime_past_fires", sigtimedwait(&set, &si, &nap) == sig && si.si_code == SI_TIMER);
    timer_delete(t);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    restore_default(sig);
}

/* SA_RESTART against EINTR on a blocking read of the terminal. fd 1 is the tty on both
 * sides (natively a pty, booted the console; stdin is /dev/null natively), and nobody types. */
static void restart_switch_handler(int sig)
{
    (void)sig;
    if (++hits == 3)
        install_plain(SIGALRM, restart_switch_handler, 0); /* the next one interrupts */
}

static void test_restart_read(void)
{
    install_plain(SIGALRM, restart_switch_handler, SA_RESTART);
    hits = 0;
    arm(30000, 30000);
    char c;
    ssize_t r = read(1, &c, 1);
    int err = errno;
    arm(0, 0);
    errno = err;
    CHECK("sa_restart_then_eintr_on_read", r == -1 && errno == EINTR && hits == 4);
    restore_default(SIGALRM);
}

/* ---- signals and threads ---- */

static volatile pid_t handler_tid, thread_tid;
static volatile int thread_ready, thread_mask_had_usr2, thread_pause_eintr;

static void tid_handler(int sig)
{
    (void)sig;
    handler_tid = (pid_t)syscall(SYS_gettid);
    hits++;
}

static void *pausing_thread(void *arg)
{
    (void)arg;
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    thread_mask_had_usr2 = sigismember(&cur, SIGUSR2);
    thread_tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&thread_ready, 1, __ATOMIC_SEQ_CST);
    int r = pause();
    thread_pause_eintr = r == -1 && errno == EINTR;
    return NULL;
}

static pthread_t start_pausing_thread(void)
{
    pthread_t t;
    thread_ready = 0;
    thread_pause_eintr = 0;
    pthread_create(&t, NULL, pausing_thread, NULL);
    while (!__atomic_load_n(&thread_ready, __ATOMIC_SEQ_CST))
        sched_yield();
    struct timespec settle = {0, 20 * 1000 * 1000}; /* let it reach pause() */
    nanosleep(&settle, NULL);
    return t;
}

static void test_threads(void)
{
    install_plain(SIGUSR1, tid_handler, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t t = start_pausing_thread();
    CHECK("new_thread_inherits_mask", thread_mask_had_usr2);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    handler_tid = 0;
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    CHECK("tgkill_runs_handler_in_that_thread", handler_tid == thread_tid && thread_pause_eintr);

    /* A process-directed signal goes to a thread that does not block it. */
    t = start_pausing_thread(); /* before the mask changes: it would inherit it */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    handler_tid = 0;
    kill(getpid(), SIGUSR1);
    pthread_join(t, NULL);
    CHECK("kill_picks_an_unblocking_thread", handler_tid == thread_tid && thread_pause_eintr);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    /* SIGEV_THREAD_ID: the timer's signal goes to the named thread. */
    t = start_pausing_thread();
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify_thread_id = thread_tid;
    timer_t timer;
    handler_tid = 0;
    int made = timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
    struct itimerspec its = {{0, 0}, {0, 10 * 1000 * 1000}};
    if (made)
        timer_settime(timer, 0, &its, NULL);
    pthread_join(t, NULL);
    CHECK("sigev_thread_id_targets_the_thread", made && handler_tid == thread_tid && thread_pause_eintr);
    if (made)
        timer_delete(timer);
    restore_default(SIGUSR1);
}

int main(void)
{
    guest_begin();
    test_sigaction();
    test_mask();
    test_kill();
    test_altstack();
    test_handlers();
    test_faults();
    test_fault_resume();
    test_stack_overflow();
    test_autodisarm();
    test_fpu_frame();
    test_waiting();
    test_alarm_and_itimer();
    test_cpu_itimers();
    test_posix_timers();
    test_restart_read();
    test_threads();
    return guest_finish();
}
