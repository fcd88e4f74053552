/* SPDX-License-Identifier: Apache-2.0 */
/* console.c: the application's tty on COM1: raw byte I/O and the terminal ioctls libcs probe.
 *
 * Output is raw (the termios reports ONLCR off, docs/console-protocol.md), so the
 * bytes match a native run. Input is polled: read() waits for one byte, then
 * returns what has arrived, up to a newline; CR becomes NL (ICRNL) and ^D at the
 * start of a read is end of file. There is no echo.
 *
 * poll: always writable; readable when a byte is waiting (any byte, as read() returns
 * what has arrived without waiting for a line). A 16550 has no end of file: when the
 * host's stdin is at EOF nothing more arrives, so stdin looks like a tty nobody types
 * into (a poll waits for its timeout, a read blocks); only a ^D byte reads as EOF.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/memlayout.h>
#include <libos/poll.h>
#include <libos/serial.h>
#include <libos/string.h>
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
        time_sleep_until(time_mono_ns() + POLL_RECHECK_NS); /* no RX interrupt: look again */
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
    case TIOCGSID:
        return put_int(arg, 1); /* the application is process group and session 1 */
    case TIOCSPGRP:
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
    /* fds 0, 1 and 2 share one open file description, as after login on Linux. */
    long err;
    struct file *f = vfs_open_node(console, O_RDWR, &err);
    fd_install(f, 0, false);
    fd_dup(0, 1, false);
    fd_dup(0, 2, false);
}

struct vnode *console_node(void) { return console; }
