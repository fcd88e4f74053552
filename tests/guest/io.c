/* io.c: guest tests of the io family: read/write, vectors, pread, lseek, close, fstat, ioctl, sendfile, poll, select. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>

static void test_write(void)
{
    static const char line[] = "io: direct write to stdout\n";
    CHECK("write_stdout", write(1, line, sizeof(line) - 1) == (ssize_t)sizeof(line) - 1);
    CHECK("write_zero_length", write(1, line, 0) == 0);
    EXPECT_ERR("write_bad_fd", write(-1, line, 1), EBADF);
    EXPECT_ERR("write_unopened_fd", write(900, line, 1), EBADF);
    EXPECT_ERR("write_bad_pointer", syscall(SYS_write, 1, (void *)8, 4), EFAULT);
    EXPECT_ERR("read_bad_fd", read(-1, (char[4]){0}, 4), EBADF);
    CHECK("read_zero_length", read(0, (char[4]){0}, 0) == 0);
}

static void test_vectors(void)
{
    int null = open("/dev/null", O_WRONLY);
    CHECK("open_dev_null", null >= 0);
    struct iovec w[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    CHECK("writev_total", writev(null, w, 3) == 6);
    EXPECT_ERR("writev_negative_count", syscall(SYS_writev, null, w, -1), EINVAL);
    struct iovec stdout_iov[2] = {{"io: writev ", 11}, {"to stdout\n", 10}};
    CHECK("writev_stdout", writev(1, stdout_iov, 2) == 21);
    struct iovec one[2] = {{"", 0}, {"\n", 1}}; /* musl's putc on an unbuffered stream */
    CHECK("writev_one_byte_once", writev(1, one, 2) == 1);

    int zero = open("/dev/zero", O_RDONLY);
    char a[8], b[16];
    memset(a, 0x55, sizeof(a));
    memset(b, 0x55, sizeof(b));
    struct iovec r[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    CHECK("readv_dev_zero", readv(zero, r, 2) == 24 && a[7] == 0 && b[15] == 0);
    memset(a, 1, sizeof(a));
    CHECK("pread_dev_zero", pread(zero, a, sizeof(a), 4096) == 8 && a[0] == 0);
    EXPECT_ERR("read_bad_pointer", syscall(SYS_read, zero, (void *)8, 4), EFAULT);
    EXPECT_ERR("write_readonly_fd", write(zero, "x", 1), EBADF);
    EXPECT_ERR("read_writeonly_fd", read(null, a, 1), EBADF);
    CHECK("lseek_dev_null_stays_zero", lseek(null, 100, SEEK_SET) == 0);
    CHECK("close", close(zero) == 0);
    EXPECT_ERR("close_twice", close(zero), EBADF);
    close(null);
}

static void test_files(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK("open_self_exe", fd >= 0);
    char magic[4];
    CHECK("pread_elf_magic", pread(fd, magic, 4, 0) == 4 && memcmp(magic, "\177ELF", 4) == 0);
    CHECK("pread_keeps_offset", lseek(fd, 0, SEEK_CUR) == 0);
    CHECK("read_advances", read(fd, magic, 4) == 4 && lseek(fd, 0, SEEK_CUR) == 4);
    off_t end = lseek(fd, 0, SEEK_END);
    struct stat st;
    CHECK("fstat_regular", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == end);
    CHECK("read_at_eof", read(fd, magic, 4) == 0);
    EXPECT_ERR("lseek_negative", lseek(fd, -1, SEEK_SET), EINVAL);
    EXPECT_ERR("lseek_bad_whence", lseek(fd, 0, 42), EINVAL);
    CHECK("lseek_past_end", lseek(fd, end + 100, SEEK_SET) == end + 100);
    EXPECT_ERR("pread_negative_offset", pread(fd, magic, 4, -1), EINVAL);

    char buf[64];
    struct iovec v[2] = {{buf, 1}, {buf + 1, 3}};
    CHECK("preadv_elf_magic", preadv(fd, v, 2, 0) == 4 && memcmp(buf, "\177ELF", 4) == 0);

    int null = open("/dev/null", O_WRONLY);
    off_t off = 0;
    CHECK("sendfile_with_offset", sendfile(null, fd, &off, 100) == 100 && off == 100);
    lseek(fd, 10, SEEK_SET);
    CHECK("sendfile_file_position", sendfile(null, fd, NULL, 50) == 50 && lseek(fd, 0, SEEK_CUR) == 60);
    EXPECT_ERR("sendfile_bad_fd", sendfile(null, -1, NULL, 10), EBADF);
    close(null);
    close(fd);
}

static void test_ioctl(void)
{
    int null = open("/dev/null", O_RDONLY);
    struct termios t;
    EXPECT_ERR("tcgets_not_a_tty", ioctl(null, TCGETS, &t), ENOTTY);
    EXPECT_ERR("ioctl_bad_fd", ioctl(-1, TCGETS, &t), EBADF);
    CHECK("fioclex", ioctl(null, FIOCLEX) == 0 && fcntl(null, F_GETFD) == FD_CLOEXEC);
    CHECK("fionclex", ioctl(null, FIONCLEX) == 0 && fcntl(null, F_GETFD) == 0);
    int on = 1;
    CHECK("fionbio", ioctl(null, FIONBIO, &on) == 0 && (fcntl(null, F_GETFL) & O_NONBLOCK));
    close(null);

    /* The console is a tty; the native run has stdout on a real pty (tests/infra/terminal.py),
     * so every case below is compared with Linux. */
    struct stat st;
    struct winsize ws;
    CHECK("fstat_stdout", fstat(1, &st) == 0);
    CHECK("stdout_is_chardev", S_ISCHR(st.st_mode) && isatty(1));
    CHECK("tcgets_stdout", tcgetattr(1, &t) == 0);
    CHECK("tiocgwinsz_stdout", ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0);
    EXPECT_ERR("lseek_tty", lseek(1, 0, SEEK_CUR), ESPIPE);
}

/* sendfile to stdout: the bytes "ELF" of our own ELF header, inside a line of text. */
static void test_sendfile(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    off_t off = 1;
    /* One line "io: sendfile ELF" each time; the checks print after it. */
    long pre = write(1, "io: sendfile ", 13), sent = sendfile(1, fd, &off, 3), nl = write(1, "\n", 1);
    CHECK("sendfile_stdout_offset", pre == 13 && sent == 3 && nl == 1 && off == 4 && lseek(fd, 0, SEEK_CUR) == 0);
    lseek(fd, 1, SEEK_SET);
    pre = write(1, "io: sendfile ", 13), sent = sendfile(1, fd, NULL, 3), nl = write(1, "\n", 1);
    CHECK("sendfile_stdout_position", pre == 13 && sent == 3 && nl == 1 && lseek(fd, 0, SEEK_CUR) == 4);
    CHECK("sendfile_zero_count", sendfile(1, fd, NULL, 0) == 0);
    int dir = open("/", O_RDONLY | O_DIRECTORY), null = open("/dev/null", O_WRONLY);
    EXPECT_ERR("sendfile_from_directory", sendfile(null, dir, NULL, 10), EINVAL);
    EXPECT_ERR("sendfile_to_readonly_fd", sendfile(fd, fd, NULL, 10), EBADF);
    EXPECT_ERR("sendfile_from_writeonly_fd", sendfile(null, null, NULL, 10), EBADF);
    EXPECT_ERR("sendfile_bad_offset_pointer", sendfile(null, fd, (off_t *)8, 10), EFAULT);
    off = -1;
    EXPECT_ERR("sendfile_negative_offset", sendfile(null, fd, &off, 10), EINVAL);
    close(null);
    close(dir);
    close(fd);
}

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void test_poll(void)
{
    int file = open("/proc/self/exe", O_RDONLY), null = open("/dev/null", O_WRONLY);
    int zero = open("/dev/zero", O_RDONLY), dir = open("/", O_RDONLY | O_DIRECTORY);
    int closed = open("/dev/null", O_RDONLY);
    close(closed);
    struct pollfd p[6] = {
        {file, POLLIN | POLLOUT | POLLPRI, -1}, {null, POLLIN | POLLOUT, -1}, {zero, POLLIN, -1},
        {dir, POLLIN, -1}, {closed, POLLIN, -1}, {-1, POLLIN, -1},
    };
    CHECK("poll_count", poll(p, 6, 0) == 5);
    CHECK("poll_regular_file", p[0].revents == (POLLIN | POLLOUT));
    CHECK("poll_dev_null", p[1].revents == (POLLIN | POLLOUT));
    CHECK("poll_dev_zero", p[2].revents == POLLIN);
    CHECK("poll_directory", p[3].revents == POLLIN);
    CHECK("poll_closed_fd_nval", p[4].revents == POLLNVAL);
    CHECK("poll_negative_fd_ignored", p[5].revents == 0);
    struct pollfd out = {1, POLLOUT, 0};
    CHECK("poll_stdout_writable", poll(&out, 1, 0) == 1 && out.revents == POLLOUT);
    struct pollfd none = {file, 0, -1}, nval = {closed, 0, 0};
    CHECK("poll_no_events_asked", poll(&none, 1, 0) == 0 && none.revents == 0);
    CHECK("poll_nval_without_events", poll(&nval, 1, 0) == 1 && nval.revents == POLLNVAL);
    CHECK("poll_nothing_timeout_zero", poll(NULL, 0, 0) == 0);
    struct pollfd idle = {-1, POLLIN, 0};
    long long t0 = mono_ns();
    int r = poll(&idle, 1, 50);
    CHECK("poll_timeout_50ms", r == 0 && mono_ns() - t0 >= 50000000LL);
    EXPECT_ERR("poll_bad_pointer", syscall(SYS_poll, (void *)8, 1, 0), EFAULT);
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = 16;
    setrlimit(RLIMIT_NOFILE, &low);
    EXPECT_ERR("poll_nfds_over_rlimit", syscall(SYS_poll, p, 17, 0), EINVAL);
    CHECK("poll_nfds_at_rlimit_ok", syscall(SYS_poll, NULL, 0, 0) == 0);
    setrlimit(RLIMIT_NOFILE, &old);
    close(file);
    close(null);
    close(zero);
    close(dir);
}

/* ppoll through syscall(): libc wrappers copy the timeout, hiding Linux's write-back. */
static void test_ppoll(void)
{
    int file = open("/proc/self/exe", O_RDONLY);
    struct pollfd p = {file, POLLIN, 0}, idle = {-1, POLLIN, 0};
    struct timespec ts = {0, 0};
    CHECK("ppoll_zero_timeout", ppoll(&p, 1, &ts, NULL) == 1 && p.revents == POLLIN);
    ts = (struct timespec){5, 0};
    long r = syscall(SYS_ppoll, &p, 1, &ts, NULL, 8);
    CHECK("ppoll_ready_writes_back_time_left", r == 1 && ts.tv_sec == 4 && ts.tv_nsec > 0);
    ts = (struct timespec){0, 20000000};
    long long t0 = mono_ns();
    r = syscall(SYS_ppoll, &idle, 1, &ts, NULL, 8);
    CHECK("ppoll_timeout_20ms", r == 0 && mono_ns() - t0 >= 20000000LL && ts.tv_sec == 0 && ts.tv_nsec == 0);
    sigset_t block, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK("ppoll_with_mask", ppoll(&p, 1, NULL, &block) == 1);
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK("ppoll_mask_restored", !sigismember(&now, SIGUSR1));
    EXPECT_ERR("ppoll_bad_sigsetsize", syscall(SYS_ppoll, &p, 1, NULL, &block, 4), EINVAL);
    CHECK("ppoll_sigsetsize_unused_without_mask", syscall(SYS_ppoll, &p, 1, NULL, NULL, 4) == 1);
    ts = (struct timespec){0, 1000000000};
    EXPECT_ERR("ppoll_bad_timespec", syscall(SYS_ppoll, &p, 1, &ts, NULL, 8), EINVAL);
    close(file);
}

/* select through syscall() too: glibc's select() is pselect6 on a copy. */
static void test_select(void)
{
    int file = open("/proc/self/exe", O_RDONLY), null = open("/dev/null", O_WRONLY);
    fd_set r, w, x;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&x);
    FD_SET(file, &r);
    FD_SET(null, &r);
    FD_SET(file, &w);
    FD_SET(1, &w);
    FD_SET(file, &x);
    struct timeval tv = {0, 0};
    CHECK("select_files", select(null + 1, &r, &w, &x, &tv) == 4);
    CHECK("select_read_set", FD_ISSET(file, &r) && FD_ISSET(null, &r) && !FD_ISSET(0, &r));
    CHECK("select_write_set", FD_ISSET(file, &w) && FD_ISSET(1, &w));
    CHECK("select_no_exceptions", !FD_ISSET(file, &x));
    int closed = open("/dev/null", O_RDONLY);
    close(closed);
    FD_ZERO(&r);
    FD_SET(closed, &r);
    EXPECT_ERR("select_closed_fd", select(closed + 1, &r, NULL, NULL, &tv), EBADF);
    EXPECT_ERR("select_negative_nfds", syscall(SYS_select, -1, NULL, NULL, NULL, &tv), EINVAL);
    tv = (struct timeval){0, -1};
    EXPECT_ERR("select_negative_usec", syscall(SYS_select, 0, NULL, NULL, NULL, &tv), EINVAL);
    FD_ZERO(&r);
    FD_SET(file, &r);
    tv = (struct timeval){5, 0};
    long n = syscall(SYS_select, file + 1, &r, NULL, NULL, &tv);
    CHECK("select_writes_back_time_left", n == 1 && tv.tv_sec == 4 && tv.tv_usec > 0);
    tv = (struct timeval){0, 30000};
    long long t0 = mono_ns();
    n = syscall(SYS_select, 0, NULL, NULL, NULL, &tv);
    CHECK("select_timeout_30ms", n == 0 && mono_ns() - t0 >= 30000000LL && tv.tv_sec == 0 && tv.tv_usec == 0);
    close(file);
    close(null);
}

static void test_pselect6(void)
{
    int file = open("/proc/self/exe", O_RDONLY);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(file, &r);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    struct timespec ts = {0, 0};
    CHECK("pselect_file", pselect(file + 1, &r, NULL, NULL, &ts, &block) == 1 && FD_ISSET(file, &r));
    struct {
        const sigset_t *set;
        size_t size;
    } pack = {&block, 4};
    EXPECT_ERR("pselect6_bad_sigsetsize", syscall(SYS_pselect6, file + 1, &r, NULL, NULL, &ts, &pack), EINVAL);
    EXPECT_ERR("pselect6_bad_pack_pointer", syscall(SYS_pselect6, file + 1, &r, NULL, NULL, &ts, (void *)8), EFAULT);
    pack.size = 8;
    ts = (struct timespec){0, 20000000};
    long long t0 = mono_ns();
    long n = syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, &pack);
    CHECK("pselect6_timeout_20ms", n == 0 && mono_ns() - t0 >= 20000000LL && ts.tv_sec == 0 && ts.tv_nsec == 0);
    close(file);
}

int main(void)
{
    guest_begin();
    test_write();
    test_vectors();
    test_files();
    test_ioctl();
    test_sendfile();
    test_poll();
    test_ppoll();
    test_select();
    test_pselect6();
    return guest_finish();
}
