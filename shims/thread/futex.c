/* SPDX-License-Identifier: Apache-2.0 */
/* futex.c: futex(2): argument decoding, timeouts and WAKE_OP; the wait queues are kernel/futex.c. */
#include <libos/futex.h>
#include <libos/time.h>
#include <shim/linux_abi.h>
#include <shim/util.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_LOCK_PI2 13
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

/* The wait's deadline on the monotonic clock (~0ul: none). FUTEX_WAIT's timeout is
 * relative; WAIT_BITSET's is absolute on CLOCK_MONOTONIC, or CLOCK_REALTIME with
 * FUTEX_CLOCK_REALTIME (converted with today's offset: the guest's clock is never set). */
static long deadline_of(u64 utimeout, bool absolute, bool realtime, u64 *deadline)
{
    *deadline = ~0ul;
    if (!utimeout)
        return 0;
    struct linux_timespec ts;
    if (copy_from_user(&ts, utimeout, sizeof(ts)) < 0)
        return -EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (s64)NSEC_PER_SEC)
        return -EINVAL;
    if ((u64)ts.tv_sec >= ~0ul / NSEC_PER_SEC / 2)
        return 0; /* centuries: never */
    u64 ns = (u64)ts.tv_sec * NSEC_PER_SEC + (u64)ts.tv_nsec, now = time_mono_ns();
    if (!absolute)
        *deadline = now + ns;
    else if (realtime) {
        u64 real = time_real_ns();
        *deadline = ns > real ? now + (ns - real) : now;
    } else
        *deadline = ns;
    return 0;
}

/* FUTEX_WAKE_OP: *uaddr2 = op(old, oparg); wake nr_wake on uaddr, then nr_wake2 on
 * uaddr2 when cmp(old, cmparg) holds (Linux's futex_atomic_op_inuser, futex_wake_op). */
static long wake_op(u64 uaddr, u64 uaddr2, int nr_wake, int nr_wake2, u32 val3)
{
    u32 op = (val3 >> 28) & 7, cmp = (val3 >> 24) & 15;
    s32 oparg = (s32)(val3 << 8) >> 20; /* sign-extended 12-bit fields */
    s32 cmparg = (s32)(val3 << 20) >> 20;
    if (val3 & (8u << 28))
        oparg = (s32)(1u << (oparg & 31));
    if ((uaddr2 & 3) || (uaddr & 3))
        return -EINVAL;
    u32 old;
    if (copy_from_user(&old, uaddr2, sizeof(old)) < 0)
        return -EFAULT;
    u32 v;
    switch (op) {
    case 0: v = (u32)oparg; break;
    case 1: v = old + (u32)oparg; break;
    case 2: v = old | (u32)oparg; break;
    case 3: v = old & ~(u32)oparg; break;
    case 4: v = old ^ (u32)oparg; break;
    default: return -ENOSYS;
    }
    bool take;
    s32 o = (s32)old;
    switch (cmp) {
    case 0: take = o == cmparg; break;
    case 1: take = o != cmparg; break;
    case 2: take = o < cmparg; break;
    case 3: take = o <= cmparg; break;
    case 4: take = o > cmparg; break;
    case 5: take = o >= cmparg; break;
    default: return -ENOSYS;
    }
    if (copy_to_user(uaddr2, &v, sizeof(v)) < 0)
        return -EFAULT;
    long woken = futex_wake(uaddr, nr_wake, FUTEX_BITSET_ANY);
    if (take)
        woken += futex_wake(uaddr2, nr_wake2, FUTEX_BITSET_ANY);
    return woken;
}

/* sys_futex: PARTIAL: every non-PI operation; PI ops -> ENOSYS (see thread.def). */
long sys_futex(const struct shim_args *a)
{
    u64 uaddr = arg_uptr(a, 0), utime = arg_uptr(a, 3), uaddr2 = arg_uptr(a, 4);
    int op = arg_int(a, 1);
    u32 val = arg_uint(a, 2), val3 = (u32)arg_u64(a, 5);
    int val2 = (int)arg_u64(a, 3); /* REQUEUE and WAKE_OP pass a count in the timeout slot */
    int cmd = op & FUTEX_CMD_MASK;
    bool realtime = op & FUTEX_CLOCK_REALTIME;
    if (realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI2)
        return -ENOSYS;
    u64 deadline;
    long r;
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        if (cmd == FUTEX_WAIT_BITSET && val3 == 0)
            return -EINVAL;
        r = deadline_of(utime, cmd == FUTEX_WAIT_BITSET, realtime, &deadline);
        if (r < 0)
            return r;
        return futex_wait(uaddr, val, deadline, cmd == FUTEX_WAIT ? FUTEX_BITSET_ANY : val3);
    case FUTEX_WAKE:
        return futex_wake(uaddr, (int)val, FUTEX_BITSET_ANY);
    case FUTEX_WAKE_BITSET:
        return val3 == 0 ? -EINVAL : futex_wake(uaddr, (int)val, val3);
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
        return futex_requeue(uaddr, uaddr2, (int)val, val2, cmd == FUTEX_CMP_REQUEUE, val3);
    case FUTEX_WAKE_OP:
        return wake_op(uaddr, uaddr2, (int)val, val2, val3);
    default:
        return -ENOSYS; /* FD (gone since 2.6.26) and the PI operations */
    }
}
