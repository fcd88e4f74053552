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

/* An object's key, owner, creator and mode. */
struct ipc_perm_k {
    s32 key;
    u32 uid, gid, cuid, cgid, mode;
    u16 seq;
};

/* struct ipc64_perm of the x86-64 ABI (IPC_STAT, IPC_SET). */
struct ipc64_perm {
    s32 key;
    u32 uid, gid, cuid, cgid, mode;
    u16 seq, pad2;
    u32 pad3;
    u64 unused1, unused2;
};

/* A new object's permissions: the caller owns and created it, mode = flags & 0777. */
void ipc_perm_init(struct ipc_perm_k *p, s32 key, int flags, u16 seq);
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
