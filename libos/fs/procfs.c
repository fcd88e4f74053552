/* SPDX-License-Identifier: Apache-2.0 */
/* procfs.c: /proc's frame: the root directory (static files, self, thread-self, one directory per process), text files made at read, dynamic directories. */
#include <libos/errno.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/string.h>
#include <libos/uaccess.h>

#include "procfs_internal.h"

#define PROC_INO_BASE (1ul << 40) /* above the archive's and ramfs's inode numbers */

static struct vnode *proc_root, *self_link, *thread_self_link;

void tb_put(struct tbuf *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *nb = kmalloc(cap);
        if (!nb) {
            t->oom = true;
            return;
        }
        if (t->len)
            memcpy(nb, t->buf, t->len);
        kfree(t->buf);
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
}

static void tb_sink(void *ctx, const char *s, size_t n) { tb_put(ctx, s, n); }

void tb_printf(struct tbuf *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vformat(tb_sink, t, fmt, ap);
    va_end(ap);
}

long procfs_pread_gen(struct file *f, void *buf, size_t n, u64 off, procfs_gen gen)
{
    struct tbuf t = {0};
    long r = gen(&t, f->node);
    if (r >= 0 && t.oom)
        r = -ENOMEM;
    if (r >= 0)
        r = kfile_pread_text(t.buf ? t.buf : "", t.len, buf, n, off);
    kfree(t.buf);
    return r;
}

u64 procfs_ino(int pid, int sub, int kind) { return PROC_INO_BASE + ((u64)(u32)pid << 24) + ((u64)(u32)sub << 6) + (u64)kind; }

long procfs_target(const struct vnode *n, struct process **p, struct task **t)
{
    int pid = procfs_id_pid(n->synth_id), tid = procfs_id_sub(n->synth_id);
    *p = process_find(pid);
    if (!*p)
        return -ESRCH;
    *t = NULL;
    if (tid) {
        for (struct task *x = (*p)->threads; x; x = x->thread_next)
            if (x->tid == tid)
                *t = x;
        if (!*t)
            return -ESRCH;
    }
    return 0;
}

/* Run-time nodes of /proc belong to the process they show (Linux: its euid). A node
 * that cannot be linked is freed: NULL (the lookup then fails, the kernel goes on). */
static struct vnode *add(struct vnode *dir, const char *name, u32 namelen, u32 mode, u64 id, u64 ino)
{
    struct vnode *n = ramfs_alloc_node(mode);
    if (!n)
        return NULL;
    n->synth_id = id;
    if (ino)
        n->ino = ino;
    struct process *p = process_find(procfs_id_pid(id));
    if (p) {
        n->uid = p->euid;
        n->gid = p->egid;
    }
    if (ramfs_add(dir, name, namelen, n) < 0) {
        kfree(n);
        return NULL;
    }
    return n;
}

struct vnode *procfs_file(struct vnode *dir, const char *name, const struct file_ops *ops, u64 id)
{
    struct vnode *n = add(dir, name, (u32)strlen(name), S_IFREG | 0444, id, 0);
    if (n) {
        n->ops = ops;
        n->flags |= VN_SYNTH;
    }
    return n;
}

struct vnode *procfs_dir(struct vnode *dir, const char *name, u32 namelen, u64 id, u64 ino)
{
    struct vnode *d = add(dir, name, namelen, S_IFDIR | 0555, id, ino);
    if (d)
        d->flags |= VN_PINNED;
    return d;
}

struct vnode *procfs_link(struct vnode *dir, const char *name, u32 namelen, u64 id, u64 ino)
{
    struct vnode *l = add(dir, name, namelen, S_IFLNK | 0777, id, ino);
    if (l)
        l->flags |= VN_SYNTH; /* stat: size 0 (fd links 64), as Linux's proc links */
    return l;
}

void procfs_set_link(struct vnode *link, const char *text, size_t len)
{
    char *copy = kmalloc(len ? len : 1);
    if (!copy)
        return; /* keep the old text */
    memcpy(copy, text, len);
    if (link->flags & VN_OWNS_DATA)
        kfree((void *)link->data);
    link->data = (const u8 *)copy;
    link->size = len;
    link->flags |= VN_OWNS_DATA;
}

void procfs_prune(struct vnode *dir, struct dentry *d)
{
    struct vnode *n = d->node;
    if (S_ISDIR(n->mode))
        while (n->children)
            procfs_prune(n, n->children);
    ramfs_remove(dir, d); /* an open node lives on until its last close */
}

long procfs_getdents(struct file *f, void *buf, size_t n, procfs_next_fn next)
{
    struct vnode *dir = f->node;
    size_t used = 0;
    u8 tmp[sizeof(struct dirent64) + sizeof(((struct procfs_dirent *)0)->name) + 8];
    for (;;) {
        struct procfs_dirent e = {0};
        u64 at = f->pos, after;
        if (at == 0) {
            strlcpy(e.name, ".", sizeof(e.name));
            e.ino = dir->ino, e.type = DT_DIR;
        } else if (at == 1) {
            strlcpy(e.name, "..", sizeof(e.name));
            e.ino = (dir->parent ? dir->parent : dir)->ino, e.type = DT_DIR;
        } else {
            long p = next(dir, at, &e);
            if (p < 0)
                break;
            at = (u64)p;
        }
        after = at + 1;
        size_t len = strlen(e.name);
        size_t reclen = vfs_dirent_reclen(len);
        if (used + reclen > n) {
            if (used == 0)
                return -EINVAL;
            break;
        }
        vfs_dirent(tmp, e.ino, (s64)after, e.type, e.name, len);
        if (uaccess_copy((u8 *)buf + used, tmp, reclen) < 0)
            return used ? (long)used : -EFAULT;
        used += reclen;
        f->pos = after;
    }
    return (long)used;
}

/* /proc/self -> "<pid>", /proc/thread-self -> "<pid>/task/<tid>": made for the caller at
 * every lookup (the kernel is not preemptible: the text is read before anyone else runs). */
static void refresh_self(void)
{
    char text[48];
    size_t n = ksnprintf(text, sizeof(text), "%d", current_process()->pid);
    procfs_set_link(self_link, text, n);
    n = ksnprintf(text, sizeof(text), "%d/task/%d", current_process()->pid, current->tid);
    procfs_set_link(thread_self_link, text, n);
}

bool procfs_parse_num(const char *name, u32 len, int *out)
{
    if (len == 0 || len > 9 || (name[0] == '0' && len > 1))
        return false;
    int v = 0;
    for (u32 i = 0; i < len; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        v = v * 10 + (name[i] - '0');
    }
    *out = v;
    return true;
}

struct dentry *procfs_lookup(struct vnode *dir, const char *name, u32 namelen)
{
    int num;
    if (dir == proc_root) {
        if (procfs_parse_num(name, namelen, &num))
            return procfs_pid_lookup(dir, num);
        refresh_self();
        return ramfs_find_entry(dir, name, namelen);
    }
    return procfs_piddir_lookup(dir, name, namelen);
}

long procfs_follow(struct vnode *link, struct vnode **out) { return procfs_fd_follow(link, out); }

/* Whether an entry of the root is a process directory (those are listed by pid). */
static bool is_pid_name(const struct dentry *d)
{
    int pid;
    return procfs_parse_num(d->name, d->namelen, &pid);
}

/* Root positions: 2 + i for the i-th static entry, PID_POS + pid for processes (as
 * Linux's TGID_OFFSET): exits and forks between calls neither repeat nor skip others. */
#define PID_POS (1ul << 32)

static long root_next(struct vnode *dir, u64 pos, struct procfs_dirent *out)
{
    if (pos < PID_POS) {
        u64 i = 2;
        for (struct dentry *d = dir->children; d; d = d->next) {
            if (is_pid_name(d))
                continue;
            if (i >= pos) {
                u32 k = MIN(d->namelen, (u32)sizeof(out->name) - 1);
                memcpy(out->name, d->name, k);
                out->name[k] = 0;
                out->ino = d->node->ino;
                out->type = (u8)((d->node->mode & S_IFMT) >> 12);
                return (long)i;
            }
            i++;
        }
        pos = PID_POS;
    }
    for (struct process *p = process_next(NULL); p; p = process_next(p)) {
        if ((u64)p->pid + PID_POS < pos)
            continue;
        ksnprintf(out->name, sizeof(out->name), "%d", p->pid);
        out->ino = procfs_ino(p->pid, 0, 0);
        out->type = DT_DIR;
        return (long)(PID_POS + (u64)p->pid);
    }
    return -1;
}

static long root_getdents(struct file *f, void *buf, size_t n)
{
    /* Directories of processes that are gone leave the tree when the listing starts. */
    if (f->pos == 0) {
        for (struct dentry *d = f->node->children, *nx; d; d = nx) {
            nx = d->next;
            int pid;
            if (procfs_parse_num(d->name, d->namelen, &pid) && !process_find(pid))
                procfs_prune(f->node, d);
        }
    }
    return procfs_getdents(f, buf, n, root_next);
}

static long dir_read_eisdir(struct file *f, void *buf, size_t n) { return -EISDIR; }

const struct file_ops procfs_root_ops = {.read = dir_read_eisdir, .getdents = root_getdents, .seekable = true};

void procfs_init(void)
{
    struct vnode *proc = ramfs_child(vfs_root(), "proc", 4);
    if (!proc) {
        proc = ramfs_new_node(S_IFDIR | 0555);
        ramfs_link(vfs_root(), "proc", 4, proc);
    }
    if (!S_ISDIR(proc->mode) || proc->nchildren)
        return; /* an image that brings its own /proc contents keeps them */
    proc_root = proc;
    proc->flags |= VN_PINNED | VN_DYNDIR; /* procfs has no create or unlink: EPERM, as on Linux */
    proc->ops = &procfs_root_ops;
    self_link = procfs_link(proc, "self", 4, 0, PROC_INO_BASE - 2);
    thread_self_link = procfs_link(proc, "thread-self", 11, 0, PROC_INO_BASE - 3);
    self_link->uid = self_link->gid = thread_self_link->uid = thread_self_link->gid = 0;
    kfile_new(proc, "cpuinfo", &procfs_cpuinfo_ops, 0);
    procfs_sys_init(proc);
    /* Linux's /proc is mounted at boot: its entries carry that time. */
    struct ktimespec now = vfs_now();
    proc->atime = proc->mtime = proc->ctime = now;
    for (struct dentry *d = proc->children; d; d = d->next)
        d->node->atime = d->node->mtime = d->node->ctime = now;
}

