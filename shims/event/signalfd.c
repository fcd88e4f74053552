/* SPDX-License-Identifier: Apache-2.0 */
/* signalfd.c: signalfd and signalfd4 (the object is libos/fs/signalfd.c). */
#include <libos/eventfds.h>
#include <libos/uaccess.h>
#include <shim/shim.h>

/* Linux's checks: the kernel sigset is 8 bytes, then the mask is copied in. */
static long signalfd_common(const struct shim_args *a, int flags)
{
    u64 mask;
    if (arg_u64(a, 2) != sizeof(mask))
        return -EINVAL;
    if (copy_from_user(&mask, arg_uptr(a, 1), sizeof(mask)) < 0)
        return -EFAULT;
    return signalfd_set(arg_int(a, 0), mask, flags);
}

/* sys_signalfd: Linux signalfd(2): signalfd4 with no flags. */
long sys_signalfd(const struct shim_args *a) { return signalfd_common(a, 0); }

/* sys_signalfd4: Linux signalfd4(2): SFD_NONBLOCK, SFD_CLOEXEC; an existing fd gets a new mask. */
long sys_signalfd4(const struct shim_args *a) { return signalfd_common(a, arg_int(a, 3)); }
