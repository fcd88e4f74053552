/* SPDX-License-Identifier: Apache-2.0 */
/* procfs_internal.h: what the /proc files share: text buffers, node identities, dynamic directories. */
#ifndef LIBOS_FS_PROCFS_INTERNAL_H
#define LIBOS_FS_PROCFS_INTERNAL_H

#include <libos/proc.h>
#include <libos/task.h>
#include <libos/vfs.h>

/* A growing text buffer; oom is set (and text dropped) when memory runs out. */
struct tbuf {
    char *buf;
    size_t len, cap;
    bool oom;
};
void tb_put(struct tbuf *t, const char *s, size_t n);
void tb_printf(struct tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A /proc text file: its contents are made by gen at every read (Linux's seq_file). */
typedef long (*procfs_gen)(struct tbuf *t, struct vnode *node);
long procfs_pread_gen(struct file *f, void *buf, size_t n, u64 off, procfs_gen gen);
#define PROCFS_TEXT_OPS(name, gen)                                                                 \
    static long name##_pread(struct file *f, void *buf, size_t n, u64 off)                         \
    {                                                                                              \
        return procfs_pread_gen(f, buf, n, off, gen);                                              \
    }                                                                                              \
    static const struct file_ops name = {.read = kfile_read_at_pos,                               \
                                         .pread = name##_pread,                                    \
                                         .write = kfile_write_eio,                                 \
                                         .seekable = true}

/* Node identities: synth_id = pid | sub << 32 (sub: a tid or an fd). */
static inline u64 procfs_id(int pid, int sub) { return (u32)pid | ((u64)(u32)sub << 32); }
static inline int procfs_id_pid(u64 id) { return (int)(u32)id; }
static inline int procfs_id_sub(u64 id) { return (int)(u32)(id >> 32); }
/* Inode numbers of nodes that may not exist yet (readdir shows them): a pure function. */
u64 procfs_ino(int pid, int sub, int kind);

/* The process (and thread, for task/N files: else NULL) a node stands for; -ESRCH once gone. */
long procfs_target(const struct vnode *n, struct process **p, struct task **t);

/* Nodes: a file, a directory, a symlink (its text set with procfs_set_link). */
struct vnode *procfs_file(struct vnode *dir, const char *name, const struct file_ops *ops, u64 id);
struct vnode *procfs_dir(struct vnode *dir, const char *name, u32 namelen, u64 id, u64 ino);
struct vnode *procfs_link(struct vnode *dir, const char *name, u32 namelen, u64 id, u64 ino);
void procfs_set_link(struct vnode *link, const char *text, size_t len);
/* Remove entry d of dir and, for a directory, everything below it. */
void procfs_prune(struct vnode *dir, struct dentry *d);

/* getdents of a directory whose entries a callback lists: next(dir, pos, out) fills the
 * entry at or after position pos (>= 2) and returns its position, or -1 at the end. */
struct procfs_dirent {
    char name[24];
    u64 ino;
    u8 type; /* DT_* */
};
#define DT_DIR 4
#define DT_REG 8
#define DT_LNK 10
typedef long (*procfs_next_fn)(struct vnode *dir, u64 pos, struct procfs_dirent *out);
long procfs_getdents(struct file *f, void *buf, size_t n, procfs_next_fn next);

/* A decimal number without sign or leading zeros (a pid, tid or fd name). */
bool procfs_parse_num(const char *name, u32 len, int *out);

/* Inode kinds (procfs_ino). */
enum { K_DIR, K_TASKDIR, K_FDDIR, K_FDINFODIR, K_FD, K_FDINFO, K_TID, K_EXE, K_CWD, K_ROOT };

/* fs/procfs_pid.c */
struct dentry *procfs_pid_lookup(struct vnode *proc, int pid);
struct dentry *procfs_piddir_lookup(struct vnode *dir, const char *name, u32 namelen);
extern const struct file_ops procfs_root_ops;
/* fs/procfs_fd.c: the fd/ and fdinfo/ directories, their lookups and the links' targets. */
extern const struct file_ops procfs_fd_dir_ops, procfs_fdinfo_dir_ops;
struct dentry *procfs_fd_lookup(struct vnode *dir, struct process *p, const char *name, u32 len, bool info);
long procfs_fd_follow(struct vnode *link, struct vnode **out);
/* The text of an fd link: a path, "pipe:[ino]", "socket:[ino]", "anon_inode:[eventfd]". */
void procfs_file_name(struct tbuf *t, struct file *f);
/* fs/procfs_sys.c: /proc/stat, uptime, loadavg, meminfo, version. */
void procfs_sys_init(struct vnode *proc);

#endif /* LIBOS_FS_PROCFS_INTERNAL_H */
