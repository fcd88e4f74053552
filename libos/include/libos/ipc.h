/* SPDX-License-Identifier: Apache-2.0 */
/* ipc.h: what the System V IPC objects share (kernel/ipc.c): keys, ids, permissions, the ABI's ipc64_perm.
 *
 * One IPC namespace for the whole guest, as one container has. An id is the table
 * index + seq * IPC_SEQ_MULT (Linux's ipcmni), so a reused slot gives a new id.
 * Permissions follow the mode bits without CAP_IPC_OWNER (Docker does not grant it);
 * the owner or creator may IPC_SET and IPC_RMID.
 */
#ifndef LIBOS_IPC_H
#define LIBOS_IPC_H

#include <libos/types.h>

#define IPC_PRIVATE 0
#define IPC_CREAT 01000
#define IPC_EXCL 02000
#define IPC_NOWAIT 04000
#define IPC_RMID 0
#define IPC_SET 1
#define IPC_STAT 2
#define IPC_INFO 3
#define IPC_64 0x100
#define IPC_SEQ_MULT 32768
#define IPC_MNI 128 /* objects of each kind (Linux: 32000 queues and sets, 4096 segments) */

/* An object's key, owner, creator and mode, and where its table keeps it. */
struct ipc_perm_k {
    s32 key;
    u32 uid, gid, cuid, cgid, mode;
    u16 seq, idx;
};

/* One kind's table (queues, semaphore sets, segments). Each object begins with its
 * struct ipc_perm_k, so a slot points at the object itself. */
struct ipc_ids {
    struct ipc_perm_k *slot[IPC_MNI];
    u16 next_seq[IPC_MNI]; /* the seq the slot's next object gets */
};

/* ipc_get_key's answer when the caller is to create the object: neither an id nor an errno. */
#define IPC_GET_CREATE (-0x100000000l)

/* struct ipc64_perm of the x86-64 ABI (IPC_STAT, IPC_SET). */
struct ipc64_perm {
    s32 key;
    u32 uid, gid, cuid, cgid, mode;
    u16 seq, pad2;
    u32 pad3;
    u64 unused1, unused2;
};

/* Linux's ipcget for key: the id of the object that has it, or -EEXIST (IPC_CREAT|IPC_EXCL),
 * -EINVAL (too_small(object, size): smaller than asked; NULL when size does not matter),
 * -EACCES, -ENOENT (no object, no IPC_CREAT), or IPC_GET_CREATE (IPC_PRIVATE always). */
long ipc_get_key(const struct ipc_ids *ids, s32 key, int flags, bool (*too_small)(const struct ipc_perm_k *, u64),
                 u64 size);
/* A free slot for a new object, or -ENOSPC. */
int ipc_new_slot(const struct ipc_ids *ids);
/* Put a new object in slot idx; the caller owns and created it, mode = flags & 0777. Its id. */
int ipc_install(struct ipc_ids *ids, int idx, struct ipc_perm_k *p, s32 key, int flags);
/* Take the object out of its table: its key and id name nothing from now on. */
void ipc_remove(struct ipc_ids *ids, const struct ipc_perm_k *p);
/* The object an id names, or NULL: a stale id (its slot reused since) names nothing. */
struct ipc_perm_k *ipc_lookup(const struct ipc_ids *ids, int id);
/* The object at a table index (the *_STAT commands take one), or NULL. */
struct ipc_perm_k *ipc_at_index(const struct ipc_ids *ids, int idx);
/* The highest index in use, 0 when none: IPC_INFO's answer, up to which ipcs walks. */
int ipc_max_index(const struct ipc_ids *ids);
/* An object's id: its index + seq * IPC_SEQ_MULT. */
static inline int ipc_id(const struct ipc_perm_k *p) { return p->idx + p->seq * IPC_SEQ_MULT; }
/* Linux's ipcperms without CAP_IPC_OWNER: want 4 (read), 2 (write/alter) or both. */
bool ipc_may(const struct ipc_perm_k *p, u32 want);
/* The owner or the creator (IPC_SET, IPC_RMID). */
bool ipc_owner(const struct ipc_perm_k *p);
/* The ABI form, and IPC_SET's change (uid, gid, the low nine mode bits). */
struct ipc64_perm ipc_perm_abi(const struct ipc_perm_k *p);
void ipc_perm_set(struct ipc_perm_k *p, const struct ipc64_perm *in);
/* The permission bits a get call's flags ask for on an existing object. */
static inline u32 ipc_flags_want(int flags) { return ((u32)flags >> 6 | (u32)flags >> 3 | (u32)flags) & 7; }
/* IPC times: seconds of the real-time clock. */
s64 ipc_now(void);

#endif
