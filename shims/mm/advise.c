/* SPDX-License-Identifier: Apache-2.0 */
/* advise.c: madvise, mincore, msync and the mlock family. */
#include <libos/string.h>
#include <libos/uvm.h>
#include <shim/util.h>

#define MADV_DONTNEED 4
#define MADV_FREE 8
#define MADV_REMOVE 9
#define MADV_POPULATE_WRITE 23
#define MADV_HWPOISON 100

static bool aligned(u64 addr) { return !(addr & (PAGE_SIZE - 1)); }

/* sys_madvise: PARTIAL: DONTNEED/FREE/REMOVE really drop pages (jemalloc relies on the zeroes). */
long sys_madvise(const struct shim_args *a)
{
    u64 addr = arg_u64(a, 0), len = arg_u64(a, 1);
    int advice = arg_int(a, 2);
    if (!aligned(addr) || ALIGN_UP(len, PAGE_SIZE) < len)
        return -EINVAL;
    if (advice < 0 || (advice > MADV_POPULATE_WRITE && advice != MADV_HWPOISON))
        return -EINVAL;
    if (len == 0)
        return 0;
    if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
        return uvm_discard(addr, len);
    return uvm_range_ok(addr, len, PROT_NONE) ? 0 : -ENOMEM;
}

/* sys_mincore: PARTIAL: every page of a mapped range counts as resident. */
long sys_mincore(const struct shim_args *a)
{
    u64 addr = arg_u64(a, 0), len = arg_u64(a, 1), vec = arg_uptr(a, 2);
    if (!aligned(addr))
        return -EINVAL;
    if (!uvm_range_ok(addr, len, PROT_NONE))
        return -ENOMEM;
    u8 ones[64];
    memset(ones, 1, sizeof(ones));
    for (u64 pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE, done = 0; done < pages;) {
        u64 k = MIN(pages - done, sizeof(ones));
        if (copy_to_user(vec + done, ones, k) < 0)
            return -EFAULT;
        done += k;
    }
    return 0;
}

/* The mlock/msync range rule: a length that wraps is EINVAL, any unmapped page
 * (kernel addresses included) ENOMEM, as on Linux. */
static long mapped_range(u64 addr, u64 len)
{
    u64 start = ALIGN_DOWN(addr, PAGE_SIZE), span = len + (addr - start);
    if (span < len || ALIGN_UP(span, PAGE_SIZE) < span || start + ALIGN_UP(span, PAGE_SIZE) < start)
        return -EINVAL;
    if (span == 0)
        return 0;
    return uvm_range_ok(start, ALIGN_UP(span, PAGE_SIZE), PROT_NONE) ? 0 : -ENOMEM;
}

/* sys_msync: STUB: no writable shared file mappings exist, so nothing to flush. */
long sys_msync(const struct shim_args *a)
{
    if (!aligned(arg_u64(a, 0)))
        return -EINVAL;
    long r = mapped_range(arg_u64(a, 0), arg_u64(a, 1));
    return r == -EINVAL ? -ENOMEM : r;
}
/* sys_mlock: STUB: there is no swap; the range must be mapped. */
long sys_mlock(const struct shim_args *a) { return mapped_range(arg_u64(a, 0), arg_u64(a, 1)); }
/* sys_munlock: STUB: there is no swap; the range must be mapped. */
long sys_munlock(const struct shim_args *a) { return mapped_range(arg_u64(a, 0), arg_u64(a, 1)); }
/* sys_mlockall: STUB: there is no swap. */
long sys_mlockall(const struct shim_args *a) { return 0; }
/* sys_munlockall: STUB: there is no swap. */
long sys_munlockall(const struct shim_args *a) { return 0; }
