/* SPDX-License-Identifier: Apache-2.0 */
/* uvm.c: the application's address space: a sorted VMA list, demand paging, mmap-family operations.
 *
 * A VMA is a page-aligned range with Linux protections and optional backing: fixed
 * bytes (ELF segments from the archive) or a file (mmap), read when a page is first
 * touched, so MAP_PRIVATE is "copy the file's current bytes on first touch"; a read
 * of archive bytes maps the page cache's shared frame instead (pcache.c). A file
 * VMA holds a reference on the vnode, which keeps an unlinked file's data alive.
 * Pages are allocated by the fault handler; PROT_NONE pages keep their frame in a
 * non-present PTE marked PTE_SW_PROTNONE.
 *
 * Each process has an address space, struct mm: the VMA list, the lookup hint, the
 * break and its own page-table root (vm.c). Every function here works on the active
 * one, the running process's (the scheduler loads it with uvm_activate()). fork
 * copies an address space copy-on-write (uvm_fork(), docs/processes.md): private
 * pages are shared read-only with PTE_SW_COW and copied on the first write fault;
 * the last owner just regains write access.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/proc.h>
#include <libos/signal.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <libos/x86.h>

#define PF_PRESENT 0x1
#define PF_WRITE 0x2
#define PF_FETCH 0x10
#define VMA_HEAP 0x100
/* Software bit of a present or PROT_NONE PTE: the frame is shared copy-on-write, so
 * the page stays read-only until a write fault copies it (or finds it unshared). */
#define PTE_SW_COW (1ul << 10)
/* Linux's vm.max_map_count default: past it mmap, mprotect and munmap splits fail
 * with ENOMEM instead of growing the kernel's VMA list without bound. */
#define VMA_MAX 65530

struct vma {
    u64 start, end;
    int prot, flags;
    const u8 *data; /* backing bytes for [start, start + data_len) */
    u64 data_len;
    struct vnode *node; /* or a file: page at start + x reads the file at off + x */
    u64 off;
    const char *name;
    struct vma *next;
};

struct mm {
    struct vma *vma_list; /* sorted by start, non-overlapping */
    unsigned vma_count;
    /* A VMA somewhere in the list, where the last lookup started: most operations touch
     * an address near the previous one, so walks start here instead of at the head
     * (a program with tens of thousands of VMAs must not make every call O(n)).
     * Cleared when that VMA is freed. */
    struct vma *lookup_hint;
    u64 brk_start, brk_now;
    u64 root; /* page-table root (vm.c) */
    int refs; /* processes using it (a vfork child shares its parent's) */
};

static struct mm *mm; /* the active address space: its root is in CR3 */

/* The fields of the active address space, as the code below uses them. */
#define vmas (mm->vma_list)
#define nvmas (mm->vma_count)
#define hint (mm->lookup_hint)
#define brk_base (mm->brk_start)
#define brk_cur (mm->brk_now)

struct mm *uvm_mm_new(void)
{
    struct mm *m = kzalloc(sizeof(*m));
    if (!m)
        return NULL;
    if (vm_root_new(&m->root) < 0) {
        kfree(m);
        return NULL;
    }
    m->refs = 1;
    return m;
}

void uvm_activate(struct mm *m)
{
    if (m == mm)
        return;
    mm = m;
    vm_root_activate(m ? m->root : 0);
}

struct mm *uvm_active(void) { return mm; }

void uvm_mm_get(struct mm *m) { m->refs++; }

void uvm_init(void)
{
    struct mm *m = uvm_mm_new();
    if (!m)
        panic("uvm: no memory for the first address space");
    current_process()->mm = m; /* pid 1's */
    uvm_activate(m);
}

/* The link (list head or a next field) that points at the first VMA ending above
 * addr, or at the end of the list. */
static struct vma **link_at(u64 addr)
{
    struct vma **pp = &vmas;
    struct vma *owner = NULL;
    if (hint && hint->end <= addr) {
        owner = hint;
        pp = &hint->next;
    }
    while (*pp && (*pp)->end <= addr) {
        owner = *pp;
        pp = &owner->next;
    }
    hint = owner;
    return pp;
}

static void free_vma(struct vma *v)
{
    if (v == hint)
        hint = NULL;
    if (v->node)
        vnode_put(v->node);
    kfree(v);
    nvmas--;
}

static u64 leaf_flags(int prot)
{
    u64 f = PTE_P | PTE_U;
    if (prot & PROT_WRITE)
        f |= PTE_W;
    if (!(prot & PROT_EXEC))
        f |= vm_nx_bit;
    return f;
}

/* No frame for a page the program needs: the process dies with SIGKILL and an
 * out-of-memory line (pid 1: the VM ends, signal.c); the kernel never panics. */
static __noreturn void uvm_out_of_memory(u64 addr)
{
    kinfo("out of memory: process %d (%s) killed with SIGKILL: no frame for address 0x%lx (%lu pages free)",
          current_process()->pid, current_process()->comm, addr, pmm_free_pages());
    signal_fatal(SIGKILL, addr, 0, "out-of-memory");
}

static struct vma *find_vma(u64 addr)
{
    struct vma *v = *link_at(addr);
    return v && v->start <= addr ? v : NULL;
}

static bool range_free(u64 start, u64 end)
{
    struct vma *v = *link_at(start);
    return !v || v->start >= end;
}

static void insert_vma(struct vma *n)
{
    struct vma **pp = link_at(n->start);
    n->next = *pp;
    *pp = n;
    nvmas++;
}

/* Split v at a (v->start < a < v->end); returns the upper half, or NULL (ENOMEM)
 * at the map count limit or when the kernel heap is exhausted. */
static struct vma *split_vma(struct vma *v, u64 a)
{
    if (nvmas >= VMA_MAX)
        return NULL;
    struct vma *r = kmalloc(sizeof(*r));
    if (!r)
        return NULL;
    nvmas++;
    *r = *v;
    u64 off = a - v->start;
    r->start = a;
    r->data = v->data ? v->data + off : NULL;
    r->data_len = v->data_len > off ? v->data_len - off : 0;
    r->off = v->off + off;
    if (r->node)
        vnode_get(r->node);
    v->end = a;
    v->data_len = MIN(v->data_len, off);
    v->next = r;
    return r;
}

/* Make sure no VMA straddles start or end: 0 or -ENOMEM (a split done before the
 * failure stays; it changes no mapping). */
static long carve(u64 start, u64 end)
{
    for (struct vma *v = *link_at(start); v && v->start < end; v = v->next) {
        if (v->start < start && start < v->end && !(v = split_vma(v, start)))
            return -ENOMEM;
        if (v->start < end && end < v->end && !split_vma(v, end))
            return -ENOMEM;
    }
    return 0;
}

/* a and b (a->next == b) can be one VMA: adjacent, same rights, contiguous backing. */
static bool mergeable(const struct vma *a, const struct vma *b)
{
    u64 size = a->end - a->start;
    if (a->end != b->start || a->prot != b->prot || a->flags != b->flags || a->name != b->name ||
        a->node != b->node || (a->node && b->off != a->off + size))
        return false;
    if (!a->data && !b->data)
        return true;
    return a->data && b->data && b->data == a->data + size && (a->data_len == size || b->data_len == 0);
}

/* Join the VMAs touching [start, end) with their equal neighbours, as Linux merges
 * VMAs: splitting a range and restoring it leaves one VMA again. */
static void merge_around(u64 start, u64 end)
{
    struct vma *v = *link_at(start > PAGE_SIZE ? start - PAGE_SIZE : 0);
    while (v && v->start <= end) {
        struct vma *n = v->next;
        if (n && mergeable(v, n)) {
            v->data_len += n->data_len;
            v->end = n->end;
            v->next = n->next;
            free_vma(n);
        } else {
            v = n;
        }
    }
}

/* Free one page; ctx non-NULL: no invlpg, the caller reloads CR3 afterwards (under
 * TCG each invlpg also ends a translated block: ~130 of them per exec and exit). */
static void free_pte(u64 va, u64 *pte, void *ctx)
{
    if (*pte & (PTE_P | PTE_SW_PROTNONE))
        pmm_free(*pte & PTE_ADDR_MASK);
    bool present = *pte & PTE_P;
    *pte = 0;
    if (present && !ctx)
        invlpg(va);
}

static long unmap_range(u64 start, u64 end)
{
    if (carve(start, end) < 0)
        return -ENOMEM;
    struct vma **pp = link_at(start);
    while (*pp && (*pp)->start < end) {
        struct vma *v = *pp;
        if (v->start >= start && v->end <= end) {
            *pp = v->next;
            free_vma(v);
        } else {
            pp = &v->next;
        }
    }
    vm_for_each_pte(start, end, free_pte, NULL);
    return 0;
}

long uvm_find_free(u64 len, u64 align)
{
    if (align < PAGE_SIZE)
        align = PAGE_SIZE;
    u64 best = 0, prev_end = USER_MIN_ADDR;
    for (struct vma *v = vmas;; v = v->next) {
        u64 gap_end = MIN(v ? v->start : USER_MMAP_TOP, USER_MMAP_TOP);
        if (gap_end > prev_end && gap_end - prev_end >= len) {
            u64 at = ALIGN_DOWN(gap_end - len, align);
            if (at >= prev_end)
                best = at;
        }
        if (!v)
            break;
        prev_end = MAX(prev_end, v->end);
        if (prev_end >= USER_MMAP_TOP)
            break;
    }
    return best ? (long)best : -ENOMEM;
}

long uvm_map(u64 addr, u64 len, int prot, int flags, const struct uvm_backing *backing, const char *name)
{
    if (len == 0)
        return -EINVAL;
    if (len > USER_MAP_TOP)
        return -ENOMEM; /* Linux: any length that cannot fit, wrapping ones included */
    len = ALIGN_UP(len, PAGE_SIZE);
    if (nvmas >= VMA_MAX)
        return -ENOMEM;
    if (flags & (UVM_FIXED | UVM_FIXED_NOREPLACE)) {
        if (addr & (PAGE_SIZE - 1))
            return -EINVAL;
        if (addr > USER_MAP_TOP - len)
            return -ENOMEM;
        if (addr < USER_MIN_ADDR)
            return -EPERM;
        if (!range_free(addr, addr + len)) {
            if (flags & UVM_FIXED_NOREPLACE)
                return -EEXIST;
            if (unmap_range(addr, addr + len) < 0)
                return -ENOMEM;
        }
    } else {
        addr = ALIGN_DOWN(addr, PAGE_SIZE);
        if (!addr || addr < USER_MIN_ADDR || addr + len > USER_STACK_TOP || addr + len < addr ||
            !range_free(addr, addr + len)) {
            long found = uvm_find_free(len, PAGE_SIZE);
            if (found < 0)
                return found;
            addr = (u64)found;
        }
    }
    struct vma *v = kzalloc(sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->start = addr;
    v->end = addr + len;
    v->prot = prot;
    v->flags = flags & (UVM_STACK | UVM_SHARED | UVM_SHARED_ANON | UVM_SHARED_FILE | UVM_NEVER_WRITE);
    v->name = name;
    if (backing) {
        v->data = backing->data;
        v->data_len = MIN(backing->len, len);
        v->node = backing->node;
        v->off = backing->off;
        if (v->node)
            vnode_get(v->node);
    }
    insert_vma(v);
    return (long)addr;
}

long uvm_unmap(u64 addr, u64 len)
{
    if ((addr & (PAGE_SIZE - 1)) || len == 0 || addr > USER_MAP_TOP || len > USER_MAP_TOP - addr)
        return -EINVAL;
    len = ALIGN_UP(len, PAGE_SIZE);
    return unmap_range(addr, addr + len);
}

static bool covered(u64 start, u64 end)
{
    u64 at = start;
    for (struct vma *v = *link_at(start); v && at < end; v = v->next) {
        if (v->end <= at)
            continue;
        if (v->start > at)
            return false;
        at = v->end;
    }
    return at >= end;
}

struct prot_ctx {
    int prot;
};

static void reprotect_pte(u64 va, u64 *pte, void *ctx)
{
    const struct prot_ctx *c = ctx;
    if (!(*pte & (PTE_P | PTE_SW_PROTNONE)))
        return;
    u64 phys = *pte & PTE_ADDR_MASK;
    bool was_present = *pte & PTE_P;
    u64 cow = *pte & PTE_SW_COW;
    *pte = c->prot == PROT_NONE ? phys | PTE_SW_PROTNONE : phys | leaf_flags(c->prot);
    if (cow) /* still shared: writable only after the fault copies it */
        *pte = (*pte & ~PTE_W) | cow;
    if (was_present)
        invlpg(va);
}

long uvm_protect(u64 addr, u64 len, int prot)
{
    len = ALIGN_UP(len, PAGE_SIZE);
    if (addr & (PAGE_SIZE - 1))
        return -EINVAL;
    if (len == 0)
        return 0;
    if (addr + len > USER_MAP_TOP || addr + len < addr || !covered(addr, addr + len))
        return -ENOMEM;
    for (struct vma *v = *link_at(addr); v && v->start < addr + len; v = v->next)
        if ((prot & PROT_WRITE) && (((v->flags & UVM_SHARED) && !(v->flags & UVM_SHARED_FILE)) || (v->flags & UVM_NEVER_WRITE)))
            return -EACCES; /* shared snapshot pages (file open read-only), a SHM_RDONLY attach: Linux's EACCES */
    if (carve(addr, addr + len) < 0)
        return -ENOMEM;
    for (struct vma *v = *link_at(addr); v && v->start < addr + len; v = v->next)
        v->prot = prot;
    struct prot_ctx c = {prot};
    vm_for_each_pte(addr, addr + len, reprotect_pte, &c);
    merge_around(addr, addr + len);
    return 0;
}

long uvm_discard(u64 addr, u64 len)
{
    len = ALIGN_UP(len, PAGE_SIZE);
    if ((addr & (PAGE_SIZE - 1)) || addr + len < addr)
        return -EINVAL;
    if (addr + len > USER_MAP_TOP || !covered(addr, addr + len))
        return -ENOMEM;
    vm_for_each_pte(addr, addr + len, free_pte, NULL);
    return 0;
}

struct move_ctx {
    u64 delta;
    long err;
};

/* Create the page tables at the destination of every page that will move, so the
 * move itself cannot fail half way. */
static void prepare_pte(u64 va, u64 *pte, void *ctx)
{
    struct move_ctx *c = ctx;
    if (!c->err && vm_pte(va + c->delta) == NULL)
        c->err = vm_set_pte(va + c->delta, 0);
}

static void move_pte(u64 va, u64 *pte, void *ctx)
{
    const struct move_ctx *c = ctx;
    u64 raw = *pte;
    bool present = raw & PTE_P;
    *pte = 0;
    if (present)
        invlpg(va);
    *vm_pte(va + c->delta) = raw; /* tables made by prepare_pte; the destination was unmapped */
}

long uvm_remap(u64 old, u64 old_len, u64 new_len, bool may_move, u64 fixed)
{
    if (old & (PAGE_SIZE - 1))
        return -EINVAL;
    /* Linux's order of checks: lengths past the user address space (wrapping ones
     * included) and a destination outside it are EINVAL, before anything changes. */
    if (new_len == 0 || new_len > USER_MAP_TOP || old_len > USER_MAP_TOP)
        return -EINVAL;
    old_len = ALIGN_UP(old_len, PAGE_SIZE);
    new_len = ALIGN_UP(new_len, PAGE_SIZE);
    if (fixed && ((fixed & (PAGE_SIZE - 1)) || fixed > USER_MAP_TOP - new_len ||
                  (fixed < old + old_len && old < fixed + new_len)))
        return -EINVAL;
    if (fixed && fixed < USER_MIN_ADDR)
        return -EPERM;
    struct vma *v = find_vma(old);
    if (!v || old_len > v->end - old)
        return -EFAULT;
    if (!fixed && new_len <= old_len) {
        if (new_len < old_len && unmap_range(old + new_len, old + old_len) < 0)
            return -ENOMEM;
        return (long)old;
    }
    if (!fixed && old + old_len == v->end && old < USER_MMAP_TOP && new_len <= USER_MMAP_TOP - old &&
        range_free(v->end, old + new_len)) {
        v->end = old + new_len;
        return (long)old;
    }
    if (!may_move)
        return -ENOMEM;
    if (nvmas + 3 > VMA_MAX) /* the new VMA and up to two splits of the old one */
        return -ENOMEM;
    u64 dst = fixed;
    if (fixed) {
        if (unmap_range(fixed, fixed + new_len) < 0)
            return -ENOMEM;
    } else {
        long found = uvm_find_free(new_len, PAGE_SIZE);
        if (found < 0)
            return found;
        dst = (u64)found;
    }
    if (carve(old, old + old_len) < 0)
        return -ENOMEM;
    v = find_vma(old);
    u64 keep = MIN(old_len, new_len);
    struct uvm_backing b = {v->data, v->data_len, v->node, v->off};
    long r = uvm_map(dst, new_len, v->prot, UVM_FIXED | (v->flags & (UVM_SHARED | UVM_SHARED_ANON | UVM_SHARED_FILE | UVM_NEVER_WRITE)), v->data || v->node ? &b : NULL,
                     v->name);
    if (r < 0)
        return r;
    struct move_ctx c = {dst - old, 0};
    vm_for_each_pte(old, old + keep, prepare_pte, &c);
    if (c.err) {
        unmap_range(dst, dst + new_len); /* nothing moved yet: drop the new VMA */
        return -ENOMEM;
    }
    vm_for_each_pte(old, old + keep, move_pte, &c);
    unmap_range(old, old + old_len); /* no split: carved above */
    return (long)dst;
}

void uvm_set_brk_base(u64 base) { brk_base = brk_cur = base; }

u64 uvm_brk(u64 new_brk)
{
    /* Below the start or past the mmap area (-1 and kernel addresses included, which
     * used to round up to 0): Linux returns the unchanged break. */
    if (new_brk < brk_base || new_brk > USER_MMAP_TOP)
        return brk_cur;
    u64 old_top = ALIGN_UP(brk_cur, PAGE_SIZE), new_top = ALIGN_UP(new_brk, PAGE_SIZE);
    if (new_top > old_top) {
        if (!range_free(old_top, new_top))
            return brk_cur; /* Linux returns the unchanged break on failure */
        struct vma *heap = old_top > brk_base ? find_vma(old_top - 1) : NULL;
        if (heap && (heap->flags & VMA_HEAP) && heap->end == old_top) {
            heap->end = new_top;
        } else {
            long r = uvm_map(old_top, new_top - old_top, PROT_READ | PROT_WRITE, UVM_FIXED, NULL, "[heap]");
            if (r < 0)
                return brk_cur;
            find_vma(old_top)->flags |= VMA_HEAP;
        }
    } else if (new_top < old_top) {
        if (unmap_range(new_top, old_top) < 0)
            return brk_cur;
    }
    brk_cur = new_brk;
    return brk_cur;
}

/* A write fault on a present copy-on-write page: copy it (or take it back when no
 * other address space still maps the frame). 0, or -ENOMEM with no frame left. */
static long cow_break(u64 va, u64 *pte, const struct vma *v)
{
    u64 old = *pte & PTE_ADDR_MASK;
    if (pmm_refcount(old) == 1) {
        *pte = old | leaf_flags(v->prot);
        invlpg(va);
        return 0;
    }
    u64 frame = pmm_alloc();
    if (!frame)
        return -ENOMEM;
    memcpy(phys_to_virt(frame), phys_to_virt(old), PAGE_SIZE);
    *pte = frame | leaf_flags(v->prot);
    invlpg(va);
    pmm_free(old); /* our reference to the shared frame */
    return 0;
}

/* The archive bytes behind page va of v and how many (at most a page), or NULL: an
 * anonymous page, a file written since (no longer its archive bytes), or past the end. */
static const u8 *archive_src(u64 va, const struct vma *v, u64 *len)
{
    u64 off = va - v->start;
    if (v->flags & UVM_SHARED_ANON)
        return NULL;
    if (v->node) {
        const u8 *flat = fdata_flat(v->node); /* NULL once the file was written */
        u64 at = v->off + off;
        if (!flat || at >= v->node->size)
            return NULL;
        *len = MIN(PAGE_SIZE, v->node->size - at);
        return flat + at;
    }
    if (!v->data || off >= v->data_len)
        return NULL;
    *len = MIN(PAGE_SIZE, v->data_len - off);
    return v->data + off;
}

/* The frame to share for archive_src's page src (len bytes): a decompressed rootfs
 * file's own frame (fdata_inflate: its bytes are in RAM once, and past its end the
 * frame is zero), else the page cache's; one more reference, or 0. fill: the page
 * cache may allocate and fill a frame (else only one it holds already). */
static u64 share_frame(const struct vma *v, const u8 *src, u64 len, bool fill)
{
    if (v->node && (v->node->flags & VN_INFLATED)) {
        if ((u64)src & (PAGE_SIZE - 1))
            return 0; /* not at a frame's start (cannot happen: mmap offsets are aligned) */
        u64 frame = virt_to_phys(src);
        pmm_ref(frame);
        return frame;
    }
    return fill ? pcache_get(src, len) : pcache_find(src, len);
}

/* Fault-around, as Linux's (fault_around_bytes, 64 KiB): the other pages of the
 * aligned 64 KiB around va, in the same VMA, whose frames the page cache holds
 * already are mapped too, read-only and copy-on-write: a program runs its text in
 * neighbourhoods, and each fault saved is a trap. Nothing is allocated (a page not
 * cached yet waits for its own fault). One page table holds the whole window. Not
 * for MAP_SHARED: its pages are snapshots taken at first touch (filesystem.md), and
 * mapping them early would hide a later write() to the file from more pages. */
#define FAULT_AROUND_BYTES (16 * PAGE_SIZE)
static void map_around(u64 va, const struct vma *v, u64 flags)
{
    u64 lo = MAX(v->start, ALIGN_DOWN(va, FAULT_AROUND_BYTES));
    u64 hi = MIN(v->end, ALIGN_DOWN(va, FAULT_AROUND_BYTES) + FAULT_AROUND_BYTES);
    u64 *pte = vm_pte(lo); /* va's table: present, va was just mapped */
    for (u64 at = lo; at < hi; at += PAGE_SIZE, pte++) {
        u64 len;
        const u8 *src = *pte ? NULL : archive_src(at, v, &len);
        u64 frame = src ? share_frame(v, src, len, false) : 0;
        if (frame)
            *pte = frame | flags | PTE_P; /* was empty: nothing to flush */
    }
}

/* A read or instruction fetch of a private page backed by archive bytes: map the
 * page cache's shared frame (pcache.c), read-only and copy-on-write, so a write
 * copies it (cow_break) as Linux copies a page-cache page. false: not such a page,
 * or no frame to share (the caller makes a private copy). */
static bool map_cached(u64 va, const struct vma *v)
{
    u64 len;
    const u8 *src = archive_src(va, v, &len);
    u64 frame = src ? share_frame(v, src, len, true) : 0;
    if (!frame)
        return false;
    u64 flags = (leaf_flags(v->prot) & ~PTE_W) | PTE_SW_COW;
    if (vm_map_page(va, frame, flags) < 0) {
        pmm_free(frame);
        return false;
    }
    if (!(v->flags & UVM_SHARED))
        map_around(va, v, flags);
    return true;
}

long uvm_handle_fault(u64 addr, u64 error)
{
    struct vma *v = find_vma(addr);
    if (!v || v->prot == PROT_NONE)
        return -EFAULT;
    if ((error & PF_WRITE) && !(v->prot & PROT_WRITE))
        return -EFAULT;
    if ((error & PF_FETCH) && !(v->prot & PROT_EXEC))
        return -EFAULT;
    u64 va = ALIGN_DOWN(addr, PAGE_SIZE);
    u64 *pte = vm_pte(va);
    if (pte && (*pte & PTE_P) && (*pte & PTE_SW_COW) && (error & PF_WRITE) && !(*pte & PTE_W)) {
        if (cow_break(va, pte, v) < 0)
            uvm_out_of_memory(addr);
        return 0;
    }
    if (pte && (*pte & (PTE_P | PTE_SW_PROTNONE)))
        return -EFAULT; /* present: a real protection violation */
    if (v->node && v->off + (va - v->start) >= ALIGN_UP(v->node->size, PAGE_SIZE))
        return -EIO; /* a whole page past the end of the file: SIGBUS, as Linux (trap.c) */
    u64 off = va - v->start;
    if (v->flags & UVM_SHARED_FILE) {
        /* MAP_SHARED of a file open for writing: map the file's own page, one more
         * reference on its frame, so stores reach the file (and write() reaches the
         * mapping) in every process that maps it, forked or not. A truncate frees the
         * file's reference only: the page stays mapped, detached from the file (Linux
         * would SIGBUS past the new end). */
        u8 *page = fdata_page(v->node, (v->off + off) / PAGE_SIZE);
        if (!page)
            uvm_out_of_memory(addr);
        u64 shared = virt_to_phys(page);
        pmm_ref(shared);
        if (vm_map_page(va, shared, leaf_flags(v->prot)) < 0) {
            pmm_free(shared);
            uvm_out_of_memory(addr);
        }
        return 0;
    }
    if (!(error & PF_WRITE) && map_cached(va, v))
        return 0;
    u64 frame = pmm_alloc();
    if (!frame)
        uvm_out_of_memory(addr);
    if (v->node)
        fdata_read(v->node, phys_to_virt(frame), PAGE_SIZE, v->off + off); /* past EOF stays zero */
    else if (off < v->data_len)
        memcpy(phys_to_virt(frame), v->data + off, MIN(PAGE_SIZE, v->data_len - off));
    if (vm_map_page(va, frame, leaf_flags(v->prot)) < 0) {
        pmm_free(frame);
        uvm_out_of_memory(addr);
    }
    return 0;
}

u64 uvm_accessible(u64 addr, u64 len, bool write)
{
    u64 end = addr + len, at = addr;
    if (end < addr || end > USER_TOP)
        return 0;
    while (at < end) {
        struct vma *v = find_vma(at);
        if (!v || (write ? !(v->prot & PROT_WRITE) : v->prot == PROT_NONE))
            break;
        at = v->end;
    }
    return MIN(at, end) - addr;
}

bool uvm_range_ok(u64 addr, u64 len, int prot)
{
    if (addr + len < addr || addr + len > USER_TOP)
        return false;
    for (u64 a = ALIGN_DOWN(addr, PAGE_SIZE); a < addr + len; ) {
        struct vma *v = find_vma(a);
        if (!v || (v->prot & prot) != prot)
            return false;
        a = v->end;
    }
    return true;
}

static void count_pte(u64 va, u64 *pte, void *ctx)
{
    if (*pte & (PTE_P | PTE_SW_PROTNONE))
        (*(u64 *)ctx)++;
}

u64 uvm_resident_pages(void)
{
    u64 n = 0;
    for (struct vma *v = vmas; v; v = v->next)
        vm_for_each_pte(v->start, v->end, count_pte, &n);
    return n;
}

u64 uvm_resident_pages_of(struct process *p)
{
    if (!p->mm)
        return 0; /* a zombie */
    struct mm *was = mm;
    uvm_activate(p->mm);
    u64 n = uvm_resident_pages();
    uvm_activate(was);
    return n;
}

void uvm_for_each_vma(struct process *p, void (*fn)(const struct uvm_vma_info *v, void *ctx), void *ctx)
{
    struct mm *m = p->mm;
    for (struct vma *v = m ? m->vma_list : NULL; v; v = v->next) {
        struct uvm_vma_info info = {
            .start = v->start, .end = v->end, .off = v->off, .prot = v->prot,
            .shared = v->flags & (UVM_SHARED | UVM_SHARED_ANON | UVM_SHARED_FILE), .stack = v->flags & UVM_STACK,
            .heap = v->flags & VMA_HEAP, .name = v->name, .node = v->node,
        };
        fn(&info, ctx);
    }
}

/* Empty the active address space: every VMA and page (frames shared with another
 * address space just lose a reference). Pages exist only inside VMAs, so only their
 * ranges are walked (not the tables' other entries). The caller must reload CR3
 * afterwards (no invlpg per page). */
static void empty_active(void)
{
    for (struct vma *v = vmas; v; v = v->next)
        vm_for_each_pte(v->start, v->end, free_pte, (void *)1);
    while (vmas) {
        struct vma *v = vmas;
        vmas = v->next;
        free_vma(v);
    }
    hint = NULL;
    brk_base = brk_cur = 0;
}

void uvm_mm_put(struct mm *m)
{
    if (--m->refs > 0)
        return;
    struct mm *was = mm;
    uvm_activate(m); /* the walks below work on the active tables */
    empty_active();
    uvm_activate(was == m ? NULL : was); /* another root: CR3 is reloaded */
    vm_root_free(m->root);
    kfree(m);
}

long uvm_exec_reset(void)
{
    struct process *p = current_process();
    if (mm->refs > 1) {
        /* Shared (a vfork child, or CLONE_VM without threads): the new program gets
         * an address space of its own; the other user keeps the old one. */
        struct mm *n = uvm_mm_new();
        if (!n)
            return -ENOMEM;
        struct mm *old = mm;
        p->mm = n;
        uvm_activate(n);
        old->refs--;
        return 0;
    }
    empty_active();
    vm_flush_user();
    return 0;
}

bool uvm_futex_shared_key(u64 uaddr, u64 *key)
{
    struct vma *v = find_vma(uaddr);
    if (!v || !(v->flags & (UVM_SHARED_ANON | UVM_SHARED)))
        return false; /* shared file pages too: glibc's sem_open semaphores live there */
    u64 *pte = vm_pte(ALIGN_DOWN(uaddr, PAGE_SIZE));
    if (!pte || !(*pte & PTE_P))
        return false; /* never touched: nobody can wait on it yet */
    *key = (*pte & PTE_ADDR_MASK) | (uaddr & (PAGE_SIZE - 1));
    return true;
}

long uvm_copy_from_process(struct process *p, u64 addr, void *buf, size_t n)
{
    if (!p->mm)
        return -ESRCH; /* a zombie has no memory */
    struct mm *was = mm;
    uvm_activate(p->mm);
    /* Up to the first hole: a short count, as Linux's access_remote_vm. */
    size_t k = (size_t)uvm_accessible(addr, n, false);
    long r = k == 0 ? (n ? -EFAULT : 0) : uaccess_copy(buf, (const void *)addr, k) < 0 ? -EFAULT : (long)k;
    uvm_activate(was);
    return r;
}

/* -- copy-on-write fork ------------------------------------------------------------- */

struct fork_ctx {
    u64 root; /* the child's */
    bool share_writable; /* UVM_SHARED_ANON: the same frames, writable in both */
    long err;
};

static void fork_pte(u64 va, u64 *pte, void *ctx)
{
    struct fork_ctx *c = ctx;
    if (c->err || !(*pte & (PTE_P | PTE_SW_PROTNONE)))
        return;
    u64 raw = *pte;
    if (!c->share_writable) {
        /* Private: both sides lose write access until a fault copies the page. Read-only
         * and PROT_NONE pages are marked too: mprotect may make them writable later. */
        raw = (raw & ~PTE_W) | PTE_SW_COW;
        *pte = raw;
    }
    c->err = vm_set_pte_in(c->root, va, raw);
    if (!c->err)
        pmm_ref(raw & PTE_ADDR_MASK);
}

/* Make every page of a shared anonymous VMA present, so parent and child share all
 * of its frames (a page first touched after the fork must be the same for both). */
static long prefault_shared(struct vma *v)
{
    for (u64 va = v->start; va < v->end; va += PAGE_SIZE) {
        u64 *pte = vm_pte(va);
        if (pte && (*pte & (PTE_P | PTE_SW_PROTNONE)))
            continue;
        if (v->prot == PROT_NONE)
            continue; /* no access possible: stays private (no frame to share yet) */
        u64 frame = pmm_alloc();
        if (!frame)
            return -ENOMEM;
        if (vm_map_page(va, frame, leaf_flags(v->prot)) < 0) {
            pmm_free(frame);
            return -ENOMEM;
        }
    }
    return 0;
}

struct mm *uvm_fork(long *err)
{
    struct mm *child = uvm_mm_new();
    if (!child) {
        *err = -ENOMEM;
        return NULL;
    }
    struct vma **tail = &child->vma_list;
    long r = 0;
    for (struct vma *v = vmas; v && r == 0; v = v->next) {
        struct vma *n = kmalloc(sizeof(*n));
        if (!n) {
            r = -ENOMEM;
            break;
        }
        *n = *v;
        n->next = NULL;
        if (n->node)
            vnode_get(n->node);
        *tail = n;
        tail = &n->next;
        child->vma_count++;
        bool shared_anon = v->flags & UVM_SHARED_ANON;
        if (shared_anon && (r = prefault_shared(v)) < 0)
            break;
        /* MAP_SHARED file pages: snapshots are never writable, so sharing their frames is
         * safe; UVM_SHARED_FILE frames are the file's, the same in every process. */
        struct fork_ctx c = {child->root, shared_anon || (v->flags & UVM_SHARED), 0};
        vm_for_each_pte(v->start, v->end, fork_pte, &c);
        r = c.err;
    }
    vm_flush_user(); /* our pages just became read-only */
    if (r < 0) {
        uvm_mm_put(child);
        *err = r;
        return NULL;
    }
    child->brk_start = brk_base;
    child->brk_now = brk_cur;
    return child;
}


void uvm_dump(void)
{
    klog(" address space:\n");
    for (struct vma *v = vmas; v; v = v->next)
        klog("  %012lx-%012lx %c%c%c %s\n", v->start, v->end, (v->prot & PROT_READ) ? 'r' : '-',
             (v->prot & PROT_WRITE) ? 'w' : '-', (v->prot & PROT_EXEC) ? 'x' : '-',
             v->name ? v->name : "");
}
