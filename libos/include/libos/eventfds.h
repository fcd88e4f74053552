/* SPDX-License-Identifier: Apache-2.0 */
/* eventfds.h: file objects that report events: eventfd, timerfd and signalfd (fs/eventfd.c, fs/timerfd.c, fs/signalfd.c).
 *
 * Interface (docs/event-fds.md):
 *   eventfd_create()          a counter file: read takes it (or 1 with EFD_SEMAPHORE), write adds.
 *   timerfd_create/settime/gettime()  a timer file on one clock; read returns the number of
 *                             expirations since the last read.
 *   signalfd_set()            a file that takes pending signals of a mask (new, or a new mask
 *                             for an existing signalfd); read returns struct signalfd_siginfo.
 * All return an fd or 0, or -errno, and are anonymous files (vfs.h: anon_file_new). Reads block
 * on a wait queue (interruptible: -ERESTARTSYS when a signal is pending) unless O_NONBLOCK;
 * every change of readiness calls readiness_changed() (task.h) for poll and select.
 */
#ifndef LIBOS_EVENTFDS_H
#define LIBOS_EVENTFDS_H

#include <libos/types.h>

/* eventfd2 flags (Linux: EFD_CLOEXEC = O_CLOEXEC, EFD_NONBLOCK = O_NONBLOCK). */
#define EFD_SEMAPHORE 1
#define EFD_NONBLOCK 04000
#define EFD_CLOEXEC 02000000

/* timerfd flags. */
#define TFD_NONBLOCK 04000
#define TFD_CLOEXEC 02000000
#define TFD_TIMER_ABSTIME 1
#define TFD_TIMER_CANCEL_ON_SET 2

/* signalfd4 flags. */
#define SFD_NONBLOCK 04000
#define SFD_CLOEXEC 02000000

/* A time value in nanoseconds as an itimerspec: it_interval, it_value. */
struct tfd_spec {
    s64 interval_sec, interval_nsec;
    s64 value_sec, value_nsec;
};

long eventfd_create(u32 initval, int flags);

/* inotify (fs/inotify.c): a real file that never reports an event (STUB: nothing is
 * watched). Watches are checked and numbered as Linux's (one wd per inode, IN_MASK_ADD,
 * IN_MASK_CREATE), and never fire; reads wait (or EAGAIN), poll is never readable. */
#define IN_NONBLOCK 04000
#define IN_CLOEXEC 02000000
struct vnode;
long inotify_create(int flags);
/* 0 when fd is an inotify file, else -EBADF (no file) or -EINVAL. */
long inotify_check(int fd);
long inotify_add_watch_node(int fd, struct vnode *n, u32 mask);
long inotify_rm_watch_wd(int fd, int wd);

/* clockid: CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, or their _ALARM forms (root only,
 * as with CAP_WAKE_ALARM). -EINVAL for other clocks or flags. */
long timerfd_create(int clockid, int flags);
/* new is validated here (-EINVAL); old (may be NULL) receives the previous setting. */
long timerfd_settime(int fd, int flags, const struct tfd_spec *new, struct tfd_spec *old);
long timerfd_gettime(int fd, struct tfd_spec *cur);

/* fd -1: a new signalfd taking the signals in mask (bit sig-1; SIGKILL and SIGSTOP are
 * dropped), with SFD_* flags; else fd must be a signalfd and gets the new mask (flags are checked, not applied). */
long signalfd_set(int fd, u64 mask, int flags);

#endif /* LIBOS_EVENTFDS_H */
