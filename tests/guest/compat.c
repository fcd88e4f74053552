/* compat.c: calls that programs in Docker containers make and the audit found unsupported
 * (issue 17): close_range, copy_file_range, splice, preadv2/pwritev2, fadvise64, syncfs,
 * sync_file_range, flock, memfd_create, sched_setparam/rr_get_interval/getattr/setattr,
 * ioprio, personality, capget/capset, setreuid/setregid, chroot, inotify, clock_adjtime,
 * System V semaphores and message queues, and the EBADF answers of pidfd_send_signal and mq_getsetattr. Runs natively as root
 * (chroot, setreuid), as the guest does. Raw syscall() where libc wrappers differ. */
#include "guest.h"

#include <poll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#define F "compat.tmp"
#define G "compat2.tmp"

static long sc(long nr, long a, long b, long c, long d, long e, long f) { return syscall(nr, a, b, c, d, e, f); }

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static void test_close_range(void)
{
    int a = open("/dev/null", O_RDONLY), b = dup(a), c = dup(a);
    CHECK("close_range closes a range", sc(SYS_close_range, b, c, 0, 0, 0, 0) == 0 && !is_open(b) && !is_open(c) && is_open(a));
    b = dup(a);
    CHECK("close_range CLOEXEC marks", sc(SYS_close_range, b, b, 4, 0, 0, 0) == 0 && fcntl(b, F_GETFD) == FD_CLOEXEC);
    EXPECT_ERR("close_range first > last", sc(SYS_close_range, 5, 4, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("close_range bad flags", sc(SYS_close_range, 3, 4, 1, 0, 0, 0), EINVAL);
    CHECK("close_range beyond the table", sc(SYS_close_range, 1000, ~0u, 0, 0, 0, 0) == 0);
    CHECK("close_range UNSHARE", sc(SYS_close_range, b, b, 2, 0, 0, 0) == 0 && !is_open(b));
    close(a);
}

static void test_copy_splice(void)
{
    int in = open(F, O_RDWR | O_CREAT | O_TRUNC, 0644), out = open(G, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("setup", in >= 0 && out >= 0 && write(in, "hello world", 11) == 11);
    loff_t oi = 6, oo = 0;
    char buf[32] = {0};
    CHECK("copy_file_range with offsets", sc(SYS_copy_file_range, in, (long)&oi, out, (long)&oo, 100, 0) == 5 && oi == 11 && oo == 5);
    CHECK("copy_file_range wrote", pread(out, buf, sizeof(buf), 0) == 5 && memcmp(buf, "world", 5) == 0);
    lseek(in, 0, SEEK_SET);
    CHECK("copy_file_range at positions", sc(SYS_copy_file_range, in, 0, out, 0, 5, 0) == 5 && lseek(in, 0, SEEK_CUR) == 5 && lseek(out, 0, SEEK_CUR) == 5);
    CHECK("copy_file_range at EOF", sc(SYS_copy_file_range, in, (long)&(loff_t){11}, out, 0, 5, 0) == 0);
    EXPECT_ERR("copy_file_range flags", sc(SYS_copy_file_range, in, 0, out, 0, 5, 1), EINVAL);
    EXPECT_ERR("copy_file_range overlap", sc(SYS_copy_file_range, in, (long)&(loff_t){0}, in, (long)&(loff_t){2}, 5, 0), EINVAL);
    int p[2];
    CHECK("pipe", pipe(p) == 0);
    EXPECT_ERR("copy_file_range from a pipe", sc(SYS_copy_file_range, p[0], 0, out, 0, 5, 0), EINVAL);
    oi = 0;
    CHECK("splice file to pipe", sc(SYS_splice, in, (long)&oi, p[1], 0, 5, 0) == 5 && oi == 5);
    memset(buf, 0, sizeof(buf));
    CHECK("splice put the bytes in the pipe", read(p[0], buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK("write pipe", write(p[1], "abc", 3) == 3);
    oo = 20;
    CHECK("splice pipe to file", sc(SYS_splice, p[0], 0, out, (long)&oo, 10, 0) == 3 && oo == 23);
    memset(buf, 0, sizeof(buf));
    CHECK("splice wrote the file", pread(out, buf, 3, 20) == 3 && memcmp(buf, "abc", 3) == 0);
    EXPECT_ERR("splice pipe offset", sc(SYS_splice, p[0], (long)&oi, out, 0, 10, 0), ESPIPE);
    EXPECT_ERR("splice no pipe", sc(SYS_splice, in, 0, out, 0, 10, 0), EINVAL);
    EXPECT_ERR("splice nonblock empty pipe", sc(SYS_splice, p[0], 0, out, 0, 10, 2), EAGAIN);
    EXPECT_ERR("splice bad fd", sc(SYS_splice, 999, 0, p[1], 0, 10, 0), EBADF);

    /* preadv2 / pwritev2 */
    struct iovec v = {buf, 5};
    lseek(in, 0, SEEK_SET);
    memset(buf, 0, sizeof(buf));
    CHECK("preadv2 at the position", sc(SYS_preadv2, in, (long)&v, 1, -1, 0, 0) == 5 && memcmp(buf, "hello", 5) == 0 && lseek(in, 0, SEEK_CUR) == 5);
    CHECK("preadv2 at an offset", sc(SYS_preadv2, in, (long)&v, 1, 6, 0, 0) == 5 && memcmp(buf, "world", 5) == 0 && lseek(in, 0, SEEK_CUR) == 5);
    CHECK("preadv2 HIPRI", sc(SYS_preadv2, in, (long)&v, 1, 0, 0, 1) == 5);
    EXPECT_ERR("preadv2 unknown flag", sc(SYS_preadv2, in, (long)&v, 1, 0, 0, 0x1000), EOPNOTSUPP);
    struct iovec w = {"XY", 2};
    CHECK("pwritev2 DSYNC at an offset", sc(SYS_pwritev2, in, (long)&w, 1, 0, 0, 2) == 2);
    CHECK("pwritev2 APPEND", sc(SYS_pwritev2, in, (long)&w, 1, 0, 0, 0x10) == 2);
    struct stat st;
    CHECK("pwritev2 APPEND went to the end", fstat(in, &st) == 0 && st.st_size == 13 && pread(in, buf, 13, 0) == 13 && memcmp(buf, "XYllo worldXY", 13) == 0);
    EXPECT_ERR("pwritev2 offset on a pipe", sc(SYS_pwritev2, p[1], (long)&w, 1, 0, 0, 0), ESPIPE);

    /* advice and syncing */
    CHECK("fadvise64", sc(SYS_fadvise64, in, 0, 0, 2 /* SEQUENTIAL */, 0, 0) == 0);
    EXPECT_ERR("fadvise64 bad advice", sc(SYS_fadvise64, in, 0, 0, 9, 0, 0), EINVAL);
    EXPECT_ERR("fadvise64 pipe", sc(SYS_fadvise64, p[0], 0, 0, 0, 0, 0), ESPIPE);
    EXPECT_ERR("fadvise64 bad fd", sc(SYS_fadvise64, 999, 0, 0, 0, 0, 0), EBADF);
    CHECK("syncfs", sc(SYS_syncfs, in, 0, 0, 0, 0, 0) == 0);
    EXPECT_ERR("syncfs bad fd", sc(SYS_syncfs, 999, 0, 0, 0, 0, 0), EBADF);
    CHECK("sync_file_range", sc(SYS_sync_file_range, in, 0, 0, 2, 0, 0) == 0);
    EXPECT_ERR("sync_file_range flags", sc(SYS_sync_file_range, in, 0, 0, 8, 0, 0), EINVAL);
    EXPECT_ERR("sync_file_range pipe", sc(SYS_sync_file_range, p[0], 0, 0, 0, 0, 0), ESPIPE);
    /* no message queues and no pidfds among these fds */
    EXPECT_ERR("mq_getsetattr on a pipe", sc(SYS_mq_getsetattr, p[0], 0, (long)buf, 0, 0, 0), EBADF);
    EXPECT_ERR("pidfd_send_signal on a pipe", sc(SYS_pidfd_send_signal, p[0], 0, 0, 0, 0, 0), EBADF);
    EXPECT_ERR("pidfd_send_signal flags", sc(SYS_pidfd_send_signal, p[0], 0, 0, 0x100, 0, 0), EINVAL);
    close(p[0]);
    close(p[1]);
    close(in);
    close(out);
    unlink(G);
}

static void test_flock(void)
{
    int a = open(F, O_RDWR), b = open(F, O_RDWR), d = dup(a);
    CHECK("flock EX", flock(a, LOCK_EX) == 0);
    EXPECT_ERR("flock EX|NB by another description", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    EXPECT_ERR("flock SH|NB by another description", flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    CHECK("flock again through a dup", flock(d, LOCK_EX | LOCK_NB) == 0);
    CHECK("flock convert to SH", flock(a, LOCK_SH) == 0 && flock(b, LOCK_SH | LOCK_NB) == 0);
    EXPECT_ERR("flock EX|NB while shared", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK("flock UN", flock(a, LOCK_UN) == 0 && flock(b, LOCK_EX | LOCK_NB) == 0);
    CHECK("flock close releases", close(b) == 0 && flock(a, LOCK_EX | LOCK_NB) == 0);
    EXPECT_ERR("flock bad op", flock(a, 0), EINVAL);
    EXPECT_ERR("flock bad fd", flock(999, LOCK_EX), EBADF);
    /* A child blocks until the parent unlocks. */
    int sync[2];
    CHECK("pipe", pipe(sync) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int c = open(F, O_RDWR);
        char x;
        int busy = flock(c, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
        if (write(sync[1], "r", 1) != 1)
            _exit(3);
        int got = flock(c, LOCK_EX) == 0;
        int after = read(sync[0], &x, 1) == 1; /* the parent wrote before unlocking */
        _exit(busy && got && after ? 0 : 1);
    }
    char x;
    CHECK("child ready", read(sync[0], &x, 1) == 1);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    CHECK("write sync", write(sync[1], "u", 1) == 1);
    CHECK("unlock", flock(a, LOCK_UN) == 0);
    int status = -1;
    CHECK("flock waits for the other description", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sync[0]);
    close(sync[1]);
    close(d);
    close(a);
}

static void test_memfd(void)
{
    int fd = (int)sc(SYS_memfd_create, (long)"compat", 1 /* MFD_CLOEXEC */, 0, 0, 0, 0);
    struct stat st;
    char buf[8] = {0};
    CHECK("memfd_create", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK("memfd write and read", write(fd, "memfd", 5) == 5 && pread(fd, buf, 5, 0) == 5 && memcmp(buf, "memfd", 5) == 0);
    CHECK("memfd is an unlinked regular file", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0 && st.st_size == 5);
    CHECK("memfd is read-write", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR && ftruncate(fd, 100) == 0);
    close(fd);
    char name[300];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    EXPECT_ERR("memfd name too long", sc(SYS_memfd_create, (long)name, 0, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("memfd bad flags", sc(SYS_memfd_create, (long)"x", 0x100, 0, 0, 0, 0), EINVAL);
}

struct attr {
    unsigned size, policy;
    unsigned long long flags;
    int nice;
    unsigned prio;
    unsigned long long runtime, deadline, period;
    unsigned util_min, util_max;
};

static void test_sched(void)
{
    int prio = 0;
    CHECK("sched_setparam 0", sc(SYS_sched_setparam, 0, (long)&prio, 0, 0, 0, 0) == 0);
    prio = 5;
    EXPECT_ERR("sched_setparam 5 for SCHED_OTHER", sc(SYS_sched_setparam, 0, (long)&prio, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("sched_setparam NULL", sc(SYS_sched_setparam, 0, 0, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("sched_setparam pid -1", sc(SYS_sched_setparam, -1, (long)&prio, 0, 0, 0, 0), EINVAL);
    struct timespec ts = {9, 9};
    CHECK("sched_rr_get_interval", sc(SYS_sched_rr_get_interval, 0, (long)&ts, 0, 0, 0, 0) == 0 && ts.tv_sec == 0);
    struct attr at;
    memset(&at, 0xff, sizeof(at));
    CHECK("sched_getattr", sc(SYS_sched_getattr, 0, (long)&at, sizeof(at), 0, 0, 0) == 0 && at.size == 56 && at.policy == 0 && at.prio == 0);
    EXPECT_ERR("sched_getattr small", sc(SYS_sched_getattr, 0, (long)&at, 40, 0, 0, 0), EINVAL);
    EXPECT_ERR("sched_getattr flags", sc(SYS_sched_getattr, 0, (long)&at, sizeof(at), 1, 0, 0), EINVAL);
    at.nice = 0;
    CHECK("sched_setattr what getattr gave", sc(SYS_sched_setattr, 0, (long)&at, 0, 0, 0, 0) == 0);
    at.size = 24;
    EXPECT_ERR("sched_setattr E2BIG", sc(SYS_sched_setattr, 0, (long)&at, 0, 0, 0, 0), E2BIG);
    CHECK("sched_setattr wrote the size", at.size == 56);
    at.policy = 0, at.prio = 3;
    EXPECT_ERR("sched_setattr priority for SCHED_OTHER", sc(SYS_sched_setattr, 0, (long)&at, 0, 0, 0, 0), EINVAL);
    /* ioprio: best effort, level 3 */
    CHECK("ioprio_set", sc(SYS_ioprio_set, 1, 0, (2 << 13) | 3, 0, 0, 0) == 0);
    CHECK("ioprio_get", sc(SYS_ioprio_get, 1, 0, 0, 0, 0, 0) == ((2 << 13) | 3));
    EXPECT_ERR("ioprio_set bad class", sc(SYS_ioprio_set, 1, 0, 5 << 13, 0, 0, 0), EINVAL);
    EXPECT_ERR("ioprio_get bad which", sc(SYS_ioprio_get, 9, 0, 0, 0, 0, 0), EINVAL);
    /* personality */
    long old = sc(SYS_personality, 0xffffffffL, 0, 0, 0, 0, 0);
    CHECK("personality query", old == 0);
    CHECK("personality set", sc(SYS_personality, 0x20000, 0, 0, 0, 0, 0) == 0 && sc(SYS_personality, 0xffffffffL, 0, 0, 0, 0, 0) == 0x20000);
    CHECK("personality back", sc(SYS_personality, 0, 0, 0, 0, 0, 0) == 0x20000 && sc(SYS_personality, 0xffffffffL, 0, 0, 0, 0, 0) == 0);
    /* clock_adjtime: read-only on the realtime clock */
    long tx[26];
    memset(tx, 0, sizeof(tx));
    long r = sc(SYS_clock_adjtime, 0, (long)tx, 0, 0, 0, 0);
    CHECK("clock_adjtime reads", r >= 0 && r <= 5);
    memset(tx, 0, sizeof(tx));
    EXPECT_ERR("clock_adjtime MONOTONIC", sc(SYS_clock_adjtime, 1, (long)tx, 0, 0, 0, 0), EOPNOTSUPP);
    EXPECT_ERR("clock_adjtime bad clock", sc(SYS_clock_adjtime, 99, (long)tx, 0, 0, 0, 0), EINVAL);
}

struct cap_hdr {
    unsigned version;
    int pid;
};
struct cap_data {
    unsigned eff, prm, inh;
};

/* In a child: what is dropped stays dropped. */
static void test_caps(void)
{
    struct cap_hdr h = {0x20080522, 0};
    struct cap_data d[2];
    CHECK("capget", sc(SYS_capget, (long)&h, (long)d, 0, 0, 0, 0) == 0);
    int chroot_cap = (d[0].eff >> 18) & 1;
    CHECK("capget: root holds CAP_SYS_CHROOT", chroot_cap == 1);
    struct cap_hdr bad = {0x1234, 0};
    EXPECT_ERR("capget bad version", sc(SYS_capget, (long)&bad, (long)d, 0, 0, 0, 0), EINVAL);
    CHECK("capget wrote the preferred version", bad.version == 0x20080522);
    bad.version = 0x1234;
    CHECK("capget NULL data probes the version", sc(SYS_capget, (long)&bad, 0, 0, 0, 0, 0) == 0 && bad.version == 0x20080522);
    pid_t pid = fork();
    if (pid == 0) {
        struct cap_data n[2];
        memcpy(n, d, sizeof(n));
        n[0].eff &= ~(1u << 18);
        n[0].prm &= ~(1u << 18);
        n[0].inh = n[1].inh = 0;
        int ok = sc(SYS_capset, (long)&h, (long)n, 0, 0, 0, 0) == 0;
        struct cap_data g[2];
        ok = ok && sc(SYS_capget, (long)&h, (long)g, 0, 0, 0, 0) == 0 && !((g[0].eff >> 18) & 1) && !((g[0].prm >> 18) & 1);
        ok = ok && chroot(".") == -1 && errno == EPERM;
        ok = ok && sc(SYS_capset, (long)&h, (long)d, 0, 0, 0, 0) == -1 && errno == EPERM;
        struct cap_hdr other = {0x20080522, 1};
        ok = ok && sc(SYS_capset, (long)&other, (long)n, 0, 0, 0, 0) == -1 && errno == EPERM;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK("capset drops CAP_SYS_CHROOT: chroot EPERM, no raising back", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct cap_data again[2];
    CHECK("the parent keeps its set", sc(SYS_capget, (long)&h, (long)again, 0, 0, 0, 0) == 0 && ((again[0].eff >> 18) & 1));
}

static void test_setre(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        uid_t r, e, s;
        int ok = setreuid(-1, 1000) == 0 && getresuid(&r, &e, &s) == 0 && r == 0 && e == 1000 && s == 1000;
        ok = ok && setreuid(1000, -1) == 0 && getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 1000;
        ok = ok && setreuid(-1, 0) == -1 && errno == EPERM;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK("setreuid: Linux's saved-id rule, then EPERM", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid = fork();
    if (pid == 0) {
        gid_t r, e, s;
        int ok = setregid(2000, 3000) == 0 && getresgid(&r, &e, &s) == 0 && r == 2000 && e == 3000 && s == 3000;
        ok = ok && setregid(-1, 2000) == 0 && getresgid(&r, &e, &s) == 0 && e == 2000 && s == 3000;
        _exit(ok ? 0 : 1);
    }
    CHECK("setregid", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_chroot(void)
{
    mkdir("croot.d", 0755);
    mkdir("croot.d/sub", 0755);
    symlink("/sub", "croot.d/link");
    EXPECT_ERR("chroot missing", chroot("croot.d/none"), ENOENT);
    EXPECT_ERR("chroot a file", chroot(F), ENOTDIR);
    pid_t pid = fork();
    if (pid == 0) {
        struct stat root, up, link;
        char cwd[64];
        int ok = chroot("croot.d") == 0 && chdir("/") == 0;
        ok = ok && access("/sub", F_OK) == 0 && access("/croot.d", F_OK) == -1 && errno == ENOENT;
        ok = ok && stat("/", &root) == 0 && stat("/../..", &up) == 0 && root.st_ino == up.st_ino;
        ok = ok && stat("/link", &link) == 0 && S_ISDIR(link.st_mode);
        ok = ok && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0;
        ok = ok && chdir("sub/../..") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0;
        if (!ok)
            _exit(1);
        pid_t g = fork();
        if (g == 0)
            _exit(access("/sub", F_OK) == 0 && access("/croot.d", F_OK) == -1 ? 0 : 1);
        int st = -1;
        _exit(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 2);
    }
    int status = -1;
    CHECK("chroot: /, .., absolute symlinks, getcwd, fork", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("the parent's root is unchanged", access("croot.d/sub", F_OK) == 0);
    unlink("croot.d/link");
    rmdir("croot.d/sub");
    rmdir("croot.d");
}

static void test_inotify(void)
{
    mkdir("inotify.d", 0755);
    int fd = (int)sc(SYS_inotify_init1, O_NONBLOCK | O_CLOEXEC, 0, 0, 0, 0, 0);
    char buf[256];
    CHECK("inotify_init1", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
    EXPECT_ERR("inotify read with nothing queued", read(fd, buf, sizeof(buf)), EAGAIN);
    int wd = (int)sc(SYS_inotify_add_watch, fd, (long)"inotify.d", 0x100 /* IN_CREATE */, 0, 0, 0);
    CHECK("inotify_add_watch", wd >= 1);
    CHECK("inotify_add_watch same inode, same wd", sc(SYS_inotify_add_watch, fd, (long)"inotify.d/.", 0x200, 0, 0, 0) == wd);
    EXPECT_ERR("inotify_add_watch MASK_CREATE on a watched inode", sc(SYS_inotify_add_watch, fd, (long)"inotify.d", 0x10000100, 0, 0, 0), EEXIST);
    EXPECT_ERR("inotify_add_watch missing", sc(SYS_inotify_add_watch, fd, (long)"inotify.d/none", 0x100, 0, 0, 0), ENOENT);
    EXPECT_ERR("inotify_add_watch no events", sc(SYS_inotify_add_watch, fd, (long)"inotify.d", 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("inotify_add_watch ONLYDIR on a file", sc(SYS_inotify_add_watch, fd, (long)F, 0x01000100, 0, 0, 0), ENOTDIR);
    EXPECT_ERR("inotify_add_watch not inotify", sc(SYS_inotify_add_watch, 0, (long)"inotify.d", 0x100, 0, 0, 0), EINVAL);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK("inotify poll: nothing", poll(&p, 1, 0) == 0);
    CHECK("inotify_rm_watch", sc(SYS_inotify_rm_watch, fd, wd, 0, 0, 0, 0) == 0);
    EXPECT_ERR("inotify_rm_watch again", sc(SYS_inotify_rm_watch, fd, wd, 0, 0, 0, 0), EINVAL);
    close(fd);
    int fd0 = (int)sc(SYS_inotify_init, 0, 0, 0, 0, 0, 0);
    CHECK("inotify_init", fd0 >= 0 && fcntl(fd0, F_GETFD) == 0);
    close(fd0);
    EXPECT_ERR("inotify_init1 bad flags", sc(SYS_inotify_init1, 1, 0, 0, 0, 0, 0), EINVAL);
    rmdir("inotify.d");
}

union semun_ {
    int val;
    void *buf;
    unsigned short *array;
};

struct sembuf_ {
    unsigned short num;
    short op, flg;
};

static long semctl_(int id, int num, int cmd, long arg) { return syscall(SYS_semctl, id, num, cmd, arg); }

static void test_sem(void)
{
    int id = (int)syscall(SYS_semget, 0 /* IPC_PRIVATE */, 2, 0600);
    CHECK("semget IPC_PRIVATE", id >= 0);
    CHECK("semctl SETVAL/GETVAL", semctl_(id, 0, 16 /* SETVAL */, 3) == 0 && semctl_(id, 0, 12 /* GETVAL */, 0) == 3);
    unsigned short all[2] = {0, 0};
    CHECK("semctl GETALL", semctl_(id, 0, 13, (long)all) == 0 && all[0] == 3 && all[1] == 0);
    CHECK("semctl GETPID is ours", semctl_(id, 0, 11, 0) == getpid());
    EXPECT_ERR("semctl SETVAL out of range", semctl_(id, 0, 16, 40000), ERANGE);
    EXPECT_ERR("semctl bad semnum", semctl_(id, 5, 12, 0), EINVAL);
    struct sembuf_ ops[2] = {{0, -2, 0}, {1, 1, 0}};
    CHECK("semop applies an array atomically", syscall(SYS_semop, id, ops, 2) == 0 && semctl_(id, 0, 12, 0) == 1 && semctl_(id, 1, 12, 0) == 1);
    struct sembuf_ take2[2] = {{1, 1, 0}, {0, -2, 04000 /* IPC_NOWAIT */}};
    EXPECT_ERR("semop IPC_NOWAIT would wait", syscall(SYS_semop, id, take2, 2), EAGAIN);
    CHECK("semop failed: nothing applied", semctl_(id, 1, 12, 0) == 1);
    struct timespec ts = {0, 20000000};
    struct sembuf_ wait0 = {1, 0, 0};
    EXPECT_ERR("semtimedop wait-for-zero times out", syscall(SYS_semtimedop, id, &wait0, 1, &ts), EAGAIN);
    EXPECT_ERR("semop bad semnum", syscall(SYS_semop, id, &(struct sembuf_){7, 1, 0}, 1), EFBIG);
    EXPECT_ERR("semop no operations", syscall(SYS_semop, id, ops, 0), EINVAL);
    struct { int key; unsigned uid, gid, cuid, cgid, mode; unsigned short seq, pad; unsigned pad3; unsigned long u1, u2; long otime; unsigned long x1; long ctime; unsigned long x2, nsems, x3, x4; } ds;
    CHECK("semctl IPC_STAT", semctl_(id, 0, 2, (long)&ds) == 0 && ds.nsems == 2 && (ds.mode & 0777) == 0600 && ds.uid == geteuid());
    /* a child blocks in semop until the parent adds */
    pid_t pid = fork();
    if (pid == 0) {
        struct sembuf_ dec = {0, -3, 0};
        _exit(syscall(SYS_semop, id, &dec, 1) == 0 && semctl_(id, 0, 12, 0) == 0 ? 0 : 1);
    }
    struct timespec nap = {0, 50000000};
    nanosleep(&nap, NULL);
    int waiting = (int)semctl_(id, 0, 14 /* GETNCNT */, 0);
    struct sembuf_ add = {0, 2, 0};
    CHECK("semop wakes the waiter", syscall(SYS_semop, id, &add, 1) == 0);
    int status = -1;
    CHECK("the waiter took its 3", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("GETNCNT counted it", waiting == 1);
    /* keys */
    int key = 0x64327531;
    int k = (int)syscall(SYS_semget, key, 1, 01000 | 0600);
    CHECK("semget IPC_CREAT", k >= 0 && syscall(SYS_semget, key, 1, 0) == k);
    EXPECT_ERR("semget IPC_EXCL", syscall(SYS_semget, key, 1, 01000 | 02000 | 0600), EEXIST);
    EXPECT_ERR("semget more than it has", syscall(SYS_semget, key, 2, 0), EINVAL);
    CHECK("semctl IPC_RMID", semctl_(k, 0, 0, 0) == 0);
    EXPECT_ERR("semget removed key", syscall(SYS_semget, key, 1, 0), ENOENT);
    EXPECT_ERR("semctl removed id", semctl_(k, 0, 12, 0), EINVAL);
    CHECK("semctl IPC_RMID private", semctl_(id, 0, 0, 0) == 0);
    EXPECT_ERR("semop removed id", syscall(SYS_semop, id, &add, 1), EINVAL);
}

/* System V message queues: typed messages in order, the three msgrcv selections,
 * MSG_NOERROR/E2BIG, MSG_COPY, IPC_NOWAIT on a full and an empty queue, a receiver
 * blocked until a child sends, IPC_STAT's counters, IPC_SET's msg_qbytes limit, keys,
 * and IPC_RMID waking a blocked receiver with EIDRM. */
#ifndef MSG_COPY
#define MSG_COPY 040000 /* musl's sys/msg.h lacks it */
#endif

struct msgbuf_ {
    long mtype;
    char mtext[64];
};

static long snd(int id, long type, const char *text, int flags)
{
    struct msgbuf_ m = {.mtype = type};
    size_t n = strlen(text);
    memcpy(m.mtext, text, n);
    return msgsnd(id, &m, n, flags);
}

/* The text of the message msgrcv gives (type in *type), or "" with errno. */
static const char *rcv(int id, long want, int flags, long *type)
{
    static struct msgbuf_ m;
    memset(&m, 0, sizeof(m));
    ssize_t n = msgrcv(id, &m, sizeof(m.mtext) - 1, want, flags);
    if (type)
        *type = n < 0 ? -1 : m.mtype;
    return n < 0 ? "" : m.mtext;
}

static void test_msg(void)
{
    int id = msgget(IPC_PRIVATE, 0600);
    CHECK("msgget IPC_PRIVATE", id >= 0);
    CHECK("msgsnd three", snd(id, 2, "two", 0) == 0 && snd(id, 1, "one", 0) == 0 && snd(id, 3, "three", 0) == 0);
    struct msqid_ds ds;
    CHECK("IPC_STAT counts", msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 3 && ds.msg_cbytes == 11 && ds.msg_qbytes == 16384 &&
                                 ds.msg_lspid == getpid() && ds.msg_lrpid == 0 && (ds.msg_perm.mode & 0777) == 0600);
    long t;
    CHECK("msgrcv MSG_COPY by position", msgrcv(id, &(struct msgbuf_){0}, 64, 1, IPC_NOWAIT | MSG_COPY) == 3);
    EXPECT_ERR("MSG_COPY without IPC_NOWAIT", msgrcv(id, &(struct msgbuf_){0}, 64, 0, MSG_COPY), EINVAL);
    EXPECT_ERR("MSG_COPY past the end", msgrcv(id, &(struct msgbuf_){0}, 64, 5, IPC_NOWAIT | MSG_COPY), ENOMSG);
    CHECK("msgrcv type 3", strcmp(rcv(id, 3, 0, &t), "three") == 0 && t == 3);
    CHECK("msgrcv lowest type up to 2", strcmp(rcv(id, -2, 0, &t), "one") == 0 && t == 1);
    CHECK("msgrcv MSG_EXCEPT", snd(id, 5, "five", 0) == 0 && strcmp(rcv(id, 2, MSG_EXCEPT, &t), "five") == 0 && t == 5);
    CHECK("msgrcv first", strcmp(rcv(id, 0, 0, &t), "two") == 0 && t == 2);
    EXPECT_ERR("msgrcv empty IPC_NOWAIT", msgrcv(id, &(struct msgbuf_){0}, 64, 0, IPC_NOWAIT), ENOMSG);
    CHECK("send a long one", snd(id, 7, "abcdefgh", 0) == 0);
    struct msgbuf_ small = {0};
    EXPECT_ERR("msgrcv E2BIG", msgrcv(id, &small, 4, 0, IPC_NOWAIT), E2BIG);
    CHECK("MSG_NOERROR truncates and takes it", msgrcv(id, &small, 4, 0, IPC_NOWAIT | MSG_NOERROR) == 4 && memcmp(small.mtext, "abcd", 4) == 0 &&
                                                    msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 0 && ds.msg_lrpid == getpid());
    EXPECT_ERR("msgsnd type 0", snd(id, 0, "x", 0), EINVAL);
    static struct { long mtype; char mtext[8193]; } big = {.mtype = 1};
    EXPECT_ERR("msgsnd past msgmax", msgsnd(id, &big, sizeof(big.mtext), 0), EINVAL);
    /* a full queue: IPC_NOWAIT fails; msg_qbytes may be lowered, not raised past msgmnb */
    ds.msg_qbytes = 8;
    CHECK("IPC_SET msg_qbytes down", msgctl(id, IPC_SET, &ds) == 0 && snd(id, 1, "12345", 0) == 0);
    EXPECT_ERR("msgsnd full IPC_NOWAIT", snd(id, 1, "6789", IPC_NOWAIT), EAGAIN);
    ds.msg_qbytes = 1 << 20;
    EXPECT_ERR("IPC_SET msg_qbytes past msgmnb", msgctl(id, IPC_SET, &ds), EPERM);
    CHECK("drain", strcmp(rcv(id, 0, 0, NULL), "12345") == 0);
    /* a receiver blocks until a child sends */
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec nap = {0, 50000000};
        nanosleep(&nap, NULL);
        _exit(snd(id, 9, "late", 0) == 0 ? 0 : 1);
    }
    CHECK("blocked msgrcv gets the child's message", strcmp(rcv(id, 9, 0, &t), "late") == 0 && t == 9);
    int status = -1;
    CHECK("the sender exited", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* IPC_RMID wakes a blocked receiver with EIDRM */
    pid = fork();
    if (pid == 0)
        _exit(msgrcv(id, &(struct msgbuf_){0}, 64, 0, 0) < 0 && errno == EIDRM ? 0 : 1);
    struct timespec nap = {0, 50000000};
    nanosleep(&nap, NULL);
    CHECK("IPC_RMID", msgctl(id, IPC_RMID, NULL) == 0);
    CHECK("the receiver got EIDRM", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_ERR("msgsnd removed id", snd(id, 1, "x", 0), EINVAL);
    /* keys */
    key_t key = 0x64327532;
    int k = msgget(key, IPC_CREAT | 0600);
    CHECK("msgget IPC_CREAT", k >= 0 && msgget(key, 0) == k);
    EXPECT_ERR("msgget IPC_EXCL", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    CHECK("msgctl IPC_RMID by key", msgctl(k, IPC_RMID, NULL) == 0);
    EXPECT_ERR("msgget removed key", msgget(key, 0), ENOENT);
}

/* System V shared memory: one segment seen by every attach, fork's included; the
 * attach count, detach, SHM_RDONLY, addresses (SHM_RND, SHM_REMAP), keys, IPC_RMID
 * while attached, IPC_SET, another user's EACCES, and exit detaching. */
static unsigned long nattch_of(int id)
{
    struct shmid_ds ds;
    return shmctl(id, IPC_STAT, &ds) == 0 ? (unsigned long)ds.shm_nattch : 99;
}

static void test_shm(void)
{
    int id = shmget(IPC_PRIVATE, 10000, 0600);
    CHECK("shmget IPC_PRIVATE", id >= 0);
    struct shmid_ds ds;
    CHECK("shmctl IPC_STAT fresh", shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz == 10000 && ds.shm_nattch == 0 &&
                                       ds.shm_cpid == getpid() && (ds.shm_perm.mode & 0777) == 0600 &&
                                       ds.shm_perm.uid == geteuid() && ds.shm_atime == 0);
    char *p = shmat(id, NULL, 0);
    CHECK("shmat", p != (void *)-1 && ((unsigned long)p & 4095) == 0);
    if (p == (void *)-1)
        return;
    CHECK("shmat zero-filled", p[0] == 0 && p[9999] == 0 && p[12287] == 0);
    strcpy(p, "parent");
    CHECK("shmctl IPC_STAT attached", shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1 && ds.shm_lpid == getpid() && ds.shm_atime != 0);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = strcmp(p, "parent") == 0 && nattch_of(id) == 2;
        char *q = shmat(id, NULL, 0); /* a second attach of our own sees the same bytes */
        ok = ok && q != (void *)-1 && q != p && strcmp(q, "parent") == 0 && nattch_of(id) == 3;
        strcpy(q, "child");
        ok = ok && strcmp(p, "child") == 0 && shmdt(q) == 0 && nattch_of(id) == 2;
        _exit(ok ? 0 : 1); /* exit detaches p */
    }
    int status = -1;
    CHECK("shm across fork", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("shm child's store seen", strcmp(p, "child") == 0);
    CHECK("shm exit detached the child", nattch_of(id) == 1);
    CHECK("shmdt", shmdt(p) == 0 && nattch_of(id) == 0);
    EXPECT_ERR("shmdt twice", shmdt(p), EINVAL);
    EXPECT_ERR("shmdt unaligned", shmdt(p + 1), EINVAL);

    char *r = shmat(id, NULL, SHM_RDONLY);
    CHECK("shmat SHM_RDONLY keeps the bytes", r != (void *)-1 && strcmp(r, "child") == 0);
    EXPECT_ERR("mprotect cannot make SHM_RDONLY writable", mprotect(r, 4096, PROT_READ | PROT_WRITE), EACCES);
    shmdt(r);
    /* addresses */
    char *spot = mmap(NULL, 5 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(spot, 5 * 4096);
    EXPECT_ERR("shmat unaligned", (long)shmat(id, spot + 100, 0), EINVAL);
    CHECK("shmat SHM_RND rounds down", shmat(id, spot + 100, SHM_RND) == spot);
    EXPECT_ERR("shmat over a mapping", (long)shmat(id, spot, 0), EINVAL);
    CHECK("shmat SHM_REMAP replaces it", shmat(id, spot, SHM_REMAP) == spot && strcmp(spot, "child") == 0);
    EXPECT_ERR("shmat SHM_REMAP without an address", (long)shmat(id, NULL, SHM_REMAP), EINVAL);
    CHECK("mprotect splits the attach: two attaches", mprotect(spot, 4096, PROT_READ) == 0 && nattch_of(id) == 2);
    CHECK("shmdt removes every piece", shmdt(spot) == 0 && nattch_of(id) == 0);
    /* keys */
    key_t key = 0x64320000 + (getpid() & 0xffff);
    int k = shmget(key, 8192, IPC_CREAT | 0600);
    CHECK("shmget IPC_CREAT", k >= 0 && shmget(key, 100, 0) == k);
    EXPECT_ERR("shmget IPC_EXCL", shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_ERR("shmget larger than it is", shmget(key, 8193, 0), EINVAL);
    EXPECT_ERR("shmget size 0 new", shmget(IPC_PRIVATE, 0, 0600), EINVAL);
    ds.shm_perm.mode = 0640;
    CHECK("shmctl IPC_SET", shmctl(k, IPC_SET, &ds) == 0 && shmctl(k, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 0777) == 0640);
    pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        errno = 0;
        void *x = shmat(k, NULL, SHM_RDONLY);
        _exit(x == (void *)-1 && errno == EACCES && shmctl(k, IPC_RMID, NULL) == -1 && errno == EPERM ? 0 : 1);
    }
    CHECK("shm another user: EACCES, EPERM", waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *a = shmat(k, NULL, 0);
    CHECK("shmctl IPC_RMID attached", a != (void *)-1 && shmctl(k, IPC_RMID, NULL) == 0);
    EXPECT_ERR("shmget removed key", shmget(key, 100, 0), ENOENT);
    CHECK("removed: still attached, SHM_DEST", shmctl(k, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST) && ds.shm_perm.__key == 0 &&
                                                 (a[0] = 'x') == 'x');
    char *b = shmat(k, NULL, 0);
    CHECK("removed: shmat by id still works", b != (void *)-1 && b[0] == 'x' && nattch_of(k) == 2);
    shmdt(b);
    shmdt(a);
    EXPECT_ERR("removed: gone at the last detach", shmctl(k, IPC_STAT, &ds), EINVAL);
    EXPECT_ERR("shmat bad id", (long)shmat(k, NULL, 0), EINVAL);
    struct shminfo info;
    CHECK("shmctl IPC_INFO", shmctl(0, IPC_INFO, (struct shmid_ds *)&info) >= 0 && info.shmmin == 1 && info.shmmax > (1ul << 40));
    CHECK("shmctl IPC_RMID private", shmctl(id, IPC_RMID, NULL) == 0);
    EXPECT_ERR("shmctl removed id", shmctl(id, IPC_STAT, &ds), EINVAL);
}

int main(void)
{
    guest_begin();
    test_close_range();
    test_copy_splice();
    test_flock();
    test_memfd();
    test_sched();
    test_caps();
    test_setre();
    test_chroot();
    test_inotify();
    test_sem();
    test_msg();
    test_shm();
    unlink(F);
    return guest_finish();
}
