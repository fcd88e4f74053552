/* SPDX-License-Identifier: Apache-2.0 */
/* 9p_vfs.c: a volume's namespace and attributes: vnodes keyed by qid.path, lookup, create, remove, link, rename, getattr/setattr, statfs.
 *
 * Nothing is cached but the vnodes themselves (Linux's cache=none): every lookup walks
 * on the host and refreshes the attributes, every stat asks again, so what a guest
 * sees is what the host holds. A vnode is kept while the host names it (its nlink),
 * so one host inode is one vnode: hard links share it and st_ino stays stable. Each
 * vnode holds a walked fid; a fresh lookup hands the vnode the newest fid (the name
 * just used is the one known to exist). Nodes nothing uses are dropped past
 * P9_CACHE_MAX, least recently handed out first, and walked again when named.
 * docs/volumes.md describes the design.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/proc.h>
#include <libos/string.h>
#include <libos/task.h>
#include "9p_internal.h"

#define S_ISGID 02000
#define P9_AT_REMOVEDIR 0x200
#define P9_DOTL_RDWR 02
#define P9_DOTL_EXCL 0200
#define P9_DOTL_RDONLY 0

static u32 qhash(u64 path) { return (u32)(path ^ (path >> 29) ^ (path >> 47)) * 2654435761u; }

static struct p9_node *cache_find(struct p9_mount *m, u64 path)
{
    if (!m->hsize)
        return NULL;
    for (struct p9_node *p = m->htab[qhash(path) & (m->hsize - 1)]; p; p = p->hnext)
        if (p->vn->ino == path)
            return p;
    return NULL;
}

static struct p9_list *list_of(struct p9_mount *m, u8 which) { return which == P9_ON_LRU ? &m->lru : &m->pending; }

static void list_del(struct p9_mount *m, struct p9_node *pn)
{
    if (pn->list == P9_ON_NONE)
        return;
    struct p9_list *l = list_of(m, pn->list);
    if (pn->lprev)
        pn->lprev->lnext = pn->lnext;
    else
        l->head = pn->lnext;
    if (pn->lnext)
        pn->lnext->lprev = pn->lprev;
    else
        l->tail = pn->lprev;
    l->n--;
    pn->lnext = pn->lprev = NULL;
    pn->list = P9_ON_NONE;
}

/* Put pn at the head of list which (the most recently used end). */
static void list_push(struct p9_mount *m, struct p9_node *pn, u8 which)
{
    list_del(m, pn);
    struct p9_list *l = list_of(m, which);
    pn->lnext = l->head;
    if (l->head)
        l->head->lprev = pn;
    else
        l->tail = pn;
    l->head = pn;
    l->n++;
    pn->list = which;
}

/* pn was handed out (or searched): it is the most recently used; a pending one stays. */
static void touch(struct p9_mount *m, struct p9_node *pn)
{
    pn->used = syscalls_entered;
    if (pn->list != P9_ON_NONE)
        list_push(m, pn, P9_ON_LRU);
}

static void cache_insert(struct p9_mount *m, struct p9_node *pn)
{
    struct p9_node **b = &m->htab[qhash(pn->vn->ino) & (m->hsize - 1)];
    pn->hnext = *b;
    *b = pn;
}

/* Add pn: the table doubles when it holds as many nodes as buckets. */
static bool cache_add(struct p9_mount *m, struct p9_node *pn)
{
    if (m->count >= m->hsize) {
        u32 size = m->hsize ? m->hsize * 2 : 256;
        struct p9_node **t = kzalloc(size * sizeof(*t));
        if (!t && !m->hsize)
            return false;
        if (t) {
            struct p9_node **old = m->htab;
            u32 oldsize = m->hsize;
            m->htab = t;
            m->hsize = size;
            for (u32 i = 0; i < oldsize; i++)
                for (struct p9_node *p = old[i], *next; p; p = next) {
                    next = p->hnext;
                    cache_insert(m, p);
                }
            kfree(old);
        }
    }
    cache_insert(m, pn);
    m->count++;
    pn->used = syscalls_entered;
    list_push(m, pn, P9_ON_LRU);
    return true;
}

static void cache_del(struct p9_mount *m, struct p9_node *pn)
{
    if (!m->hsize)
        return;
    struct p9_node **pp = &m->htab[qhash(pn->vn->ino) & (m->hsize - 1)];
    while (*pp && *pp != pn)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = pn->hnext;
        m->count--;
        /* Out of the table, it no longer keeps its parent cached (kids counts cached nodes). */
        struct vnode *parent = pn->vn->parent;
        if (parent && parent->fs == &p9_fs_ops && p9n(parent)->kids)
            p9n(parent)->kids--;
    }
    pn->hnext = NULL;
    list_del(m, pn);
}

/* May pn be dropped from the cache? Not while anything holds it: open files, mappings,
 * a cwd or root, an exec'd program, inotify watches (all in vnode->refs), a cached node
 * whose ".." or /proc path names it (kids), or the mount's root. */
static bool unused(const struct p9_mount *m, const struct p9_node *pn)
{
    const struct vnode *n = pn->vn;
    return n->refs == 0 && pn->kids == 0 && n != m->root && !(n->flags & (VN_MOUNT | VN_HOLDS_PARENT));
}

/* Past the bound, move unused nodes from the cold end of the LRU to pending (bury frees
 * them). A few per new node, so a lookup costs O(1) amortised; a node in use gets a
 * second chance at the head, and when all are in use the cache stays over the bound. */
static void shrink(struct p9_mount *m)
{
    for (int i = 0; i < 4 && m->lru.n > m->cache_max && m->lru.tail; i++) {
        struct p9_node *pn = m->lru.tail;
        list_push(m, pn, unused(m, pn) ? P9_ON_PENDING : P9_ON_LRU);
    }
}

static void apply(struct vnode *n, const struct p9_attr *a)
{
    struct p9_mount *m = p9n(n)->m;
    n->mode = a->mode;
    n->uid = a->uid;
    n->gid = a->gid;
    n->nlink = (u32)MIN(a->nlink, 0xffffffffull);
    n->rdev = a->rdev;
    n->size = a->size;
    n->fs_blocks = a->blocks;
    n->atime = (struct ktimespec){a->atime_sec, a->atime_nsec};
    n->mtime = (struct ktimespec){a->mtime_sec, a->mtime_nsec};
    n->ctime = (struct ktimespec){a->ctime_sec, a->ctime_nsec};
    n->dev = m->dev;
    if (m->ro)
        n->flags |= VN_ROVOL;
    /* FIFOs and device nodes behave as the guest's own (Linux's 9p: init_special_inode). */
    n->ops = S_ISDIR(n->mode) ? &p9_dir_ops : S_ISREG(n->mode) ? &p9_file_ops : S_ISFIFO(n->mode) ? &fifo_node_ops
           : S_ISCHR(n->mode) ? devfs_ops_for(n->rdev) : NULL;
}

/* A symlink's target into n->data, as the RAM filesystem keeps it (path lookup reads it). */
static void load_target(struct vnode *n)
{
    char *buf = kmalloc(PATH_MAX);
    if (!buf)
        return;
    long r = p9_readlink(p9n(n)->m->s, p9n(n)->fid, buf, PATH_MAX);
    if (r < 0) {
        kfree(buf);
        return;
    }
    if (n->flags & VN_OWNS_DATA)
        kfree((void *)n->data);
    n->data = (const u8 *)buf;
    n->size = (u64)r;
    n->flags |= VN_OWNS_DATA;
}

/* A node's replaced fid: another task asleep in a request may have read it before, so
 * it is clunked (and its number reused) only when none is (bury). */
void p9_retire_fid(struct p9_mount *m, u32 fid)
{
    if (m->s->users == 0) {
        p9_clunk(m->s, fid);
        return;
    }
    if (m->nold == m->oldcap) {
        u32 cap = m->oldcap ? m->oldcap * 2 : 64;
        u32 *n = kmalloc(cap * sizeof(u32));
        if (!n)
            return; /* the fid stays open on the server: harmless, and never reused */
        if (m->nold)
            memcpy(n, m->old_fids, m->nold * sizeof(u32));
        kfree(m->old_fids);
        m->old_fids = n;
        m->oldcap = cap;
    }
    m->old_fids[m->nold++] = fid;
}

struct vnode *p9_node_get(struct p9_mount *m, u32 fid, const struct p9_attr *a)
{
    struct p9_node *pn = cache_find(m, a->qid.path);
    if (pn) {
        if (pn->fid != fid) {
            p9_retire_fid(m, pn->fid);
            pn->fid = fid;
        }
        touch(m, pn); /* a pending node found again stays: one host inode, one vnode */
    } else {
        struct vnode *n = kzalloc(sizeof(*n));
        pn = kzalloc(sizeof(*pn));
        if (!n || !pn) {
            kfree(n);
            kfree(pn);
            p9_clunk(m->s, fid);
            return NULL;
        }
        n->fs = &p9_fs_ops;
        n->fs_priv = pn;
        n->fs_sb = m;
        n->ino = a->qid.path;
        pn->m = m;
        pn->vn = n;
        pn->fid = fid;
        pn->io_fid = pn->create_fid = P9_NOFID;
        pn->name.node = n;
        if (!cache_add(m, pn)) {
            kfree(n);
            kfree(pn);
            p9_clunk(m->s, fid);
            return NULL;
        }
        shrink(m);
    }
    apply(pn->vn, a);
    if (S_ISLNK(pn->vn->mode))
        load_target(pn->vn);
    return pn->vn;
}

/* dir's child n is named name: ".." and getcwd go through these for directories, the
 * /proc/self/fd links for files (the name last used, for a file with several). */
static void set_name(struct vnode *dir, struct vnode *n, const char *name, u32 len)
{
    if (n->flags & VN_MOUNT)
        return;
    struct p9_node *pn = p9n(n);
    if (n->parent != dir && pn->list != P9_ON_NONE) {
        if (n->parent && n->parent->fs == &p9_fs_ops && p9n(n->parent)->kids)
            p9n(n->parent)->kids--;
        if (dir->fs == &p9_fs_ops)
            p9n(dir)->kids++;
    }
    n->parent = dir;
    if (pn->name.namelen != len || !pn->name.name || memcmp(pn->name.name, name, len) != 0) {
        char *copy = kmalloc(len ? len : 1);
        if (!copy)
            return;
        memcpy(copy, name, len);
        kfree((void *)pn->name.name);
        pn->name.name = copy;
        pn->name.namelen = len;
        pn->name.owns_name = true;
    }
    n->self = &pn->name;
}

/* Walk from dir to name and take the result as a vnode. */
static long walk_node(struct vnode *dir, const char *name, u32 len, struct vnode **out)
{
    struct p9_mount *m = p9n(dir)->m;
    u32 nf;
    struct p9_qid q;
    long r = p9_walk(m->s, p9n(dir)->fid, name, len, &nf, &q);
    if (r < 0)
        return r;
    struct p9_attr a;
    if ((r = p9_getattr(m->s, nf, &a)) < 0) {
        p9_clunk(m->s, nf);
        return r;
    }
    struct vnode *n = p9_node_get(m, nf, &a);
    if (!n)
        return -ENOMEM;
    set_name(dir, n, name, len);
    *out = n;
    return 0;
}

static void bury(struct p9_mount *m);

static long v_lookup(struct vnode *dir, const char *name, u32 len, struct vnode **out)
{
    struct p9_mount *m = p9n(dir)->m;
    touch(m, p9n(dir)); /* the directory a walk is in stays the hottest node */
    bury(m);
    return walk_node(dir, name, len, out);
}

static long v_getattr(struct vnode *n)
{
    struct p9_attr a;
    long r = p9_getattr(p9n(n)->m->s, p9n(n)->fid, &a);
    if (r == 0)
        apply(n, &a);
    return r;
}

static long v_setattr(struct vnode *n, const struct vattr *va)
{
    struct p9_setattr a = {
        .valid = va->valid, .mode = va->mode, .uid = va->uid, .gid = va->gid, .size = va->size,
        .atime_sec = va->atime.sec, .atime_nsec = va->atime.nsec,
        .mtime_sec = va->mtime.sec, .mtime_nsec = va->mtime.nsec,
    };
    long r = p9_setattr(p9n(n)->m->s, p9n(n)->fid, &a);
    v_getattr(n);
    return r;
}

static long v_create(struct vnode *dir, const char *name, u32 len, u32 mode, u64 rdev, const char *target,
                     struct vnode **out)
{
    struct p9_mount *m = p9n(dir)->m;
    struct p9_session *s = m->s;
    u32 dfid = p9n(dir)->fid, cfid = P9_NOFID;
    struct process *p = current_process();
    /* BSD group semantics of setgid directories, as the RAM filesystem's make_node. */
    u32 gid = (dir->mode & S_ISGID) ? dir->gid : p->egid;
    if (S_ISDIR(mode) && (dir->mode & S_ISGID))
        mode |= S_ISGID;
    struct p9_qid q;
    long r;
    switch (mode & S_IFMT) {
    case S_IFREG:
        if ((r = p9_clone(s, dfid, &cfid)) < 0)
            return r;
        r = p9_lcreate(s, cfid, name, len, P9_DOTL_RDWR | P9_DOTL_EXCL, mode & 07777, gid, &q);
        if (r < 0) {
            p9_clunk(s, cfid);
            return r;
        }
        break;
    case S_IFDIR:
        r = p9_mkdir(s, dfid, name, len, mode & 07777, gid, &q);
        break;
    case S_IFLNK:
        r = p9_symlink(s, dfid, name, len, target, (u32)strlen(target), gid, &q);
        break;
    default:
        r = p9_mknod(s, dfid, name, len, mode, dev_major(rdev), dev_minor(rdev), gid, &q);
        break;
    }
    if (r < 0)
        return r;
    /* The server makes files as the attaching user (root): a guest user's files are
     * given to it, so they are its own on the host (docs/volumes.md). */
    u32 nf;
    if ((r = p9_walk(s, dfid, name, len, &nf, &q)) < 0) {
        if (cfid != P9_NOFID)
            p9_clunk(s, cfid);
        return r;
    }
    if (p->euid != 0) {
        struct p9_setattr a = {.valid = P9_SETATTR_UID | P9_SETATTR_GID, .uid = p->euid, .gid = gid};
        p9_setattr(s, nf, &a); /* security_model=none: the server ignores a failure, as Docker rootless */
    }
    struct vnode *n;
    struct p9_attr a;
    if ((r = p9_getattr(s, nf, &a)) < 0 || !(n = p9_node_get(m, nf, &a))) {
        if (r >= 0)
            r = -ENOMEM;
        else
            p9_clunk(s, nf);
        if (cfid != P9_NOFID)
            p9_clunk(s, cfid);
        return r;
    }
    if (cfid != P9_NOFID) {
        if (p9n(n)->create_fid != P9_NOFID)
            p9_clunk(s, p9n(n)->create_fid);
        p9n(n)->create_fid = cfid;
    }
    set_name(dir, n, name, len);
    *out = n;
    return 0;
}

/* victim lost a name on the host: a directory dies, a file loses a link; a node the
 * host no longer names leaves the cache and is freed once unreferenced. */
static void dropped(struct vnode *victim)
{
    if (S_ISDIR(victim->mode)) {
        victim->nlink = 0;
        victim->self = NULL;
        if (victim->refs && victim->parent && !(victim->flags & VN_HOLDS_PARENT)) {
            vnode_get(victim->parent); /* ".." of an open removed directory keeps working */
            victim->flags |= VN_HOLDS_PARENT;
        }
    } else if (victim->nlink) {
        victim->nlink--;
    }
    if (victim->nlink == 0) {
        cache_del(p9n(victim)->m, p9n(victim));
        vnode_unlinked(victim);
    }
}

static long v_remove(struct vnode *dir, const char *name, u32 len, struct vnode *victim, bool isdir)
{
    long r = p9_unlinkat(p9n(dir)->m->s, p9n(dir)->fid, name, len, isdir ? P9_AT_REMOVEDIR : 0);
    if (r == 0)
        dropped(victim);
    return r;
}

static long v_link(struct vnode *dir, const char *name, u32 len, struct vnode *n)
{
    long r = p9_link(p9n(dir)->m->s, p9n(dir)->fid, p9n(n)->fid, name, len);
    if (r == 0)
        v_getattr(n);
    return r;
}

static long v_rename(struct vnode *from, const char *oldname, u32 oldlen, struct vnode *to, const char *newname,
                     u32 newlen, struct vnode *src, struct vnode *victim)
{
    long r = p9_renameat(p9n(from)->m->s, p9n(from)->fid, oldname, oldlen, p9n(to)->fid, newname, newlen);
    if (r < 0)
        return r;
    set_name(to, src, newname, newlen); /* the server moved the fids under the old name too */
    if (victim && victim != src)
        dropped(victim);
    return 0;
}

static long v_statfs(struct vnode *n, struct kstatfs *st)
{
    struct p9_statfs f;
    long r = p9_statfs(p9n(n)->m->s, p9n(n)->fid, &f);
    if (r < 0)
        return r;
    *st = (struct kstatfs){.type = f.type, .bsize = f.bsize, .blocks = f.blocks, .bfree = f.bfree,
                           .bavail = f.bavail, .files = f.files, .ffree = f.ffree, .namelen = f.namelen};
    return 0;
}

/* Directory dir is gone: nodes that still name it as their parent (moved away on the
 * host, unseen) forget where they were, until a lookup tells them again. */
static void orphan_children(struct p9_mount *m, const struct vnode *dir)
{
    for (u32 i = 0; i < m->hsize && p9n(dir)->kids; i++)
        for (struct p9_node *p = m->htab[i]; p; p = p->hnext)
            if (p->vn->parent == dir) {
                p->vn->parent = NULL;
                p->vn->self = NULL;
                p9n(dir)->kids--;
            }
}

static void release_node(struct p9_node *pn);

/* Free the forgotten nodes once no other task sleeps in a request: a task that slept
 * there may hold one from a lookup made before (namei.c takes no references; on the
 * RAM filesystem nothing sleeps between a lookup and its use). */
static void bury(struct p9_mount *m)
{
    /* Dropped nodes leave the cache and are freed, but not one in use again (an open of
     * a name looked up before), nor one handed out during the running system call: the
     * caller may hold it (a rename holds the first directory while it walks the second
     * path). Other tasks that hold one sleep in a request (users), as the kernel is not
     * preemptible; so this is safe whatever the bound. */
    while (m->pending.tail && m->s->users == 0) {
        struct p9_node *pn = m->pending.tail;
        if (!unused(m, pn) || pn->used >= current->syscall_seq) {
            list_push(m, pn, P9_ON_LRU);
            continue;
        }
        cache_del(m, pn);
        release_node(pn);
    }
    while (m->grave && m->s->users == 0) {
        struct p9_node *pn = m->grave;
        m->grave = pn->hnext;
        release_node(pn);
    }
    while (m->nold && m->s->users == 0)
        p9_clunk(m->s, m->old_fids[--m->nold]);
}

static void v_forget(struct vnode *n)
{
    struct p9_node *pn = p9n(n);
    struct p9_mount *m = pn->m;
    cache_del(m, pn); /* no lookup finds it again */
    if (S_ISDIR(n->mode) && pn->kids)
        orphan_children(m, n);
    pn->hnext = m->grave;
    m->grave = pn;
    bury(m);
}

static void release_node(struct p9_node *pn)
{
    struct vnode *n = pn->vn;
    struct p9_session *s = pn->m->s;
    p9_clunk(s, pn->fid);
    if (pn->io_fid != P9_NOFID)
        p9_clunk(s, pn->io_fid);
    if (pn->create_fid != P9_NOFID)
        p9_clunk(s, pn->create_fid);
    if (n->flags & VN_OWNS_DATA)
        kfree((void *)n->data);
    kfree((void *)pn->name.name);
    struct vnode *parent = (n->flags & VN_HOLDS_PARENT) ? n->parent : NULL;
    kfree(pn);
    kfree(n);
    if (parent)
        vnode_put(parent);
}

long p9_kernel_read(struct vnode *n, void *buf, size_t len, u64 off)
{
    struct p9_node *pn = p9n(n);
    struct p9_session *s = pn->m->s;
    if (pn->io_fid == P9_NOFID) {
        u32 fid;
        long r = p9_clone(s, pn->fid, &fid);
        if (r < 0)
            return r;
        if ((r = p9_lopen(s, fid, P9_DOTL_RDONLY)) < 0) {
            p9_clunk(s, fid);
            return r;
        }
        pn->io_fid = fid;
    }
    size_t done = 0;
    while (done < len) {
        long r = p9_read(s, pn->io_fid, off + done, (u8 *)buf + done, (u32)MIN(len - done, (size_t)p9_iounit(s)));
        if (r < 0)
            return done ? (long)done : r;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (long)done;
}

/* Read all of an xattr fid's value (or list) into buf, or its size when size is 0. */
static long xattr_read(struct p9_session *s, u32 xf, u64 len, void *buf, size_t size)
{
    long r = (long)len;
    if (size && len > size)
        r = -ERANGE;
    for (u64 done = 0; size && r >= 0 && done < len;) {
        long n = p9_read(s, xf, done, (u8 *)buf + done, (u32)MIN(len - done, (u64)p9_iounit(s)));
        if (n <= 0) {
            r = n < 0 ? n : -EIO;
            break;
        }
        done += (u64)n;
    }
    p9_clunk(s, xf);
    return r;
}

static long v_getxattr(struct vnode *n, const char *name, void *buf, size_t size)
{
    struct p9_session *s = p9n(n)->m->s;
    u32 xf;
    u64 len;
    long r = p9_xattrwalk(s, p9n(n)->fid, name, (u32)strlen(name), &xf, &len);
    return r < 0 ? r : xattr_read(s, xf, len, buf, size);
}

static long v_listxattr(struct vnode *n, char *buf, size_t size)
{
    struct p9_session *s = p9n(n)->m->s;
    u32 xf;
    u64 len;
    long r = p9_xattrwalk(s, p9n(n)->fid, "", 0, &xf, &len);
    return r < 0 ? r : xattr_read(s, xf, len, buf, size);
}

/* Set (value) or remove (NULL) name: a clone of the node's fid becomes the attribute's
 * writer, and its clunk makes the change (its error is the call's). */
static long v_setxattr(struct vnode *n, const char *name, const void *value, size_t size, int flags)
{
    struct p9_session *s = p9n(n)->m->s;
    u32 xf;
    long r = p9_clone(s, p9n(n)->fid, &xf);
    if (r < 0)
        return r;
    r = p9_xattrcreate(s, xf, name, (u32)strlen(name), value ? size : 0, (u32)flags);
    for (size_t done = 0; r >= 0 && value && done < size;) {
        long w = p9_write(s, xf, done, (const u8 *)value + done, (u32)MIN(size - done, (size_t)p9_iounit(s)));
        if (w <= 0)
            r = w < 0 ? w : -EIO;
        else
            done += (size_t)w;
    }
    long c = p9_clunk(s, xf);
    return r < 0 ? r : c;
}

const struct fs_ops p9_fs_ops = {
    .lookup = v_lookup,
    .create = v_create,
    .remove = v_remove,
    .link = v_link,
    .rename = v_rename,
    .getattr = v_getattr,
    .setattr = v_setattr,
    .read = p9_kernel_read,
    .statfs = v_statfs,
    .fsync = p9_fsync_file,
    .getxattr = v_getxattr,
    .setxattr = v_setxattr,
    .listxattr = v_listxattr,
    .open_file = p9_open_file,
    .forget = v_forget,
};
