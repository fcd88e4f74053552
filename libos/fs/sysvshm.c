/* SPDX-License-Identifier: Apache-2.0 */
/* sysvshm.c: System V shared memory segments (shmget, shmat, shmdt, shmctl) as unlinked RAM-filesystem files, with Linux's rules. */
#include <libos/errno.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/ipc.h>
#include <libos/shm.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/uvm.h>
#include <libos/vfs.h>

#define SHMMNI IPC_MNI
#define SHMMIN 1ul
#define SHMMAX (~0ul - (1ul << 24))      /* Linux's default limits: none in practice */
#define SHMALL (~0ul - (1ul << 24))      /* pages */
#define SHMSEG SHMMNI                    /* attaches per process: Linux reports SHMMNI */
#define SHMLBA PAGE_SIZE
#define SHM_RDONLY 010000
#define SHM_RND 020000
#define SHM_REMAP 040000
#define SHM_EXEC 0100000
#define SHM_LOCK 11
#define SHM_UNLOCK 12
#define SHM_STAT 13
#define SHM_INFO 14
#define SHM_STAT_ANY 15
#define SHM_DEST 01000   /* in the mode: removed, freed at the last detach */
#define SHM_LOCKED 02000 /* in the mode: SHM_LOCK (nothing is ever swapped here) */
#define MAX_DETACH 64    /* VMAs one shmdt unmaps (a segment split by mprotect) */

struct segment {
    struct ipc_perm_k perm; /* first: the id table points here */
    u64 size;
    s64 atime, dtime, ctime;
    int cpid, lpid;
    struct vnode *node; /* the memory; the segment holds one reference, each VMA one */
    char name[24];      /* "/SYSV<key>": labels its VMAs, so it lives until they are gone */
};

_Static_assert(__builtin_offsetof(struct segment, perm) == 0, "a table slot is the segment");

static struct ipc_ids segs;

static struct segment *lookup(int id) { return (struct segment *)ipc_lookup(&segs, id); }
static struct segment *at_index(int idx) { return (struct segment *)ipc_at_index(&segs, idx); }

struct shmid64_ds {
    struct ipc64_perm perm;
    u64 segsz;
    s64 atime, dtime, ctime;
    s32 cpid, lpid;
    u64 nattch, unused4, unused5;
};
struct shminfo64 {
    u64 shmmax, shmmin, shmmni, shmseg, shmall, unused1, unused2, unused3, unused4;
};
struct shm_info {
    s32 used_ids;
    u32 pad;
    u64 shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes;
};

/* Attaches: every VMA mapping the segment's file holds a reference on it (fork's
 * copies and mprotect's splits too, as Linux counts vm_area opens). */
static u64 nattch(const struct segment *s) { return (u64)(s->node->refs - 1); }

static void free_segment(struct segment *s)
{
    ipc_remove(&segs, &s->perm);
    vnode_put(s->node); /* frees the pages: no VMA holds the file any more */
    kfree(s);
}

/* A removed segment goes with its last attach. Detaching by exit or exec unmaps
 * without telling us, so every entry point looks for such segments first. */
static void sweep(void)
{
    for (int i = 0; i < SHMMNI; i++) {
        struct segment *s = at_index(i);
        if (s && (s->perm.mode & SHM_DEST) && nattch(s) == 0)
            free_segment(s);
    }
}

static int current_pid(void) { return current_process()->pid; }

static bool too_small(const struct ipc_perm_k *p, u64 size) { return size > ((const struct segment *)p)->size; }

long shm_get(s32 key, u64 size, int flags)
{
    sweep();
    long r = ipc_get_key(&segs, key, flags, too_small, size);
    if (r != IPC_GET_CREATE)
        return r;
    if (size < SHMMIN || size > SHMMAX)
        return -EINVAL;
    if (size > FILE_SIZE_MAX)
        return -ENOSPC; /* more pages than the file can hold: Linux's answer past shmall */
    int idx = ipc_new_slot(&segs);
    if (idx < 0)
        return idx;
    struct segment *s = kzalloc(sizeof(*s));
    struct vnode *n = s ? ramfs_alloc_node(S_IFREG | ((u32)flags & 0777)) : NULL;
    if (!n) {
        kfree(s);
        return -ENOMEM;
    }
    vnode_get(n);
    n->uid = current_process()->euid;
    n->gid = current_process()->egid;
    fdata_truncate(n, size); /* sparse: pages come at the first touch of an attach */
    s->size = size;
    s->ctime = ipc_now();
    s->cpid = current_pid();
    s->node = n;
    ksnprintf(s->name, sizeof(s->name), "/SYSV%08x", (u32)key);
    return ipc_install(&segs, idx, &s->perm, key, flags);
}

long shm_at(int id, u64 addr, int flags)
{
    if (id < 0)
        return -EINVAL;
    if (addr) {
        if (addr & (SHMLBA - 1)) {
            if (!(flags & SHM_RND))
                return -EINVAL;
            addr &= ~(SHMLBA - 1);
            if (!addr && (flags & SHM_REMAP))
                return -EINVAL;
        }
    } else if (flags & SHM_REMAP) {
        return -EINVAL;
    }
    int prot = PROT_READ, want = 4, uflags = UVM_SHARED | UVM_SHARED_FILE;
    if (!(flags & SHM_RDONLY)) {
        prot |= PROT_WRITE;
        want |= 2;
    } else {
        uflags |= UVM_NEVER_WRITE; /* mprotect cannot make it writable (EACCES) */
    }
    if (flags & SHM_EXEC) {
        prot |= PROT_EXEC;
        want |= 1;
    }
    sweep();
    struct segment *s = lookup(id);
    if (!s)
        return -EINVAL;
    if (!ipc_may(&s->perm, (u32)want))
        return -EACCES;
    u64 len = ALIGN_UP(s->size, PAGE_SIZE);
    if (addr && addr + len < addr)
        return -EINVAL;
    /* The file's own frames (UVM_SHARED_FILE): every attach sees every store. An
     * address without SHM_REMAP must be free, else EINVAL (Linux's intersection check). */
    if (addr)
        uflags |= (flags & SHM_REMAP) ? UVM_FIXED : UVM_FIXED_NOREPLACE;
    struct uvm_backing b = {.node = s->node, .off = 0};
    long r = uvm_map(addr, len, prot, uflags, &b, s->name);
    if (r == -EEXIST)
        return -EINVAL;
    if (r < 0)
        return r;
    s->atime = ipc_now();
    s->lpid = current_pid();
    return r;
}

struct detach {
    u64 addr, limit;
    struct vnode *node;
    u64 start[MAX_DETACH], end[MAX_DETACH];
    int n;
};

static struct segment *segment_of(const struct vnode *n)
{
    for (int i = 0; i < SHMMNI; i++) {
        struct segment *s = at_index(i);
        if (s && s->node == n)
            return s;
    }
    return NULL;
}

/* Linux's shmdt: the VMA at addr mapping a segment from its start, then every VMA of
 * the same segment within its size whose offset matches its distance from addr. */
static void collect(const struct uvm_vma_info *v, void *ctx)
{
    struct detach *d = ctx;
    if (!d->node) {
        struct segment *s = v->start == d->addr && v->off == 0 && v->node ? segment_of(v->node) : NULL;
        if (!s)
            return;
        d->node = v->node;
        d->limit = d->addr + ALIGN_UP(s->size, PAGE_SIZE);
    }
    if (v->node == d->node && v->start >= d->addr && v->end <= d->limit && v->off == v->start - d->addr &&
        d->n < MAX_DETACH) {
        d->start[d->n] = v->start;
        d->end[d->n] = v->end;
        d->n++;
    }
}

long shm_dt(u64 addr)
{
    if (addr & (PAGE_SIZE - 1))
        return -EINVAL;
    struct detach d = {.addr = addr};
    uvm_for_each_vma(current_process(), collect, &d);
    if (d.n == 0)
        return -EINVAL;
    struct segment *s = segment_of(d.node);
    for (int i = 0; i < d.n; i++)
        uvm_unmap(d.start[i], d.end[i] - d.start[i]);
    if (s) {
        s->dtime = ipc_now();
        s->lpid = current_pid();
    }
    sweep();
    return 0;
}

static long stat_out(const struct segment *s, u64 ubuf)
{
    struct shmid64_ds ds;
    memset(&ds, 0, sizeof(ds));
    ds.perm = ipc_perm_abi(&s->perm);
    ds.segsz = s->size;
    ds.atime = s->atime;
    ds.dtime = s->dtime;
    ds.ctime = s->ctime;
    ds.cpid = s->cpid;
    ds.lpid = s->lpid;
    ds.nattch = nattch(s);
    return copy_to_user(ubuf, &ds, sizeof(ds)) < 0 ? -EFAULT : 0;
}

/* IPC_INFO and SHM_INFO answer the highest index in use, as Linux (ipcs walks to it). */
static long info(int cmd, u64 ubuf)
{
    struct shm_info si = {0};
    for (int i = 0; i < SHMMNI; i++) {
        const struct segment *s = at_index(i);
        if (!s)
            continue;
        si.used_ids++;
        si.shm_tot += ALIGN_UP(s->size, PAGE_SIZE) / PAGE_SIZE;
        si.shm_rss += s->node->npages;
    }
    long r;
    if (cmd == IPC_INFO) {
        struct shminfo64 in = {.shmmax = SHMMAX, .shmmin = SHMMIN, .shmmni = SHMMNI, .shmseg = SHMSEG, .shmall = SHMALL};
        r = copy_to_user(ubuf, &in, sizeof(in));
    } else {
        r = copy_to_user(ubuf, &si, sizeof(si));
    }
    return r < 0 ? -EFAULT : ipc_max_index(&segs);
}

long shm_ctl(int id, int cmd, u64 ubuf)
{
    if (cmd < 0 || id < 0)
        return -EINVAL;
    cmd &= ~IPC_64;
    sweep();
    if (cmd == IPC_INFO || cmd == SHM_INFO)
        return info(cmd, ubuf);
    if (cmd == SHM_STAT || cmd == SHM_STAT_ANY) { /* id is a table index here */
        const struct segment *s = at_index(id);
        if (!s)
            return -EINVAL;
        if (cmd == SHM_STAT && !ipc_may(&s->perm, 4))
            return -EACCES;
        long r = stat_out(s, ubuf);
        return r < 0 ? r : ipc_id(&s->perm);
    }
    struct segment *s = lookup(id);
    if (!s)
        return -EINVAL;
    switch (cmd) {
    case IPC_STAT:
        return ipc_may(&s->perm, 4) ? stat_out(s, ubuf) : -EACCES;
    case IPC_SET: {
        if (!ipc_owner(&s->perm))
            return -EPERM;
        struct shmid64_ds ds;
        if (copy_from_user(&ds, ubuf, sizeof(ds)) < 0)
            return -EFAULT;
        ipc_perm_set(&s->perm, &ds.perm);
        s->ctime = ipc_now();
        return 0;
    }
    case IPC_RMID:
        if (!ipc_owner(&s->perm))
            return -EPERM;
        /* The key is free at once; the memory stays while anything is attached, and
         * shmat by id still works meanwhile (as on Linux). */
        s->perm.mode |= SHM_DEST;
        s->perm.key = IPC_PRIVATE;
        sweep();
        return 0;
    case SHM_LOCK:
    case SHM_UNLOCK:
        /* Nothing is ever swapped out here: only the flag changes. Without
         * CAP_IPC_LOCK (Docker does not grant it) only the owner or creator may. */
        if (!ipc_owner(&s->perm))
            return -EPERM;
        if (cmd == SHM_LOCK)
            s->perm.mode |= SHM_LOCKED;
        else
            s->perm.mode &= ~(u32)SHM_LOCKED;
        return 0;
    default:
        return -EINVAL;
    }
}
