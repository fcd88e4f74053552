/* SPDX-License-Identifier: Apache-2.0 */
/* console.c: the application's tty on COM1: raw byte I/O and the terminal ioctls libcs probe.
 *
 * Output is raw (the termios reports ONLCR off, docs/console-protocol.md), so the
 * bytes match a native run. Input is polled (only the reading thread waits, waking
 * every POLL_RECHECK_NS; a signal interrupts it): read() waits for one byte, then
 * returns what has arrived, up to a newline; CR becomes NL (ICRNL) and ^D at the
 * start of a read is end of file. There is no echo.
 *
 * poll: always writable; readable when a byte is waiting (any byte, as read() returns
 * what has arrived without waiting for a line). A 16550 has no end of file: when the
 * host's stdin is at EOF nothing more arrives, so stdin looks like a tty nobody types
 * into (a poll waits for its timeout, a read blocks); only a ^D byte reads as EOF.
 *
 * That tty is what `dock2uni run -t` gives. Without -t (d2u.stdio=pipes or pipes-in,
 * docs/console-protocol.md) fds 0-2 are three pipe-like files, as `docker run` gives:
 * stdout writes COM1, stderr COM3 (COM1 if QEMU has no third UART), and stdin is at end
 * of file at once (pipes) or reads COM1 byte for byte (pipes-in), where the host
 * escapes the byte 0xff as 0xff 0xff and marks its end of file with 0xff 0x00, so any
 * byte can pass. None of them is a tty (TCGETS fails with ENOTTY).
 */
#include <libos/cmdline.h>
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/memlayout.h>
#include <libos/poll.h>
#include <libos/proc.h>
#include <libos/serial.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

#define TCGETS 0x5401
#define TCSETS 0x5402
#define TCSETSW 0x5403
#define TCSETSF 0x5404
#define TCSBRK 0x5409
#define TCXONC 0x540a
#define TCFLSH 0x540b
#define TIOCSCTTY 0x540e
#define TIOCGPGRP 0x540f
#define TIOCSPGRP 0x5410
#define TIOCOUTQ 0x5411
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONREAD 0x541b
#define TIOCNOTTY 0x5422
#define TIOCGSID 0x5429

#define CONSOLE_DEV 0x17 /* st_dev: makedev(0, 23), a devpts-like device */
#define EOT 0x04
#define PIPE_ESC 0xff /* stdin without a tty: 0xff 0xff is 0xff, 0xff 0x00 end of file */

struct termios {
    u32 c_iflag, c_oflag, c_cflag, c_lflag;
    u8 c_line;
    u8 c_cc[19];
};
_Static_assert(sizeof(struct termios) == 36, "Linux kernel struct termios (TCGETS)");

struct winsize {
    u16 ws_row, ws_col, ws_xpixel, ws_ypixel;
};

/* Linux's defaults for a fresh pty, except ONLCR (raw output). */
static struct termios termios = {
    .c_iflag = 0x500,  /* ICRNL | IXON */
    .c_oflag = 0x1,    /* OPOST */
    .c_cflag = 0xbf,   /* B38400 | CS8 | CREAD */
    .c_lflag = 0x8a3b, /* ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN */
    .c_cc = {3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0xf, 0x17, 0x16, 0},
};
static struct winsize winsize = {24, 80, 0, 0};
static struct vnode *console;
static int pending = -1; /* one byte read ahead by FIONREAD */

static int next_byte(void)
{
    if (pending >= 0) {
        int c = pending;
        pending = -1;
        return c;
    }
    return serial_read_byte(COM1_PORT);
}

/* Wait for input: the UART raises no interrupt here, so the reader's thread sleeps
 * POLL_RECHECK_NS and looks again (other threads run meanwhile). A signal ends the
 * wait with -ERESTARTSYS: EINTR, or the read again under SA_RESTART. */
static long wait_for_input(void)
{
    int r = waitq_wait(NULL, time_mono_ns() + POLL_RECHECK_NS, WAIT_INTERRUPTIBLE);
    return r == -EINTR ? -ERESTARTSYS : 0;
}

static long console_write(struct file *f, const void *buf, size_t n)
{
    u8 chunk[256];
    for (size_t done = 0; done < n;) {
        size_t k = MIN(n - done, sizeof(chunk));
        if (uaccess_copy(chunk, (const u8 *)buf + done, k) < 0)
            return done ? (long)done : -EFAULT;
        serial_write(COM1_PORT, chunk, k);
        done += k;
    }
    return (long)n;
}

static long console_read(struct file *f, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    int c;
    while ((c = next_byte()) < 0) {
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        long r = wait_for_input();
        if (r < 0)
            return r;
    }
    if (c == EOT)
        return 0;
    u8 chunk[256];
    size_t got = 0;
    for (;;) {
        if (c == '\r')
            c = '\n';
        chunk[got++] = (u8)c;
        if (c == '\n' || got == n || got == sizeof(chunk) || (c = next_byte()) < 0 || c == EOT) {
            if (c == EOT)
                pending = EOT;
            break;
        }
    }
    return uaccess_copy(buf, chunk, got) < 0 ? -EFAULT : (long)got;
}

static u32 console_poll(struct file *f)
{
    u32 mask = POLLOUT | POLLWRNORM;
    if (pending >= 0 || serial_rx_ready(COM1_PORT))
        mask |= POLLIN | POLLRDNORM;
    return mask;
}

static long put_int(u64 arg, int v) { return copy_to_user(arg, &v, sizeof(v)); }

static long console_ioctl(struct file *f, unsigned cmd, u64 arg)
{
    switch (cmd) {
    case TCGETS:
        return copy_to_user(arg, &termios, sizeof(termios));
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
        return copy_from_user(&termios, arg, sizeof(termios));
    case TIOCGWINSZ:
        return copy_to_user(arg, &winsize, sizeof(winsize));
    case TIOCSWINSZ:
        return copy_from_user(&winsize, arg, sizeof(winsize));
    case TIOCGPGRP:
        return put_int(arg, proc_tty_pgrp()); /* the foreground group (kernel/proc.c) */
    case TIOCGSID:
        return put_int(arg, 1); /* the console is session 1's controlling terminal */
    case TIOCSPGRP: {
        int pgid;
        if (copy_from_user(&pgid, arg, sizeof(pgid)) < 0)
            return -EFAULT;
        return proc_tty_set_pgrp(pgid);
    }
    case TIOCSCTTY:
    case TIOCNOTTY:
    case TCSBRK:
    case TCXONC:
    case TCFLSH:
        return 0;
    case TIOCOUTQ:
        return put_int(arg, 0);
    case FIONREAD:
        if (pending < 0)
            pending = serial_read_byte(COM1_PORT);
        return put_int(arg, pending >= 0);
    default:
        return -ENOTTY;
    }
}

/* -- without a tty: stdin, stdout and stderr as pipes ----------------------------------- */

static bool stdin_eof;
static int stdin_held = -1; /* a decoded byte taken by poll or FIONREAD */

/* One decoded stdin byte: 0-255, -1 if none has arrived yet, -2 at end of file. */
static int stdin_byte(void)
{
    if (stdin_held >= 0) {
        int c = stdin_held;
        stdin_held = -1;
        return c;
    }
    if (stdin_eof || kopts.stdio != STDIO_PIPES_IN)
        return -2;
    int c = serial_read_byte(COM1_PORT);
    if (c != PIPE_ESC)
        return c;
    /* The escape's second byte follows at once on the host side; wait for it. */
    while ((c = serial_read_byte(COM1_PORT)) < 0)
        time_sleep_until(time_mono_ns() + POLL_RECHECK_NS);
    if (c == PIPE_ESC)
        return PIPE_ESC;
    stdin_eof = true;
    return -2;
}

static long stdin_read(struct file *f, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    int c;
    while ((c = stdin_byte()) == -1) {
        if (f->flags & O_NONBLOCK)
            return -EAGAIN;
        long r = wait_for_input();
        if (r < 0)
            return r;
    }
    if (c == -2)
        return 0;
    /* Return what has arrived, as a pipe does, without waiting for more. */
    u8 chunk[256];
    size_t got = 0;
    for (;;) {
        chunk[got++] = (u8)c;
        if (got == n || got == sizeof(chunk))
            break;
        c = stdin_byte();
        if (c < 0) {
            if (c == -2)
                stdin_eof = true;
            break;
        }
    }
    return uaccess_copy(buf, chunk, got) < 0 ? -EFAULT : (long)got;
}

static u32 stdin_poll(struct file *f)
{
    if (stdin_held < 0) {
        int c = stdin_byte();
        if (c >= 0)
            stdin_held = c;
        else if (c == -1)
            return 0;
    }
    return POLLIN | POLLRDNORM; /* data, or end of file: a read does not block */
}

static long stdin_ioctl(struct file *f, unsigned cmd, u64 arg)
{
    if (cmd != FIONREAD)
        return -ENOTTY;
    if (stdin_held < 0) {
        int c = stdin_byte();
        if (c >= 0)
            stdin_held = c;
    }
    return put_int(arg, stdin_held >= 0);
}

static long pipe_write(u16 port, const void *buf, size_t n)
{
    u8 chunk[256];
    for (size_t done = 0; done < n;) {
        size_t k = MIN(n - done, sizeof(chunk));
        if (uaccess_copy(chunk, (const u8 *)buf + done, k) < 0)
            return done ? (long)done : -EFAULT;
        serial_write(port, chunk, k);
        done += k;
    }
    return (long)n;
}

static long stdout_write(struct file *f, const void *buf, size_t n)
{
    return pipe_write(COM1_PORT, buf, n);
}

static long stderr_write(struct file *f, const void *buf, size_t n)
{
    return pipe_write(serial_stderr_port(), buf, n);
}

static long pipe_ioctl(struct file *f, unsigned cmd, u64 arg)
{
    if (cmd == FIONREAD)
        return put_int(arg, 0);
    return -ENOTTY;
}

static u32 pipe_out_poll(struct file *f) { return POLLOUT | POLLWRNORM; }

static const struct file_ops stdin_ops = {
    .read = stdin_read,
    .ioctl = stdin_ioctl,
    .poll = stdin_poll,
};
static const struct file_ops stdout_ops = {
    .write = stdout_write,
    .ioctl = pipe_ioctl,
    .poll = pipe_out_poll,
    .splice_write = true,
};
static const struct file_ops stderr_ops = {
    .write = stderr_write,
    .ioctl = pipe_ioctl,
    .poll = pipe_out_poll,
    .splice_write = true,
};

/* A pipe-like node (S_IFIFO, as `docker run` without -t gives) with its own inode. */
static void install_pipe(const struct file_ops *ops, u64 ino, int flags, int fd)
{
    struct vnode *node = kzalloc(sizeof(*node));
    node->mode = S_IFIFO | 0600;
    node->nlink = 1;
    node->ino = ino;
    node->dev = CONSOLE_DEV + 1; /* a pipefs-like device of its own */
    node->ops = ops;
    long err;
    struct file *f = vfs_open_node(node, flags, &err);
    fd_install(f, fd, false);
}

static const struct file_ops console_ops = {
    .read = console_read,
    .write = console_write,
    .ioctl = console_ioctl,
    .poll = console_poll,
    .is_tty = true,
    /* sendfile from the tty fails with EINVAL as before Linux 6.5: a sendfile copies until
     * count bytes or EOF, and the console has no EOF, so typed lines would be held back;
     * on EINVAL cat and friends fall back to read/write, which return line by line. */
    .splice_read = false,
    .splice_write = true,
};

const struct file_ops *console_file_ops(void) { return &console_ops; }

void console_init(void)
{
    console = kzalloc(sizeof(*console));
    console->mode = S_IFCHR | 0620;
    console->nlink = 1;
    console->ino = 3;
    console->dev = CONSOLE_DEV;
    console->rdev = makedev(136, 0); /* /dev/pts/0 */
    console->ops = &console_ops;
    if (kopts.stdio != STDIO_TTY) {
        install_pipe(&stdin_ops, 4, O_RDONLY, 0);
        install_pipe(&stdout_ops, 5, O_WRONLY, 1);
        install_pipe(&stderr_ops, 6, O_WRONLY, 2);
        return;
    }
    /* fds 0, 1 and 2 share one open file description, as after login on Linux. */
    long err;
    struct file *f = vfs_open_node(console, O_RDWR, &err);
    fd_install(f, 0, false);
    fd_dup(0, 1, false);
    fd_dup(0, 2, false);
}

struct vnode *console_node(void) { return console; }
