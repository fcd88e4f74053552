/* SPDX-License-Identifier: Apache-2.0 */
/* pidfd.h: descriptors that refer to a process (fs/pidfd.c): pidfd_open, CLONE_PIDFD, waitid(P_PIDFD), pidfd_send_signal.
 *
 * A pidfd names one process for as long as it is open, even after that process is
 * reaped and its pid reused: it records the pid and the process's serial number, and
 * finds the process only while both match. It polls readable once the process has
 * exited (a zombie, or reaped), as Linux's.
 */
#ifndef LIBOS_PIDFD_H
#define LIBOS_PIDFD_H

#include <libos/types.h>

struct process;

/* A new pidfd for p (close-on-exec, as Linux's always are; O_NONBLOCK from flags): the
 * fd, or -errno. */
long pidfd_create(struct process *p, int flags);
/* CLONE_PIDFD: the fd exists before the child, so its errors (EMFILE, ENOMEM) fail the
 * clone before anything is made. pidfd_reserve() installs a pidfd naming nobody yet and
 * returns the fd; pidfd_bind() names the new child; pidfd_cancel() closes it when the
 * fork failed. Nothing runs in between (one CPU, no kernel preemption). */
long pidfd_reserve(void);
void pidfd_bind(int fd, struct process *p);
void pidfd_cancel(int fd);
/* The process pidfd fd refers to: 0 with *p (NULL once it has been reaped), *pid and,
 * if nonblock is not NULL, whether the pidfd is O_NONBLOCK; -EBADF when fd is not an
 * open pidfd. */
long pidfd_target(int fd, struct process **p, int *pid, bool *nonblock);

#endif
