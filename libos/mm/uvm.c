/* SPDX-License-Identifier: Apache-2.0 */
/* uvm.c: the application's address space: a sorted VMA list, demand paging, mmap-family operations.
 *
 * A VMA is a page-aligned range with Linux protections and optional backing: fixed
 * bytes (ELF segments from the archive) or a file (mmap), read when a page is first
 * touched, so MAP_PRIVATE is "copy the file's current bytes on first touch". A file
 * VMA holds a reference on the vnode, which keeps an unlinked file's data alive.
 * Pages are allocated by the fault handler; PROT_NONE pages keep their frame in a
 * non-present PTE marked PTE_SW_PROTNONE. One address space: the kernel's tables.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/signal.h>
#include <libos/string.h>
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <libos/x86.h>

#define PF_WRITE 0x2
#define PF_FETCH 0x10
#define VMA_HEAP 0x100

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

static struct vma *vmas; /* sorted by start, non-overlapping */
static u64 brk_base, brk_cur;

void uvm_init(void) { vmas = NULL; }

static u64 leaf_flags(int prot)
{
    u64 f = PTE_P | PTE_U;
    if (prot & PROT_WRITE)
        f |= PTE_W;
    if (!(prot & PROT_EXEC))
        f |= vm_nx_bit;
    return f;
}

static struct vma *find_vma(u64 addr)
{
    for (struct vma *v = vmas; v && v->start <= addr; v = v->next)
        if (addr < v->end)
            return v;
    return NULL;
}

static bool range_free(u64 start, u64 end)
{
    for (struct vma *v = vmas; v && v->start < end; v = v->next)
        if (v->end > start)
            return false;
    return true;
}

static void insert_vma(struct vma *n)
{
    struct vma **pp = &vmas;
    while (*pp && (*pp)->start < n->start)
        pp = &(*pp)->next;
    n->next = *pp;
    *pp = n;
}

/* Split v at a (v->start < a < v->end); returns the upper half. */
static struct vma *split_vma(struct vma *v, u64 a)
{
    struct vma *r = kmalloc(sizeof(*r));
    if (!r)
        panic("uvm: out of kernel memory splitting a VMA");
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

/* Make sure no VMA straddles start or end. */
static void carve(u64 start, u64 end)
{
    for (struct vma *v = vmas; v && v->start < end; v = v->next) {
        if (v->start < start && start < v->end)
            v = split_vma(v, start);
        if (v->start < end && end < v->end)
            split_vma(v, end);
    }
}

static void free_pte(u64 va, u64 *pte, void *ctx)
{
    if (*pte & (PTE_P | PTE_SW_PROTNONE))
        pmm_free(*pte & PTE_ADDR_MASK);
    bool present = *pte & PTE_P;
    *pte = 0;
    if (present)
        invlpg(va);
}

static void unmap_range(u64 start, u64 end)
{
    carve(start, end);
    struct vma **pp = &vmas;
    while (*pp) {
        struct vma *v = *pp;
        if (v->start >= start && v->end <= end) {
            *pp = v->next;
            if (v->node)
                vnode_put(v->node);
            kfree(v);
        } else {
            pp = &v->next;
        }
    }
    vm_for_each_pte(start, end, free_pte, NULL);
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
    len = ALIGN_UP(len, PAGE_SIZE);
    if (len == 0 || len >= USER_TOP)
        return -EINVAL;
    if (flags & (UVM_FIXED | UVM_FIXED_NOREPLACE)) {
        if (addr & (PAGE_SIZE - 1))
            return -EINVAL;
        if (addr < USER_MIN_ADDR)
            return -EPERM;
        if (addr + len > USER_TOP || addr + len < addr)
            return -ENOMEM;
        if (!range_free(addr, addr + len)) {
            if (flags & UVM_FIXED_NOREPLACE)
                return -EEXIST;
            unmap_range(addr, addr + len);
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
    v->flags = flags & (UVM_STACK | UVM_SHARED);
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
    len = ALIGN_UP(len, PAGE_SIZE);
    if ((addr & (PAGE_SIZE - 1)) || len == 0 || addr + len > USER_TOP || addr + len < addr)
        return -EINVAL;
    unmap_range(addr, addr + len);
    return 0;
}

static bool covered(u64 start, u64 end)
{
    u64 at = start;
    for (struct vma *v = vmas; v && at < end; v = v->next) {
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
    *pte = c->prot == PROT_NONE ? phys | PTE_SW_PROTNONE : phys | leaf_flags(c->prot);
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
    if (addr + len > USER_TOP || addr + len < addr || !covered(addr, addr + len))
        return -ENOMEM;
    for (struct vma *v = vmas; v && v->start < addr + len; v = v->next)
        if (v->end > addr && (v->flags & UVM_SHARED) && (prot & PROT_WRITE))
            return -EACCES; /* shared file pages are snapshots: writes could not reach the file */
    carve(addr, addr + len);
    for (struct vma *v = vmas; v && v->start < addr + len; v = v->next)
        if (v->start >= addr)
            v->prot = prot;
    struct prot_ctx c = {prot};
    vm_for_each_pte(addr, addr + len, reprotect_pte, &c);
    return 0;
}

long uvm_discard(u64 addr, u64 len)
{
    len = ALIGN_UP(len, PAGE_SIZE);
    if ((addr & (PAGE_SIZE - 1)) || addr + len > USER_TOP || addr + len < addr)
        return -EINVAL;
    if (!covered(addr, addr + len))
        return -ENOMEM;
    vm_for_each_pte(addr, addr + len, free_pte, NULL);
    return 0;
}

struct move_ctx {
    u64 delta;
};

static void move_pte(u64 va, u64 *pte, void *ctx)
{
    const struct move_ctx *c = ctx;
    u64 raw = *pte;
    bool present = raw & PTE_P;
    *pte = 0;
    if (present)
        invlpg(va);
    if (vm_set_pte(va + c->delta, raw) < 0)
        panic("uvm: out of memory moving a mapping");
}

long uvm_remap(u64 old, u64 old_len, u64 new_len, bool may_move, u64 fixed)
{
    old_len = ALIGN_UP(old_len, PAGE_SIZE);
    new_len = ALIGN_UP(new_len, PAGE_SIZE);
    if ((old & (PAGE_SIZE - 1)) || new_len == 0)
        return -EINVAL;
    struct vma *v = find_vma(old);
    if (!v || old + old_len > v->end)
        return -EFAULT;
    if (!fixed && new_len <= old_len) {
        if (new_len < old_len)
            unmap_range(old + new_len, old + old_len);
        return (long)old;
    }
    if (!fixed && old + old_len == v->end && range_free(v->end, old + new_len) && old + new_len <= USER_MMAP_TOP) {
        v->end = old + new_len;
        return (long)old;
    }
    if (!may_move)
        return -ENOMEM;
    u64 dst = fixed;
    if (fixed) {
        if ((fixed & (PAGE_SIZE - 1)) || (fixed < old + old_len && old < fixed + new_len))
            return -EINVAL;
        unmap_range(fixed, fixed + new_len);
    } else {
        long found = uvm_find_free(new_len, PAGE_SIZE);
        if (found < 0)
            return found;
        dst = (u64)found;
    }
    carve(old, old + old_len);
    v = find_vma(old);
    u64 keep = MIN(old_len, new_len);
    struct uvm_backing b = {v->data, v->data_len, v->node, v->off};
    long r = uvm_map(dst, new_len, v->prot, UVM_FIXED | (v->flags & UVM_SHARED), v->data || v->node ? &b : NULL,
                     v->name);
    if (r < 0)
        return r;
    struct move_ctx c = {dst - old};
    vm_for_each_pte(old, old + keep, move_pte, &c);
    unmap_range(old, old + old_len);
    return (long)dst;
}

void uvm_set_brk_base(u64 base) { brk_base = brk_cur = base; }

u64 uvm_brk(u64 new_brk)
{
    if (new_brk < brk_base)
        return brk_cur;
    u64 old_top = ALIGN_UP(brk_cur, PAGE_SIZE), new_top = ALIGN_UP(new_brk, PAGE_SIZE);
    if (new_top > old_top) {
        if (new_top > USER_MMAP_TOP || !range_free(old_top, new_top))
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
        unmap_range(new_top, old_top);
    }
    brk_cur = new_brk;
    return brk_cur;
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
    if (pte && (*pte & (PTE_P | PTE_SW_PROTNONE)))
        return -EFAULT; /* present: a real protection violation */
    u64 frame = pmm_alloc();
    if (!frame) {
        kinfo("out of memory: no frame for address 0x%lx (%lu pages free)", addr, pmm_free_pages());
        signal_fatal(SIGKILL, addr, 0, "out-of-memory");
    }
    u64 off = va - v->start;
    if (v->node)
        fdata_read(v->node, phys_to_virt(frame), PAGE_SIZE, v->off + off); /* past EOF stays zero */
    else if (off < v->data_len)
        memcpy(phys_to_virt(frame), v->data + off, MIN(PAGE_SIZE, v->data_len - off));
    if (vm_map_page(va, frame, leaf_flags(v->prot)) < 0) {
        kinfo("out of memory: no page table for address 0x%lx", addr);
        signal_fatal(SIGKILL, addr, 0, "out-of-memory");
    }
    return 0;
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

void uvm_dump(void)
{
    klog(" address space:\n");
    for (struct vma *v = vmas; v; v = v->next)
        klog("  %012lx-%012lx %c%c%c %s\n", v->start, v->end, (v->prot & PROT_READ) ? 'r' : '-',
             (v->prot & PROT_WRITE) ? 'w' : '-', (v->prot & PROT_EXEC) ? 'x' : '-',
             v->name ? v->name : "");
}
