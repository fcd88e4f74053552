/* SPDX-License-Identifier: Apache-2.0 */
/* 9p_internal.h: what the volume filesystem's files share: a mount, the per-vnode state, the file ops (fs/9p_vfs.c, fs/9p_file.c, fs/volume.c). */
#ifndef LIBOS_FS_9P_INTERNAL_H
#define LIBOS_FS_9P_INTERNAL_H

#include <libos/p9.h>
#include <libos/vfs.h>

/* One mounted volume: a session and its vnodes by qid.path (the host's inode number). */
struct p9_mount {
    struct p9_session *s;
    u64 dev;              /* st_dev of its files */
    bool ro;
    struct vnode *root;
    struct p9_node **htab;
    u32 hsize, count;     /* count: nodes in htab (pending ones included) */
    /* Unused nodes are dropped past P9_CACHE_MAX (docs/volumes.md, "A bounded cache"):
     * lru holds the cached nodes, the most recently handed out at its head; pending,
     * those chosen to go, which a lookup still finds (and keeps) until bury frees them. */
    struct p9_list { struct p9_node *head, *tail; u32 n; } lru, pending;
    u32 cache_max;        /* P9_CACHE_MAX or d2u.volcache= */
    struct p9_node *grave; /* forgotten nodes waiting until no task sleeps in a request */
    u32 *old_fids;         /* replaced node fids, clunked then too */
    u32 nold, oldcap;
};

/* A volume's vnode (vnode->fs_priv). */
struct p9_node {
    struct p9_mount *m;
    struct vnode *vn;
    struct p9_node *hnext;
    struct p9_node *lnext, *lprev; /* on m->lru or m->pending (list says which) */
    u8 list;              /* P9_ON_LRU or P9_ON_PENDING while in htab, else P9_ON_NONE */
    u32 kids;             /* nodes in htab whose vnode->parent is this one: such a node stays */
    u64 used;             /* syscalls_entered when last handed out (the running syscall may hold it) */
    u32 fid;              /* walked, not open: getattr, setattr, walks, readlink, link */
    u32 io_fid;           /* open read-only for the kernel's reads (exec, mmap), or P9_NOFID */
    u32 create_fid;       /* the open handle a create made, for the creating open(), or P9_NOFID */
    struct dentry name;   /* directories: the entry getcwd and ".." paths see (vnode->self) */
};

/* Cached nodes per mount before unused ones are dropped (d2u.volcache= overrides): far
 * more than one system call touches, and about 3 MiB of kernel memory and as many host
 * fids (docs/volumes.md, "A bounded cache"). */
#define P9_CACHE_MAX 4096u
enum { P9_ON_NONE, P9_ON_LRU, P9_ON_PENDING };

static inline struct p9_node *p9n(const struct vnode *n) { return n->fs_priv; }

extern const struct fs_ops p9_fs_ops;
extern const struct file_ops p9_file_ops, p9_dir_ops;

/* The mount's vnode for a host file whose attributes are a (made or refreshed), taking
 * fid (walked to it) as its handle; NULL: no memory (fid is clunked). */
struct vnode *p9_node_get(struct p9_mount *m, u32 fid, const struct p9_attr *a);
/* Clunk fid once no task sleeps in a request (one may have read it before it went). */
void p9_retire_fid(struct p9_mount *m, u32 fid);
long p9_open_file(struct file *f, int flags, bool created);
long p9_fsync_file(struct file *f, bool datasync);
long p9_kernel_read(struct vnode *n, void *buf, size_t len, u64 off);

#endif /* LIBOS_FS_9P_INTERNAL_H */
