/* SPDX-License-Identifier: Apache-2.0 */
/* ipc.c: what the System V IPC objects share: their id tables, permissions and times. */
#include <libos/errno.h>
#include <libos/ipc.h>
#include <libos/task.h>
#include <libos/time.h>

long ipc_get_key(const struct ipc_ids *ids, s32 key, int flags, bool (*too_small)(const struct ipc_perm_k *, u64),
                 u64 size)
{
    if (key == IPC_PRIVATE)
        return IPC_GET_CREATE;
    for (int i = 0; i < IPC_MNI; i++) {
        const struct ipc_perm_k *p = ids->slot[i];
        if (!p || p->key != key)
            continue;
        /* Linux's order (ipcget_public): exclusive create, then size, then permission. */
        if ((flags & IPC_CREAT) && (flags & IPC_EXCL))
            return -EEXIST;
        if (too_small && too_small(p, size))
            return -EINVAL;
        if (!ipc_may(p, ipc_flags_want(flags)))
            return -EACCES;
        return ipc_id(p);
    }
    return (flags & IPC_CREAT) ? IPC_GET_CREATE : -ENOENT;
}

int ipc_new_slot(const struct ipc_ids *ids)
{
    for (int i = 0; i < IPC_MNI; i++)
        if (!ids->slot[i])
            return i;
    return -ENOSPC;
}

int ipc_install(struct ipc_ids *ids, int idx, struct ipc_perm_k *p, s32 key, int flags)
{
    struct process *pr = current_process();
    p->key = key;
    p->uid = p->cuid = pr->euid;
    p->gid = p->cgid = pr->egid;
    p->mode = (u32)flags & 0777;
    p->seq = ids->next_seq[idx]++;
    p->idx = (u16)idx;
    ids->slot[idx] = p;
    return ipc_id(p);
}

void ipc_remove(struct ipc_ids *ids, const struct ipc_perm_k *p) { ids->slot[p->idx] = NULL; }

struct ipc_perm_k *ipc_lookup(const struct ipc_ids *ids, int id)
{
    if (id < 0 || id % IPC_SEQ_MULT >= IPC_MNI)
        return NULL;
    struct ipc_perm_k *p = ids->slot[id % IPC_SEQ_MULT];
    return p && p->seq == id / IPC_SEQ_MULT ? p : NULL;
}

struct ipc_perm_k *ipc_at_index(const struct ipc_ids *ids, int idx)
{
    return idx >= 0 && idx < IPC_MNI ? ids->slot[idx] : NULL;
}

int ipc_max_index(const struct ipc_ids *ids)
{
    int max = 0;
    for (int i = 0; i < IPC_MNI; i++)
        if (ids->slot[i])
            max = i;
    return max;
}

bool ipc_may(const struct ipc_perm_k *p, u32 want)
{
    struct process *pr = current_process();
    u32 granted = pr->euid == p->uid || pr->euid == p->cuid ? p->mode >> 6
                  : pr->egid == p->gid || pr->egid == p->cgid ? p->mode >> 3
                                                               : p->mode;
    return (want & ~granted & 7) == 0;
}

bool ipc_owner(const struct ipc_perm_k *p)
{
    u32 e = current_process()->euid;
    return e == p->uid || e == p->cuid;
}

struct ipc64_perm ipc_perm_abi(const struct ipc_perm_k *p)
{
    return (struct ipc64_perm){.key = p->key, .uid = p->uid, .gid = p->gid, .cuid = p->cuid,
                               .cgid = p->cgid, .mode = p->mode, .seq = p->seq};
}

void ipc_perm_set(struct ipc_perm_k *p, const struct ipc64_perm *in)
{
    p->uid = in->uid;
    p->gid = in->gid;
    p->mode = (p->mode & ~0777u) | (in->mode & 0777);
}

s64 ipc_now(void) { return (s64)(time_real_ns() / 1000000000ul); }
