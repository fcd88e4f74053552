/* SPDX-License-Identifier: Apache-2.0 */
/* sem.c: System V semaphore sets (semget, semctl, semtimedop) with Linux's rules: atomic
 * operation arrays, blocking with IPC_NOWAIT and timeouts, IPC_STAT/SET/RMID, the GET/SET
 * commands and the IPC_INFO/SEM_INFO/SEM_STAT queries ipcs makes. */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/ipc.h>
#include <libos/sem.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/uaccess.h>

#define GETPID 11
#define GETVAL 12
#define GETALL 13
#define GETNCNT 14
#define GETZCNT 15
#define SETVAL 16
#define SETALL 17
#define SEM_STAT 18
#define SEM_INFO 19
#define SEM_STAT_ANY 20

#define SEMMNI IPC_MNI
#define SEMMSL 32000  /* semaphores per set */
#define SEMMNS (SEMMNI * SEMMSL)
#define SEMOPM 500    /* operations per semop */
#define SEMVMX 32767  /* largest value */

struct sem {
    u16 val;
    int pid;     /* the last process to change it */
    u32 ncnt, zcnt;
};

struct sem_set {
    struct ipc_perm_k perm; /* first: the id table points here */
    int nsems;
    s64 otime, ctime;
    struct sem *sems;
    struct waitq wq;
    int waiters;  /* in semtimedop: a removed set is freed by the last one */
    bool removed;
};

_Static_assert(__builtin_offsetof(struct sem_set, perm) == 0, "a table slot is the set");

static struct ipc_ids sets;

struct semid64_ds {
    struct ipc64_perm perm;
    s64 otime;
    u64 unused1;
    s64 ctime;
    u64 unused2;
    u64 nsems, unused3, unused4;
};
struct seminfo {
    int semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem;
};

static struct sem_set *lookup(int id) { return (struct sem_set *)ipc_lookup(&sets, id); }
static struct sem_set *at_index(int idx) { return (struct sem_set *)ipc_at_index(&sets, idx); }

static bool may(const struct sem_set *s, u32 want) { return ipc_may(&s->perm, want); }
static bool owner(const struct sem_set *s) { return ipc_owner(&s->perm); }

static void changed(struct sem_set *s) { waitq_wake(&s->wq, -1); }

static bool too_few(const struct ipc_perm_k *p, u64 nsems) { return nsems > (u64)((const struct sem_set *)p)->nsems; }

long sem_get(s32 key, int nsems, int flags)
{
    if (nsems < 0 || nsems > SEMMSL)
        return -EINVAL;
    long r = ipc_get_key(&sets, key, flags, too_few, (u64)nsems);
    if (r != IPC_GET_CREATE)
        return r;
    if (nsems == 0)
        return -EINVAL;
    int idx = ipc_new_slot(&sets);
    if (idx < 0)
        return idx;
    struct sem_set *s = kzalloc(sizeof(*s));
    struct sem *sems = kzalloc((size_t)nsems * sizeof(*sems));
    if (!s || !sems) {
        kfree(s);
        kfree(sems);
        return -ENOMEM;
    }
    s->nsems = nsems;
    s->sems = sems;
    s->ctime = ipc_now();
    return ipc_install(&sets, idx, &s->perm, key, flags);
}

static long stat_out(const struct sem_set *s, u64 ubuf)
{
    struct semid64_ds ds;
    memset(&ds, 0, sizeof(ds));
    ds.perm = ipc_perm_abi(&s->perm);
    ds.otime = s->otime;
    ds.ctime = s->ctime;
    ds.nsems = (u64)s->nsems;
    return copy_to_user(ubuf, &ds, sizeof(ds)) < 0 ? -EFAULT : 0;
}

static long info(int cmd, u64 ubuf)
{
    struct seminfo si = {SEMMNS, SEMMNI, SEMMNS, SEMMNS, SEMMSL, SEMOPM, SEMOPM, 0, SEMVMX, SEMVMX};
    if (cmd == SEM_INFO) {
        si.semusz = si.semaem = 0;
        for (int i = 0; i < SEMMNI; i++) {
            const struct sem_set *s = at_index(i);
            if (s) {
                si.semusz++;
                si.semaem += s->nsems;
            }
        }
    }
    return copy_to_user(ubuf, &si, sizeof(si)) < 0 ? -EFAULT : ipc_max_index(&sets);
}

static void remove(struct sem_set *s)
{
    ipc_remove(&sets, &s->perm);
    /* Waiters find the set gone (EIDRM); the memory stays while any may still look. */
    s->removed = true;
    changed(s);
    if (s->waiters == 0) {
        kfree(s->sems);
        kfree(s);
    }
}

long sem_ctl(int id, int num, int cmd, u64 arg)
{
    cmd &= ~IPC_64;
    if (cmd == IPC_INFO || cmd == SEM_INFO)
        return info(cmd, arg);
    if (cmd == SEM_STAT || cmd == SEM_STAT_ANY) { /* id is a table index here */
        const struct sem_set *s = at_index(id);
        if (!s)
            return -EINVAL;
        if (cmd == SEM_STAT && !may(s, 4))
            return -EACCES;
        long r = stat_out(s, arg);
        return r < 0 ? r : ipc_id(&s->perm);
    }
    struct sem_set *s = lookup(id);
    if (!s)
        return -EINVAL;
    switch (cmd) {
    case IPC_RMID:
    case IPC_SET: {
        if (!owner(s))
            return -EPERM;
        if (cmd == IPC_RMID) {
            remove(s);
            return 0;
        }
        struct semid64_ds ds;
        if (copy_from_user(&ds, arg, sizeof(ds)) < 0)
            return -EFAULT;
        ipc_perm_set(&s->perm, &ds.perm);
        s->ctime = ipc_now();
        return 0;
    }
    case IPC_STAT:
        return may(s, 4) ? stat_out(s, arg) : -EACCES;
    case GETALL: {
        if (!may(s, 4))
            return -EACCES;
        for (int i = 0; i < s->nsems; i++)
            if (copy_to_user(arg + (u64)i * 2, &s->sems[i].val, 2) < 0)
                return -EFAULT;
        return 0;
    }
    case SETALL: {
        if (!may(s, 2))
            return -EACCES;
        u16 *v = kmalloc((size_t)s->nsems * 2);
        if (!v)
            return -ENOMEM;
        if (copy_from_user(v, arg, (size_t)s->nsems * 2) < 0) {
            kfree(v);
            return -EFAULT;
        }
        for (int i = 0; i < s->nsems; i++)
            if (v[i] > SEMVMX) {
                kfree(v);
                return -ERANGE;
            }
        for (int i = 0; i < s->nsems; i++) {
            s->sems[i].val = v[i];
            s->sems[i].pid = current_process()->pid;
        }
        kfree(v);
        s->ctime = ipc_now();
        changed(s);
        return 0;
    }
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case SETVAL:
        break;
    default:
        return -EINVAL;
    }
    if (num < 0 || num >= s->nsems)
        return -EINVAL;
    struct sem *m = &s->sems[num];
    if (cmd != SETVAL) {
        if (!may(s, 4))
            return -EACCES;
        return cmd == GETVAL ? m->val : cmd == GETPID ? m->pid : cmd == GETNCNT ? (long)m->ncnt : (long)m->zcnt;
    }
    int val = (int)(u32)arg;
    if (val < 0 || val > SEMVMX)
        return -ERANGE;
    if (!may(s, 2))
        return -EACCES;
    m->val = (u16)val;
    m->pid = current_process()->pid;
    s->ctime = ipc_now();
    changed(s);
    return 0;
}

/* Try the whole array at once: 0 (applied), -EAGAIN with *blocker set (would wait), -ERANGE. */
static long try_ops(struct sem_set *s, const struct sembuf_k *sops, u32 n, u32 *blocker)
{
    for (u32 i = 0; i < n; i++) {
        int v = s->sems[sops[i].num].val;
        for (u32 j = 0; j < i; j++) /* earlier operations on the same semaphore */
            if (sops[j].num == sops[i].num)
                v += sops[j].op;
        int op = sops[i].op;
        if ((op == 0 && v != 0) || v + op < 0) {
            *blocker = i;
            return -EAGAIN;
        }
        if (v + op > SEMVMX)
            return -ERANGE;
    }
    int pid = current_process()->pid;
    for (u32 i = 0; i < n; i++) {
        struct sem *m = &s->sems[sops[i].num];
        m->val = (u16)(m->val + sops[i].op);
        m->pid = pid;
    }
    s->otime = ipc_now();
    changed(s);
    return 0;
}

long sem_timedop(int id, const struct sembuf_k *sops, u32 nsops, u64 deadline)
{
    struct sem_set *s = lookup(id);
    if (!s)
        return -EINVAL;
    bool alter = false;
    for (u32 i = 0; i < nsops; i++) {
        if (sops[i].num >= s->nsems)
            return -EFBIG;
        alter |= sops[i].op != 0;
    }
    if (!may(s, alter ? 2 : 4))
        return -EACCES;
    for (;;) {
        u32 b = 0;
        long r = try_ops(s, sops, nsops, &b);
        if (r != -EAGAIN || (sops[b].flg & IPC_NOWAIT))
            return r;
        struct sem *m = &s->sems[sops[b].num];
        bool zero = sops[b].op == 0;
        if (zero)
            m->zcnt++;
        else
            m->ncnt++;
        s->waiters++;
        int w = waitq_wait(&s->wq, deadline, WAIT_INTERRUPTIBLE);
        s->waiters--;
        if (s->removed) {
            if (s->waiters == 0) { /* the last waiter of a removed set frees it */
                kfree(s->sems);
                kfree(s);
            }
            return -EIDRM;
        }
        if (zero)
            m->zcnt--;
        else
            m->ncnt--;
        if (w == -EINTR)
            return -EINTR; /* System V IPC calls are never restarted (signal(7)) */
        if (w == -ETIMEDOUT)
            return -EAGAIN;
    }
}
