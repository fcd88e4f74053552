/* SPDX-License-Identifier: Apache-2.0 */
/* mm.h: physical frames, the kernel's page tables and address conversions.
 *
 * Interface:
 *   phys_to_virt/virt_to_phys  direct-map and kernel-image address arithmetic.
 *   pmm_*                      physical frame allocator (mm/pmm.c); frames come back zeroed.
 *   vm_*                       kernel page tables (mm/vm.c): direct map, kernel image W^X,
 *                              and the generic 4 KiB map/unmap used by the user address space.
 */
#ifndef LIBOS_MM_H
#define LIBOS_MM_H

#include <libos/memlayout.h>
#include <libos/types.h>

static inline void *phys_to_virt(u64 phys) { return (void *)(DIRECT_MAP_BASE + phys); }

static inline u64 virt_to_phys(const void *v)
{
    u64 a = (u64)v;
    return a >= KERNEL_VBASE ? a - KERNEL_VBASE : a - DIRECT_MAP_BASE;
}

/* Linker-script symbols bounding the kernel image and its segments. */
extern char _kernel_start[], _kernel_end[], _text_start[], _text_end[];
extern char _rodata_start[], _rodata_end[], _data_start[], _data_end[];
extern char boot_stack_guard[]; /* the page below the boot stack (entry.S) */

/* Page-table entry bits. */
#define PTE_P (1ul << 0)
#define PTE_W (1ul << 1)
#define PTE_U (1ul << 2)
#define PTE_PWT (1ul << 3)
#define PTE_PCD (1ul << 4)
#define PTE_A (1ul << 5)
#define PTE_D (1ul << 6)
#define PTE_PS (1ul << 7)
#define PTE_G (1ul << 8)
/* Software bit (ignored by the CPU) on a non-present PTE: the frame is kept but the
 * page is PROT_NONE; mprotect can make it accessible again with its contents. */
#define PTE_SW_PROTNONE (1ul << 9)
#define PTE_NX (1ul << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ul

/* --- physical frames (mm/pmm.c) --- */
void pmm_init(void);
/* One zeroed 4 KiB frame (one reference), or 0 when memory is exhausted. */
u64 pmm_alloc(void);
/* n physically contiguous zeroed frames, or 0. */
u64 pmm_alloc_contig(size_t n);
/* Drop one reference; the frame is free when the last one goes. */
void pmm_free(u64 phys);
/* One more reference to an allocated frame (copy-on-write sharing), and the count. */
void pmm_ref(u64 phys);
u32 pmm_refcount(u64 phys);
void pmm_free_contig(u64 phys, size_t n);
u64 pmm_total_pages(void);
u64 pmm_free_pages(void);

/* --- shared frames of archive pages (mm/pcache.c) --- */
/* A frame holding src[0, len) then zeros (len <= PAGE_SIZE), shared read-only: one
 * more reference for the caller, or 0 (no memory, or the cache is full). src must
 * be immutable (a file's archive bytes). */
u64 pcache_get(const u8 *src, size_t len);
/* The same, only when the frame is cached already (no allocation), else 0. */
u64 pcache_find(const u8 *src, size_t len);
/* Give back the cached frames no address space maps; how many. */
u64 pcache_shrink(void);

/* --- page tables (mm/vm.c) --- */
void vm_init(void);
/* NX bit to use for non-executable mappings (0 when the CPU has no NX). */
extern u64 vm_nx_bit;
/* Map one 4 KiB page in the current tables; returns 0 or -ENOMEM. */
long vm_map_page(u64 va, u64 phys, u64 flags);
/* Remove one 4 KiB mapping; returns the frame it mapped, or 0 if none. */
u64 vm_unmap_page(u64 va);
/* The leaf PTE of va (4 KiB mappings only), or NULL when no page table exists. */
u64 *vm_pte(u64 va);
/* Store a raw leaf entry for va, creating page tables; flushes the TLB entry. */
long vm_set_pte(u64 va, u64 raw);
/* Unmap one page of the kernel image (a guard page below a kernel stack): an
 * overflow into it faults (a double fault on its IST stack) instead of silently
 * overwriting whatever lies below. */
void vm_guard_page(const void *page);
/* Address-space roots (PML4s): a new one shares the kernel's upper half; activate
 * loads it into CR3 (0: the kernel's own); free releases its lower-half tables (the
 * leaves must be unmapped already) and the root. */
long vm_root_new(u64 *root);
void vm_root_activate(u64 root);
u64 vm_root_active(void);
void vm_root_free(u64 root);
/* Store a raw leaf entry for va in another root (fork), creating tables; no flush. */
long vm_set_pte_in(u64 root, u64 va, u64 raw);
/* Flush the user TLB entries of the active root (after many PTE changes). */
void vm_flush_user(void);
/* Call fn for every non-zero leaf PTE in [start, end), skipping absent tables quickly. */
void vm_for_each_pte(u64 start, u64 end, void (*fn)(u64 va, u64 *pte, void *ctx), void *ctx);

#endif /* LIBOS_MM_H */
