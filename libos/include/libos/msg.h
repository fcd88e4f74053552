/* SPDX-License-Identifier: Apache-2.0 */
/* msg.h: System V message queues (kernel/msg.c): one IPC namespace for the whole guest, as one container.
 *
 *   msg_get(key, flags)                          msgget(2): an id, or -errno.
 *   msg_snd(id, umsg, size, flags)               msgsnd(2): umsg is the user's {long mtype; char mtext[]}.
 *   msg_rcv(id, umsg, size, type, flags)         msgrcv(2): the bytes of mtext copied, or -errno.
 *   msg_ctl(id, cmd, ubuf)                       msgctl(2).
 * Blocking calls sleep interruptibly and are never restarted after a signal (signal(7));
 * permissions follow the mode bits without CAP_IPC_OWNER, and raising msg_qbytes past
 * MSGMNB needs CAP_SYS_RESOURCE, which Docker does not grant (EPERM).
 */
#ifndef LIBOS_MSG_H
#define LIBOS_MSG_H

#include <libos/types.h>

long msg_get(s32 key, int flags);
long msg_snd(int id, u64 umsg, long size, int flags);
long msg_rcv(int id, u64 umsg, long size, long type, int flags);
long msg_ctl(int id, int cmd, u64 ubuf);

#endif
