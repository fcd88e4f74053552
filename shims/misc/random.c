/* SPDX-License-Identifier: Apache-2.0 */
/* random.c: getrandom(2): the kernel generator never blocks. */
#include <libos/random.h>
#include <shim/util.h>

#define GRND_NONBLOCK 1
#define GRND_RANDOM 2
#define GRND_INSECURE 4
#define GETRANDOM_MAX 0x1ffffff /* Linux returns at most this much per call */

/* sys_getrandom: Linux getrandom(2); never blocks, whatever the flags. */
long sys_getrandom(const struct shim_args *a)
{
    u64 buf = arg_uptr(a, 0), len = MIN(arg_u64(a, 1), GETRANDOM_MAX);
    unsigned flags = arg_uint(a, 2);
    if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) ||
        (flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if (!user_range_ok(buf, len))
        return -EFAULT;
    u8 chunk[256];
    for (u64 done = 0; done < len;) {
        size_t k = MIN(len - done, sizeof(chunk));
        random_bytes(chunk, k);
        if (copy_to_user(buf + done, chunk, k) < 0)
            return done ? (long)done : -EFAULT;
        done += k;
    }
    return (long)len;
}
