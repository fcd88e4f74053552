/* attack_syscall.c: hostile syscall-boundary probes: kernel and non-canonical pointers, huge and wrapping lengths, bad offsets.
 *
 * Each case is a separate verdict: Linux's errno or short count (run natively
 * first, then booted; the outputs must match). Pointers into the kernel image, the
 * direct map, the non-canonical hole and the last user page must all be EFAULT,
 * never a kernel crash or a read of kernel memory.
 */
#include "guest.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#define PG 4096ul
#define KTEXT 0xffffffff80100000ul
#define KDIRECT 0xffff800000100000ul
#define NONCANON 0x0000800000000000ul
#define LAST_PAGE 0x00007ffffffff000ul

static long sc(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
    return syscall(nr, a, b, c, d, e, f);
}

static const uint64_t bad_ptrs[] = {KTEXT, KDIRECT, NONCANON, LAST_PAGE, -1ul, 8};
static const char *const bad_names[] = {"ktext", "kdirect", "noncanonical", "last_page", "minus_one", "null8"};
#define NBAD (sizeof(bad_ptrs) / sizeof(bad_ptrs[0]))

static void name_case(char *out, size_t size, const char *call, size_t i)
{
    snprintf(out, size, "%s_%s", call, bad_names[i]);
}

/* Every pointer argument given each bad address: EFAULT. */
static void test_bad_pointers(int fd)
{
    char n[96];
    int rfd = open("/proc/self/exe", O_RDONLY); /* something to read */
    for (size_t i = 0; i < NBAD; i++) {
        uint64_t p = bad_ptrs[i];
        name_case(n, sizeof(n), "read_into", i);
        EXPECT_ERR(n, sc(SYS_pread64, rfd, p, 16, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "write_from", i);
        EXPECT_ERR(n, sc(SYS_write, fd, p, 16, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "open_path", i);
        EXPECT_ERR(n, sc(SYS_open, p, O_RDONLY, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "stat_buf", i);
        EXPECT_ERR(n, sc(SYS_stat, (uintptr_t) "/", p, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "fstat_buf", i);
        EXPECT_ERR(n, sc(SYS_fstat, fd, p, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "clock_gettime", i);
        EXPECT_ERR(n, sc(SYS_clock_gettime, CLOCK_MONOTONIC, p, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "uname", i);
        EXPECT_ERR(n, sc(SYS_uname, p, 0, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "getrandom", i);
        EXPECT_ERR(n, sc(SYS_getrandom, p, 16, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "getcwd", i);
        EXPECT_ERR(n, sc(SYS_getcwd, p, 256, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "readv_iov", i);
        EXPECT_ERR(n, sc(SYS_readv, rfd, p, 1, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "rt_sigaction_act", i);
        EXPECT_ERR(n, sc(SYS_rt_sigaction, SIGUSR1, p, 0, 8, 0, 0), EFAULT);
        name_case(n, sizeof(n), "nanosleep_req", i);
        EXPECT_ERR(n, sc(SYS_nanosleep, p, 0, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "poll_fds", i);
        EXPECT_ERR(n, sc(SYS_poll, p, 1, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "getdents_buf", i);
        int d = open("/", O_RDONLY | O_DIRECTORY);
        EXPECT_ERR(n, sc(SYS_getdents64, d, p, 4096, 0, 0, 0), EFAULT);
        close(d);
        name_case(n, sizeof(n), "readlink_buf", i);
        EXPECT_ERR(n, sc(SYS_readlink, (uintptr_t) "/proc/self/exe", p, 64, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "prlimit_old", i);
        EXPECT_ERR(n, sc(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, p, 0, 0), EFAULT);
        name_case(n, sizeof(n), "sysinfo", i);
        EXPECT_ERR(n, sc(SYS_sysinfo, p, 0, 0, 0, 0, 0), EFAULT);
        name_case(n, sizeof(n), "sigprocmask_set", i);
        EXPECT_ERR(n, sc(SYS_rt_sigprocmask, SIG_BLOCK, p, 0, 8, 0, 0), EFAULT);
    }
    close(rfd);
}

static void test_lengths(int fd, unsigned char *buf)
{
    EXPECT_ERR("write_len_minus_one", sc(SYS_write, fd, (uintptr_t)buf, -1ul, 0, 0, 0), EFAULT);
    EXPECT_ERR("read_len_wraps", sc(SYS_read, fd, (uintptr_t)buf, -PG, 0, 0, 0), EFAULT);
    EXPECT_ERR("write_len_zero_kernel_ptr", sc(SYS_write, fd, KTEXT, 0, 0, 0, 0), EFAULT);
    CHECK("write_len_zero_null", sc(SYS_write, fd, 0, 0, 0, 0, 0) == 0);
    EXPECT_ERR("readv_iovcnt_huge", sc(SYS_readv, fd, (uintptr_t)buf, 1025, 0, 0, 0), EINVAL);
    EXPECT_ERR("readv_iovcnt_negative", sc(SYS_readv, fd, (uintptr_t)buf, -1, 0, 0, 0), EINVAL);
    struct iovec big[2] = {{buf, 1ul << 62}, {buf, 1ul << 62}};
    EXPECT_ERR("writev_total_overflows", sc(SYS_writev, fd, (uintptr_t)big, 2, 0, 0, 0), EFAULT);
    struct iovec neg = {buf, -1ul};
    EXPECT_ERR("writev_negative_len", sc(SYS_writev, fd, (uintptr_t)&neg, 1, 0, 0, 0), EINVAL);
    EXPECT_ERR("pwrite_offset_wraps", sc(SYS_pwrite64, fd, (uintptr_t)buf, 16, 0x7ffffffffffffff8ul, 0, 0), EINVAL);
    EXPECT_ERR("pwrite_offset_negative", sc(SYS_pwrite64, fd, (uintptr_t)buf, 16, -1ul, 0, 0), EINVAL);
    EXPECT_ERR("pread_offset_negative", sc(SYS_pread64, fd, (uintptr_t)buf, 16, -1ul, 0, 0), EINVAL);
    EXPECT_ERR("lseek_negative", sc(SYS_lseek, fd, -1ul, SEEK_SET, 0, 0, 0), EINVAL);
    EXPECT_ERR("lseek_bad_whence", sc(SYS_lseek, fd, 0, 99, 0, 0, 0), EINVAL);
    EXPECT_ERR("getrandom_bad_flags", sc(SYS_getrandom, (uintptr_t)buf, 16, 0x80, 0, 0, 0), EINVAL);
    EXPECT_ERR("rt_sigaction_bad_size", sc(SYS_rt_sigaction, SIGUSR1, 0, 0, 9, 0, 0), EINVAL);
    EXPECT_ERR("rt_sigaction_sig_zero", sc(SYS_rt_sigaction, 0, 0, 0, 8, 0, 0), EINVAL);
    EXPECT_ERR("rt_sigaction_sig_65", sc(SYS_rt_sigaction, 65, 0, 0, 8, 0, 0), EINVAL);
    struct timespec bad_ns = {0, 1000000000};
    EXPECT_ERR("nanosleep_bad_nsec", sc(SYS_nanosleep, (uintptr_t)&bad_ns, 0, 0, 0, 0, 0), EINVAL);
    struct timespec neg_s = {-1, 0};
    EXPECT_ERR("nanosleep_negative", sc(SYS_nanosleep, (uintptr_t)&neg_s, 0, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("poll_nfds_huge", sc(SYS_poll, (uintptr_t)buf, 0x7fffffff, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("dup2_huge_fd", sc(SYS_dup2, fd, 1ul << 30, 0, 0, 0, 0), EBADF);
    EXPECT_ERR("fcntl_dupfd_huge", sc(SYS_fcntl, fd, F_DUPFD, 1ul << 30, 0, 0, 0), EINVAL);
    EXPECT_ERR("close_negative", sc(SYS_close, -1ul, 0, 0, 0, 0, 0), EBADF);
    EXPECT_ERR("read_fd_huge", sc(SYS_read, 1ul << 31, (uintptr_t)buf, 1, 0, 0, 0), EBADF);
    EXPECT_ERR("syscall_minus_one", sc(-1, 0, 0, 0, 0, 0, 0), ENOSYS);
    EXPECT_ERR("syscall_100000", sc(100000, 0, 0, 0, 0, 0, 0), ENOSYS);
    EXPECT_ERR("syscall_x32_bit", sc(0x40000000 | SYS_getpid, 0, 0, 0, 0, 0, 0), ENOSYS);
    EXPECT_ERR("arch_prctl_set_fs_kernel", sc(SYS_arch_prctl, 0x1002, KTEXT, 0, 0, 0, 0), EPERM);
    EXPECT_ERR("arch_prctl_set_gs_noncanonical", sc(SYS_arch_prctl, 0x1001, NONCANON, 0, 0, 0, 0), EPERM);
    EXPECT_ERR("arch_prctl_get_fs_kernel_ptr", sc(SYS_arch_prctl, 0x1003, KTEXT, 0, 0, 0, 0), EFAULT);
    EXPECT_ERR("futex_kernel_addr", sc(SYS_futex, KTEXT, 0 /* WAIT */, 0, 0, 0, 0), EFAULT);
}

/* Paths: unterminated at the end of a mapping, longer than PATH_MAX, a component over NAME_MAX. */
static void test_paths(void)
{
    unsigned char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + PG, PG);
    memset(m, 'a', PG);
    EXPECT_ERR("open_path_runs_off_mapping", sc(SYS_open, (uintptr_t)(m + PG - 16), O_RDONLY, 0, 0, 0, 0), EFAULT);
    m[PG - 1] = 0;
    EXPECT_ERR("open_path_too_long", sc(SYS_open, (uintptr_t)m, O_RDONLY, 0, 0, 0, 0), ENAMETOOLONG);
    char name[300];
    memset(name, 'b', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    EXPECT_ERR("open_component_too_long", open(name, O_RDONLY), ENAMETOOLONG);
    EXPECT_ERR("open_empty_path", sc(SYS_open, (uintptr_t) "", O_RDONLY, 0, 0, 0, 0), ENOENT);
    munmap(m, PG);
}

/* Partial transfers: Linux moves what it can before the first bad byte. */
static void test_short_counts(void)
{
    int fd = open("attack_syscall.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK("tmpfile", fd >= 0);
    unsigned char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + PG, PG);
    memset(m, 'x', PG);
    CHECK("write_straddling_end_of_mapping_is_short", write(fd, m + PG - 100, 200) == 100);
    struct iovec iov[2] = {{m, 10}, {(void *)KTEXT, 10}};
    EXPECT_ERR("writev_kernel_second_iovec", sc(SYS_writev, fd, (uintptr_t)iov, 2, 0, 0, 0), EFAULT);
    struct iovec iov2[2] = {{m, 10}, {m + PG, 10}};
    CHECK("writev_unmapped_second_iovec_is_short", sc(SYS_writev, fd, (uintptr_t)iov2, 2, 0, 0, 0) == 10);
    lseek(fd, 0, SEEK_SET);
    CHECK("read_straddling_end_of_mapping_is_short", read(fd, m + PG - 50, 100) == 50);
    lseek(fd, 0, SEEK_SET);
    struct iovec riov[2] = {{m, 10}, {m + PG, 10}};
    CHECK("readv_unmapped_second_iovec_is_short", sc(SYS_readv, fd, (uintptr_t)riov, 2, 0, 0, 0) == 10);
    unsigned char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    lseek(fd, 0, SEEK_SET);
    EXPECT_ERR("read_into_readonly_mapping", read(fd, ro, 16), EFAULT);
    close(fd);
    unlink("attack_syscall.tmp");
    munmap(m, PG);
    munmap(ro, PG);
}

/* getcwd on a path longer than PATH_MAX: ENAMETOOLONG; a small buffer: ERANGE. */
static void test_getcwd_deep(void)
{
    char comp[201];
    memset(comp, 'd', 200);
    comp[200] = 0;
    int depth = 0, ok = 1;
    for (; depth < 24 && ok; depth++)
        ok = mkdir(comp, 0700) == 0 && chdir(comp) == 0;
    CHECK("deep_dirs_made", ok);
    char buf[8192];
    EXPECT_ERR("getcwd_deep_enametoolong", sc(SYS_getcwd, (uintptr_t)buf, sizeof(buf), 0, 0, 0, 0), ENAMETOOLONG);
    for (; depth > 0; depth--) {
        if (chdir("..") != 0 || rmdir(comp) != 0)
            break;
    }
    CHECK("deep_dirs_removed", depth == 0);
    EXPECT_ERR("getcwd_small_erange", sc(SYS_getcwd, (uintptr_t)buf, 1, 0, 0, 0, 0), ERANGE);
    EXPECT_ERR("getcwd_zero_size", sc(SYS_getcwd, (uintptr_t)buf, 0, 0, 0, 0, 0), ERANGE);
}

static void test_sendfile(void)
{
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open("attack_sendfile.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    off_t off = 0x7ffffffffffffff0;
    EXPECT_ERR("sendfile_offset_overflow", sc(SYS_sendfile, out, in, (uintptr_t)&off, 4096, 0, 0), EINVAL);
    off = -1;
    EXPECT_ERR("sendfile_offset_negative", sc(SYS_sendfile, out, in, (uintptr_t)&off, 16, 0, 0), EINVAL);
    EXPECT_ERR("sendfile_offset_kernel_ptr", sc(SYS_sendfile, out, in, KTEXT, 16, 0, 0), EFAULT);
    off = 0;
    EXPECT_ERR("sendfile_count_negative", sc(SYS_sendfile, out, in, (uintptr_t)&off, -1ul, 0, 0), EINVAL);
    CHECK("sendfile_count_2_40_is_capped", sc(SYS_sendfile, out, in, (uintptr_t)&off, 1ul << 40, 0, 0) > 0);
    EXPECT_ERR("sendfile_bad_in_fd", sc(SYS_sendfile, out, 999, 0, 16, 0, 0), EBADF);
    close(in);
    close(out);
    unlink("attack_sendfile.tmp");
}

/* Ring-3 iretq and far return to the program's own selectors are legitimate and must
 * work (QEMU's TCG faults on them with SMAP on, which the kernel therefore avoids). */
static int iret_to_self(void)
{
    uint64_t done = 0;
    __asm__ volatile("movq %%ss, %%rax\n\t"
                     "pushq %%rax\n\t"
                     "leaq 8(%%rsp), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "pushfq\n\t"
                     "movq %%cs, %%rax\n\t"
                     "pushq %%rax\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "iretq\n"
                     "1: movq $1, %0"
                     : "=r"(done)
                     :
                     : "rax", "memory", "cc");
    return done == 1;
}

static int lret_to_self(void)
{
    uint64_t done = 0;
    __asm__ volatile("movq %%cs, %%rax\n\t"
                     "pushq %%rax\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1: movq $1, %0"
                     : "=r"(done)
                     :
                     : "rax", "memory");
    return done == 1;
}

int main(void)
{
    guest_begin();
    int fd = open("attack_syscall.rw", O_RDWR | O_CREAT | O_TRUNC, 0600);
    unsigned char *buf = malloc(65536);
    memset(buf, 1, 65536);
    test_bad_pointers(fd);
    test_lengths(fd, buf);
    close(fd);
    unlink("attack_syscall.rw");
    test_paths();
    test_short_counts();
    test_getcwd_deep();
    test_sendfile();
    CHECK("iretq_to_self_returns", iret_to_self());
    CHECK("lretq_to_self_returns", lret_to_self());
    return guest_finish();
}
