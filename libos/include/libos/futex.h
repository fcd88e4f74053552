/* SPDX-License-Identifier: Apache-2.0 */
/* futex.h: futex wait queues keyed by user address (kernel/futex.c), for futex(2) and thread exit.
 *
 * Interface: a key is the user address within its address space, or the frame of a
 * MAP_SHARED anonymous page (process-shared words after fork, uvm_futex_shared_key). Waiters sleep on a hashed wait queue with task->wait_key = address
 * and task->wait_key2 = their bitset. All calls return Linux's results (-E*).
 *   futex_wait()     -EAGAIN when *uaddr != val, else sleep until woken (0), the deadline
 *                    (time_mono_ns(), ~0ul none: -ETIMEDOUT) or a signal (-ERESTARTSYS).
 *   futex_wake()     wake up to n waiters on uaddr whose bitset meets bitset; the count.
 *   futex_requeue()  wake nr_wake, move up to nr_requeue more to uaddr2; with cmp, first
 *                    -EAGAIN unless *uaddr == cmpval. The count woken plus moved.
 */
#ifndef LIBOS_FUTEX_H
#define LIBOS_FUTEX_H

#include <libos/types.h>

#define FUTEX_BITSET_ANY 0xffffffffu

long futex_wait(u64 uaddr, u32 val, u64 deadline, u32 bitset);
long futex_wake(u64 uaddr, int n, u32 bitset);
long futex_requeue(u64 uaddr, u64 uaddr2, int nr_wake, int nr_requeue, bool cmp, u32 cmpval);

#endif /* LIBOS_FUTEX_H */
