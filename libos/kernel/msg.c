/* SPDX-License-Identifier: Apache-2.0 */
/* msg.c: System V message queues (msgget, msgsnd, msgrcv, msgctl) with Linux's rules: typed
 * messages, the three msgrcv selections (first, first of a type or not of it, lowest type up
 * to a bound), MSG_NOERROR, MSG_COPY, blocking with IPC_NOWAIT, IPC_STAT/SET/RMID and the
 * IPC_INFO/MSG_INFO/MSG_STAT queries ipcs makes. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/ipc.h>
#include <libos/msg.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uaccess.h>

#define MSG_STAT 11
#define MSG_INFO 12
#define MSG_STAT_ANY 13
#define MSG_NOERROR 010000
#define MSG_EXCEPT 020000
#define MSG_COPY 040000

#define MSGMNI IPC_MNI
#define MSGMAX 8192   /* largest message (Linux's default msgmax) */
#define MSGMNB 16384  /* default and largest unprivileged bytes per queue (msgmnb) */
#define MSGSSZ 16
#define MSGPOOL (MSGMNI * MSGMNB / 1024)
#define MSGTQL MSGMNB
#define LONG_MIN_K (-0x7fffffffffffffffl - 1)

struct msg {
    struct msg *next;
    long type;
    u64 size;
    u8 text[];
};

struct msg_queue {
    struct ipc_perm_k perm; /* first: the id table points here */
    struct msg *head, **tail;
    u64 cbytes, qnum, qbytes;
    s64 stime, rtime, ctime;
    int lspid, lrpid;
    struct waitq wq; /* senders waiting for room and receivers waiting for a message */
    int waiters;     /* blocked in msgsnd/msgrcv: a removed queue is freed by the last one */
    bool removed;
};

_Static_assert(__builtin_offsetof(struct msg_queue, perm) == 0, "a table slot is the queue");

static struct ipc_ids queues;

struct msqid64_ds {
    struct ipc64_perm perm;
    s64 stime, rtime, ctime;
    u64 cbytes, qnum, qbytes;
    s32 lspid, lrpid;
    u64 unused4, unused5;
};
struct msginfo {
    int msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql;
    u16 msgseg;
};

static struct msg_queue *lookup(int id) { return (struct msg_queue *)ipc_lookup(&queues, id); }
static struct msg_queue *at_index(int idx) { return (struct msg_queue *)ipc_at_index(&queues, idx); }

long msg_get(s32 key, int flags)
{
    long r = ipc_get_key(&queues, key, flags, NULL, 0);
    if (r != IPC_GET_CREATE)
        return r;
    int idx = ipc_new_slot(&queues);
    if (idx < 0)
        return idx;
    struct msg_queue *q = kzalloc(sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->tail = &q->head;
    q->qbytes = MSGMNB;
    q->ctime = ipc_now();
    return ipc_install(&queues, idx, &q->perm, key, flags);
}

static void free_queue(struct msg_queue *q)
{
    for (struct msg *m = q->head, *next; m; m = next) {
        next = m->next;
        kfree(m);
    }
    kfree(q);
}

static void remove_queue(struct msg_queue *q)
{
    ipc_remove(&queues, &q->perm);
    /* Waiters find the queue gone (EIDRM); the memory stays while any may still look. */
    q->removed = true;
    waitq_wake(&q->wq, -1);
    if (q->waiters == 0)
        free_queue(q);
}

/* Sleep on q until woken: 0, -EINTR (never restarted) or -EIDRM (freed by the last waiter). */
static long wait_on(struct msg_queue *q)
{
    q->waiters++;
    int w = waitq_wait(&q->wq, ~0ul, WAIT_INTERRUPTIBLE);
    q->waiters--;
    if (q->removed) {
        if (q->waiters == 0)
            free_queue(q);
        return -EIDRM;
    }
    return w == -EINTR ? -EINTR : 0;
}

long msg_snd(int id, u64 umsg, long size, int flags)
{
    long type; /* read first: Linux's msgsnd faults before it checks anything */
    if (copy_from_user(&type, umsg, sizeof(type)) < 0)
        return -EFAULT;
    if (size < 0 || size > MSGMAX || id < 0 || type < 1)
        return -EINVAL;
    struct msg *m = kmalloc(sizeof(*m) + (u64)size);
    if (!m)
        return -ENOMEM;
    if (size && copy_from_user(m->text, umsg + sizeof(long), (size_t)size) < 0) {
        kfree(m);
        return -EFAULT;
    }
    m->next = NULL; /* field by field: an assignment of the whole struct would not copy text[] */
    m->type = type;
    m->size = (u64)size;
    struct msg_queue *q = lookup(id);
    long r = !q ? -EINVAL : !ipc_may(&q->perm, 2) ? -EACCES : 0;
    /* Room means both the bytes and one more message fit in qbytes (Linux counts both). */
    while (r == 0 && (q->cbytes + m->size > q->qbytes || q->qnum + 1 > q->qbytes)) {
        if (flags & IPC_NOWAIT)
            r = -EAGAIN;
        else if ((r = wait_on(q)) == 0 && !ipc_may(&q->perm, 2))
            r = -EACCES; /* IPC_SET took the permission away while it slept */
    }
    if (r < 0) {
        kfree(m);
        return r;
    }
    *q->tail = m;
    q->tail = &m->next;
    q->cbytes += m->size;
    q->qnum++;
    q->lspid = current_process()->pid;
    q->stime = ipc_now();
    waitq_wake(&q->wq, -1);
    return 0;
}

/* The message msgrcv's type and flags select, and the link that points at it. */
static struct msg **select_msg(struct msg_queue *q, long type, int flags)
{
    struct msg **best = NULL;
    long at = 0;
    for (struct msg **p = &q->head; *p; p = &(*p)->next, at++) {
        long t = (*p)->type;
        if (flags & MSG_COPY) {
            if (at == type)
                return p;
        } else if (type == 0) {
            return p;
        } else if (type > 0) {
            if ((flags & MSG_EXCEPT) ? t != type : t == type)
                return p;
        } else if (t <= -type && (!best || t < (*best)->type)) {
            best = p; /* the lowest type up to |type|, the first of equals */
        }
    }
    return best;
}

/* The message's type and its first n bytes to the user's struct msgbuf: n, or -EFAULT. */
static long copy_out(u64 umsg, const struct msg *m, u64 n)
{
    if (copy_to_user(umsg, &m->type, sizeof(long)) < 0 || (n && copy_to_user(umsg + sizeof(long), m->text, n) < 0))
        return -EFAULT;
    return (long)n;
}

long msg_rcv(int id, u64 umsg, long size, long type, int flags)
{
    if (size < 0 || id < 0)
        return -EINVAL;
    if (flags & MSG_COPY) {
        if ((flags & MSG_EXCEPT) || !(flags & IPC_NOWAIT))
            return -EINVAL;
    } else if (type == LONG_MIN_K) {
        type = LONG_MIN_K + 1; /* -type must not overflow */
    }
    struct msg_queue *q = lookup(id);
    if (!q)
        return -EINVAL;
    if (!ipc_may(&q->perm, 4))
        return -EACCES;
    for (;;) {
        struct msg **p = select_msg(q, type, flags);
        if (p) {
            struct msg *m = *p;
            if (m->size > (u64)size && !(flags & MSG_NOERROR))
                return -E2BIG;
            u64 n = MIN(m->size, (u64)size);
            if (flags & MSG_COPY)
                return copy_out(umsg, m, n);
            *p = m->next;
            if (q->tail == &m->next)
                q->tail = p;
            q->cbytes -= m->size;
            q->qnum--;
            q->lrpid = current_process()->pid;
            q->rtime = ipc_now();
            waitq_wake(&q->wq, -1);
            long r = copy_out(umsg, m, n); /* as Linux: taken off the queue even if this faults */
            kfree(m);
            return r;
        }
        if (flags & IPC_NOWAIT)
            return -ENOMSG;
        long r = wait_on(q);
        if (r < 0)
            return r;
        if (!ipc_may(&q->perm, 4))
            return -EACCES;
    }
}

static long stat_out(const struct msg_queue *q, u64 ubuf)
{
    struct msqid64_ds ds;
    memset(&ds, 0, sizeof(ds));
    ds.perm = ipc_perm_abi(&q->perm);
    ds.stime = q->stime;
    ds.rtime = q->rtime;
    ds.ctime = q->ctime;
    ds.cbytes = q->cbytes;
    ds.qnum = q->qnum;
    ds.qbytes = q->qbytes;
    ds.lspid = q->lspid;
    ds.lrpid = q->lrpid;
    return copy_to_user(ubuf, &ds, sizeof(ds)) < 0 ? -EFAULT : 0;
}

static long info(int cmd, u64 ubuf)
{
    struct msginfo mi = {MSGPOOL, MSGMNB * MSGMNI / MSGSSZ, MSGMAX, MSGMNB, MSGMNI, MSGSSZ, MSGTQL, 0xffff};
    if (cmd == MSG_INFO) { /* as Linux: queues in use, messages, bytes */
        mi.msgpool = mi.msgmap = mi.msgtql = 0;
        for (int i = 0; i < MSGMNI; i++) {
            const struct msg_queue *q = at_index(i);
            if (q) {
                mi.msgpool++;
                mi.msgmap += (int)q->qnum;
                mi.msgtql += (int)q->cbytes;
            }
        }
    }
    return copy_to_user(ubuf, &mi, sizeof(mi)) < 0 ? -EFAULT : ipc_max_index(&queues);
}

long msg_ctl(int id, int cmd, u64 ubuf)
{
    cmd &= ~IPC_64;
    if (id < 0)
        return -EINVAL;
    if (cmd == IPC_INFO || cmd == MSG_INFO)
        return info(cmd, ubuf);
    if (cmd == MSG_STAT || cmd == MSG_STAT_ANY) { /* id is a table index here */
        const struct msg_queue *q = at_index(id);
        if (!q)
            return -EINVAL;
        if (cmd == MSG_STAT && !ipc_may(&q->perm, 4))
            return -EACCES;
        long r = stat_out(q, ubuf);
        return r < 0 ? r : ipc_id(&q->perm);
    }
    struct msg_queue *q = lookup(id);
    if (!q)
        return -EINVAL;
    switch (cmd) {
    case IPC_STAT:
        return ipc_may(&q->perm, 4) ? stat_out(q, ubuf) : -EACCES;
    case IPC_RMID:
        if (!ipc_owner(&q->perm))
            return -EPERM;
        remove_queue(q);
        return 0;
    case IPC_SET: {
        struct msqid64_ds ds;
        if (copy_from_user(&ds, ubuf, sizeof(ds)) < 0)
            return -EFAULT;
        if (!ipc_owner(&q->perm))
            return -EPERM;
        if (ds.qbytes > MSGMNB)
            return -EPERM; /* needs CAP_SYS_RESOURCE, which Docker does not grant */
        ipc_perm_set(&q->perm, &ds.perm);
        q->qbytes = ds.qbytes;
        q->ctime = ipc_now();
        waitq_wake(&q->wq, -1); /* more room, or less permission: let sleepers look again */
        return 0;
    }
    default:
        return -EINVAL;
    }
}
