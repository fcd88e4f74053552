/* SPDX-License-Identifier: Apache-2.0 */
/* uaccess.h: copying to and from application memory without trusting the pointers.
 *
 * Interface:
 *   user_range_ok(addr, n)     the range lies in the lower half (no wrap); no other check.
 *   copy_from_user/copy_to_user  range check + fault-safe copy: 0 or -EFAULT.
 *   copy_string_from_user      NUL-terminated string into a kernel buffer: length,
 *                              -EFAULT, or -ENAMETOOLONG when it does not fit.
 *   uaccess_copy/uaccess_zero  fault-safe copies with no range check, for file ops
 *                              whose buffers the syscall layer already checked (they
 *                              may also be kernel buffers, e.g. for sendfile).
 * A fault on an unmapped page first tries demand paging (uvm_handle_fault).
 */
#ifndef LIBOS_UACCESS_H
#define LIBOS_UACCESS_H

#include <libos/errno.h>
#include <libos/memlayout.h>
#include <libos/types.h>

long uaccess_copy(void *dst, const void *src, size_t n);
long uaccess_zero(void *dst, size_t n);
long uaccess_strnlen(const char *s, size_t max);

static inline bool user_range_ok(u64 addr, u64 n) { return addr + n >= addr && addr + n <= USER_TOP; }

static inline long copy_from_user(void *dst, u64 src, size_t n)
{
    if (!user_range_ok(src, n))
        return -EFAULT;
    return uaccess_copy(dst, (const void *)src, n);
}

static inline long copy_to_user(u64 dst, const void *src, size_t n)
{
    if (!user_range_ok(dst, n))
        return -EFAULT;
    return uaccess_copy((void *)dst, src, n);
}

static inline long copy_string_from_user(char *dst, u64 src, size_t size)
{
    if (src >= USER_TOP)
        return -EFAULT;
    size_t max = MIN(size, USER_TOP - src);
    long n = uaccess_strnlen((const char *)src, max);
    if (n < 0)
        return n;
    if ((size_t)n >= size)
        return -ENAMETOOLONG;
    if ((size_t)n == max)
        return -EFAULT; /* ran into the end of user space without a NUL */
    long r = uaccess_copy(dst, (const void *)src, (size_t)n + 1);
    return r < 0 ? r : n;
}

#endif /* LIBOS_UACCESS_H */
