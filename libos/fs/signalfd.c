/* SPDX-License-Identifier: Apache-2.0 */
/* signalfd.c: signalfd(2) objects: reading takes the caller's pending signals of a mask as struct signalfd_siginfo records. */
#include <libos/errno.h>
#include <libos/eventfds.h>
#include <libos/heap.h>
#include <libos/poll.h>
#include <libos/signal.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

/* Linux's struct signalfd_siginfo (uapi/linux/signalfd.h): 128 bytes. */
struct signalfd_siginfo {
    u32 ssi_signo;
    s32 ssi_errno, ssi_code;
    u32 ssi_pid, ssi_uid;
    s32 ssi_fd;
    u32 ssi_tid, ssi_band, ssi_overrun, ssi_trapno;
    s32 ssi_status, ssi_int;
    u64 ssi_ptr, ssi_utime, ssi_stime, ssi_addr;
    u16 ssi_addr_lsb, pad2;
    s32 ssi_syscall;
    u64 ssi_call_addr;
    u32 ssi_arch;
    u8 pad[28];
};
_Static_assert(sizeof(struct signalfd_siginfo) == 128, "struct signalfd_siginfo");
_Static_assert(__builtin_offsetof(struct signalfd_siginfo, ssi_ptr) == 48, "ssi_ptr");
_Static_assert(__builtin_offsetof(struct signalfd_siginfo, ssi_addr_lsb) == 80, "ssi_addr_lsb");
_Static_assert(__builtin_offsetof(struct signalfd_siginfo, ssi_arch) == 96, "ssi_arch");

#define NSIGPOLL 6 /* POLL_IN..POLL_HUP: si_codes the kernel gives SIGIO */

struct signalfd {
    u64 mask; /* the signals read takes (bit sig-1) */
};

/* Which union member of a siginfo is valid: Linux's siginfo_layout() for x86-64. */
enum layout { L_KILL, L_TIMER, L_POLL, L_FAULT, L_CHLD, L_RT, L_SYS };

static enum layout layout_of(int sig, int code)
{
    if (code > SI_USER && code < SI_KERNEL) {
        /* The kernel's own codes: their number of values per signal (NSIGILL...). */
        static const struct { int sig, limit; enum layout l; } kernel[] = {
            {SIGILL, 11, L_FAULT}, {SIGFPE, 15, L_FAULT}, {SIGSEGV, 10, L_FAULT},
            {SIGBUS, 5, L_FAULT}, {SIGTRAP, 6, L_FAULT}, {SIGCHLD, 6, L_CHLD},
            {SIGIO, 6, L_POLL}, {SIGSYS, 2, L_SYS},
        };
        for (size_t i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++)
            if (kernel[i].sig == sig && code <= kernel[i].limit)
                return kernel[i].l;
        return code <= NSIGPOLL ? L_POLL : L_KILL;
    }
    if (code == SI_TIMER)
        return L_TIMER;
    if (code == SI_SIGIO)
        return L_POLL;
    return code < 0 ? L_RT : L_KILL;
}

/* Linux's signalfd_copyinfo: the fields of the siginfo's layout, everything else 0. */
static void to_ssi(const struct ksiginfo *in, struct signalfd_siginfo *o)
{
    memset(o, 0, sizeof(*o));
    o->ssi_signo = (u32)in->si_signo;
    o->ssi_errno = in->si_errno;
    o->ssi_code = in->si_code;
    switch (layout_of(in->si_signo, in->si_code)) {
    case L_KILL:
        o->ssi_pid = (u32)in->u.kill.pid;
        o->ssi_uid = in->u.kill.uid;
        break;
    case L_TIMER:
        o->ssi_tid = (u32)in->u.timer.tid;
        o->ssi_overrun = (u32)in->u.timer.overrun;
        o->ssi_ptr = in->u.timer.value;
        o->ssi_int = (s32)in->u.timer.value;
        break;
    case L_POLL:
        o->ssi_band = (u32)in->u.poll.band;
        o->ssi_fd = in->u.poll.fd;
        break;
    case L_FAULT:
        o->ssi_addr = in->u.fault.addr;
        break;
    case L_CHLD:
        o->ssi_pid = (u32)in->u.child.pid;
        o->ssi_uid = in->u.child.uid;
        o->ssi_status = in->u.child.status;
        o->ssi_utime = in->u.child.utime;
        o->ssi_stime = in->u.child.stime;
        break;
    case L_RT:
        o->ssi_pid = (u32)in->u.kill.pid;
        o->ssi_uid = in->u.kill.uid;
        o->ssi_ptr = in->u.kill.value;
        o->ssi_int = (s32)in->u.kill.value;
        break;
    case L_SYS: { /* _sigsys: call_addr at 16, syscall at 24, arch at 28 */
        u64 addr;
        s32 nr;
        u32 arch;
        memcpy(&addr, in->u.bytes, 8);
        memcpy(&nr, in->u.bytes + 8, 4);
        memcpy(&arch, in->u.bytes + 12, 4);
        o->ssi_call_addr = addr;
        o->ssi_syscall = nr;
        o->ssi_arch = arch;
        break;
    }
    }
}

/* As Linux's signalfd_read: as many records as fit; only the first may block. A signal
 * becoming pending calls readiness_changed() (signal.c), which ends the sleep. */
static long sfd_read(struct file *f, void *buf, size_t n)
{
    struct signalfd *s = f->priv;
    size_t want = n / sizeof(struct signalfd_siginfo);
    if (want == 0)
        return -EINVAL;
    long total = 0, r = 0;
    f->refs++; /* another thread may close the fd while we sleep */
    while ((size_t)total / sizeof(struct signalfd_siginfo) < want) {
        struct ksiginfo info;
        if (signal_dequeue(current, s->mask, &info)) {
            struct signalfd_siginfo ssi;
            to_ssi(&info, &ssi);
            if (uaccess_copy((u8 *)buf + total, &ssi, sizeof(ssi)) < 0) {
                r = -EFAULT;
                break;
            }
            total += sizeof(ssi);
            continue;
        }
        if (total)
            break;
        if (f->flags & O_NONBLOCK) {
            r = -EAGAIN;
            break;
        }
        if (waitq_wait(&readiness_wq, ~0ul, WAIT_INTERRUPTIBLE) == -EINTR) {
            r = -ERESTARTSYS;
            break;
        }
    }
    if (total)
        readiness_changed(); /* what other pollers of the same signals see has changed */
    file_put(f);
    return total ? total : r;
}

/* Readable when the polling thread has a signal of the mask pending, as Linux
 * (current's thread set or the process set). */
static u32 sfd_poll(struct file *f)
{
    return signal_pending_mask(current, ((struct signalfd *)f->priv)->mask) ? POLLIN : 0;
}

static void sfd_release(struct file *f) { kfree(f->priv); }

static const struct file_ops signalfd_ops = {
    .anon_name = "[signalfd]", /* /proc/[pid]/fd/N: anon_inode:[signalfd] */
    .read = sfd_read,
    .poll = sfd_poll,
    .poll_wakes = true,
    .release = sfd_release,
    .lseek = anon_lseek,
};

long signalfd_set(int fd, u64 mask, int flags)
{
    if (flags & ~(SFD_NONBLOCK | SFD_CLOEXEC))
        return -EINVAL; /* checked for an update too, as Linux */
    mask &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    if (fd != -1) {
        struct file *f = fd_get(fd);
        if (!f)
            return -EBADF;
        if (f->ops != &signalfd_ops)
            return -EINVAL;
        ((struct signalfd *)f->priv)->mask = mask;
        readiness_changed();
        return fd;
    }
    struct signalfd *s = kzalloc(sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->mask = mask;
    struct file *f = anon_file_new(&signalfd_ops, s, O_RDWR | (flags & SFD_NONBLOCK));
    if (!f) {
        kfree(s);
        return -ENOMEM;
    }
    return anon_fd_install(f, flags & SFD_CLOEXEC);
}
