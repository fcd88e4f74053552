/* SPDX-License-Identifier: Apache-2.0 */
/* epoll.h: epoll instances: an interest list of open files scanned through their poll ops (fs/epoll.c).
 *
 * Interface (docs/event-fds.md, "epoll"):
 *   epoll_create(flags)            a new epoll file (EPOLL_CLOEXEC); its fd or -errno.
 *   epoll_ctl(epfd, op, fd, ev)    ADD/MOD/DEL with Linux's errors (ev may be NULL for DEL).
 *   epoll_wait(epfd, out, max, deadline, sigmask)
 *                                  scan, sleep on readiness_wq until the deadline (0: scan
 *                                  once; POLL_FOREVER), fill up to max kernel records; the
 *                                  count, 0 at the deadline, -EINTR when a signal ends it
 *                                  (Linux never restarts epoll_wait). sigmask as ppoll's.
 *   epoll_file_gone(f)             file.c: f's last reference went; every epoll forgets it
 *                                  (Linux's eventpoll_release).
 */
#ifndef LIBOS_EPOLL_H
#define LIBOS_EPOLL_H

#include <libos/types.h>

#define EPOLL_CLOEXEC 02000000
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3

#define EPOLLIN 0x001
#define EPOLLPRI 0x002
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLHUP 0x010
#define EPOLLRDHUP 0x2000
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP (1u << 29)
#define EPOLLONESHOT (1u << 30)
#define EPOLLET (1u << 31)

/* struct epoll_event of the x86-64 ABI: packed, 12 bytes. */
struct kepoll_event {
    u32 events;
    u64 data;
} __attribute__((packed));
_Static_assert(sizeof(struct kepoll_event) == 12, "struct epoll_event");

struct file;

long epoll_create(int flags);
long epoll_ctl(int epfd, int op, int fd, const struct kepoll_event *ev);
long epoll_wait(int epfd, struct kepoll_event *out, u32 max, u64 deadline, const u64 *sigmask);
void epoll_file_gone(struct file *f);

#endif /* LIBOS_EPOLL_H */
