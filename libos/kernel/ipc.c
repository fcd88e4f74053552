/* SPDX-License-Identifier: Apache-2.0 */
/* ipc.c: permissions and times shared by the System V IPC objects (semaphores, shared memory). */
#include <libos/ipc.h>
#include <libos/task.h>
#include <libos/time.h>

void ipc_perm_init(struct ipc_perm_k *p, s32 key, int flags, u16 seq)
{
    struct process *pr = current_process();
    p->key = key;
    p->uid = p->cuid = pr->euid;
    p->gid = p->cgid = pr->egid;
    p->mode = (u32)flags & 0777;
    p->seq = seq;
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
