/* fork.c: guest tests of processes: fork/vfork/clone, wait status encodings, copy-on-write, zombies and orphans, groups and sessions, SIGCHLD, shared fds.
 *
 * Only the top process prints; children report through their exit status or a pipe,
 * so the output is the same natively and in the unikernel (where the top process is
 * pid 1). Natively the top process is made a child subreaper, so orphans come to it
 * there as they come to pid 1 in the unikernel.
 */
#include "guest.h"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#endif

/* A child running fn; returns its pid (the child _exits with fn's result). */
static pid_t spawn(int (*fn)(void *), void *arg)
{
    pid_t p = fork();
    if (p == 0)
        _exit(fn(arg));
    return p;
}

static int exit_with(void *arg) { return (int)(long)arg; }

static int wait_status(pid_t p)
{
    int st = -1;
    if (waitpid(p, &st, 0) != p)
        return -1;
    return st;
}

static void ms_sleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- exit statuses ---- */

static int do_exit42(void *arg)
{
    (void)arg;
    exit(42); /* through libc's exit: atexit, stdio */
}

static int kill_self(void *arg)
{
    kill(getpid(), (int)(long)arg);
    for (;;)
        pause();
    return 0;
}

static int segv(void *arg)
{
    (void)arg;
    signal(SIGSEGV, SIG_DFL);
    volatile int *volatile null_page = (volatile int *)(long)arg;
    *null_page = 1;
    return 0;
}

static void test_status(void)
{
    int st = wait_status(spawn(exit_with, (void *)0));
    CHECK("exit_0", WIFEXITED(st) && WEXITSTATUS(st) == 0 && st == 0);
    st = wait_status(spawn(exit_with, (void *)1));
    CHECK("exit_1_raw", st == 0x100);
    st = wait_status(spawn(exit_with, (void *)255));
    CHECK("exit_255", WIFEXITED(st) && WEXITSTATUS(st) == 255);
    st = wait_status(spawn(exit_with, (void *)256));
    CHECK("exit_256_is_0", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    st = wait_status(spawn(do_exit42, NULL));
    CHECK("exit_libc_42", WIFEXITED(st) && WEXITSTATUS(st) == 42);
    st = wait_status(spawn(kill_self, (void *)SIGTERM));
    CHECK("killed_sigterm", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM && st == SIGTERM);
    st = wait_status(spawn(kill_self, (void *)SIGKILL));
    CHECK("killed_sigkill", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !WCOREDUMP(st));
    st = wait_status(spawn(kill_self, (void *)SIGUSR1));
    CHECK("killed_sigusr1", WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
    st = wait_status(spawn(segv, (void *)8));
    CHECK("killed_sigsegv", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV); /* core bit: the host's core_pattern */
}

/* ---- wait variants ---- */

static int read_then_exit(void *arg)
{
    int fd = (int)(long)arg;
    char c;
    if (read(fd, &c, 1) != 1)
        return 99;
    return c;
}

static void test_wait(void)
{
    EXPECT_ERR("wait_no_children", wait(NULL), ECHILD);
    EXPECT_ERR("waitpid_not_child", waitpid(0x3ffffff0, NULL, 0), ECHILD);
    int fds[2];
    CHECK("pipe", pipe(fds) == 0);
    pid_t p = spawn(read_then_exit, (void *)(long)fds[0]);
    int st = 0;
    CHECK("wnohang_running", waitpid(p, &st, WNOHANG) == 0);
    CHECK("wnohang_any_running", waitpid(-1, &st, WNOHANG) == 0);
    siginfo_t si;
    memset(&si, 0xff, sizeof(si));
    CHECK("waitid_wnohang_running", waitid(P_PID, p, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0 &&
                                        si.si_signo == 0);
    CHECK("write_go", write(fds[1], "\x07", 1) == 1);
    memset(&si, 0, sizeof(si));
    CHECK("waitid_nowait", waitid(P_PID, p, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == p &&
                               si.si_code == CLD_EXITED && si.si_status == 7 && si.si_signo == SIGCHLD);
    memset(&si, 0, sizeof(si));
    CHECK("waitid_nowait_again", waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == p);
    CHECK("kill_zombie_ok", kill(p, 0) == 0);
    struct rusage ru;
    CHECK("wait4_reaps", wait4(p, &st, 0, &ru) == p && WEXITSTATUS(st) == 7 && ru.ru_utime.tv_sec >= 0);
    EXPECT_ERR("kill_reaped", kill(p, 0), ESRCH);
    EXPECT_ERR("wait_reaped", waitpid(p, &st, 0), ECHILD);
    close(fds[0]);
    close(fds[1]);

    p = spawn(kill_self, (void *)SIGTERM);
    memset(&si, 0, sizeof(si));
    CHECK("waitid_killed", waitid(P_ALL, 0, &si, WEXITED) == 0 && si.si_pid == p && si.si_code == CLD_KILLED &&
                               si.si_status == SIGTERM);
    EXPECT_ERR("waitid_bad_options", waitid(P_ALL, 0, &si, 0), EINVAL);
    EXPECT_ERR("waitid_bad_idtype", waitid((idtype_t)42, 0, &si, WEXITED), EINVAL);
    EXPECT_ERR("wait4_bad_options", wait4(-1, &st, 0x4000, NULL), EINVAL);

    /* A child in its own group: waitpid(-pgid) finds it, waitpid(0) (our group) does not. */
    p = fork();
    if (p == 0) {
        setpgid(0, 0);
        ms_sleep(50);
        _exit(3);
    }
    setpgid(p, p);
    CHECK("waitpid_own_group_none", waitpid(0, &st, WNOHANG) == -1 && errno == ECHILD);
    CHECK("waitpid_group", waitpid(-p, &st, 0) == p && WEXITSTATUS(st) == 3);
    p = spawn(exit_with, (void *)4);
    memset(&si, 0, sizeof(si));
    CHECK("waitid_pgid", waitid(P_PGID, getpgrp(), &si, WEXITED) == 0 && si.si_pid == p && si.si_status == 4);
}

/* ---- copy-on-write ---- */

static int shared_word = 1;

static void test_cow(void)
{
    int fds[2], back[2];
    CHECK("cow_pipes", pipe(fds) == 0 && pipe(back) == 0);
    size_t big = 8u << 20;
    unsigned char *heap = malloc(big);
    for (size_t i = 0; i < big; i++)
        heap[i] = (unsigned char)(i * 7);
    int on_stack = 10;
    char *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    anon[0] = 'p';
    shared[0] = 100;
    pid_t p = fork();
    if (p == 0) {
        /* Write everything first, then let the parent write, then check ours. */
        shared_word = 2;
        on_stack = 20;
        anon[0] = 'c';
        shared[0] = 200;
        shared[1024] = 0; /* a page first touched after the fork is shared too */
        for (size_t i = 0; i < big; i += 4096)
            heap[i] = 0xaa;
        char c = 'x';
        if (write(back[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
            _exit(90);
        int bad = shared_word != 2 || on_stack != 20 || anon[0] != 'c';
        for (size_t i = 0; i < big && !bad; i++)
            bad = heap[i] != (i % 4096 == 0 ? 0xaa : (unsigned char)(i * 7));
        _exit(bad ? 1 : shared[1024] == 300 ? 0 : 2);
    }
    char c;
    CHECK("cow_child_wrote", read(back[0], &c, 1) == 1);
    CHECK("cow_parent_global", shared_word == 1);
    CHECK("cow_parent_stack", on_stack == 10);
    CHECK("cow_parent_anon", anon[0] == 'p');
    int ok = 1;
    for (size_t i = 0; i < big && ok; i++)
        ok = heap[i] == (unsigned char)(i * 7);
    CHECK("cow_parent_big_heap", ok);
    CHECK("shared_anon_sees_child", shared[0] == 200);
    shared_word = 3;
    shared[1024] = 300;
    heap[0] = 1;
    CHECK("cow_go", write(fds[1], "g", 1) == 1);
    int st = wait_status(p);
    CHECK("cow_child_sees_its_own", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK("cow_parent_keeps_writes", shared_word == 3 && heap[0] == 1);
    free(heap);
    munmap(anon, 4096);
    munmap(shared, 8192);
    close(fds[0]), close(fds[1]), close(back[0]), close(back[1]);

    /* Read-only after fork: the child may read everything; a write to a read-only
     * page still faults in the child (SIGSEGV), copy-on-write does not make it writable. */
    char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[0] = 5;
    mprotect(ro, 4096, PROT_READ);
    p = fork();
    if (p == 0) {
        signal(SIGSEGV, SIG_DFL);
        if (ro[0] != 5)
            _exit(1);
        ro[0] = 6;
        _exit(2);
    }
    st = wait_status(p);
    CHECK("cow_readonly_still_faults", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    /* mprotect back to writable in the child: its own copy. */
    p = fork();
    if (p == 0) {
        mprotect(ro, 4096, PROT_READ | PROT_WRITE);
        ro[0] = 9;
        _exit(ro[0]);
    }
    st = wait_status(p);
    CHECK("cow_mprotect_child_copy", WEXITSTATUS(st) == 9 && ro[0] == 5);
    munmap(ro, 4096);
}

/* A process-shared semaphore in MAP_SHARED memory: the parent sleeps in the futex
 * until the child posts (a futex wait and wake across address spaces). */
static void test_shared_futex(void)
{
    sem_t *sem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK("sem_init_pshared", sem != MAP_FAILED && sem_init(sem, 1, 0) == 0);
    pid_t p = fork();
    if (p == 0) {
        ms_sleep(30);
        _exit(sem_post(sem) == 0 ? 0 : 1);
    }
    CHECK("sem_wait_woken_by_child", sem_wait(sem) == 0);
    CHECK("sem_child_ok", WEXITSTATUS(wait_status(p)) == 0);
    p = fork();
    if (p == 0)
        _exit(sem_wait(sem) == 0 ? 0 : 1); /* the child sleeps, the parent posts */
    ms_sleep(30);
    CHECK("sem_post_to_child", sem_post(sem) == 0);
    CHECK("sem_child_woken", WEXITSTATUS(wait_status(p)) == 0);
    sem_destroy(sem);
    munmap(sem, 4096);
}

/* A robust mutex held by a process that execs is released by the exec (Linux's
 * exec_mm_release walks the robust list in the old address space): the next locker
 * gets EOWNERDEAD at once, not a wait for a word nobody will ever clear. The pipe is
 * close-on-exec, so its end tells the parent that the exec happened. */
static void test_robust_across_exec(void)
{
    pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    CHECK("robust_mutex_init", m != MAP_FAILED && pthread_mutex_init(m, &a) == 0);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return;
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = 0;
    pid_t p = fork();
    if (p == 0) {
        close(fds[0]);
        if (pthread_mutex_lock(m) != 0)
            _exit(1);
        char *argv[] = {self, "--idle", NULL};
        execv(self, argv);
        _exit(2);
    }
    close(fds[1]);
    char c;
    CHECK("robust_exec_happened", read(fds[0], &c, 1) == 0);
    close(fds[0]);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    int r = pthread_mutex_timedlock(m, &until);
    CHECK("robust_released_by_exec", r == EOWNERDEAD);
    if (r == EOWNERDEAD) {
        CHECK("robust_consistent", pthread_mutex_consistent(m) == 0 && pthread_mutex_unlock(m) == 0);
    }
    kill(p, SIGTERM);
    CHECK("robust_exec_child_reaped", wait_status(p) != -1);
    munmap(m, 4096);
}

/* pidfds: pidfd_open, CLONE_PIDFD (clone3), poll readable at exit, waitid(P_PIDFD)
 * blocking and nonblocking, pidfd_send_signal, and the errors of each. */
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define CLONE_PIDFD_ 0x00001000ul
#define PIDFD_NONBLOCK_ O_NONBLOCK

static int pidfd_open_(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static long pidfd_kill(int fd, int sig) { return syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0); }
static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static volatile pid_t thread_tid;
static void *tid_thread(void *arg)
{
    (void)arg;
    thread_tid = (pid_t)syscall(SYS_gettid);
    ms_sleep(300);
    return NULL;
}

static void test_pidfd(void)
{
    int self = pidfd_open_(getpid(), 0);
    CHECK("pidfd_open self", self >= 0 && fcntl(self, F_GETFD) == FD_CLOEXEC && !readable(self, 0));
    char buf[8], link[64] = "", path[64];
    EXPECT_ERR("pidfd read", read(self, buf, sizeof(buf)), EINVAL);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", self);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = 0;
    CHECK("pidfd /proc link", strcmp(link, "anon_inode:[pidfd]") == 0);
    close(self);
    EXPECT_ERR("pidfd_open 0", pidfd_open_(0, 0), EINVAL);
    EXPECT_ERR("pidfd_open bad flags", pidfd_open_(getpid(), 1), EINVAL);
    pthread_t th;
    pthread_create(&th, NULL, tid_thread, NULL);
    while (!thread_tid)
        ms_sleep(1);
    /* Not a process: EINVAL up to Linux 6.8 (the unikernel is 6.1), ENOENT since. */
    errno = 0;
    CHECK("pidfd_open of a thread", pidfd_open_(thread_tid, 0) == -1 && (errno == EINVAL || errno == ENOENT));
    pthread_join(th, NULL);

    pid_t c = fork();
    if (c == 0) {
        ms_sleep(50);
        _exit(7);
    }
    int fd = pidfd_open_(c, 0);
    int nb = pidfd_open_(c, PIDFD_NONBLOCK_);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    EXPECT_ERR("waitid nonblocking pidfd: EAGAIN", waitid(P_PIDFD, nb, &si, WEXITED), EAGAIN);
    CHECK("waitid nonblocking pidfd WNOHANG: 0", waitid(P_PIDFD, nb, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0);
    CHECK("pidfd readable at exit", fd >= 0 && readable(fd, 5000));
    memset(&si, 0, sizeof(si));
    CHECK("waitid P_PIDFD", waitid(P_PIDFD, fd, &si, WEXITED) == 0 && si.si_pid == c && si.si_code == CLD_EXITED &&
                                si.si_status == 7);
    CHECK("pidfd readable once reaped", readable(fd, 0));
    EXPECT_ERR("pidfd_send_signal reaped", pidfd_kill(fd, SIGTERM), ESRCH);
    EXPECT_ERR("waitid P_PIDFD reaped", waitid(P_PIDFD, fd, &si, WEXITED), ECHILD);
    EXPECT_ERR("pidfd_open reaped", pidfd_open_(c, 0), ESRCH);
    close(fd);
    close(nb);
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return;
    EXPECT_ERR("waitid P_PIDFD not a pidfd", waitid(P_PIDFD, pipefd[0], &si, WEXITED), EBADF);
    EXPECT_ERR("pidfd_send_signal bad signal", syscall(SYS_pidfd_send_signal, pipefd[0], 99, NULL, 0), EBADF);
    close(pipefd[0]);
    close(pipefd[1]);

    /* clone3 with CLONE_PIDFD; the signal goes through the pidfd. */
    int cfd = -1;
    struct {
        unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } ca = {CLONE_PIDFD_, (unsigned long long)(unsigned long)&cfd, 0, 0, SIGCHLD, 0, 0, 0};
    long r = syscall(SYS_clone3, &ca, sizeof(ca));
    if (r == 0) {
        for (;;)
            pause();
    }
    CHECK("clone3 CLONE_PIDFD", r > 0 && cfd >= 0 && fcntl(cfd, F_GETFD) == FD_CLOEXEC && !readable(cfd, 20));
    EXPECT_ERR("pidfd_send_signal bad signal", pidfd_kill(cfd, 99), EINVAL);
    EXPECT_ERR("pidfd_send_signal flags", syscall(SYS_pidfd_send_signal, cfd, SIGTERM, NULL, 0x100), EINVAL);
    CHECK("pidfd_send_signal 0: alive", pidfd_kill(cfd, 0) == 0);
    CHECK("pidfd_send_signal SIGTERM", pidfd_kill(cfd, SIGTERM) == 0 && readable(cfd, 5000));
    memset(&si, 0, sizeof(si));
    CHECK("waitid P_PIDFD killed", waitid(P_PIDFD, cfd, &si, WEXITED) == 0 && si.si_pid == r && si.si_code == CLD_KILLED &&
                                       si.si_status == SIGTERM);
    close(cfd);
    EXPECT_ERR("clone CLONE_PIDFD|CLONE_PARENT_SETTID", syscall(SYS_clone, CLONE_PIDFD_ | 0x00100000ul | SIGCHLD, 0ul, &cfd, 0ul, 0ul), EINVAL);
}

/* A named semaphore (sem_open: a file in /dev/shm mapped MAP_SHARED, python's
 * multiprocessing locks) across fork, and a shm_open file that a child maps on its
 * own: the file's pages are the same memory in both processes. */
static void test_shared_file_mappings(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/d2u-fork-%d", (int)getpid()); /* unique natively */
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    CHECK("sem_open_in_dev_shm", sem != SEM_FAILED && sem_unlink(name) == 0);
    if (sem == SEM_FAILED)
        return;
    pid_t p = fork();
    if (p == 0) {
        ms_sleep(30);
        _exit(sem_post(sem) == 0 ? 0 : 1);
    }
    CHECK("named_sem_woken_by_child", sem_wait(sem) == 0);
    CHECK("named_sem_child_ok", WEXITSTATUS(wait_status(p)) == 0);
    sem_close(sem);

    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    char *m = fd >= 0 && ftruncate(fd, 4096) == 0 ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                                                   : MAP_FAILED;
    CHECK("shm_open_mapped", m != MAP_FAILED);
    if (m == MAP_FAILED)
        return;
    p = fork();
    if (p == 0) { /* a mapping of its own, made after the fork */
        char *own = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (own == MAP_FAILED)
            _exit(1);
        memcpy(own + 100, "from the child", 15);
        _exit(0);
    }
    CHECK("shm_child_mapped", WEXITSTATUS(wait_status(p)) == 0);
    CHECK("shm_child_store_seen", memcmp(m + 100, "from the child", 15) == 0);
    munmap(m, 4096);
    close(fd);
    shm_unlink(name);
}

/* ---- vfork and clone ---- */

static volatile int vfork_flag;

static int clone_child(void *arg)
{
    *(volatile int *)arg = 77;
    return 5;
}

static void test_vfork(void)
{
    vfork_flag = 0;
    pid_t p = vfork();
    if (p == 0) {
        vfork_flag = 1; /* shared memory: the parent sees it after we _exit */
        _exit(12);
    }
    CHECK("vfork_child_ran_first", vfork_flag == 1);
    int st = wait_status(p);
    CHECK("vfork_exit_status", WIFEXITED(st) && WEXITSTATUS(st) == 12);

    /* posix_spawn's shape: CLONE_VM|CLONE_VFORK with a stack of its own. */
    static char stack[64 * 1024] __attribute__((aligned(16)));
    volatile int seen = 0;
    p = clone(clone_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)&seen);
    CHECK("clone_vm_vfork", p > 0 && seen == 77);
    st = wait_status(p);
    CHECK("clone_vm_vfork_status", WIFEXITED(st) && WEXITSTATUS(st) == 5);

    /* clone3 as glibc's fork would use it: flags 0, exit_signal SIGCHLD. */
    struct {
        unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } ca = {0, 0, 0, 0, SIGCHLD, 0, 0, 0};
    long r = syscall(SYS_clone3, &ca, sizeof(ca));
    if (r == 0)
        _exit(9);
    st = r > 0 ? wait_status((pid_t)r) : -1;
    CHECK("clone3_fork", r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 9);

    /* A child whose exit signal is not SIGCHLD: only __WALL/__WCLONE find it. */
    r = syscall(SYS_clone, 0ul, 0ul, 0ul, 0ul, 0ul); /* a new process whose exit signal is 0 */
    if (r == 0)
        _exit(6);
    CHECK("clone_no_signal_not_default_wait", r > 0 && waitpid((pid_t)r, &st, WNOHANG) == -1 && errno == ECHILD);
    CHECK("clone_no_signal_wall", r > 0 && waitpid((pid_t)r, &st, __WALL) == r && WEXITSTATUS(st) == 6);
}

/* ---- the child's inheritance ---- */

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen++; }

static void *thread_exit_group(void *arg)
{
    (void)arg;
    _exit(33); /* exit_group from a thread of the child: the child ends with 33 */
}

static void test_inherit(void)
{
    pid_t me = getpid();
    pid_t p = fork();
    if (p == 0)
        _exit(getppid() == me ? 0 : 1);
    CHECK("child_getppid_is_parent", WEXITSTATUS(wait_status(p)) == 0);

    /* A pending signal is not inherited. */
    signal(SIGUSR1, on_usr1);
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    p = fork();
    if (p == 0) {
        sigpending(&pend);
        _exit(sigismember(&pend, SIGUSR1) ? 1 : 0);
    }
    CHECK("pending_not_inherited", WEXITSTATUS(wait_status(p)) == 0);
    sigpending(&pend);
    CHECK("parent_still_pending", sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK("parent_handler_ran", usr1_seen == 1);

    /* Dispositions and the mask are inherited. */
    signal(SIGUSR2, SIG_IGN);
    sigprocmask(SIG_BLOCK, &set, &old);
    p = fork();
    if (p == 0) {
        raise(SIGUSR2); /* ignored: survives */
        sigset_t m;
        sigprocmask(SIG_BLOCK, NULL, &m);
        _exit(sigismember(&m, SIGUSR1) ? 0 : 1);
    }
    int st = wait_status(p);
    CHECK("dispositions_and_mask_inherited", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR2, SIG_DFL);

    /* umask, cwd and limits are copied; the child's changes stay its own. */
    mode_t um = umask(027);
    struct rlimit rl, saved;
    getrlimit(RLIMIT_NOFILE, &saved);
    rl = saved;
    rl.rlim_cur = 100;
    setrlimit(RLIMIT_NOFILE, &rl);
    char cwd[256];
    CHECK("getcwd", getcwd(cwd, sizeof(cwd)) != NULL);
    p = fork();
    if (p == 0) {
        struct rlimit c;
        getrlimit(RLIMIT_NOFILE, &c);
        int bad = umask(0) != 027 || c.rlim_cur != 100;
        if (chdir("/") != 0)
            bad = 1;
        _exit(bad);
    }
    CHECK("umask_rlimit_inherited", WEXITSTATUS(wait_status(p)) == 0);
    char now[256];
    CHECK("cwd_not_changed_by_child", getcwd(now, sizeof(now)) && strcmp(now, cwd) == 0);
    CHECK("umask_not_changed_by_child", umask(um) == 027);
    setrlimit(RLIMIT_NOFILE, &saved);

    /* The FPU state is copied: SSE rounding mode (MXCSR) and an x87 register value. */
    unsigned mx, up = 0x5f80; /* round up, exceptions masked */
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
    __asm__ volatile("ldmxcsr %0" : : "m"(up));
    volatile double third = 1.0 / 3.0;
    p = fork();
    if (p == 0) {
        unsigned c;
        __asm__ volatile("stmxcsr %0" : "=m"(c));
        _exit(c == up && third > 0.333333 ? 0 : 1);
    }
    __asm__ volatile("ldmxcsr %0" : : "m"(mx));
    CHECK("fpu_state_inherited", WEXITSTATUS(wait_status(p)) == 0);

    /* Threads in a child: exit_group from one ends the child alone. */
    p = fork();
    if (p == 0) {
        pthread_t t;
        pthread_create(&t, NULL, thread_exit_group, NULL);
        for (;;)
            pause();
    }
    st = wait_status(p);
    CHECK("child_thread_exit_group", WIFEXITED(st) && WEXITSTATUS(st) == 33);
}

/* ---- fds across fork ---- */

static void test_fds(void)
{
    char path[] = "/tmp/forkfdXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        snprintf(path, sizeof(path), "forkfd.tmp");
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    }
    CHECK("tmpfile", fd >= 0 && write(fd, "0123456789", 10) == 10 && lseek(fd, 0, SEEK_SET) == 0);
    pid_t p = fork();
    if (p == 0) {
        char b[3];
        int bad = read(fd, b, 3) != 3 || memcmp(b, "012", 3) != 0;
        fcntl(fd, F_SETFL, O_APPEND);
        close(fd); /* our copy only */
        _exit(bad);
    }
    CHECK("child_read", WEXITSTATUS(wait_status(p)) == 0);
    char b[3];
    CHECK("offset_shared", read(fd, b, 3) == 3 && memcmp(b, "345", 3) == 0);
    CHECK("status_flags_shared", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    CHECK("fd_open_after_child_close", fcntl(fd, F_GETFD) >= 0);
    close(fd);
    unlink(path);

    /* A pipe between processes: data, then EOF when the last writer closes. */
    int fds[2];
    CHECK("pipe2", pipe(fds) == 0);
    p = fork();
    if (p == 0) {
        close(fds[0]);
        int bad = write(fds[1], "hello", 5) != 5;
        _exit(bad);
    }
    close(fds[1]);
    char buf[16];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    CHECK("pipe_data_from_child", n == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK("pipe_eof_after_child_exit", read(fds[0], buf, sizeof(buf)) == 0);
    close(fds[0]);
    wait_status(p);
}

/* ---- zombies, orphans, SIGCHLD ---- */

static volatile sig_atomic_t chld_code, chld_status, chld_pid;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid = si->si_pid;
}

static void test_orphans(void)
{
    /* Child forks a grandchild and exits; the grandchild reports its new parent. */
    int fds[2];
    CHECK("orphan_pipe", pipe(fds) == 0);
    pid_t p = fork();
    if (p == 0) {
        pid_t g = fork();
        if (g == 0) {
            pid_t before = getppid();
            for (int i = 0; i < 200 && getppid() == before; i++)
                ms_sleep(5);
            pid_t after = getppid();
            (void)!write(fds[1], &after, sizeof(after));
            _exit(8);
        }
        _exit(0);
    }
    CHECK("orphan_parent_exit", WEXITSTATUS(wait_status(p)) == 0);
    pid_t ppid = 0;
    CHECK("orphan_report", read(fds[0], &ppid, sizeof(ppid)) == sizeof(ppid));
    CHECK("orphan_reparented_to_reaper", ppid == getpid());
    int st;
    pid_t g = wait(&st);
    CHECK("orphan_reaped_by_reaper", g > 0 && WEXITSTATUS(st) == 8);
    close(fds[0]);
    close(fds[1]);

    /* SIGCHLD with its siginfo. */
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, &old);
    sigset_t block, prev;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &prev);
    chld_pid = 0;
    p = spawn(exit_with, (void *)5);
    while (!chld_pid)
        sigsuspend(&prev);
    sigprocmask(SIG_SETMASK, &prev, NULL);
    CHECK("sigchld_info", chld_pid == p && chld_code == CLD_EXITED && chld_status == 5);
    CHECK("sigchld_zombie_waits", waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 5);
    chld_pid = 0;
    sigprocmask(SIG_BLOCK, &block, &prev);
    p = spawn(kill_self, (void *)SIGTERM);
    while (!chld_pid)
        sigsuspend(&prev);
    sigprocmask(SIG_SETMASK, &prev, NULL);
    CHECK("sigchld_killed_info", chld_pid == p && chld_code == CLD_KILLED && chld_status == SIGTERM);
    waitpid(p, &st, 0);

    /* SA_NOCLDWAIT and SIG_IGN: no zombies; wait ends with ECHILD once they are gone. */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDWAIT | SA_RESTART; /* the handler must not end the wait */
    sigaction(SIGCHLD, &sa, NULL);
    p = spawn(exit_with, (void *)1);
    errno = 0;
    pid_t w = waitpid(-1, &st, 0);
    CHECK("sa_nocldwait_no_zombie", w == -1 && errno == ECHILD);
    signal(SIGCHLD, SIG_IGN);
    p = spawn(exit_with, (void *)1);
    errno = 0;
    w = waitpid(-1, &st, 0); /* blocks until the child is gone */
    CHECK("sig_ign_no_zombie", w == -1 && errno == ECHILD);
    EXPECT_ERR("sig_ign_reaped", kill(p, 0), ESRCH);
    sigaction(SIGCHLD, &old, NULL);
}

/* ---- process groups, sessions, kill to a group ---- */

static int pause_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

static int group_leader(void *arg)
{
    (void)arg;
    if (setpgid(0, 0) != 0 || getpgrp() != getpid())
        return 10;
    pid_t a = spawn(pause_forever, NULL), b = spawn(pause_forever, NULL);
    if (getpgid(a) != getpid() || getpgid(b) != getpid())
        return 11;
    signal(SIGTERM, SIG_IGN); /* ours only: the children keep the default */
    if (kill(0, SIGTERM) != 0)
        return 12;
    int sa = wait_status(a), sb = wait_status(b);
    if (!WIFSIGNALED(sa) || WTERMSIG(sa) != SIGTERM || !WIFSIGNALED(sb) || WTERMSIG(sb) != SIGTERM)
        return 13;
    /* A session: setsid in a group leader fails, in a fresh child it works. */
    if (setsid() != -1 || errno != EPERM)
        return 14;
    pid_t c = fork();
    if (c == 0) {
        pid_t s = setsid();
        if (s != getpid() || getsid(0) != getpid() || getpgrp() != getpid())
            _exit(1);
        if (setsid() != -1 || errno != EPERM)
            _exit(2);
        _exit(0);
    }
    if (WEXITSTATUS(wait_status(c)) != 0)
        return 15;
    return 0;
}

static void test_groups(void)
{
    CHECK("getpgid_self", getpgid(0) == getpgrp());
    CHECK("getsid_self", getsid(0) == getsid(getpid()));
    EXPECT_ERR("getpgid_none", getpgid(0x3ffffff0), ESRCH);
    EXPECT_ERR("getsid_none", getsid(0x3ffffff0), ESRCH);
    EXPECT_ERR("setpgid_not_child", setpgid(0x3ffffff0, 0), ESRCH);
    EXPECT_ERR("setpgid_negative", setpgid(0, -1), EINVAL);
    int st = wait_status(spawn(group_leader, NULL));
    CHECK("group_and_session", WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* kill(-pgid) from outside the group. */
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    setpgid(leader, leader);
    pid_t member = fork();
    if (member == 0) {
        for (;;)
            pause();
    }
    CHECK("setpgid_child_into_group", setpgid(member, leader) == 0 && getpgid(member) == leader);
    CHECK("getsid_child", getsid(member) == getsid(0));
    CHECK("kill_group", kill(-leader, SIGKILL) == 0);
    int s1 = wait_status(leader), s2 = wait_status(member);
    CHECK("kill_group_both_died", WTERMSIG(s1) == SIGKILL && WTERMSIG(s2) == SIGKILL);
    EXPECT_ERR("kill_group_gone", kill(-leader, SIGKILL), ESRCH);

    /* A child in another session cannot join our group. */
    int fds[2];
    CHECK("session_pipe", pipe(fds) == 0);
    pid_t c = fork();
    if (c == 0) {
        setsid();
        (void)!write(fds[1], "s", 1);
        for (;;)
            pause();
    }
    char ch;
    CHECK("session_ready", read(fds[0], &ch, 1) == 1);
    EXPECT_ERR("setpgid_other_session", setpgid(c, getpgrp()), EPERM);
    kill(c, SIGKILL);
    wait_status(c);
    close(fds[0]);
    close(fds[1]);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--idle") == 0) { /* test_robust_across_exec's new image */
        ms_sleep(10000);
        return 0;
    }
    guest_begin();
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* natively, orphans come to us as to pid 1 in the unikernel */
    test_status();
    test_wait();
    test_cow();
    test_shared_futex();
    test_robust_across_exec();
    test_shared_file_mappings();
    test_vfork();
    test_pidfd();
    test_inherit();
    test_fds();
    test_orphans();
    test_groups();
    return guest_finish();
}
