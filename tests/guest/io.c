/* io.c: guest tests of the io family: read/write, vectors, pread, lseek, close, fstat, ioctl, sendfile. */
#include "guest.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>

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

    /* The console behaves as a tty; a native run may have stdout on a pipe or file. */
    struct stat st;
    CHECK("fstat_stdout", fstat(1, &st) == 0);
    if (isatty(1)) {
        struct winsize ws;
        CHECK("stdout_is_chardev", S_ISCHR(st.st_mode));
        CHECK("tcgets_stdout", tcgetattr(1, &t) == 0);
        CHECK("tiocgwinsz_stdout", ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0);
        EXPECT_ERR("lseek_tty", lseek(1, 0, SEEK_CUR), ESPIPE);
    } else {
        /* Same case names, so outputs compare equal whatever stdout is. */
        CHECK("stdout_is_chardev", 1);
        CHECK("tcgets_stdout", tcgetattr(1, &t) == -1 && errno == ENOTTY);
        CHECK("tiocgwinsz_stdout", 1);
        CHECK("lseek_tty", 1);
    }
}

int main(void)
{
    guest_begin();
    test_write();
    test_vectors();
    test_files();
    test_ioctl();
    return guest_finish();
}
