/* SPDX-License-Identifier: Apache-2.0 */
/* futex.c: futex(2) for a process with one thread: nobody to wake, nobody to wake us. */
#include <libos/log.h>
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_FD 2
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

static long read_word(u64 uaddr, u32 *v)
{
    if (uaddr & 3)
        return -EINVAL;
    return copy_from_user(v, uaddr, sizeof(*v));
}

/* Wait until the timeout (relative, or absolute for WAIT_BITSET) or forever. */
static long wait(u64 uaddr, u32 val, u64 utimeout, bool absolute, bool realtime)
{
    u32 cur;
    long r = read_word(uaddr, &cur);
    if (r < 0)
        return r;
    if (cur != val)
        return -EAGAIN;
    if (!utimeout) {
        kinfo("futex wait with no timeout and no other thread to wake it: the application is stuck");
        for (;;)
            time_sleep_until(~0ul);
    }
    struct linux_timespec ts;
    if (copy_from_user(&ts, utimeout, sizeof(ts)) < 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (s64)NSEC_PER_SEC)
        return -EINVAL;
    u64 ns = (u64)ts.tv_sec * NSEC_PER_SEC + (u64)ts.tv_nsec, now = time_mono_ns();
    u64 deadline = !absolute ? now + ns : realtime ? ns - (time_real_ns() - now) : ns;
    time_sleep_until(deadline);
    return -ETIMEDOUT;
}

/* FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2, oparg); the comparison would only choose whom to wake. */
static long wake_op(u64 uaddr2, u32 val3)
{
    u32 op = (val3 >> 28) & 7, shift = (val3 >> 28) & 8;
    s32 oparg = (s32)(val3 << 8) >> 20; /* sign-extended 12-bit field */
    if (shift)
        oparg = 1 << (oparg & 31);
    u32 old;
    long r = read_word(uaddr2, &old);
    if (r < 0)
        return r;
    u32 v;
    switch (op) {
    case 0: v = (u32)oparg; break;
    case 1: v = old + (u32)oparg; break;
    case 2: v = old | (u32)oparg; break;
    case 3: v = old & ~(u32)oparg; break;
    case 4: v = old ^ (u32)oparg; break;
    default: return -ENOSYS;
    }
    return copy_to_user(uaddr2, &v, sizeof(v)) < 0 ? -EFAULT : 0;
}

/* sys_futex: PARTIAL: single-threaded semantics; PI and FD operations -> ENOSYS. */
long sys_futex(const struct shim_args *a)
{
    u64 uaddr = arg_uptr(a, 0), utime = arg_uptr(a, 3), uaddr2 = arg_uptr(a, 4);
    int op = arg_int(a, 1);
    u32 val = arg_uint(a, 2), val3 = (u32)arg_u64(a, 5);
    int cmd = op & FUTEX_CMD_MASK;
    bool realtime = op & FUTEX_CLOCK_REALTIME;
    if (realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET)
        return -ENOSYS;
    u32 cur;
    switch (cmd) {
    case FUTEX_WAIT:
        return wait(uaddr, val, utime, false, false);
    case FUTEX_WAIT_BITSET:
        return val3 == 0 ? -EINVAL : wait(uaddr, val, utime, true, realtime);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        if (cmd == FUTEX_WAKE_BITSET && val3 == 0)
            return -EINVAL;
        return (uaddr & 3) ? -EINVAL : 0; /* no waiters */
    case FUTEX_REQUEUE:
        return 0;
    case FUTEX_CMP_REQUEUE: {
        long r = read_word(uaddr, &cur);
        if (r < 0)
            return r;
        return cur == val3 ? 0 : -EAGAIN;
    }
    case FUTEX_WAKE_OP:
        return wake_op(uaddr2, val3);
    default:
        return -ENOSYS;
    }
}
