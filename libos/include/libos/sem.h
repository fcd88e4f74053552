/* SPDX-License-Identifier: Apache-2.0 */
/* sem.h: System V semaphore sets (kernel/sem.c): one IPC namespace for the whole guest, as one container.
 *
 *   sem_get(key, nsems, flags)          semget(2): an id, or -errno.
 *   sem_ctl(id, num, cmd, arg)          semctl(2) (user pointers in arg are copied here).
 *   sem_timedop(id, sops, n, deadline)  semtimedop(2) on kernel sembufs; deadline a
 *                                       time_mono_ns() value or ~0ul; blocks interruptibly.
 * Permissions follow the mode bits without CAP_IPC_OWNER (Docker does not grant it); the
 * owner or creator may IPC_SET and IPC_RMID. SEM_UNDO is accepted, but no adjustment is
 * applied when a process exits.
 */
#ifndef LIBOS_SEM_H
#define LIBOS_SEM_H

#include <libos/types.h>

struct sembuf_k {
    u16 num;
    s16 op;
    s16 flg;
};

long sem_get(s32 key, int nsems, int flags);
long sem_ctl(int id, int num, int cmd, u64 arg);
long sem_timedop(int id, const struct sembuf_k *sops, u32 nsops, u64 deadline);

#endif
