/* SPDX-License-Identifier: Apache-2.0 */
/* vfs.h: files: the writable RAM filesystem seeded from the cpio rootfs, devices, fds, path lookup.
 *
 * Interface:
 *   vfs_init(cpio)          parse the cpio newc archive in place into vnodes, add /dev and /proc.
 *   vfs_lookup()            path -> vnode with Linux rules (cwd or dirfd, "..", symlinks, 40 hops).
 *   vfs_openat()/vfs_open_node()  open file descriptions; fd_*() manage the fd table.
 *   file ops                read/write/pread/pwrite/ioctl/getdents; buffers were range-checked by
 *                           the caller and are copied with uaccess_copy (user or kernel memory).
 *   vfs_mkdirat() & co.     namespace changes (fs/namei.c) and attribute changes (fs/attr.c).
 *   fdata_*()               contents of regular files: archive bytes + written pages (fs/fdata.c).
 *   vfs_sendfile()          sendfile(2) between two open files through a kernel buffer.
 *   readiness               poll/select over fds: libos/poll.h (fs/poll.c).
 * All functions return >= 0 or -errno. Vnodes are freed when their last link and last
 * reference (open file, mapping, cwd) are gone; files are reference counted.
 * docs/filesystem.md describes the design.
 */
#ifndef LIBOS_VFS_H
#define LIBOS_VFS_H

#include <libos/types.h>

/* Linux mode bits and open flags (x86-64). */
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFLNK 0120000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFIFO 0010000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
#define S_ISCHR(m) (((m) & S_IFMT) == S_IFCHR)
#define S_ISFIFO(m) (((m) & S_IFMT) == S_IFIFO)

#define O_ACCMODE 03
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DSYNC 010000
#define O_ASYNC 020000
#define O_DIRECT 040000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_NOATIME 01000000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define O_TMPFILE (020000000 | O_DIRECTORY)

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_SYMLINK_FOLLOW 0x400
#define AT_NO_AUTOMOUNT 0x800
#define AT_EMPTY_PATH 0x1000

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define SEEK_DATA 3
#define SEEK_HOLE 4

#define PATH_MAX 4096
#define NAME_MAX 255
/* The fd table's largest size: Linux's default fs.nr_open (RLIMIT_NOFILE above it is
 * EPERM). Tables grow on demand, so a high limit costs nothing until fds are used. */
#define FD_MAX (1 << 20)
/* select looks at fds below this only (glibc's FD_SETSIZE: a larger fd overflows fd_set
 * anyway); Linux would look up to its table's size. */
#define SELECT_FD_MAX 1024
#define SYMLOOP_MAX 40

static inline u64 makedev(u32 major, u32 minor)
{
    return ((u64)(major & 0xfffff000) << 32) | ((major & 0xfff) << 8) |
           ((u64)(minor & 0xffffff00) << 12) | (minor & 0xff);
}
static inline u32 dev_major(u64 d) { return (u32)(((d >> 32) & 0xfffff000) | ((d >> 8) & 0xfff)); }
static inline u32 dev_minor(u64 d) { return (u32)(((d >> 12) & 0xffffff00) | (d & 0xff)); }

#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4

#define UTIME_NOW ((1l << 30) - 1)
#define UTIME_OMIT ((1l << 30) - 2)

/* The largest file size: 4 levels of 512-slot page-tree nodes (fs/fdata.c). */
#define FILE_SIZE_MAX (1ul << 48)

struct file;
struct vnode;

struct ktimespec {
    s64 sec, nsec;
};

struct file_ops {
    long (*read)(struct file *f, void *buf, size_t n);
    long (*write)(struct file *f, const void *buf, size_t n);
    long (*pread)(struct file *f, void *buf, size_t n, u64 off);
    long (*pwrite)(struct file *f, const void *buf, size_t n, u64 off); /* NULL: offset ignored (devices) */
    long (*ioctl)(struct file *f, unsigned cmd, u64 arg);
    long (*getdents)(struct file *f, void *buf, size_t n);
    long (*lseek)(struct file *f, s64 off, int whence); /* NULL: the generic position rules */
    /* Ready events (POLLIN...) of a file whose readiness changes over time (the console);
     * NULL: always readable and writable, as Linux reports files without f_op->poll. */
    u32 (*poll)(struct file *f);
    /* Every change of the poll op's answer calls readiness_changed(): poll and select
     * need no periodic re-check for this file (eventfd, timerfd, signalfd). */
    bool poll_wakes;
    /* The last reference to the open file is gone (eventfd, timerfd, signalfd: free
     * their object in f->priv); NULL: nothing beyond the vnode reference. */
    void (*release)(struct file *f);
    /* Opening the vnode makes the file itself (FIFOs and pipes: fs/pipe.c's fifo_open,
     * which may block until the other end opens); NULL: the generic open. */
    struct file *(*open)(struct vnode *n, int flags, long *err);
    bool seekable;
    bool is_tty;
    bool splice_read;  /* sendfile may read from it (Linux: f_op->splice_read) */
    bool splice_write; /* sendfile may write to it (Linux: f_op->splice_write) */
    const char *anon_name; /* anonymous files: "[eventfd]"... (the /proc/[pid]/fd/N link text) */
};

/* struct linux_dirent64: getdents64's record, the same for every filesystem. */
struct dirent64 {
    u64 d_ino;
    s64 d_off;
    u16 d_reclen;
    u8 d_type;
    char d_name[];
} __packed;

/* The length of a record naming namelen bytes (NUL and padding to 8 included). */
static inline size_t vfs_dirent_reclen(size_t namelen) { return ALIGN_UP(sizeof(struct dirent64) + namelen + 1, 8); }
/* Write that record at out (vfs_dirent_reclen(namelen) bytes, zero padded); its length. */
size_t vfs_dirent(void *out, u64 ino, s64 off, u8 type, const char *name, size_t namelen);

struct dentry {
    const char *name; /* not NUL-terminated in general: use namelen */
    u32 namelen;
    bool owns_name;   /* name was allocated for this entry (else it points into the archive) */
    u64 cookie;       /* getdents position: grows in list order within a directory */
    struct vnode *node;
    struct dentry *next;
    struct dentry *prev;  /* the list is doubly linked: removal is O(1) */
    struct dentry *hnext; /* the directory's name hash chain (ramfs.c) */
};

/* vnode flags */
#define VN_OWNS_DATA 0x1    /* data was allocated (a symlink target made at run time) */
#define VN_PINNED 0x2       /* a synthesised directory (/proc): its entries cannot change */
#define VN_HOLDS_PARENT 0x4 /* a removed directory keeps its parent alive for ".." */
#define VN_SYNTH 0x8        /* a kernel-made /proc or /sys file: contents come from its ops, never
                             * truncated; opening it for writing needs a write op (else EACCES) */
#define VN_DYNDIR 0x10      /* a /proc directory whose entries are made at lookup (procfs_lookup) */
#define VN_MAGIC 0x20       /* a /proc magic link (fd/N, exe, cwd): following it gives the object
                             * itself, not its text (procfs_follow), as Linux's nd_jump_link */
#define VN_RW 0x40          /* writable under `run --read-only` (a --tmpfs, /dev, /dev/shm);
                             * nodes made in such a directory inherit it */
#define VN_MOUNT 0x80       /* the root of a volume: its entry cannot be removed or renamed (EBUSY) */
#define VN_ROVOL 0x100      /* a file of a read-only volume (-v HOST:GUEST:ro): changes are EROFS */
#define VN_PACKED 0x200     /* data is the archive's LZ4 container of the base bytes (fdata_inflate) */
#define VN_INFLATED 0x400   /* data is frames the file owns (its decompressed base bytes) */
#define VN_BADPACK 0x800    /* the container failed to decode once (reported; later uses: EIO) */

/* Attribute changes handed to a filesystem's setattr (the bits are 9P2000.L's Tsetattr ones). */
#define VA_MODE 0x1
#define VA_UID 0x2
#define VA_GID 0x4
#define VA_SIZE 0x8
#define VA_ATIME 0x10     /* set atime: to atime with VA_ATIME_SET, else to the server's now */
#define VA_MTIME 0x20
#define VA_CTIME 0x40
#define VA_ATIME_SET 0x80
#define VA_MTIME_SET 0x100
struct vattr {
    u32 valid, mode, uid, gid;
    u64 size;
    struct ktimespec atime, mtime;
};

struct kstatfs {
    u64 type, bsize, blocks, bfree, bavail, files, ffree, namelen;
};

/* A filesystem other than the RAM one, serving the vnodes whose fs points here (the
 * volumes: fs/9p_vfs.c, docs/volumes.md). The RAM filesystem has none (fs == NULL):
 * path lookup, namei.c, attr.c and file.c dispatch on it. Vnodes it returns are its
 * own (cached while it names them); the caller checks permissions on their attributes
 * first, as Linux's VFS does above a filesystem. */
struct fs_ops {
    /* name in dir (-ENOENT...); the node's attributes are fresh. */
    long (*lookup)(struct vnode *dir, const char *name, u32 namelen, struct vnode **out);
    /* Make name in dir: mode with its type; rdev for devices, target for symlinks. A
     * regular file comes with an open handle the creating open() takes (open_file). */
    long (*create)(struct vnode *dir, const char *name, u32 namelen, u32 mode, u64 rdev, const char *target,
                   struct vnode **out);
    /* Remove the entry name (naming victim) of dir; rmdir when isdir. */
    long (*remove)(struct vnode *dir, const char *name, u32 namelen, struct vnode *victim, bool isdir);
    long (*link)(struct vnode *dir, const char *name, u32 namelen, struct vnode *n);
    /* Rename, replacing victim (the node newname names) if not NULL. */
    long (*rename)(struct vnode *from, const char *oldname, u32 oldlen, struct vnode *to, const char *newname,
                   u32 newlen, struct vnode *src, struct vnode *victim);
    long (*getattr)(struct vnode *n); /* refresh the cached attributes */
    long (*setattr)(struct vnode *n, const struct vattr *a);
    /* Bytes of a regular file for the kernel (exec, mmap: fdata_read). */
    long (*read)(struct vnode *n, void *buf, size_t len, u64 off);
    long (*statfs)(struct vnode *n, struct kstatfs *st);
    long (*fsync)(struct file *f, bool datasync);
    /* Extended attributes, after the VFS's namespace and permission checks (fs/xattr.c);
     * kernel buffers; size 0 asks for the size; setxattr with value NULL removes. */
    long (*getxattr)(struct vnode *n, const char *name, void *buf, size_t size);
    long (*setxattr)(struct vnode *n, const char *name, const void *value, size_t size, int flags);
    long (*listxattr)(struct vnode *n, char *buf, size_t size);
    /* f was just made for f->node (not O_PATH): give it its handle (f->priv). */
    long (*open_file)(struct file *f, int flags, bool created);
    /* The node has no links and no references left: drop it. */
    void (*forget)(struct vnode *n);
};

/* `run --read-only` (d2u.readonly=1, set by exec_start): regular files, directories and
 * symlinks without VN_RW refuse changes with EROFS, as a read-only mount. */
extern bool vfs_read_only;
long vfs_rofs(const struct vnode *n);

struct vnode {
    u32 mode, nlink, uid, gid;
    u32 refs, flags;            /* refs: open files, mappings, the cwd */
    u64 ino, dev, rdev, size;
    struct ktimespec atime, mtime, ctime;
    /* Regular files: the first base_len bytes not shadowed by a written page come from
     * data (the archive, immutable); symlinks: the target (size bytes). */
    const u8 *data;
    u64 base_len;
    u64 packed_len;             /* VN_PACKED: the container's bytes; VN_INFLATED: frames held */
    void *pages;                /* regular files: page tree of written pages (fs/fdata.c) */
    u32 pages_height;
    u64 npages;                 /* data pages in the tree */
    const struct file_ops *ops; /* how an open file behaves */
    struct vnode *parent;      /* directories: ".." */
    struct dentry *self;       /* directories: our entry in the parent (NULL for / and removed ones) */
    struct dentry *children, *last_child;
    u32 nchildren;
    u32 hsize;                 /* directories: buckets in htab (a power of two), 0 = none yet */
    struct dentry **htab;      /* directories: entries by name hash, so lookups stay O(1) */
    u64 next_cookie;           /* directories: cookie of the next entry added */
    void *xattrs;              /* extended attributes (fs/xattr.c), NULL when none */
    u32 xattr_bytes;           /* their names and values, bounded per node */
    struct pipe *pipe;         /* FIFOs and pipes: the pipe while any end is open (fs/pipe.c) */
    u64 synth_id;              /* /proc nodes: which process, thread or fd they show (fs/procfs*.c) */
    struct flock_lock *flocks; /* flock(2) locks held on the file (fs/flock.c), NULL when none */
    const struct fs_ops *fs;   /* NULL: a RAM filesystem node; else its filesystem (a volume) */
    void *fs_priv;             /* that filesystem's per-node state */
    void *fs_sb;               /* that filesystem's mount: vnodes with the same one are on one fs */
    u64 fs_blocks;             /* that filesystem's st_blocks */
};

/* Do a and b live on one filesystem (a rename or link between them is not EXDEV)? */
static inline bool vfs_same_fs(const struct vnode *a, const struct vnode *b) { return a->fs_sb == b->fs_sb; }

struct file {
    const struct file_ops *ops;
    struct vnode *node;
    u64 pos; /* directories: the getdents position (0 ".", 1 "..", then entry cookies) */
    int flags; /* O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH... (no O_CLOEXEC: per fd) */
    int refs;
    void *priv; /* the object behind an anonymous file (fs/anon.c), else NULL */
};

struct kstat {
    u64 dev, ino, nlink, rdev;
    u32 mode, uid, gid;
    s64 size, blksize, blocks;
    struct ktimespec atime, mtime, ctime;
};

/* --- tree (fs/ramfs.c, fs/cpio.c) --- */
void vfs_init(const u8 *cpio, size_t len);
struct vnode *vfs_root(void);
/* Boot-time tree building (cpio, /dev, /proc): these panic when memory runs out. */
struct vnode *ramfs_new_node(u32 mode);
/* Link node under dir as name (the string must stay valid forever). */
struct dentry *ramfs_link(struct vnode *dir, const char *name, u32 namelen, struct vnode *node);
struct vnode *ramfs_child(struct vnode *dir, const char *name, u32 namelen);
struct dentry *ramfs_find(struct vnode *dir, const char *name, u32 namelen);
/* The stored entry only, without the dynamic /proc lookup of ramfs_find (procfs itself). */
struct dentry *ramfs_find_entry(struct vnode *dir, const char *name, u32 namelen);
/* Run-time changes: a node (NULL when memory is exhausted), a new entry with a copied
 * name (-ENOSPC), removing an entry (drops the node's link; frees it if unused). */
struct vnode *ramfs_alloc_node(u32 mode);
long ramfs_add(struct vnode *dir, const char *name, u32 namelen, struct vnode *node);
void ramfs_remove(struct vnode *dir, struct dentry *d);
/* Move entry d of from to (to, name), replacing victim (the entry of that name) if not NULL;
 * -ENOSPC changes nothing. */
long ramfs_move(struct vnode *from, struct dentry *d, struct vnode *to, const char *name, u32 namelen,
                struct dentry *victim);
/* Swap the nodes two entries name (RENAME_EXCHANGE). */
void ramfs_exchange(struct vnode *da, struct dentry *a, struct vnode *db, struct dentry *b);
void vnode_get(struct vnode *n);
/* Drop a reference; frees the node when it has no links and no references left. */
void vnode_put(struct vnode *n);
long cpio_load(const u8 *cpio, size_t len);
void vfs_stat_node(const struct vnode *n, struct kstat *st);
/* A node with no links left is freed once unreferenced (a volume's unlinked node). */
void vnode_unlinked(struct vnode *n);
/* statfs(2) of the filesystem n is on; fsync(2) of f (0 on the RAM filesystem). */
long vfs_statfs(struct vnode *n, struct kstatfs *st);
long vfs_fsync(struct file *f, bool datasync);
struct ktimespec vfs_now(void);
/* mtime = ctime = now (a write, a truncate, a directory change). */
void vfs_touch(struct vnode *n);

/* --- file contents (fs/fdata.c); off + n must not exceed FILE_SIZE_MAX --- */
long fdata_read(struct vnode *n, void *buf, size_t len, u64 off);
/* Bytes written (short on ENOSPC after some progress), -ENOSPC, -EFAULT or -EFBIG. */
long fdata_write(struct vnode *n, const void *buf, size_t len, u64 off);
long fdata_truncate(struct vnode *n, u64 size);
/* Reserve pages for [off, off + len) (fallocate); -ENOSPC. */
long fdata_allocate(struct vnode *n, u64 off, u64 len);
void fdata_release(struct vnode *n);
/* The file's own frame for page idx (a written page, made from the archive bytes if
 * needed), for a writable MAP_SHARED mapping; NULL: no memory. */
u8 *fdata_page(struct vnode *n, u64 idx);
/* The file's bytes as one immutable buffer if it was never written (the ELF loader). */
const u8 *fdata_flat(struct vnode *n);
/* Decompress a compressed rootfs file's base bytes into frames it owns, once (a no-op
 * for any other file): 0, -ENOMEM, or -EIO when the archive's container is corrupt. */
long fdata_inflate(struct vnode *n);
/* 512-byte blocks the file occupies (archive pages not yet copied + written pages). */
u64 fdata_blocks(const struct vnode *n);
/* Pages the filesystem may still allocate, and pages it holds (statfs). */
u64 fdata_avail_pages(void);
u64 fdata_used_pages(void);

/* --- namespace changes (fs/namei.c) --- */
long vfs_create(int dirfd, const char *path, int flags, u32 mode, struct vnode **out);
long vfs_mkdirat(int dirfd, const char *path, u32 mode);
/* Make every missing directory of an absolute path, root's 0755 (mount points, run -w). */
void vfs_mkdir_p(const char *path);
long vfs_unlinkat(int dirfd, const char *path, int flags);
long vfs_symlinkat(const char *target, int dirfd, const char *path);
/* mknod(2): mode with its type (0 = regular), dev for device nodes. */
long vfs_mknodat(int dirfd, const char *path, u32 mode, u64 dev);
long vfs_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
long vfs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags);

/* --- attributes (fs/attr.c) --- */
/* Write permission (root bypasses the mode bits, as Linux's CAP_DAC_OVERRIDE). */
long vfs_may_write(const struct vnode *n);
long vfs_may_read(const struct vnode *n);
long vfs_may_search(const struct vnode *dir);
long vfs_chmod(struct vnode *n, u32 mode);
long vfs_chown(struct vnode *n, u32 uid, u32 gid);
/* times[2] (atime, mtime) with UTIME_NOW/UTIME_OMIT in nsec, or NULL for now. */
long vfs_utimens(struct vnode *n, const struct ktimespec *times);
long vfs_truncate(struct vnode *n, s64 size);

/* --- extended attributes (fs/xattr.c): Linux's rules over ext4 --- */
#define XATTR_CREATE 0x1
#define XATTR_REPLACE 0x2
#define XATTR_NAME_MAX 255
#define XATTR_SIZE_MAX 65536
#define XATTR_LIST_MAX 65536
#define XATTR_USER_PREFIX "user."
#define XATTR_TRUSTED_PREFIX "trusted."
#define XATTR_SECURITY_PREFIX "security."
/* Names are NUL-terminated kernel strings of 1..XATTR_NAME_MAX bytes (the shim checks);
 * values and list buffers are kernel buffers. get/list with size 0 return the size needed. */
long vfs_getxattr(struct vnode *n, const char *name, void *buf, size_t size);
long vfs_setxattr(struct vnode *n, const char *name, const void *value, size_t size, int flags);
long vfs_removexattr(struct vnode *n, const char *name);
long vfs_listxattr(struct vnode *n, char *buf, size_t size);
void vfs_xattr_release(struct vnode *n);

/* --- paths (fs/path.c) --- */
#define LOOKUP_FOLLOW 0x1     /* follow a symlink in the last component */
#define LOOKUP_DIRECTORY 0x2  /* the result must be a directory */
#define LOOKUP_EMPTY_OK 0x4   /* "" means the dirfd itself (AT_EMPTY_PATH) */
long vfs_lookup(int dirfd, const char *path, int flags, struct vnode **out);
/* The directory lookups start from: the cwd, dirfd's directory, or / for absolute paths;
 * -EBADF or -ENOTDIR for a bad dirfd. */
long vfs_base(int dirfd, const char *path, struct vnode **out);
/* Resolve path[0..len) from base (len 0: base itself). */
long vfs_walk(struct vnode *base, const char *path, size_t len, int flags, struct vnode **out);
/* The absolute path of a directory into buf; returns the length including the NUL. */
long vfs_dir_path(struct vnode *dir, char *buf, size_t size);
long vfs_chdir_node(struct vnode *dir);
/* chroot(2): absolute paths and symlink targets start at dir, ".." stops there; kept in
 * the fs context (fork copies it, CLONE_FS shares it). The cwd is left where it is. */
long vfs_chroot_node(struct vnode *dir);
/* The root lookups start from for the running process / for p. */
struct vnode *vfs_proc_root(void);
struct process;
struct vnode *vfs_root_of(struct process *p);
struct vnode *vfs_cwd(void);
/* The process's fs context (cwd, umask), reference counted: CLONE_FS shares it, fork
 * copies it. NULL when memory is exhausted. */
struct fs_struct;
struct fs_struct *fs_struct_new(void);
struct fs_struct *fs_struct_copy(const struct fs_struct *from);
void fs_struct_get(struct fs_struct *fs);
void fs_struct_put(struct fs_struct *fs);
/* The running process's umask; umask(2) sets it and returns the old one. */
u32 vfs_umask(void);
u32 vfs_set_umask(u32 mask);
struct process;
u32 vfs_umask_of(struct process *p);

/* --- open files and fds (fs/file.c) --- */
long vfs_openat(int dirfd, const char *path, int flags, u32 mode);
struct file *vfs_open_node(struct vnode *n, int flags, long *err);
void file_put(struct file *f);
long fd_install(struct file *f, int min_fd, bool cloexec);
/* Borrow: valid until the fd is closed; no reference taken. */
struct file *fd_get(int fd);
struct process;
/* Another process's fd and cwd (/proc/[pid]/fd, cwd): NULL / the root for a zombie. */
struct file *fd_get_of(struct process *p, int fd);
/* Slots in p's fd table (fds at or above it are closed); 0 for a zombie. */
int fd_table_slots(struct process *p);
struct vnode *vfs_cwd_of(struct process *p);
/* The process's fd table, reference counted: CLONE_FILES shares it, fork copies it
 * (the copy shares the open file descriptions: offsets and status flags). */
struct fdtable;
struct fdtable *fdtable_new(void);
struct fdtable *fdtable_copy(struct fdtable *from);
void fdtable_get(struct fdtable *t);
void fdtable_put(struct fdtable *t);
/* execve: a table shared with another process (clone CLONE_FILES) becomes the caller's
 * own copy before close-on-exec runs (Linux's unshare_files). 0 or -ENOMEM. */
long fdtable_unshare(void);
/* execve: a table shared with another process is copied first (Linux's
 * unshare_files), then every close-on-exec fd is closed. 0 or -ENOMEM. */
long fd_exec_prepare(void);
long fd_close(int fd);
/* close_range(2): close [first, last] (or mark them close-on-exec), after making a
 * shared table the caller's own copy if unshare. 0, -EINVAL or -ENOMEM. */
long fd_close_range(u32 first, u32 last, bool unshare, bool cloexec);
long fd_dup(int oldfd, int min_fd, bool cloexec);
long fd_dup3(int oldfd, int newfd, bool cloexec);
long fd_get_cloexec(int fd);
long fd_set_cloexec(int fd, bool on);
long vfs_read(struct file *f, void *buf, size_t n);
long vfs_write(struct file *f, const void *buf, size_t n);
long vfs_pread(struct file *f, void *buf, size_t n, u64 off);
long vfs_pwrite(struct file *f, const void *buf, size_t n, u64 off);
long vfs_ftruncate(struct file *f, s64 size);
long vfs_fallocate(struct file *f, int mode, s64 off, s64 len);
long vfs_lseek(struct file *f, s64 off, int whence);
long vfs_ioctl(struct file *f, unsigned cmd, u64 arg);
long vfs_getdents(struct file *f, void *buf, size_t n);
long vfs_readlink_node(const struct vnode *n, void *buf, size_t size);
/* sendfile(2) (fs/sendfile.c): up to count bytes from in to out. off NULL: read at and
 * advance in's position; else read at *off and advance *off instead. Bytes copied or -errno. */
long vfs_sendfile(struct file *out, struct file *in, u64 *off, size_t count);
/* copy_file_range(2): up to count bytes between two regular files, at in_off, out_off
 * (advanced) or the files' positions when NULL. Bytes copied or -errno. */
long vfs_copy_file_range(struct file *in, u64 *in_off, struct file *out, u64 *out_off, size_t count);
/* splice(2): up to count bytes from in to out, one of which is a pipe; off (the
 * non-pipe side's offset, advanced) or NULL for its position. Bytes moved or -errno. */
long vfs_splice(struct file *in, u64 *in_off, struct file *out, u64 *out_off, size_t count, bool nonblock);

/* --- flock(2) (fs/flock.c): advisory whole-file locks owned by open file descriptions --- */
#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8
/* Take, convert or drop f's lock (op: LOCK_SH/EX/UN, maybe | LOCK_NB); blocks while another
 * description's lock conflicts. 0, -EAGAIN, -ERESTARTSYS (a signal), -ENOMEM, -EINVAL. */
long vfs_flock(struct file *f, int op);
/* The description's last reference is gone: its lock goes (file_put). */
void flock_release(struct file *f);

/* --- devices (fs/console.c, fs/devfs.c, fs/procfs.c) --- */
void console_init(void);
struct vnode *console_node(void);
const struct file_ops *console_file_ops(void);
const struct file_ops *devfs_ops_for(u64 rdev);
void devfs_init(void);
void procfs_init(void);
/* Dynamic /proc (fs/procfs*.c): the entry name of dir (a VN_DYNDIR directory), made or
 * refreshed now, or NULL; the object a VN_MAGIC link stands for (0 or -errno). */
struct dentry *procfs_lookup(struct vnode *dir, const char *name, u32 namelen);
long procfs_follow(struct vnode *link, struct vnode **out);
/* The vnode of FIFOs: opening it joins the FIFO's pipe (fs/pipe.c). */
extern const struct file_ops fifo_node_ops;
/* /sys/devices/system/cpu: one CPU (fs/sysfs.c). */
void sysfs_init(void);

/* --- kernel-made read-only files of /proc and /sys (fs/kfile.c) --- */
/* A VN_SYNTH regular file (mode 0444) named name in dir with ops; stat shows size. */
struct vnode *kfile_new(struct vnode *dir, const char *name, const struct file_ops *ops, u64 size);
/* The directory name in dir (made if missing), pinned: its entries cannot change. */
struct vnode *kfile_dir(struct vnode *dir, const char *name);
/* A pread of text[0..len) at off; read at the file position through the pread op; EIO writes. */
long kfile_pread_text(const char *text, size_t len, void *buf, size_t n, u64 off);
long kfile_read_at_pos(struct file *f, void *buf, size_t n);
long kfile_write_eio(struct file *f, const void *buf, size_t n);
/* /proc/cpuinfo (fs/cpuinfo.c). */
extern const struct file_ops procfs_cpuinfo_ops;

/* --- anonymous files: eventfd, timerfd, signalfd (fs/anon.c, docs/event-fds.md) --- */
/* An open file on the one shared anonymous inode (fstat: mode 0600, no file type, as
 * Linux's anon_inodefs) with ops and priv; flags O_ACCMODE | O_NONBLOCK. NULL: -ENOMEM. */
struct file *anon_file_new(const struct file_ops *ops, void *priv, int flags);
/* Install an anonymous file as the lowest free fd; on failure it is released. */
long anon_fd_install(struct file *f, bool cloexec);
/* The lseek op of anonymous files: Linux's noop_llseek (returns the position, 0). */
long anon_lseek(struct file *f, s64 off, int whence);

/* Ops shared by regular files and directories of the RAM filesystem. */
extern const struct file_ops ramfs_file_ops, ramfs_dir_ops, path_only_ops;

#endif /* LIBOS_VFS_H */
