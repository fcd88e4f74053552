/* mm.c: guest tests of the mm family: brk, mmap (anonymous and file), munmap, mprotect, mremap, madvise. */
#include "guest.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PG 4096
#define FIXED_NOREPLACE 0x100000 /* MAP_FIXED_NOREPLACE, absent from older headers */

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void test_brk(void)
{
    uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
    /* Asked twice, or asked to move below the heap's start: the same, unchanged break. */
    CHECK("brk_query", cur != 0 && (uintptr_t)syscall(SYS_brk, 0) == cur &&
                           (uintptr_t)syscall(SYS_brk, 4096) == cur);
    uintptr_t want = cur + 64 * 1024;
    CHECK("brk_grow", (uintptr_t)syscall(SYS_brk, want) == want);
    unsigned char *mem = (unsigned char *)cur;
    CHECK("brk_memory_zeroed", all_bytes(mem, 64 * 1024, 0));
    memset(mem, 0xab, 64 * 1024);
    CHECK("brk_memory_writable", mem[64 * 1024 - 1] == 0xab);
    CHECK("brk_shrink", (uintptr_t)syscall(SYS_brk, cur) == cur);
    CHECK("brk_regrow_zeroed", (uintptr_t)syscall(SYS_brk, want) == want && mem[2 * PG] == 0);
    syscall(SYS_brk, cur);
    CHECK("brk_too_low_keeps_break", (uintptr_t)syscall(SYS_brk, 4096) == cur);
}

static void test_anon(void)
{
    size_t len = 1 << 20;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap_anon", m != MAP_FAILED && ((uintptr_t)m & (PG - 1)) == 0);
    CHECK("mmap_anon_zeroed", all_bytes(m, len, 0));
    memset(m, 0x5a, len);
    CHECK("mmap_anon_writable", m[len - 1] == 0x5a);

    CHECK("madvise_dontneed", madvise(m, 2 * PG, MADV_DONTNEED) == 0);
    CHECK("dontneed_zeroes", all_bytes(m, 2 * PG, 0) && m[2 * PG] == 0x5a);
    CHECK("madvise_willneed", madvise(m, len, MADV_WILLNEED) == 0);
    EXPECT_ERR("madvise_unaligned", madvise(m + 1, PG, MADV_DONTNEED), EINVAL);

    CHECK("mprotect_none", mprotect(m + 4 * PG, PG, PROT_NONE) == 0);
    CHECK("mprotect_back_keeps_data", mprotect(m + 4 * PG, PG, PROT_READ | PROT_WRITE) == 0 && m[4 * PG] == 0x5a);
    CHECK("mprotect_readonly", mprotect(m, PG, PROT_READ) == 0 && m[10] == 0);
    EXPECT_ERR("mprotect_unaligned", syscall(SYS_mprotect, m + 1, PG, PROT_READ), EINVAL);

    CHECK("munmap_middle", munmap(m + 8 * PG, 2 * PG) == 0);
    EXPECT_ERR("mprotect_over_hole", mprotect(m + 7 * PG, 3 * PG, PROT_READ), ENOMEM);
    unsigned char *f = mmap(m + 8 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("mmap_fixed_in_hole", f == m + 8 * PG && f[0] == 0);
    unsigned char *g = mmap(m + 16 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("mmap_fixed_replaces", g == m + 16 * PG && g[0] == 0 && m[17 * PG] == 0x5a);
    void *nr = mmap(m + 20 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | FIXED_NOREPLACE, -1, 0);
    CHECK("mmap_fixed_noreplace_busy", nr == MAP_FAILED && errno == EEXIST);
    CHECK("munmap_all", munmap(m, len) == 0);
    CHECK("munmap_again", munmap(m, len) == 0);
    EXPECT_ERR("munmap_unaligned", munmap(m + 1, PG), EINVAL);

    EXPECT_ERR("mmap_zero_length", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERR("mmap_no_type", mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERR("mmap_bad_fd", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);

    size_t big = 64u << 20;
    unsigned char *b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK("mmap_64mb_lazy", b != MAP_FAILED);
    if (b != MAP_FAILED) {
        b[0] = 1;
        b[big - 1] = 2;
        CHECK("mmap_64mb_touch_ends", b[0] == 1 && b[big - 1] == 2 && b[big / 2] == 0);
        munmap(b, big);
    }
    unsigned char *r = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap_prot_none_reserve", r != MAP_FAILED && mprotect(r, 4 * PG, PROT_READ | PROT_WRITE) == 0);
    if (r != MAP_FAILED) {
        r[PG] = 7;
        CHECK("reserve_commit_writable", r[PG] == 7);
        munmap(r, big);
    }
}

static void test_mremap(void)
{
    unsigned char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 0x11, 4 * PG);
    unsigned char *s = mremap(m, 4 * PG, 2 * PG, 0);
    CHECK("mremap_shrink", s == m && m[PG] == 0x11);
    unsigned char *g = mremap(m, 2 * PG, 64 * PG, MREMAP_MAYMOVE);
    CHECK("mremap_grow", g != MAP_FAILED && g[0] == 0x11 && g[2 * PG - 1] == 0x11 && g[63 * PG] == 0);
    EXPECT_ERR("mremap_bad_flags", mremap(g, PG, PG, 0x100), EINVAL);
    munmap(g, 64 * PG);
}

static void test_file(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    unsigned char *m = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("mmap_file", m != MAP_FAILED && memcmp(m, "\177ELF", 4) == 0);
    unsigned char head[64];
    CHECK("mmap_file_matches_read", pread(fd, head, sizeof(head), 0) == 64 && memcmp(m, head, 64) == 0);
    munmap(m, 2 * PG);
    m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK("mmap_file_private_write", m != MAP_FAILED && (m[0] = 'X', m[0] == 'X'));
    CHECK("private_write_not_in_file", pread(fd, head, 4, 0) == 4 && memcmp(head, "\177ELF", 4) == 0);
    munmap(m, PG);
    m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    unsigned char second[16];
    CHECK("mmap_file_offset", m != MAP_FAILED && pread(fd, second, 16, PG) == 16 && memcmp(m, second, 16) == 0);
    munmap(m, PG);
    EXPECT_ERR("mmap_file_unaligned_offset", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL);
    EXPECT_ERR("mmap_shared_write_readonly_fd", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
    close(fd);
    int z = open("/dev/zero", O_RDWR);
    m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    CHECK("mmap_dev_zero", m != MAP_FAILED && m[100] == 0 && (m[100] = 3, m[100] == 3));
    munmap(m, PG);
    close(z);
}

static void test_misc(void)
{
    unsigned char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char vec[4];
    m[0] = 1;
    CHECK("mincore", mincore(m, 4 * PG, vec) == 0 && (vec[0] & 1));
    CHECK("msync", msync(m, PG, MS_ASYNC) == 0);
    CHECK("mlock", mlock(m, PG) == 0 && munlock(m, PG) == 0);
    munmap(m, 4 * PG);
    EXPECT_ERR("mincore_unmapped", mincore(m, PG, vec), ENOMEM);
}

int main(void)
{
    guest_begin();
    test_brk();
    test_anon();
    test_mremap();
    test_file();
    test_misc();
    return guest_finish();
}
