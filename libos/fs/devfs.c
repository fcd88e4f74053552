/* SPDX-License-Identifier: Apache-2.0 */
/* devfs.c: /dev: null, zero, full, random, urandom, tty, console by device number; stdin/stdout/stderr/fd links into /proc/self/fd; the shm directory. */
#include <libos/cmdline.h>
#include <libos/errno.h>
#include <libos/random.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>


static long null_read(struct file *f, void *buf, size_t n) { return 0; }
static long null_pread(struct file *f, void *buf, size_t n, u64 off) { return 0; }
static long sink_write(struct file *f, const void *buf, size_t n) { return (long)n; }
static long full_write(struct file *f, const void *buf, size_t n) { return -ENOSPC; }

static long zero_read(struct file *f, void *buf, size_t n) { return uaccess_zero(buf, n) < 0 ? -EFAULT : (long)n; }
static long zero_pread(struct file *f, void *buf, size_t n, u64 off) { return zero_read(f, buf, n); }

static long random_read(struct file *f, void *buf, size_t n)
{
    u8 chunk[256];
    for (size_t done = 0; done < n;) {
        size_t k = MIN(n - done, sizeof(chunk));
        random_bytes(chunk, k);
        if (uaccess_copy((u8 *)buf + done, chunk, k) < 0)
            return done ? (long)done : -EFAULT;
        done += k;
    }
    return (long)n;
}

static long random_pread(struct file *f, void *buf, size_t n, u64 off) { return random_read(f, buf, n); }

/* Linux's null, zero, full and random devices accept any seek and stay at position 0. */
static long pos_zero_lseek(struct file *f, s64 off, int whence)
{
    f->pos = 0;
    return 0;
}

/* splice_read/splice_write as Linux 6.x's drivers: sendfile cannot read /dev/null or write /dev/full. */
static const struct file_ops null_ops = {.read = null_read, .pread = null_pread, .write = sink_write,
    .lseek = pos_zero_lseek, .seekable = true, .splice_write = true};
static const struct file_ops zero_ops = {.read = zero_read, .pread = zero_pread, .write = sink_write,
    .lseek = pos_zero_lseek, .seekable = true, .splice_read = true, .splice_write = true};
static const struct file_ops full_ops = {.read = zero_read, .pread = zero_pread, .write = full_write,
    .lseek = pos_zero_lseek, .seekable = true, .splice_read = true};
static const struct file_ops random_ops = {.read = random_read, .pread = random_pread, .write = sink_write,
    .lseek = pos_zero_lseek, .seekable = true, .splice_read = true, .splice_write = true};

static const struct {
    const char *name;
    u32 major, minor;
} devices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8},
    {"urandom", 1, 9}, {"tty", 5, 0}, {"console", 5, 1},
};

/* As Docker's /dev: the standard streams are links into /proc/self/fd, so a log file
 * linked to /dev/stderr (the nginx image's) writes to the program's own fd 2, a pipe
 * or the terminal (fs/procfs_pid.c follows those links to the open file itself). */
static const struct {
    const char *name, *target;
} links[] = {
    {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
    {"fd", "/proc/self/fd"},
};

const struct file_ops *devfs_ops_for(u64 rdev)
{
    u32 major = dev_major(rdev), minor = dev_minor(rdev);
    if (major == 1) {
        switch (minor) {
        case 3:
            return &null_ops;
        case 5:
            return &zero_ops;
        case 7:
            return &full_ops;
        case 8:
        case 9:
            return &random_ops;
        }
    }
    /* /dev/tty is the controlling terminal: with `run -t` the console; without one
     * (Docker without -t) opening it fails with ENXIO. */
    if (major == 5 && minor == 0)
        return kopts.stdio == STDIO_TTY ? console_file_ops() : NULL;
    if ((major == 5 && minor == 1) || major == 136 || (major == 4 && minor == 0))
        return console_file_ops();
    return NULL; /* opening it gives ENXIO */
}

static u32 strlen32(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    return n;
}

void devfs_init(void)
{
    struct vnode *dev = ramfs_child(vfs_root(), "dev", 3);
    if (!dev) {
        dev = ramfs_new_node(S_IFDIR | 0755);
        ramfs_link(vfs_root(), "dev", 3, dev);
    }
    if (!S_ISDIR(dev->mode))
        return;
    for (unsigned i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
        u32 len = strlen32(devices[i].name);
        if (ramfs_child(dev, devices[i].name, len))
            continue; /* the image has its own node; its device number decides */
        struct vnode *n = ramfs_new_node(S_IFCHR | 0666);
        n->rdev = makedev(devices[i].major, devices[i].minor);
        n->ops = devfs_ops_for(n->rdev);
        ramfs_link(dev, devices[i].name, len, n);
    }
    for (unsigned i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        u32 len = strlen32(links[i].name);
        if (ramfs_child(dev, links[i].name, len))
            continue;
        struct vnode *n = ramfs_new_node(S_IFLNK | 0777);
        n->data = (const u8 *)links[i].target;
        n->size = strlen32(links[i].target);
        ramfs_link(dev, links[i].name, len, n);
    }
    /* Docker mounts a tmpfs on /dev/shm (mode 1777): glibc's shm_open and sem_open create
     * their files there, so without it python's multiprocessing locks (named semaphores)
     * fail with ENOENT. Here it is an ordinary directory of the one RAM filesystem; a file
     * in it mapped MAP_SHARED is shared across fork like any other (mm/uvm.c). */
    if (!ramfs_child(dev, "shm", 3))
        ramfs_link(dev, "shm", 3, ramfs_new_node(S_IFDIR | 01777));
}
