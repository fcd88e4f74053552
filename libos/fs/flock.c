/* SPDX-License-Identifier: Apache-2.0 */
/* flock.c: flock(2): advisory whole-file locks owned by open file descriptions (Linux's
 * fs/locks.c flock_lock_inode): shared or exclusive, converted by removing the old lock
 * first (not atomic, as Linux), released by LOCK_UN or the description's last close. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/task.h>
#include <libos/vfs.h>

struct flock_lock {
    struct file *owner;
    bool exclusive;
    struct flock_lock *next;
};

/* Every waiter re-checks after any unlock (few locks, one CPU). */
static struct waitq flock_wq = WAITQ_INIT;

static struct flock_lock **find(struct vnode *n, const struct file *f)
{
    struct flock_lock **pp = &n->flocks;
    while (*pp && (*pp)->owner != f)
        pp = &(*pp)->next;
    return pp;
}

static void unlink_lock(struct flock_lock **pp)
{
    struct flock_lock *l = *pp;
    *pp = l->next;
    kfree(l);
    waitq_wake(&flock_wq, -1);
}

static bool conflicts(const struct vnode *n, const struct file *f, bool exclusive)
{
    for (const struct flock_lock *l = n->flocks; l; l = l->next)
        if (l->owner != f && (exclusive || l->exclusive))
            return true;
    return false;
}

long vfs_flock(struct file *f, int op)
{
    int cmd = op & ~LOCK_NB;
    if (cmd != LOCK_SH && cmd != LOCK_EX && cmd != LOCK_UN)
        return -EINVAL;
    struct vnode *n = f->node;
    struct flock_lock **pp = find(n, f);
    if (cmd == LOCK_UN) {
        if (*pp)
            unlink_lock(pp);
        return 0;
    }
    bool ex = cmd == LOCK_EX;
    if (*pp) {
        if ((*pp)->exclusive == ex)
            return 0;
        unlink_lock(pp); /* a conversion drops the old lock first, as Linux */
    }
    f->refs++; /* another thread may close the fd while we wait: its last put drops the lock */
    long r = 0;
    while (r == 0 && conflicts(n, f, ex)) {
        if (op & LOCK_NB)
            r = -EAGAIN;
        else if (waitq_wait(&flock_wq, ~0ul, WAIT_INTERRUPTIBLE) == -EINTR)
            r = -ERESTARTSYS;
    }
    struct flock_lock *l = r == 0 ? kzalloc(sizeof(*l)) : NULL;
    if (r == 0 && !l)
        r = -ENOMEM;
    if (l) {
        l->owner = f;
        l->exclusive = ex;
        l->next = n->flocks;
        n->flocks = l;
    }
    file_put(f);
    return r;
}

void flock_release(struct file *f)
{
    struct flock_lock **pp = find(f->node, f);
    if (*pp)
        unlink_lock(pp);
}
