/* attack_mm.c: hostile memory-manager probes: mmap/mprotect/mremap/munmap/brk/madvise/mlock with kernel addresses, wraps, exhaustion.
 *
 * Each case is a separate verdict with Linux's errno (run natively first). The
 * cases after a hostile call also check the kernel still works (a later syscall,
 * a page fault, the program's own text), since finding 2 of issue #15 freed kernel
 * pages and crashed only later.
 */
#include "guest.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PG 4096ul
#define KTEXT 0xffffffff80100000ul
#define KDIRECT 0xffff800000100000ul
#define NONCANON 0x0000800000000000ul
#define LAST_PAGE 0x00007ffffffff000ul
#define MREMAP_MAYMOVE_ 1
#define MREMAP_FIXED_ 3 /* MAYMOVE | FIXED */
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static long sc(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    return syscall(nr, a, b, c, d, e, 0);
}

/* The kernel is alive: a syscall with a user buffer, a fresh page, a file. */
static int kernel_alive(void)
{
    char *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, ANON, -1, 0);
    if (q == MAP_FAILED)
        return 0;
    q[100] = 7;
    int fd = open("/proc/self/exe", O_RDONLY);
    int ok = fd >= 0 && read(fd, q, 4) == 4 && q[1] == 'E' && q[100] == 7 && getpid() > 0;
    if (fd >= 0)
        close(fd);
    munmap(q, PG);
    return ok;
}

static void test_mremap(void)
{
    unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, ANON, -1, 0);
    memset(p, 0x5a, 4 * PG);
    /* Finding 2: the destination is checked before anything is unmapped. */
    EXPECT_ERR("mremap_fixed_kernel_text", sc(SYS_mremap, (uintptr_t)p, PG, PG, MREMAP_FIXED_, KTEXT), EINVAL);
    CHECK("mremap_fixed_kernel_text_survives", kernel_alive() && p[0] == 0x5a);
    EXPECT_ERR("mremap_fixed_direct_map", sc(SYS_mremap, (uintptr_t)p, PG, PG, MREMAP_FIXED_, KDIRECT), EINVAL);
    EXPECT_ERR("mremap_fixed_noncanonical", sc(SYS_mremap, (uintptr_t)p, PG, PG, MREMAP_FIXED_, NONCANON), EINVAL);
    EXPECT_ERR("mremap_fixed_last_page", sc(SYS_mremap, (uintptr_t)p, PG, PG, MREMAP_FIXED_, LAST_PAGE), EINVAL);
    EXPECT_ERR("mremap_fixed_straddles_top",
               sc(SYS_mremap, (uintptr_t)p, PG, 2 * PG, MREMAP_FIXED_, LAST_PAGE - PG), EINVAL);
    EXPECT_ERR("mremap_fixed_huge_len", sc(SYS_mremap, (uintptr_t)p, PG, 1ul << 46 << 1, MREMAP_FIXED_, 0x100000), EINVAL);
    CHECK("mremap_fixed_survives", kernel_alive() && p[PG] == 0x5a && p[3 * PG] == 0x5a);
    /* Lengths that wrap the address space. */
    EXPECT_ERR("mremap_new_len_wraps", sc(SYS_mremap, (uintptr_t)p, PG, -PG, MREMAP_MAYMOVE_, 0), EINVAL);
    EXPECT_ERR("mremap_new_len_minus_one", sc(SYS_mremap, (uintptr_t)p, PG, -1ul, MREMAP_MAYMOVE_, 0), EINVAL);
    EXPECT_ERR("mremap_new_len_2_63", sc(SYS_mremap, (uintptr_t)p, PG, 1ul << 63, MREMAP_MAYMOVE_, 0), EINVAL);
    EXPECT_ERR("mremap_new_len_2_63_inplace", sc(SYS_mremap, (uintptr_t)p, PG, 1ul << 63, 0, 0), EINVAL);
    EXPECT_ERR("mremap_old_len_wraps", sc(SYS_mremap, (uintptr_t)p, -PG, PG, MREMAP_MAYMOVE_, 0), EINVAL);
    EXPECT_ERR("mremap_old_len_huge", sc(SYS_mremap, (uintptr_t)p, 1ul << 62, PG, MREMAP_MAYMOVE_, 0), EINVAL);
    EXPECT_ERR("mremap_old_len_past_vma", sc(SYS_mremap, (uintptr_t)p, 8 * PG, 16 * PG, MREMAP_MAYMOVE_, 0), EFAULT);
    EXPECT_ERR("mremap_old_kernel", sc(SYS_mremap, KTEXT, PG, 2 * PG, MREMAP_MAYMOVE_, 0), EFAULT);
    EXPECT_ERR("mremap_old_last_page", sc(SYS_mremap, LAST_PAGE, PG, 2 * PG, MREMAP_MAYMOVE_, 0), EFAULT);
    EXPECT_ERR("mremap_unaligned", sc(SYS_mremap, (uintptr_t)p + 1, PG, PG, 0, 0), EINVAL);
    EXPECT_ERR("mremap_bad_flags", sc(SYS_mremap, (uintptr_t)p, PG, PG, 0x80, 0), EINVAL);
    EXPECT_ERR("mremap_fixed_without_maymove", sc(SYS_mremap, (uintptr_t)p, PG, PG, 2, 0x100000), EINVAL);
    EXPECT_ERR("mremap_fixed_overlap", sc(SYS_mremap, (uintptr_t)p, 2 * PG, 2 * PG, MREMAP_FIXED_, (uintptr_t)p + PG), EINVAL);
    CHECK("mremap_wrap_survives", kernel_alive() && p[0] == 0x5a && p[3 * PG] == 0x5a);
    munmap(p, 4 * PG);
}

static void test_mmap(void)
{
    EXPECT_ERR("mmap_fixed_kernel", sc(SYS_mmap, KTEXT, PG, 3, ANON | MAP_FIXED, -1), ENOMEM);
    EXPECT_ERR("mmap_fixed_noncanonical", sc(SYS_mmap, NONCANON, PG, 3, ANON | MAP_FIXED, -1), ENOMEM);
    EXPECT_ERR("mmap_fixed_last_page", sc(SYS_mmap, LAST_PAGE, PG, 3, ANON | MAP_FIXED, -1), ENOMEM);
    EXPECT_ERR("mmap_noreplace_last_page", sc(SYS_mmap, LAST_PAGE, PG, 3, ANON | 0x100000, -1), ENOMEM);
    EXPECT_ERR("mmap_fixed_wraps", sc(SYS_mmap, 0x100000, -PG, 3, ANON | MAP_FIXED, -1), ENOMEM);
    long hint = sc(SYS_mmap, KTEXT, PG, 3, ANON, -1);
    CHECK("mmap_kernel_hint_ignored", hint > 0 && (uint64_t)hint < LAST_PAGE);
    if (hint > 0)
        munmap((void *)hint, PG);
    EXPECT_ERR("mmap_len_2_47", sc(SYS_mmap, 0, 1ul << 47, 3, ANON, -1), ENOMEM);
    EXPECT_ERR("mmap_len_wraps", sc(SYS_mmap, 0, -PG, 3, ANON, -1), ENOMEM);
    EXPECT_ERR("mmap_len_minus_one", sc(SYS_mmap, 0, -1ul, 3, ANON, -1), ENOMEM);
    EXPECT_ERR("mmap_len_zero", sc(SYS_mmap, 0, 0, 3, ANON, -1), EINVAL);
    long odd = sc(SYS_mmap, 0, PG, 0x10 | PROT_READ, ANON, -1);
    CHECK("mmap_unknown_prot_bits_ignored", odd > 0);
    if (odd > 0)
        munmap((void *)odd, PG);
    EXPECT_ERR("mmap_bad_fd", sc(SYS_mmap, 0, PG, 1, MAP_PRIVATE, 999), EBADF);
    CHECK("mmap_survives", kernel_alive());
}

static void test_unmap_protect(void)
{
    unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, ANON, -1, 0);
    p[0] = 1;
    EXPECT_ERR("munmap_kernel", sc(SYS_munmap, KTEXT, PG, 0, 0, 0), EINVAL);
    EXPECT_ERR("munmap_last_page", sc(SYS_munmap, LAST_PAGE, PG, 0, 0, 0), EINVAL);
    EXPECT_ERR("munmap_noncanonical", sc(SYS_munmap, NONCANON, PG, 0, 0, 0), EINVAL);
    EXPECT_ERR("munmap_len_wraps", sc(SYS_munmap, (uintptr_t)p, -PG, 0, 0, 0), EINVAL);
    EXPECT_ERR("munmap_len_zero", sc(SYS_munmap, (uintptr_t)p, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("munmap_past_top", sc(SYS_munmap, 0x10000, 1ul << 47, 0, 0, 0), EINVAL);
    EXPECT_ERR("mprotect_kernel", sc(SYS_mprotect, KTEXT, PG, 1, 0, 0), ENOMEM);
    EXPECT_ERR("mprotect_noncanonical", sc(SYS_mprotect, NONCANON, PG, 1, 0, 0), ENOMEM);
    EXPECT_ERR("mprotect_len_wraps", sc(SYS_mprotect, (uintptr_t)p, -PG, 1, 0, 0), ENOMEM);
    CHECK("mprotect_len_zero", sc(SYS_mprotect, (uintptr_t)p, 0, 1, 0, 0) == 0);
    EXPECT_ERR("mprotect_bad_prot", sc(SYS_mprotect, (uintptr_t)p, PG, 0x10, 0, 0), EINVAL);
    EXPECT_ERR("madvise_kernel", sc(SYS_madvise, KTEXT, PG, MADV_DONTNEED, 0, 0), ENOMEM);
    EXPECT_ERR("madvise_len_wraps", sc(SYS_madvise, (uintptr_t)p, -PG, MADV_DONTNEED, 0, 0), EINVAL);
    EXPECT_ERR("mlock_kernel", sc(SYS_mlock, KTEXT, PG, 0, 0, 0), ENOMEM);
    EXPECT_ERR("mlock_noncanonical", sc(SYS_mlock, NONCANON, PG, 0, 0, 0), ENOMEM);
    EXPECT_ERR("mlock_len_wraps", sc(SYS_mlock, (uintptr_t)p, -PG, 0, 0, 0), EINVAL);
    EXPECT_ERR("munlock_kernel", sc(SYS_munlock, KTEXT, PG, 0, 0, 0), ENOMEM);
    EXPECT_ERR("mincore_kernel", sc(SYS_mincore, KTEXT, PG, (uintptr_t)p, 0, 0), ENOMEM);
    EXPECT_ERR("msync_kernel", sc(SYS_msync, KTEXT, PG, MS_SYNC, 0, 0), ENOMEM);
    CHECK("unmap_protect_survives", kernel_alive() && p[0] == 1);
    munmap(p, 4 * PG);
}

static void test_brk(void)
{
    long b = sc(SYS_brk, 0, 0, 0, 0, 0);
    CHECK("brk_minus_one_keeps_break", sc(SYS_brk, -1ul, 0, 0, 0, 0) == b);
    CHECK("brk_minus_page_keeps_break", sc(SYS_brk, -PG, 0, 0, 0, 0) == b);
    CHECK("brk_kernel_keeps_break", sc(SYS_brk, KTEXT, 0, 0, 0, 0) == b);
    CHECK("brk_last_page_keeps_break", sc(SYS_brk, LAST_PAGE, 0, 0, 0, 0) == b);
    CHECK("brk_noncanonical_keeps_break", sc(SYS_brk, NONCANON + PG, 0, 0, 0, 0) == b);
    /* brk(-1) used to round to 0 and unmap the program's own text: we still run. */
    CHECK("brk_survives", kernel_alive() && *(volatile unsigned char *)(uintptr_t)kernel_alive != 0);
}

/* Finding 4: splitting one mapping page by page ends in ENOMEM (vm.max_map_count), never a panic. */
static void test_vma_exhaustion(void)
{
    size_t pages = 140000;
    unsigned char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, ANON | MAP_NORESERVE, -1, 0);
    CHECK("vma_region", p != MAP_FAILED);
    if (p == MAP_FAILED)
        return;
    size_t i;
    int err = 0;
    for (i = 0; i < pages; i += 2) {
        if (mprotect(p + i * PG, PG, PROT_READ) != 0) {
            err = errno;
            break;
        }
    }
    /* About 65530 / 2 splits; the exact count depends on the mappings the program started with. */
    CHECK("vma_split_ends_in_enomem", i < pages && err == ENOMEM && i / 2 > 30000);
    CHECK("vma_unmap_all", munmap(p, pages * PG) == 0);
    /* Splitting and restoring page by page merges the pieces back (Linux's VMA
     * merging): never reaches the limit however many pages are toggled. */
    pages = 70000;
    p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, ANON | MAP_NORESERVE, -1, 0);
    for (i = 0; i < pages; i++)
        if (mprotect(p + i * PG, PG, PROT_READ) != 0 || mprotect(p + i * PG, PG, PROT_READ | PROT_WRITE) != 0)
            break;
    CHECK("vma_toggle_merges", i == pages);
    CHECK("vma_toggle_unmap", munmap(p, pages * PG) == 0);
    CHECK("vma_exhaustion_survives", kernel_alive());
}

int main(void)
{
    guest_begin();
    test_mremap();
    test_mmap();
    test_unmap_protect();
    test_brk();
    test_vma_exhaustion();
    return guest_finish();
}
