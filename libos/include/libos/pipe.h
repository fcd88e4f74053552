/* SPDX-License-Identifier: Apache-2.0 */
/* pipe.h: anonymous pipes (fs/pipe.c, docs/pipes.md): a byte ring shared by a read end and a write end.
 *
 * Interface:
 *   pipe_create(fds, flags)   pipe2(2): two open files installed as fds[0] (read) and fds[1]
 *                             (write); flags O_CLOEXEC | O_NONBLOCK, else -EINVAL.
 *   pipe_fcntl_size(f, cmd, arg)  F_GETPIPE_SZ / F_SETPIPE_SZ; -EBADF when f is no pipe.
 */
#ifndef LIBOS_PIPE_H
#define LIBOS_PIPE_H

#include <libos/types.h>

#define PIPE_BUF 4096           /* writes up to this size are atomic */
#define PIPE_DEF_SIZE 65536     /* Linux's default capacity: 16 pages */
#define PIPE_MAX_SIZE 1048576   /* /proc/sys/fs/pipe-max-size */
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032

struct file;

long pipe_create(int fds[2], int flags);
long pipe_fcntl_size(struct file *f, int cmd, u64 arg);
/* Free bytes in the pipe of f (a pipe or an open FIFO end), or -1 when f is no pipe (splice). */
long pipe_room(const struct file *f);

#endif /* LIBOS_PIPE_H */
