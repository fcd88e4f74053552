/* SPDX-License-Identifier: Apache-2.0 */
/* vm.c: 4-level page tables: the kernel's (direct map, W^X kernel image) and one root per address space, 4 KiB map/unmap.
 *
 * The kernel's PML4 holds only the upper half. Each address space (mm/uvm.c) has
 * its own PML4 whose upper 256 entries are copies of the kernel's, so every
 * address space shares the kernel's lower-level tables: a kernel mapping made
 * later (a thread's kernel stack) is seen by all of them. The PDPTs the kernel may
 * ever need are created at vm_init() for that reason. Upper-half entries carry the
 * global bit so they survive CR3 loads. The map/unmap functions work on the active
 * root (the one in CR3); kernel addresses always go through the kernel's root.
 */
#include <libos/bootinfo.h>
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/x86.h>

u64 vm_nx_bit;
static u64 *kernel_pml4;
static u64 kernel_root;
static u64 *pml4;       /* the active root (CR3) */
static u64 active_root;

#define KERNEL_HALF 256 /* first PML4 index of the upper half */

static inline unsigned idx(u64 va, int level) { return (va >> (12 + 9 * level)) & 511; }

/* Return the table that entry table[i] points to, allocating it if asked. Intermediate
 * entries are permissive (W, U); the leaf entry alone decides the access rights. */
static u64 *next_table(u64 *table, unsigned i, bool create)
{
    if (!(table[i] & PTE_P)) {
        if (!create)
            return NULL;
        u64 frame = pmm_alloc();
        if (!frame)
            return NULL;
        table[i] = frame | PTE_P | PTE_W | PTE_U;
    } else if (table[i] & PTE_PS) {
        return NULL; /* a large page: no lower table */
    }
    return phys_to_virt(table[i] & PTE_ADDR_MASK);
}

static u64 *walk_in(u64 *root, u64 va, bool create)
{
    u64 *t = va >= DIRECT_MAP_BASE ? kernel_pml4 : root;
    for (int level = 3; level > 0; level--) {
        t = next_table(t, idx(va, level), create);
        if (!t)
            return NULL;
    }
    return &t[idx(va, 0)];
}

static u64 *walk(u64 va, bool create) { return walk_in(pml4, va, create); }

u64 *vm_pte(u64 va) { return walk(va, false); }

long vm_set_pte(u64 va, u64 raw)
{
    u64 *pte = walk(va, true);
    if (!pte)
        return -ENOMEM;
    bool was_present = *pte & PTE_P;
    *pte = raw;
    if (was_present)
        invlpg(va);
    return 0;
}

long vm_map_page(u64 va, u64 phys, u64 flags) { return vm_set_pte(va, (phys & PTE_ADDR_MASK) | flags | PTE_P); }

/* fn for every non-zero entry of [start, end) below table, a table of the given level
 * (3: the PML4) that the range lies within. Each level steps through its own entries,
 * so absent tables cost one test each: emptying an address space at exec and exit
 * visits its whole range, which was ~60000 instructions per exec when every step of
 * 4 KiB, 2 MiB or 1 GiB walked down from the root again. */
static void each_pte(u64 *table, int level, u64 start, u64 end, void (*fn)(u64 va, u64 *pte, void *ctx), void *ctx)
{
    u64 span = 1ul << (12 + 9 * level);
    u64 va = start;
    for (unsigned i = idx(start, level), last = idx(end - 1, level); i <= last; i++) {
        u64 next = ALIGN_DOWN(va, span) + span, e = table[i];
        if (level == 0) {
            if (e)
                fn(va, &table[i], ctx);
        } else if ((e & PTE_P) && !(e & PTE_PS)) {
            each_pte(phys_to_virt(e & PTE_ADDR_MASK), level - 1, va, MIN(next, end), fn, ctx);
        }
        va = next;
    }
}

void vm_for_each_pte(u64 start, u64 end, void (*fn)(u64 va, u64 *pte, void *ctx), void *ctx)
{
    end = MIN(end, USER_TOP); /* the user half: the PML4's lower 256 entries */
    if (start < end)
        each_pte(pml4, 3, start, end, fn, ctx);
}

u64 vm_unmap_page(u64 va)
{
    u64 *pte = walk(va, false);
    if (!pte || !(*pte & PTE_P))
        return 0;
    u64 phys = *pte & PTE_ADDR_MASK;
    *pte = 0;
    invlpg(va);
    return phys;
}

static void map_direct(u64 end)
{
    /* 2 MiB pages, writable, never executable; the MMIO hole below 4 GiB is
     * uncached (PCD|PWT) so LAPIC/IOAPIC register accesses reach the device. */
    for (u64 pa = 0; pa < end; pa += LARGE_PAGE_SIZE) {
        u64 va = DIRECT_MAP_BASE + pa;
        u64 *pdpt = next_table(pml4, idx(va, 3), true);
        u64 *pd = pdpt ? next_table(pdpt, idx(va, 2), true) : NULL;
        if (!pd)
            panic("vm: out of memory building the direct map at 0x%lx", pa);
        u64 flags = PTE_P | PTE_W | PTE_PS | PTE_G | vm_nx_bit;
        if (pa >= MMIO_HOLE_START && pa < MMIO_HOLE_END)
            flags |= PTE_PCD | PTE_PWT;
        pd[idx(va, 1)] = pa | flags;
    }
}

static void map_kernel_range(const char *start, const char *end, u64 flags)
{
    for (u64 va = (u64)start; va < (u64)end; va += PAGE_SIZE)
        if (vm_map_page(va, virt_to_phys((void *)va), flags | PTE_G) < 0)
            panic("vm: out of memory mapping the kernel image");
}

void vm_guard_page(const void *page) { vm_unmap_page((u64)page); }

long vm_root_new(u64 *root)
{
    u64 phys = pmm_alloc();
    if (!phys)
        return -ENOMEM;
    u64 *t = phys_to_virt(phys);
    for (int i = KERNEL_HALF; i < 512; i++)
        t[i] = kernel_pml4[i];
    *root = phys;
    return 0;
}

void vm_root_activate(u64 root)
{
    if (!root)
        root = kernel_root;
    if (root == active_root)
        return;
    active_root = root;
    pml4 = phys_to_virt(root);
    write_cr3(root);
}

u64 vm_root_active(void) { return active_root; }

void vm_flush_user(void) { write_cr3(active_root); }

long vm_set_pte_in(u64 root, u64 va, u64 raw)
{
    u64 *pte = walk_in(phys_to_virt(root), va, true);
    if (!pte)
        return -ENOMEM;
    *pte = raw;
    return 0;
}

void vm_root_free(u64 root)
{
    if (root == active_root)
        vm_root_activate(kernel_root); /* never free the tables the CPU walks */
    u64 *t = phys_to_virt(root);
    for (int i = 0; i < KERNEL_HALF; i++) {
        if (!(t[i] & PTE_P))
            continue;
        u64 *pdpt = phys_to_virt(t[i] & PTE_ADDR_MASK);
        for (int j = 0; j < 512; j++) {
            if (!(pdpt[j] & PTE_P))
                continue;
            u64 *pd = phys_to_virt(pdpt[j] & PTE_ADDR_MASK);
            for (int k = 0; k < 512; k++)
                if (pd[k] & PTE_P)
                    pmm_free(pd[k] & PTE_ADDR_MASK); /* leaf frames were unmapped by the caller */
            pmm_free(pdpt[j] & PTE_ADDR_MASK);
        }
        pmm_free(t[i] & PTE_ADDR_MASK);
    }
    pmm_free(root);
}

void vm_init(void)
{
    vm_nx_bit = cpu_features.nx ? PTE_NX : 0;
    u64 pml4_phys = pmm_alloc();
    if (!pml4_phys)
        panic("vm: no frame for the PML4");
    pml4 = kernel_pml4 = phys_to_virt(pml4_phys);
    kernel_root = active_root = pml4_phys;

    u64 top = 0;
    for (unsigned i = 0; i < bootinfo.nmem; i++)
        top = MAX(top, bootinfo.mem[i].base + bootinfo.mem[i].size);
    map_direct(ALIGN_UP(MAX(top, DIRECT_MAP_MIN_BYTES), LARGE_PAGE_SIZE));

    /* The kernel image, W^X: text read+execute, rodata (and the embedded rootfs)
     * read-only, data and bss read+write, neither executable. */
    map_kernel_range(_text_start, _text_end, 0);
    map_kernel_range(_rodata_start, _rodata_end, vm_nx_bit);
    map_kernel_range(_data_start, _data_end, PTE_W | vm_nx_bit);
    vm_guard_page(boot_stack_guard);
    /* The kernel-stack region's PDPT exists before any address space copies the
     * upper half, so stacks mapped later are visible in all of them. */
    if (!next_table(pml4, idx(KSTACK_REGION_BASE, 3), true))
        panic("vm: no frame for the kernel-stack tables");

    /* Switch from the boot tables (which identity-map low memory) to ours: the
     * lower half now belongs to the application alone. */
    write_cr3(pml4_phys);
}
