/* SPDX-License-Identifier: Apache-2.0 */
/* futex.c: futex wait queues hashed by user address: wait, wake, requeue (libos/futex.h).
 *
 * A futex is keyed by its address within its address space; a word in a MAP_SHARED
 * page (anonymous, shared across fork, or a file's) by the frame's physical address instead, with
 * SHARED_KEY set, so waiters and wakers in different processes meet.
 *
 * One CPU and a kernel that runs with interrupts off: the value check and going
 * to sleep cannot be separated by another thread's store, so no wake-up is lost.
 */
#include <libos/errno.h>
#include <libos/futex.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/uvm.h>

#define FUTEX_BUCKETS 64
#define SHARED_KEY (1ul << 63) /* a physical key: never a user address */

static struct waitq buckets[FUTEX_BUCKETS];

static struct waitq *bucket(u64 uaddr)
{
    return &buckets[((uaddr >> 2) * 0x9e3779b97f4a7c15ul) >> 58]; /* 64 = 2^6 buckets */
}
_Static_assert(FUTEX_BUCKETS == 64, "bucket() takes the top 6 bits");

/* The key of uaddr: its address (matched within one address space) or its frame. */
static u64 key_of(u64 uaddr)
{
    u64 phys;
    return uvm_futex_shared_key(uaddr, &phys) ? phys | SHARED_KEY : uaddr;
}

/* t waits on key, seen from the current process. */
static bool same_key(const struct task *t, u64 key)
{
    return t->wait_key == key && ((key & SHARED_KEY) || t->process->mm == current_process()->mm);
}

static long read_word(u64 uaddr, u32 *v)
{
    if (uaddr & 3)
        return -EINVAL;
    return copy_from_user(v, uaddr, sizeof(*v)) < 0 ? -EFAULT : 0;
}

long futex_wait(u64 uaddr, u32 val, u64 deadline, u32 bitset)
{
    u32 cur;
    long r = read_word(uaddr, &cur);
    if (r < 0)
        return r;
    if (cur != val)
        return -EAGAIN;
    u64 key = key_of(uaddr);
    current->wait_key = key;
    current->wait_key2 = bitset;
    int w = waitq_wait(bucket(key), deadline, WAIT_INTERRUPTIBLE);
    return w == -EINTR ? -ERESTARTSYS : w;
}

long futex_wake(u64 uaddr, int n, u32 bitset)
{
    if (uaddr & 3)
        return -EINVAL;
    u64 key = key_of(uaddr);
    struct waitq *wq = bucket(key);
    int woken = 0;
    for (struct task *t = wq->head, *next; t; t = next) {
        next = t->wq_next;
        if (same_key(t, key) && (t->wait_key2 & bitset)) {
            task_wake(t, 0);
            if (++woken >= n) /* as Linux: n <= 0 still wakes one */
                break;
        }
    }
    return woken;
}

long futex_requeue(u64 uaddr, u64 uaddr2, int nr_wake, int nr_requeue, bool cmp, u32 cmpval)
{
    if (nr_wake < 0 || nr_requeue < 0)
        return -EINVAL;
    if ((uaddr & 3) || (uaddr2 & 3))
        return -EINVAL;
    if (cmp) {
        u32 cur;
        long r = read_word(uaddr, &cur);
        if (r < 0)
            return r;
        if (cur != cmpval)
            return -EAGAIN;
    }
    u64 key = key_of(uaddr), key2 = key_of(uaddr2);
    struct waitq *from = bucket(key), *to = bucket(key2);
    /* Stop at the waiter that was last when we began: a moved waiter may be appended
     * to this same queue and must not be seen twice. */
    struct task *last = from->tail;
    int woken = 0, moved = 0;
    for (struct task *t = from->head, *next; t; t = next) {
        next = t->wq_next;
        bool end = t == last;
        if (same_key(t, key)) {
            if (woken < nr_wake) {
                task_wake(t, 0);
                woken++;
            } else if (moved < nr_requeue) {
                waitq_remove(t);
                t->wait_key = key2;
                waitq_add(to, t);
                moved++;
            } else {
                break;
            }
        }
        if (end)
            break;
    }
    return woken + moved;
}
