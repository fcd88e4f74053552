/* procfs.c: guest tests of /proc for processes: self, stat/status/cmdline/environ/comm/maps against Linux's formats, fd links, task/, /dev/stderr. */
#include "guest.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

extern char **environ;

static char tmpdir[64];
static char *start_env; /* the environment block as the program started (NUL-separated) */
static size_t start_env_len;

static int read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = 0;
    return (int)got;
}

static int link_is(const char *path, const char *want)
{
    char buf[512];
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    if (n < 0)
        return 0;
    buf[n] = 0;
    if (strcmp(buf, want) != 0)
        printf("  %s -> %s (want %s)\n", path, buf, want);
    return strcmp(buf, want) == 0;
}

/* Split /proc/.../stat into its fields: field 2 is the comm without parentheses. */
static int stat_fields(const char *path, char fields[64][64])
{
    char buf[2048];
    if (read_text(path, buf, sizeof(buf)) <= 0)
        return -1;
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren)
        return -1;
    *open_paren = 0;
    snprintf(fields[0], 64, "%.63s", buf);
    fields[0][strcspn(fields[0], " ")] = 0;
    snprintf(fields[1], 64, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
    int n = 2;
    for (char *tok = strtok(close_paren + 1, " \n"); tok && n < 64; tok = strtok(NULL, " \n"))
        snprintf(fields[n++], 64, "%s", tok);
    return n;
}

static long field(char f[64][64], int i) { return atol(f[i - 1]); } /* 1-based, as proc(5) */

/* The value of "Key:" in a status-like text, or NULL. */
static const char *value_of(const char *text, const char *key, char *out, size_t size)
{
    size_t k = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, k) == 0 && l[k] == ':') {
            const char *v = l + k + 1;
            while (*v == '\t' || *v == ' ')
                v++;
            size_t len = strcspn(v, "\n");
            snprintf(out, size, "%.*s", (int)len, v);
            return out;
        }
    }
    return NULL;
}

static void test_self_links(void)
{
    char want[64];
    snprintf(want, sizeof(want), "%d", getpid());
    CHECK("self_link", link_is("/proc/self", want));
    snprintf(want, sizeof(want), "%d/task/%ld", getpid(), (long)syscall(SYS_gettid));
    CHECK("thread_self_link", link_is("/proc/thread-self", want));
    char cwd[512];
    getcwd(cwd, sizeof(cwd));
    CHECK("cwd_link", link_is("/proc/self/cwd", cwd));
    CHECK("root_link", link_is("/proc/self/root", "/"));
    struct stat a, b;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0)
        exe[n] = 0;
    CHECK("exe_link_is_the_program", n > 0 && exe[0] == '/' && stat(exe, &a) == 0 &&
                                         stat("/proc/self/exe", &b) == 0 && a.st_ino == b.st_ino);
    struct stat st;
    CHECK("self_is_dir", stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode) && lstat("/proc/self", &st) == 0 &&
                             S_ISLNK(st.st_mode));
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", getpid());
    CHECK("pid_dir_by_number", stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0444);
    EXPECT_ERR("no_such_pid", stat("/proc/999999999", &st), ENOENT);
}

static void test_stat(int threads)
{
    char f[64][64];
    int n = stat_fields("/proc/self/stat", f);
    CHECK("stat_52_fields", n == 52);
    CHECK("stat_pid", field(f, 1) == getpid());
    CHECK("stat_comm", strcmp(f[1], "procfs") == 0);
    CHECK("stat_state_running", strcmp(f[2], "R") == 0);
    CHECK("stat_ppid", field(f, 4) == getppid());
    CHECK("stat_pgrp_session", field(f, 5) == getpgrp() && field(f, 6) == getsid(0));
    CHECK("stat_num_threads", field(f, 20) == threads);
    struct rlimit rl;
    getrlimit(RLIMIT_RSS, &rl);
    CHECK("stat_rsslim", strtoull(f[24], NULL, 10) == (unsigned long long)rl.rlim_cur);
    CHECK("stat_vsize", strtoull(f[22], NULL, 10) > 0); /* rss: Linux's batched counters may say 0 */
    CHECK("stat_exit_signal_sigchld", field(f, 38) == SIGCHLD);
    CHECK("stat_arg_env_ranges", strtoull(f[47], NULL, 10) < strtoull(f[48], NULL, 10) &&
                                     strtoull(f[48], NULL, 10) <= strtoull(f[49], NULL, 10) &&
                                     strtoull(f[49], NULL, 10) < strtoull(f[50], NULL, 10));
    char up[64];
    read_text("/proc/uptime", up, sizeof(up));
    CHECK("stat_starttime_before_now", field(f, 22) <= (long)(atof(up) * 100) + 1);
}

static const char *status_keys[] = {
    "Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "Uid", "Gid", "FDSize", "Groups",
    "NStgid", "NSpid", "NSpgid", "NSsid", "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon",
    "RssFile", "RssShmem", "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", "VmSwap", "HugetlbPages",
    "CoreDumping", "THP_enabled", "Threads", "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt",
    "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters",
    "Speculation_Store_Bypass", "SpeculationIndirectBranch", "Cpus_allowed", "Cpus_allowed_list",
    "Mems_allowed", "Mems_allowed_list", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches",
};

static void on_usr1(int sig) {}

static void test_status(void)
{
    char text[8192], v[256], want[128];
    umask(027);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGUSR1, on_usr1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    CHECK("status_read", read_text("/proc/self/status", text, sizeof(text)) > 0);
    /* Linux's keys in Linux's order (newer kernels add lines between them). */
    const char *at = text;
    int in_order = 1;
    for (size_t i = 0; i < sizeof(status_keys) / sizeof(status_keys[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s%s:", at == text && i == 0 ? "" : "\n", status_keys[i]);
        const char *hit = strstr(at, key);
        if (!hit) {
            printf("  status key %s missing or out of order\n", status_keys[i]);
            in_order = 0;
            break;
        }
        at = hit + 1;
    }
    CHECK("status_keys_in_linux_order", in_order);
    CHECK("status_name", value_of(text, "Name", v, sizeof(v)) && strcmp(v, "procfs") == 0);
    CHECK("status_umask", value_of(text, "Umask", v, sizeof(v)) && strcmp(v, "0027") == 0);
    CHECK("status_state", value_of(text, "State", v, sizeof(v)) && strcmp(v, "R (running)") == 0);
    snprintf(want, sizeof(want), "%d", getpid());
    CHECK("status_tgid_pid", value_of(text, "Tgid", v, sizeof(v)) && strcmp(v, want) == 0 &&
                                 value_of(text, "Pid", v, sizeof(v)) && strcmp(v, want) == 0);
    snprintf(want, sizeof(want), "%d", getppid());
    CHECK("status_ppid", value_of(text, "PPid", v, sizeof(v)) && strcmp(v, want) == 0);
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", r, e, s, e);
    CHECK("status_uid_line", value_of(text, "Uid", v, sizeof(v)) && strcmp(v, want) == 0);
    CHECK("status_threads", value_of(text, "Threads", v, sizeof(v)) && strcmp(v, "1") == 0);
    const char *vm = strstr(text, "\nVmSize:\t");
    int width_ok = vm != NULL;
    for (int i = 0; vm && i < 8; i++) /* "%8lu kB": the number right-aligned in 8 columns */
        width_ok = width_ok && (vm[9 + i] == ' ' || (vm[9 + i] >= '0' && vm[9 + i] <= '9'));
    CHECK("status_vm_format", width_ok && vm[16] >= '0' && vm[16] <= '9' && strncmp(vm + 17, " kB\n", 4) == 0);
    unsigned long long ign = 0, cgt = 0, blk = 0;
    if (value_of(text, "SigIgn", v, sizeof(v)))
        ign = strtoull(v, NULL, 16);
    if (value_of(text, "SigCgt", v, sizeof(v)))
        cgt = strtoull(v, NULL, 16);
    if (value_of(text, "SigBlk", v, sizeof(v)))
        blk = strtoull(v, NULL, 16);
    CHECK("status_sigign_sigusr2", (ign >> (SIGUSR2 - 1)) & 1);
    CHECK("status_sigcgt_sigusr1", (cgt >> (SIGUSR1 - 1)) & 1);
    CHECK("status_sigblk_sighup", (blk >> (SIGHUP - 1)) & 1);
    CHECK("status_sig_16_hex", value_of(text, "SigPnd", v, sizeof(v)) && strlen(v) == 16);
    CHECK("status_groups_trailing_space", strstr(text, "\nGroups:\t") != NULL);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    umask(022);
}

static void test_cmdline_environ(int argc, char **argv)
{
    char buf[8192];
    int n = read_text("/proc/self/cmdline", buf, sizeof(buf));
    size_t want = 0;
    for (int i = 0; i < argc; i++)
        want += strlen(argv[i]) + 1;
    int same = n == (int)want;
    const char *p = buf;
    for (int i = 0; same && i < argc; i++) {
        same = strcmp(p, argv[i]) == 0;
        p += strlen(p) + 1;
    }
    CHECK("cmdline_is_argv", same);
    n = read_text("/proc/self/environ", buf, sizeof(buf));
    CHECK("environ_is_start_env", n == (int)start_env_len && memcmp(buf, start_env, start_env_len) == 0);
    setenv("PROCFS_LATER", "1", 1);
    n = read_text("/proc/self/environ", buf, sizeof(buf));
    CHECK("environ_ignores_setenv", n == (int)start_env_len);
    CHECK("comm", read_text("/proc/self/comm", buf, sizeof(buf)) == 7 && strcmp(buf, "procfs\n") == 0);
    prctl(PR_SET_NAME, "renamed");
    char path[96];
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", getpid());
    CHECK("comm_follows_pr_set_name", read_text("/proc/self/comm", buf, sizeof(buf)) > 0 &&
                                          strcmp(buf, "renamed\n") == 0 && read_text(path, buf, sizeof(buf)) > 0 &&
                                          strcmp(buf, "renamed\n") == 0);
    prctl(PR_SET_NAME, "procfs");
}

static void test_limits(void)
{
    char text[4096];
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    int n = read_text("/proc/self/limits", text, sizeof(text));
    char header[128];
    snprintf(header, sizeof(header), "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    CHECK("limits_header", n > 0 && strncmp(text, header, strlen(header)) == 0);
    int lines = 0;
    for (char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    CHECK("limits_16_rows", lines == 17);
    const char *row = strstr(text, "\nMax open files ");
    unsigned long soft = 0, hard = 0;
    CHECK("limits_open_files", row && sscanf(row + 27, "%lu %lu", &soft, &hard) == 2 && soft == rl.rlim_cur &&
                                   hard == rl.rlim_max && strncmp(row + 27 + 42, "files     \n", 11) == 0);
    row = strstr(text, "\nMax realtime timeout ");
    CHECK("limits_unlimited", row && strncmp(row + 27, "unlimited            unlimited            us", 44) == 0);
}

static void test_maps(void)
{
    static char text[65536];
    CHECK("maps_read", read_text("/proc/self/maps", text, sizeof(text)) > 0);
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = 0;
    int stack = 0, exe_x = 0, format = 1;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        unsigned long a, b, off, ino;
        char perm[5];
        unsigned maj, min;
        int used = 0;
        if (sscanf(l, "%lx-%lx %4s %lx %x:%x %lu %n", &a, &b, perm, &off, &maj, &min, &ino, &used) < 7 || a >= b)
            format = 0;
        const char *name = strlen(l) > 73 ? l + 73 : "";
        if (strcmp(name, "[stack]") == 0)
            stack = 1;
        if (strcmp(name, exe) == 0 && perm[2] == 'x')
            exe_x = 1;
    }
    CHECK("maps_line_format", format);
    CHECK("maps_stack", stack);
    CHECK("maps_exe_text_at_column_73", exe_x);
}

static void test_fd_links(void)
{
    char path[64], want[128];
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", null);
    CHECK("fd_link_dev_null", link_is(path, "/dev/null"));
    struct stat st;
    CHECK("fd_link_mode_read_only", lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && (st.st_mode & 0777) == 0500);
    int p[2];
    pipe(p);
    fstat(p[0], &st);
    snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]);
    CHECK("fd_link_pipe", link_is(path, want));
    CHECK("fd_link_mode_write_only", lstat(path, &st) == 0 && (st.st_mode & 0777) == 0300);
    int again = open(path, O_WRONLY); /* Linux opens the pipe itself */
    char buf[16] = {0};
    CHECK("reopen_pipe_through_fd_link", again >= 0 && write(again, "via", 3) == 3 && read(p[0], buf, 3) == 3 &&
                                             memcmp(buf, "via", 3) == 0);
    close(again);
    int ev = eventfd(0, 0), ep = epoll_create1(0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", ev);
    CHECK("fd_link_eventfd", link_is(path, "anon_inode:[eventfd]"));
    snprintf(path, sizeof(path), "/proc/self/fd/%d", ep);
    CHECK("fd_link_epoll", link_is(path, "anon_inode:[eventpoll]"));
    int root = open("/", O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", root);
    CHECK("fd_link_dir", link_is(path, "/"));
    char file[128];
    snprintf(file, sizeof(file), "%s/data", tmpdir);
    int fd = open(file, O_RDWR | O_CREAT, 0600);
    write(fd, "12345", 5);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    CHECK("fd_link_file", link_is(path, file));
    CHECK("fd_link_mode_read_write", lstat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
    int r = open(path, O_RDONLY);
    CHECK("reopen_file_through_fd_link", r >= 0 && read(r, buf, 5) == 5 && memcmp(buf, "12345", 5) == 0);
    close(r);
    char info[256], v[64];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    CHECK("fdinfo_pos", read_text(path, info, sizeof(info)) > 0 && value_of(info, "pos", v, sizeof(v)) &&
                            strcmp(v, "5") == 0);
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", null);
    long flags = read_text(path, info, sizeof(info)) > 0 && value_of(info, "flags", v, sizeof(v))
                     ? strtol(v, NULL, 8) : -1;
    CHECK("fdinfo_flags_cloexec_rdonly", flags >= 0 && (flags & O_CLOEXEC) && (flags & O_ACCMODE) == O_RDONLY &&
                                             v[0] == '0');
    /* The listing holds exactly the open fds. */
    DIR *d = opendir("/proc/self/fd");
    int listed[64] = {0}, ok = d != NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int n = atoi(e->d_name);
        if (n < 64)
            listed[n] = 1;
        if (e->d_type != DT_LNK)
            ok = 0;
    }
    int dfd = d ? dirfd(d) : -1;
    for (int i = 0; i < 64; i++)
        if (i != dfd && listed[i] != (fcntl(i, F_GETFD) >= 0))
            ok = 0;
    if (d)
        closedir(d);
    CHECK("fd_dir_lists_open_fds", ok);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    close(fd);
    EXPECT_ERR("closed_fd_link_gone", lstat(path, &st), ENOENT);
    unlink(file);
    close(null), close(p[0]), close(p[1]), close(ev), close(ep), close(root);
}

static void test_dev_links(void)
{
    CHECK("dev_stdin_link", link_is("/dev/stdin", "/proc/self/fd/0"));
    CHECK("dev_stdout_link", link_is("/dev/stdout", "/proc/self/fd/1"));
    CHECK("dev_stderr_link", link_is("/dev/stderr", "/proc/self/fd/2"));
    CHECK("dev_fd_link", link_is("/dev/fd", "/proc/self/fd"));
    /* A log symlinked to /dev/stderr (the nginx image's) reaches fd 2, here a pipe. */
    int p[2], saved = dup(2);
    pipe(p);
    dup2(p[1], 2);
    char log[128];
    snprintf(log, sizeof(log), "%s/error.log", tmpdir);
    symlink("/dev/stderr", log);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int wrote = fd >= 0 && write(fd, "log line\n", 9) == 9;
    int fd2 = open("/dev/fd/2", O_WRONLY);
    wrote = wrote && fd2 >= 0 && write(fd2, "second\n", 7) == 7;
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    close(fd);
    close(fd2);
    char buf[64] = {0};
    int n = (int)read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    CHECK("log_via_dev_stderr_reaches_fd2_pipe", wrote && n == 16 && strcmp(buf, "log line\nsecond\n") == 0);
    struct stat st;
    CHECK("dev_stderr_follows_to_fifo", fstat(0, &st) == 0 && stat("/dev/stdin", &st) == 0);
    unlink(log);
    /* /dev/tty needs a controlling terminal, which the native pty is not: tests/boot covers it. */
}

static pthread_barrier_t barrier;
static long worker_tid;

static void *worker(void *arg)
{
    prctl(PR_SET_NAME, "worker");
    worker_tid = syscall(SYS_gettid);
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void test_tasks(void)
{
    pthread_t th;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&th, NULL, worker, NULL);
    pthread_barrier_wait(&barrier);
    DIR *d = opendir("/proc/self/task");
    long tids[8];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && n < 8)
            tids[n++] = atol(e->d_name);
    if (d)
        closedir(d);
    CHECK("task_lists_both_threads", n == 2 && tids[0] == getpid() && tids[1] == worker_tid);
    char path[96], buf[64], f[64][64];
    snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", worker_tid);
    CHECK("task_comm_per_thread", read_text(path, buf, sizeof(buf)) > 0 && strcmp(buf, "worker\n") == 0);
    snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", worker_tid);
    int nf = stat_fields(path, f);
    /* Natively the worker may still be on its way into the barrier's futex wait. */
    for (int i = 0; i < 100 && nf == 52 && strcmp(f[2], "S") != 0; i++) {
        usleep(10000);
        nf = stat_fields(path, f);
    }
    CHECK("task_stat_fields", nf == 52 && field(f, 1) == worker_tid && strcmp(f[1], "worker") == 0 &&
                                  field(f, 38) == -1);
    CHECK("task_stat_sleeping", strcmp(f[2], "S") == 0);
    test_stat(2);
    pthread_barrier_wait(&barrier);
    pthread_join(th, NULL);
    snprintf(path, sizeof(path), "/proc/self/task/%ld", worker_tid);
    struct stat st;
    /* The tid is cleared (and join returns) just before the thread is gone for good. */
    for (int i = 0; i < 100 && stat(path, &st) == 0; i++)
        usleep(10000);
    EXPECT_ERR("task_gone_after_join", stat(path, &st), ENOENT);
}

static void test_proc_root(void)
{
    DIR *d = opendir("/proc");
    int self = 0, me = 0, only_digits_after = 1, seen_pid = 0;
    struct dirent *e;
    char want[16];
    snprintf(want, sizeof(want), "%d", getpid());
    while (d && (e = readdir(d))) {
        int digit = e->d_name[0] >= '0' && e->d_name[0] <= '9';
        if (strcmp(e->d_name, "self") == 0)
            self = 1;
        if (strcmp(e->d_name, want) == 0)
            me = e->d_type == DT_DIR;
        if (digit)
            seen_pid = 1;
        else if (seen_pid)
            only_digits_after = 0;
    }
    if (d)
        closedir(d);
    CHECK("proc_lists_self", self);
    CHECK("proc_lists_our_pid", me);
    CHECK("proc_pids_after_names", only_digits_after);
    char text[4096], v[64];
    CHECK("loadavg_format", read_text("/proc/loadavg", text, sizeof(text)) > 0 && strchr(text, '/') &&
                                sscanf(text, "%*f %*f %*f %*d/%*d %*d") == 0);
    double up = 0, idle = -1;
    CHECK("uptime_format", read_text("/proc/uptime", text, sizeof(text)) > 0 &&
                               sscanf(text, "%lf %lf", &up, &idle) == 2 && up > 0 && idle >= 0);
    CHECK("stat_cpu_line", read_text("/proc/stat", text, sizeof(text)) > 0 && strncmp(text, "cpu  ", 5) == 0 &&
                               strstr(text, "\nbtime ") && strstr(text, "\nprocs_running "));
    CHECK("meminfo", read_text("/proc/meminfo", text, sizeof(text)) > 0 && strncmp(text, "MemTotal:", 9) == 0 &&
                         value_of(text, "MemAvailable", v, sizeof(v)) && strstr(v, " kB"));
}

int main(int argc, char **argv)
{
    guest_begin();
    for (char **e = environ; *e; e++)
        start_env_len += strlen(*e) + 1;
    start_env = malloc(start_env_len + 1);
    size_t at = 0;
    for (char **e = environ; *e; e++) {
        memcpy(start_env + at, *e, strlen(*e) + 1);
        at += strlen(*e) + 1;
    }
    prctl(PR_SET_NAME, "procfs"); /* the name natively and booted, whatever argv[0] */
    mkdir("/tmp", 01777);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/procfsXXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    test_self_links();
    test_stat(1);
    test_status();
    test_cmdline_environ(argc, argv);
    test_limits();
    test_maps();
    test_fd_links();
    test_dev_links();
    test_tasks();
    test_proc_root();
    rmdir(tmpdir);
    return guest_finish();
}
