/* SPDX-License-Identifier: Apache-2.0 */
/* shm.h: System V shared memory segments (fs/sysvshm.c): shmget, shmat, shmdt, shmctl with Linux's rules.
 *
 *   shm_get(key, size, flags)      shmget(2): an id, or -errno.
 *   shm_at(id, addr, flags)        shmat(2): the attach address, or -errno.
 *   shm_dt(addr)                   shmdt(2): 0, or -errno.
 *   shm_ctl(id, cmd, ubuf)         shmctl(2) (ubuf a user pointer).
 *
 * A segment's memory is an unlinked file of the RAM filesystem (as Linux's are shmem
 * files): every attach maps that file's own pages, so all attaches, in any process and
 * across fork, see the same bytes, and the pages count against the filesystem's space.
 * One namespace for the guest and the permission rules of ipc.h.
 */
#ifndef LIBOS_SHM_H
#define LIBOS_SHM_H

#include <libos/types.h>

long shm_get(s32 key, u64 size, int flags);
long shm_at(int id, u64 addr, int flags);
long shm_dt(u64 addr);
long shm_ctl(int id, int cmd, u64 ubuf);

#endif
