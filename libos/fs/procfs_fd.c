/* SPDX-License-Identifier: Apache-2.0 */
/* procfs_fd.c: /proc/[pid]/fd and fdinfo: one link or file per open fd, link texts as Linux's (paths, pipe:[ino], anon_inode:[...]), links that follow to the open object. */
#include <libos/errno.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/string.h>

#include "procfs_internal.h"

#define PIPEFS_DEV makedev(0, 13)
#define ANON_DEV makedev(0, 14)

/* --- fdinfo -------------------------------------------------------------------------------- */

static long gen_fdinfo(struct tbuf *tb, struct vnode *node)
{
    struct process *p = process_find(procfs_id_pid(node->synth_id));
    int fd = procfs_id_sub(node->synth_id);
    struct file *f = p ? fd_get_of(p, fd) : NULL;
    if (!f)
        return -ENOENT;
    int flags = f->flags;
    if (p == current_process() && fd_get_cloexec(fd) > 0)
        flags |= O_CLOEXEC;
    tb_printf(tb, "pos:\t%lu\nflags:\t0%o\nmnt_id:\t%d\nino:\t%lu\n", f->ops->seekable ? f->pos : 0, flags, 1,
              f->node->ino);
    return 0;
}

PROCFS_TEXT_OPS(fdinfo_ops, gen_fdinfo);

/* --- names of open files ------------------------------------------------------------------- */

/* Find the entry naming n below dir (depth-first, /proc and /sys skipped); its directory in *in. */
static struct dentry *find_name(struct vnode *dir, const struct vnode *n, int depth, struct vnode **in)
{
    for (struct dentry *d = dir->children; d; d = d->next) {
        if (d->node == n) {
            *in = dir;
            return d;
        }
    }
    if (depth >= 64)
        return NULL;
    for (struct dentry *d = dir->children; d; d = d->next) {
        struct vnode *c = d->node;
        if (S_ISDIR(c->mode) && c->parent == dir && !(c->flags & (VN_PINNED | VN_DYNDIR))) {
            struct dentry *r = find_name(c, n, depth + 1, in);
            if (r)
                return r;
        }
    }
    return NULL;
}

void procfs_file_name(struct tbuf *t, struct file *f)
{
    struct vnode *n = f->node;
    u32 type = n->mode & S_IFMT;
    char path[PATH_MAX];
    if (type == S_IFDIR) {
        long r = vfs_dir_path(n, path, sizeof(path));
        tb_printf(t, "%s", r > 0 ? path : "/");
        return;
    }
    if (type == 0 || n->dev == ANON_DEV) {
        tb_printf(t, "anon_inode:%s", f->ops && f->ops->anon_name ? f->ops->anon_name : "[unknown]");
        return;
    }
    if (n->dev == PIPEFS_DEV || (type == S_IFIFO && n->nlink == 1 && n->dev != 0x10 && !n->fs)) {
        tb_printf(t, "pipe:[%lu]", n->ino); /* pipes, and the pipes `docker run` gives as stdio */
        return;
    }
    if (type == S_IFSOCK && n->nlink == 0) {
        tb_printf(t, "socket:[%lu]", n->ino);
        return;
    }
    if (n == console_node()) {
        tb_printf(t, "/dev/pts/0"); /* `docker run -t` */
        return;
    }
    struct vnode *dir = n->parent;
    /* A volume's file: the name it was last looked up by (fs/9p_vfs.c). */
    struct dentry *d = n->fs ? (n->nlink && dir ? n->self : NULL) : n->nlink ? find_name(vfs_root(), n, 0, &dir) : NULL;
    if (!d) {
        tb_printf(t, type == S_IFSOCK ? "socket:[%lu]" : "/%lu (deleted)", n->ino);
        return;
    }
    long r = vfs_dir_path(dir, path, sizeof(path));
    if (r <= 0)
        return;
    tb_printf(t, "%s%s%.*s", path, path[1] ? "/" : "", (int)d->namelen, d->name);
}

/* --- fd/ and fdinfo/ ------------------------------------------------------------------------ */

struct dentry *procfs_fd_lookup(struct vnode *dir, struct process *p, const char *name, u32 len, bool info)
{
    struct dentry *d = ramfs_find_entry(dir, name, len);
    int fd;
    struct file *f = procfs_parse_num(name, len, &fd) && fd < FD_MAX ? fd_get_of(p, fd) : NULL;
    if (!f) {
        if (d)
            procfs_prune(dir, d);
        return NULL;
    }
    u64 id = procfs_id(p->pid, fd);
    struct vnode *n = d ? d->node : NULL;
    if (info) {
        if (!n) {
            char nm[16];
            memcpy(nm, name, len);
            nm[len] = 0;
            n = procfs_file(dir, nm, &fdinfo_ops, id);
        }
    } else if (!n) {
        n = procfs_link(dir, name, len, id, procfs_ino(p->pid, fd, K_FD));
        if (n)
            n->flags |= VN_MAGIC;
    }
    if (!n)
        return NULL;
    if (!info) {
        /* lr-x------ for a read end, l-wx------ for a write end, lrwx------ for both. */
        int acc = f->flags & O_ACCMODE;
        n->mode = S_IFLNK | 0100 | (acc != O_WRONLY ? 0400 : 0) | (acc != O_RDONLY ? 0200 : 0);
        struct tbuf t = {0};
        procfs_file_name(&t, f);
        if (!t.oom)
            procfs_set_link(n, t.buf ? t.buf : "", t.len);
        kfree(t.buf);
    }
    return ramfs_find_entry(dir, name, len);
}

long procfs_fd_follow(struct vnode *link, struct vnode **out)
{
    struct process *p = process_find(procfs_id_pid(link->synth_id));
    struct file *f = p ? fd_get_of(p, procfs_id_sub(link->synth_id)) : NULL;
    if (!f)
        return -ENOENT;
    *out = f->node;
    return 0;
}

/* fd/ and fdinfo/ list the open fds (position 2 + fd); task/ the threads (2 + tid). */
static long fd_next(struct vnode *dir, u64 pos, struct procfs_dirent *out)
{
    struct process *p = process_find(procfs_id_pid(dir->synth_id));
    for (u64 fd = pos - 2; p && fd < (u64)fd_table_slots(p); fd++) {
        if (fd_get_of(p, (int)fd)) {
            ksnprintf(out->name, sizeof(out->name), "%lu", fd);
            bool info = dir->ops == &procfs_fdinfo_dir_ops;
            out->ino = procfs_ino(p->pid, (int)fd, info ? K_FDINFO : K_FD);
            out->type = info ? DT_REG : DT_LNK;
            return (long)(fd + 2);
        }
    }
    return -1;
}

static long fd_getdents(struct file *f, void *buf, size_t n) { return procfs_getdents(f, buf, n, fd_next); }
static long eisdir(struct file *f, void *buf, size_t n) { return -EISDIR; }

const struct file_ops procfs_fd_dir_ops = {.read = eisdir, .getdents = fd_getdents, .seekable = true};
const struct file_ops procfs_fdinfo_dir_ops = {.read = eisdir, .getdents = fd_getdents, .seekable = true};
