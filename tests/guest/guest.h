/* guest.h: PASS/FAIL reporting shared by the guest test programs (ordinary Linux programs).
 *
 * Each program prints "PASS <case>" or "FAIL <case>: <why>" per case and finally
 * "N passed, N failed", and exits 0 iff nothing failed. Output must not depend on
 * addresses, times or pids (stdout is a terminal on both sides: natively a pty,
 * tests/infra/terminal.py; fswrite runs natively as root): the same program runs
 * natively (glibc and musl, static) and inside the unikernel, and the outputs are
 * compared line by line.
 */
#ifndef GUEST_H
#define GUEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int guest_passed, guest_failed;

/* The test tree: argv[1] if given, else ``name`` next to our own executable (the
 * images built by libos/scripts/guest-fstree.sh put it there). 0, or -1. */
static inline int guest_find_tree(int argc, char **argv, const char *name, char *out, size_t size)
{
    if (argc > 1) {
        snprintf(out, size, "%s", argv[1]);
        return 0;
    }
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    snprintf(out, size, "%s/%s", exe, name);
    return 0;
}

/* The file's bytes (at most size - 1) as a NUL-terminated string; the count, or -1. */
static inline int guest_read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

#define GUEST_CAP_WAKE_ALARM 35

/* Whether the effective capability set holds ``bit`` (capget by number: musl has no
 * <sys/capability.h>). Root on the host holds every capability, root in a container
 * (and in the unikernel) Docker's default set: cases that need one ask. */
static inline int guest_has_cap(int bit)
{
    struct {
        uint32_t version;
        int pid;
    } hdr = {0x20080522, 0};
    struct {
        uint32_t effective, permitted, inheritable;
    } data[2] = {{0}};
    if (syscall(SYS_capget, &hdr, data) != 0)
        return 0;
    return (data[bit / 32].effective >> (bit % 32)) & 1;
}

/* Unbuffered stdout: direct write(2)s and printf output keep their order. */
static void guest_begin(void) { setvbuf(stdout, NULL, _IONBF, 0); }

static void guest_check(const char *name, int ok, const char *expr, int err)
{
    if (ok) {
        printf("PASS %s\n", name);
        guest_passed++;
    } else {
        printf("FAIL %s: %s (errno %d %s)\n", name, expr, err, strerror(err));
        guest_failed++;
    }
}

/* CHECK(name, condition): errno is captured before printing can change it. */
#define CHECK(name, cond)                                                                          \
    do {                                                                                           \
        int guest_ok_ = (cond);                                                                    \
        guest_check((name), guest_ok_, #cond, errno);                                              \
    } while (0)

/* EXPECT_ERR(name, call, err): the call returns -1 and sets errno to err. */
#define EXPECT_ERR(name, call, err)                                                                \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long guest_r_ = (long)(call);                                                              \
        int guest_e_ = errno;                                                                      \
        guest_check((name), guest_r_ == -1 && guest_e_ == (err), #call " fails with " #err, guest_e_); \
    } while (0)

static int guest_finish(void)
{
    printf("%d passed, %d failed\n", guest_passed, guest_failed);
    return guest_failed ? 1 : 0;
}

#endif /* GUEST_H */
