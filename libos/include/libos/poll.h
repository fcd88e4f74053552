/* SPDX-License-Identifier: Apache-2.0 */
/* poll.h: readiness of open files and the waits behind poll(2) and select(2) (fs/poll.c).
 *
 * Interface:
 *   vfs_poll_fd(fd, &live)   Linux's ready mask for one fd: POLLNVAL when the fd is not open
 *                            (or is O_PATH); the file's poll op; else POLLIN|POLLOUT|RDNORM|WRNORM
 *                            (regular files, directories and the /dev devices never block).
 *                            live is set when the answer can change while we wait with no
 *                            readiness_changed() call (the console; not files with poll_wakes).
 *   vfs_poll()/vfs_select()  scan, and while nothing is ready sleep on readiness_wq until the
 *                            deadline (a time_mono_ns() value; 0 scans once, POLL_FOREVER never
 *                            times out). Live files are re-checked every POLL_RECHECK_NS: the UART
 *                            raises no interrupt here. A signal ends the wait: -ERESTARTNOHAND.
 *                            sigmask (may be NULL) is the blocked set during the wait, restored
 *                            afterwards, or after signal delivery when interrupted (ppoll/pselect6).
 * The arrays are kernel copies; the syscall layer copies them in and out.
 */
#ifndef LIBOS_POLL_H
#define LIBOS_POLL_H

#include <libos/types.h>

#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLRDBAND 0x080
#define POLLWRNORM 0x100
#define POLLWRBAND 0x200

#define POLL_FOREVER (~0ul)
#define POLL_RECHECK_NS 1000000ul /* 1 ms: input latency vs. timer wake-ups while waiting */

/* struct pollfd of the Linux ABI. */
struct kpollfd {
    s32 fd;
    s16 events, revents;
};
_Static_assert(sizeof(struct kpollfd) == 8, "struct pollfd");

u32 vfs_poll_fd(int fd, bool *live);
/* poll(2): fills every revents; returns how many are non-zero (0: the deadline passed). */
long vfs_poll(struct kpollfd *fds, u32 n, u64 deadline, const u64 *sigmask);
/* select(2) on n-bit fd sets (NULL: empty), each ALIGN_UP(n, 64) / 64 words: -EBADF when a
 * listed fd is not open; else each set is replaced by its ready fds and their count returned. */
long vfs_select(u32 n, u64 *in, u64 *out, u64 *ex, u64 deadline, const u64 *sigmask);
/* The pieces epoll (fs/epoll.c) shares: after a scan found nothing, 0 at the deadline,
 * -EINTR on a signal, else 1 after sleeping on readiness_wq; and ppoll's temporary mask. */
int poll_wait_more(u64 deadline, bool live);
void poll_sigmask_begin(const u64 *sigmask, u64 *saved);
void poll_sigmask_end(const u64 *sigmask, u64 saved, bool interrupted);

#endif /* LIBOS_POLL_H */
