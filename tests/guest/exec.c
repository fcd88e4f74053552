/* exec.c: guest tests of execve/execveat: errors as Linux, then a chain of successful execs of itself checking what survives.
 *
 * Without fork the program cannot wait for a child, so it replaces itself: the first
 * run checks the failing cases (each returns -1 with Linux's errno), prepares state
 * (fds, signals, timers, threads) and execs itself from a secondary thread; every
 * later stage (named by argv[1], or by the #! argument) checks what the exec kept and
 * reset, then execs the next one a different way (absolute path, relative path,
 * execveat with a dirfd, execveat of a descriptor, a #! script, five nested scripts).
 * The counts travel in the environment; the last stage prints the summary.
 */
#include "guest.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#define MAX_ARG_STRLEN (32 * 4096)

struct state {
    int pid, tid_exec, tid_sleep, fd_cloexec, fd_keep, ptimer, tid_spin;
};

static char exe[512], dir[512], tmp[600];
static struct state st;

static void find_self(void)
{
    /* The first stage's path travels in EXEC_SELF: a later stage may be a copy. */
    const char *self = getenv("EXEC_SELF");
    ssize_t n = self ? (ssize_t)strlen(self) : readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (self)
        snprintf(exe, sizeof(exe), "%s", self);
    exe[n > 0 ? n : 0] = 0;
    snprintf(dir, sizeof(dir), "%s", exe);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    snprintf(tmp, sizeof(tmp), "%s/exec.tmp", dir);
}

static void tmp_path(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", tmp, name); }

static void write_file(const char *name, const char *text, size_t len, mode_t mode)
{
    char p[700];
    tmp_path(p, sizeof(p), name);
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd >= 0) {
        if (write(fd, text, len) != (ssize_t)len)
            printf("FAIL write %s\n", name);
        close(fd);
    }
    chmod(p, mode);
}

static void clean_tmp(void)
{
    DIR *d = opendir(tmp);
    if (d) {
        struct dirent *e;
        char p[1000];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(p, sizeof(p), "%s/%s", tmp, e->d_name);
                if (unlink(p) != 0)
                    rmdir(p);
            }
        closedir(d);
    }
    rmdir(tmp);
}

/* The counts and the state for the next stage, as environment entries. */
static char self_env[600];

static void exec_env(char *buf, size_t size, char **envp)
{
    snprintf(buf, size, "EXEC_STATE=%d %d %d %d %d %d %d %d %d", guest_passed, guest_failed, st.pid,
             st.tid_exec, st.tid_sleep, st.fd_cloexec, st.fd_keep, st.ptimer, st.tid_spin);
    snprintf(self_env, sizeof(self_env), "EXEC_SELF=%s", exe);
    envp[0] = buf;
    envp[1] = "EXEC_MARK=kept";
    envp[2] = self_env;
    envp[3] = NULL;
}

static void load_state(void)
{
    const char *s = getenv("EXEC_STATE");
    if (!s || sscanf(s, "%d %d %d %d %d %d %d %d %d", &guest_passed, &guest_failed, &st.pid, &st.tid_exec,
                     &st.tid_sleep, &st.fd_cloexec, &st.fd_keep, &st.ptimer, &st.tid_spin) != 9)
        printf("FAIL no EXEC_STATE\n");
}

static int comm_is(const char *want)
{
    char name[17] = {0};
    prctl(PR_GET_NAME, name);
    return strcmp(name, want) == 0;
}

static int exe_is(const char *want)
{
    char buf[512];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return strcmp(buf, want) == 0;
}

static int execfn_is(const char *want)
{
    const char *fn = (const char *)getauxval(AT_EXECFN);
    return fn && strcmp(fn, want) == 0;
}

/* ---- stage 0: the failing cases ---------------------------------------------------- */

static char *const no_env[] = {NULL};

static void test_errors(void)
{
    char p[700], q[700];
    char *argv[] = {"x", NULL};
    EXPECT_ERR("missing_file_enoent", execve("/no/such/program", argv, no_env), ENOENT);
    snprintf(p, sizeof(p), "%s/sub", exe);
    EXPECT_ERR("file_as_dir_enotdir", execve(p, argv, no_env), ENOTDIR);
    EXPECT_ERR("directory_eacces", execve(tmp, argv, no_env), EACCES);
    write_file("plain", "#!/bin/sh\n", 10, 0644);
    tmp_path(p, sizeof(p), "plain");
    EXPECT_ERR("no_exec_bit_eacces", execve(p, argv, no_env), EACCES);
    write_file("garbage", "this is no program\n", 19, 0755);
    tmp_path(p, sizeof(p), "garbage");
    EXPECT_ERR("garbage_enoexec", execve(p, argv, no_env), ENOEXEC);
    write_file("empty", "", 0, 0755);
    tmp_path(p, sizeof(p), "empty");
    EXPECT_ERR("empty_file_enoexec", execve(p, argv, no_env), ENOEXEC);
    write_file("bare", "#!\n", 3, 0755);
    tmp_path(p, sizeof(p), "bare");
    EXPECT_ERR("script_no_interpreter_enoexec", execve(p, argv, no_env), ENOEXEC);
    write_file("nointerp", "#!/no/such/interpreter -x\necho hi\n", 34, 0755);
    tmp_path(p, sizeof(p), "nointerp");
    EXPECT_ERR("script_missing_interpreter_enoent", execve(p, argv, no_env), ENOENT);
    char text[800];
    int n = snprintf(text, sizeof(text), "#!%s/plain\n", tmp);
    write_file("interp_noexec", text, (size_t)n, 0755);
    tmp_path(p, sizeof(p), "interp_noexec");
    EXPECT_ERR("script_interpreter_not_executable_eacces", execve(p, argv, no_env), EACCES);
    n = snprintf(text, sizeof(text), "#!%s/garbage\n", tmp);
    write_file("interp_garbage", text, (size_t)n, 0755);
    tmp_path(p, sizeof(p), "interp_garbage");
    EXPECT_ERR("script_interpreter_garbage_enoexec", execve(p, argv, no_env), ENOEXEC);

    /* Six nested scripts: one level past Linux's limit. */
    n = snprintf(text, sizeof(text), "#!%s final\n", exe);
    write_file("l1", text, (size_t)n, 0755);
    for (int i = 2; i <= 6; i++) {
        char name[8];
        snprintf(name, sizeof(name), "l%d", i);
        n = snprintf(text, sizeof(text), "#!%s/l%d\n", tmp, i - 1);
        write_file(name, text, (size_t)n, 0755);
    }
    tmp_path(p, sizeof(p), "l6");
    EXPECT_ERR("six_nested_scripts_eloop", execve(p, argv, no_env), ELOOP);

    /* Argument limits: one string of MAX_ARG_STRLEN bytes (NUL included) is too long;
     * with a 1 MiB stack limit the total may be a quarter of it. */
    char *big = malloc(MAX_ARG_STRLEN + 1);
    memset(big, 'a', MAX_ARG_STRLEN);
    big[MAX_ARG_STRLEN] = 0; /* strlen MAX_ARG_STRLEN: one byte too many with its NUL */
    char *long_argv[] = {"x", big, NULL};
    EXPECT_ERR("arg_of_max_arg_strlen_e2big", execve(exe, long_argv, no_env), E2BIG);
    char *long_env[] = {big, NULL};
    EXPECT_ERR("env_of_max_arg_strlen_e2big", execve(exe, argv, long_env), E2BIG);
    struct rlimit old, small;
    getrlimit(RLIMIT_STACK, &old);
    small = old;
    small.rlim_cur = 1 << 20;
    setrlimit(RLIMIT_STACK, &small);
    big[100000] = 0;
    char *many[] = {"x", big, big, big, NULL};
    EXPECT_ERR("total_past_quarter_stack_e2big", execve(exe, many, no_env), E2BIG);
    setrlimit(RLIMIT_STACK, &old);
    free(big);

    EXPECT_ERR("bad_path_pointer_efault", syscall(SYS_execve, 8, argv, no_env), EFAULT);
    EXPECT_ERR("bad_argv_pointer_efault", syscall(SYS_execve, exe, 8, no_env), EFAULT);
    char *bad_argv[] = {"x", (char *)8, NULL};
    EXPECT_ERR("bad_argv_string_efault", execve(exe, bad_argv, no_env), EFAULT);
    char *bad_envp[] = {(char *)8, NULL};
    EXPECT_ERR("bad_envp_string_efault", execve(exe, argv, bad_envp), EFAULT);
    EXPECT_ERR("execveat_bad_flags_einval", syscall(SYS_execveat, AT_FDCWD, exe, argv, no_env, 0x2), EINVAL);
    EXPECT_ERR("execveat_empty_path_enoent", syscall(SYS_execveat, AT_FDCWD, "", argv, no_env, 0), ENOENT);
    tmp_path(q, sizeof(q), "link");
    unlink(q);
    symlink(exe, q);
    EXPECT_ERR("execveat_nofollow_symlink_eloop",
               syscall(SYS_execveat, AT_FDCWD, q, argv, no_env, AT_SYMLINK_NOFOLLOW), ELOOP);
    EXPECT_ERR("execveat_bad_dirfd_ebadf", syscall(SYS_execveat, 999, "exec", argv, no_env, 0), EBADF);
    int fd = open(exe, O_RDONLY);
    EXPECT_ERR("execveat_file_dirfd_enotdir", syscall(SYS_execveat, fd, "x", argv, no_env, 0), ENOTDIR);
    close(fd);
    EXPECT_ERR("execveat_empty_path_of_dir_eacces",
               syscall(SYS_execveat, AT_FDCWD, "", argv, no_env, AT_EMPTY_PATH), EACCES);
}

/* ---- stage 0: state to carry, and the exec from a second thread -------------------- */

static void on_signal(int sig) { (void)sig; }

static void *sleeper(void *arg)
{
    (void)arg;
    st.tid_sleep = (int)syscall(SYS_gettid);
    for (;;)
        pause();
    return NULL;
}

static volatile int spinner_tid;

/* A thread that never enters the kernel: it ends only when preempted. */
static void *spinner(void *arg)
{
    (void)arg;
    spinner_tid = (int)syscall(SYS_gettid);
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

static void *execer(void *arg)
{
    (void)arg;
    st.tid_exec = (int)syscall(SYS_gettid);
    char envbuf[200], *envp[4];
    exec_env(envbuf, sizeof(envbuf), envp);
    char *argv[] = {exe, "stage1", "arg with spaces", "", NULL};
    execve(exe, argv, envp);
    printf("FAIL exec_from_thread: errno %d\n", errno);
    exit(1);
}

static void prepare_and_exec(void)
{
    st.pid = getpid();
    st.fd_cloexec = open(exe, O_RDONLY | O_CLOEXEC);
    st.fd_keep = open(exe, O_RDONLY);
    CHECK("fds_open", st.fd_cloexec >= 0 && st.fd_keep >= 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGTERM); /* process-directed: stays pending across the exec */
    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    CHECK("altstack_set", sigaltstack(&ss, NULL) == 0);
    struct itimerval it = {.it_value = {.tv_sec = 1000}};
    CHECK("itimer_set", setitimer(ITIMER_REAL, &it, NULL) == 0);
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    int kid = -1;
    CHECK("posix_timer_created", syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &kid) == 0);
    st.ptimer = kid;
    pthread_t a, b, c;
    pthread_create(&b, NULL, sleeper, NULL);
    pthread_create(&c, NULL, spinner, NULL);
    while (!__atomic_load_n(&st.tid_sleep, __ATOMIC_SEQ_CST) || !spinner_tid)
        sched_yield();
    st.tid_spin = spinner_tid;
    pthread_create(&a, NULL, execer, NULL);
    pthread_join(a, NULL); /* never returns: the exec ends this thread */
}

/* ---- the later stages ---------------------------------------------------------------- */

static void stage1(int argc, char **argv)
{
    CHECK("argv_passed", argc == 4 && strcmp(argv[2], "arg with spaces") == 0 && argv[3][0] == 0);
    CHECK("envp_passed", getenv("EXEC_MARK") && strcmp(getenv("EXEC_MARK"), "kept") == 0);
    CHECK("pid_stays", getpid() == st.pid);
    CHECK("exec_thread_takes_pid_as_tid", syscall(SYS_gettid) == st.pid);
    CHECK("exec_thread_old_tid_gone", syscall(SYS_tgkill, st.pid, st.tid_exec, 0) == -1 && errno == ESRCH);
    CHECK("other_thread_gone", syscall(SYS_tgkill, st.pid, st.tid_sleep, 0) == -1 && errno == ESRCH);
    CHECK("spinning_thread_gone", syscall(SYS_tgkill, st.pid, st.tid_spin, 0) == -1 && errno == ESRCH);
    CHECK("cloexec_fd_closed", fcntl(st.fd_cloexec, F_GETFD) == -1 && errno == EBADF);
    CHECK("plain_fd_kept", fcntl(st.fd_keep, F_GETFD) == 0);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    CHECK("handled_signal_reset_to_default", sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_ONSTACK));
    sigaction(SIGUSR2, NULL, &sa);
    CHECK("ignored_signal_stays_ignored", sa.sa_handler == SIG_IGN);
    sigset_t set;
    sigprocmask(SIG_BLOCK, NULL, &set);
    CHECK("mask_kept", sigismember(&set, SIGTERM) == 1);
    sigpending(&set);
    CHECK("pending_signal_kept", sigismember(&set, SIGTERM) == 1);
    stack_t ss;
    CHECK("altstack_cleared", sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE));
    struct itimerval it;
    CHECK("itimer_kept", getitimer(ITIMER_REAL, &it) == 0 && it.it_value.tv_sec > 900);
    struct itimerspec its;
    CHECK("posix_timer_deleted", syscall(SYS_timer_gettime, st.ptimer, &its) == -1 && errno == EINVAL);
    CHECK("proc_self_exe", exe_is(exe));
    CHECK("execfn_absolute", execfn_is(exe));
    CHECK("comm_is_basename", comm_is("exec"));
    /* Next: a path relative to the cwd. */
    char envbuf[200], *envp[4];
    exec_env(envbuf, sizeof(envbuf), envp);
    CHECK("chdir", chdir(dir) == 0);
    char *next[] = {"renamed-argv0", "stage2", NULL};
    execve("./exec", next, envp);
    printf("FAIL exec_relative: errno %d\n", errno);
}

static void stage2(int argc, char **argv)
{
    CHECK("relative_argv0_as_given", argc == 2 && strcmp(argv[0], "renamed-argv0") == 0);
    CHECK("relative_execfn_as_given", execfn_is("./exec"));
    CHECK("relative_exe_absolute", exe_is(exe));
    CHECK("relative_comm", comm_is("exec"));
    CHECK("relative_pid_stays", getpid() == st.pid);
    /* Next: execveat relative to a directory descriptor. */
    char envbuf[200], *envp[4];
    exec_env(envbuf, sizeof(envbuf), envp);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    char num[16];
    snprintf(num, sizeof(num), "%d", dfd);
    char *next[] = {"x", "stage3", num, NULL};
    syscall(SYS_execveat, dfd, "exec", next, envp, 0);
    printf("FAIL execveat_dirfd: errno %d\n", errno);
}

static void stage3(int argc, char **argv)
{
    char want[64];
    snprintf(want, sizeof(want), "/dev/fd/%s/exec", argc > 2 ? argv[2] : "?");
    CHECK("execveat_dirfd_execfn", execfn_is(want));
    CHECK("execveat_dirfd_exe", exe_is(exe));
    CHECK("execveat_dirfd_comm", comm_is("exec"));
    /* Next: execveat of a descriptor with AT_EMPTY_PATH. */
    char envbuf[200], *envp[4];
    exec_env(envbuf, sizeof(envbuf), envp);
    int fd = open(exe, O_RDONLY);
    char num[16];
    snprintf(num, sizeof(num), "%d", fd);
    char *next[] = {"x", "stage4", num, NULL};
    syscall(SYS_execveat, fd, "", next, envp, AT_EMPTY_PATH);
    printf("FAIL execveat_empty_path: errno %d\n", errno);
}

static void stage4(int argc, char **argv)
{
    char want[64];
    snprintf(want, sizeof(want), "/dev/fd/%s", argc > 2 ? argv[2] : "?");
    CHECK("empty_path_execfn", execfn_is(want));
    CHECK("empty_path_exe", exe_is(exe));
    /* Next: a copy of this program written now (not a file of the image). */
    char copy[700];
    tmp_path(copy, sizeof(copy), "copy");
    int in = open(exe, O_RDONLY), out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char chunk[8192];
    ssize_t got;
    int copied = in >= 0 && out >= 0;
    while (copied && (got = read(in, chunk, sizeof(chunk))) > 0)
        copied = write(out, chunk, (size_t)got) == got;
    close(in);
    close(out);
    CHECK("copy_written", copied);
    char envbuf[200], *envp[4];
    exec_env(envbuf, sizeof(envbuf), envp);
    char *next[] = {"copy", "stage4b", NULL};
    execve(copy, next, envp);
    printf("FAIL exec_copy: errno %d\n", errno);
}

static void stage4b(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char copy[700];
    tmp_path(copy, sizeof(copy), "copy");
    CHECK("copy_runs_exe_is_copy", exe_is(copy));
    CHECK("copy_comm", comm_is("copy"));
    /* Next: a #! script with an argument. */
    char text[700], path[700];
    int n = snprintf(text, sizeof(text), "#!%s stage5  \t\nnot read by the kernel\n", exe);
    write_file("script.sh", text, (size_t)n, 0755);
    tmp_path(path, sizeof(path), "script.sh");
    char envbuf[200], *envp[4];
    exec_env(envbuf, sizeof(envbuf), envp);
    char *next[] = {"ignored-argv0", "x1", "x2", NULL};
    execve(path, next, envp);
    printf("FAIL exec_script: errno %d\n", errno);
}

static void stage5(int argc, char **argv)
{
    char path[700];
    tmp_path(path, sizeof(path), "script.sh");
    CHECK("script_argv", argc == 5 && strcmp(argv[0], exe) == 0 && strcmp(argv[1], "stage5") == 0 &&
                             strcmp(argv[2], path) == 0 && strcmp(argv[3], "x1") == 0 &&
                             strcmp(argv[4], "x2") == 0);
    CHECK("script_exe_is_interpreter", exe_is(exe));
    CHECK("script_execfn_is_script", execfn_is(path));
    CHECK("script_comm_is_script", comm_is("script.sh"));
    /* Next: five nested scripts (Linux's limit), l5 -> l4 -> ... -> l1 -> exec final. */
    tmp_path(path, sizeof(path), "l5");
    char envbuf[200], *envp[4];
    exec_env(envbuf, sizeof(envbuf), envp);
    char *next[] = {"l5", "y", NULL};
    execve(path, next, envp);
    printf("FAIL exec_nested_scripts: errno %d\n", errno);
}

static void final_stage(int argc, char **argv)
{
    char want[8][700];
    snprintf(want[0], sizeof(want[0]), "%s", exe);
    snprintf(want[1], sizeof(want[1]), "final");
    for (int i = 1; i <= 5; i++)
        snprintf(want[i + 1], sizeof(want[i + 1]), "%s/l%d", tmp, i);
    snprintf(want[7], sizeof(want[7]), "y");
    int ok = argc == 8;
    for (int i = 0; ok && i < 8; i++)
        ok = strcmp(argv[i], want[i]) == 0;
    CHECK("five_nested_scripts_argv", ok);
    CHECK("final_pid_stays", getpid() == st.pid);
    clean_tmp();
    exit(guest_finish());
}

int main(int argc, char **argv)
{
    guest_begin();
    find_self();
    const char *stage = argc > 1 ? argv[1] : "";
    if (strcmp(stage, "stage1") != 0 && strcmp(stage, "stage2") != 0 && strcmp(stage, "stage3") != 0 &&
        strcmp(stage, "stage4") != 0 && strcmp(stage, "stage4b") != 0 && strcmp(stage, "stage5") != 0 && strcmp(stage, "final") != 0) {
        clean_tmp();
        mkdir(tmp, 0755);
        test_errors();
        prepare_and_exec();
        return guest_finish(); /* not reached */
    }
    load_state();
    if (strcmp(stage, "stage1") == 0)
        stage1(argc, argv);
    else if (strcmp(stage, "stage2") == 0)
        stage2(argc, argv);
    else if (strcmp(stage, "stage3") == 0)
        stage3(argc, argv);
    else if (strcmp(stage, "stage4") == 0)
        stage4(argc, argv);
    else if (strcmp(stage, "stage4b") == 0)
        stage4b(argc, argv);
    else if (strcmp(stage, "stage5") == 0)
        stage5(argc, argv);
    else
        final_stage(argc, argv);
    guest_failed++;
    return guest_finish();
}
