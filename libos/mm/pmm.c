/* SPDX-License-Identifier: Apache-2.0 */
/* pmm.c: physical frame allocator: one bit per 4 KiB frame, built from the PVH memory map, and a reference count per frame.
 *
 * Interface (libos/mm.h): pmm_init() once, after pvh_parse(); pmm_alloc() and
 * pmm_alloc_contig() return zeroed frames (physical addresses) or 0 with one
 * reference each; pmm_ref() adds one (copy-on-write fork shares a frame between
 * address spaces, docs/processes.md); pmm_free*() drop one and give the frame back
 * when none is left. The map's RAM entries cover the kernel image and the initrd,
 * so both are reserved here along with page 0, the boot-protocol data and the
 * bitmap itself (libos-design.md §13 item 12).
 */
#include <libos/bootinfo.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/string.h>

static u64 *bitmap; /* bit set = frame in use or not RAM */
static u16 *refs;   /* references to each allocated frame (address spaces sharing it) */
static u64 max_pfn, total_pages, free_pages, hint;

static inline bool frame_used(u64 pfn) { return bitmap[pfn / 64] & (1ul << (pfn % 64)); }
static inline void set_used(u64 pfn) { bitmap[pfn / 64] |= 1ul << (pfn % 64); }
static inline void set_free(u64 pfn) { bitmap[pfn / 64] &= ~(1ul << (pfn % 64)); }

/* Bits set in v (SWAR; __builtin_popcount would need libgcc without -mpopcnt). */
static u64 popcount64(u64 v)
{
    v = v - ((v >> 1) & 0x5555555555555555ul);
    v = (v & 0x3333333333333333ul) + ((v >> 2) & 0x3333333333333333ul);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0ful;
    return (v * 0x0101010101010101ul) >> 56;
}

static void mark_range(u64 start, u64 end, bool used)
{
    u64 pfn = start >> PAGE_SHIFT, last = MIN((end + PAGE_SIZE - 1) >> PAGE_SHIFT, max_pfn);
    while (pfn < last) {
        if (pfn % 64 == 0 && last - pfn >= 64) {
            /* A whole bitmap word at once: big RAM ranges cost a few thousand steps. */
            u64 changed = popcount64(used ? ~bitmap[pfn / 64] : bitmap[pfn / 64]);
            bitmap[pfn / 64] = used ? ~0ul : 0;
            free_pages = used ? free_pages - changed : free_pages + changed;
            pfn += 64;
            continue;
        }
        if (used && !frame_used(pfn)) {
            set_used(pfn);
            free_pages--;
        } else if (!used && frame_used(pfn)) {
            set_free(pfn);
            free_pages++;
        }
        pfn++;
    }
}

static bool overlaps(u64 a0, u64 a1, u64 b0, u64 b1) { return a0 < b1 && b0 < a1; }

void pmm_init(void)
{
    u64 top = 0;
    for (unsigned i = 0; i < bootinfo.nmem; i++)
        if (bootinfo.mem[i].type == MEM_RAM)
            top = MAX(top, bootinfo.mem[i].base + bootinfo.mem[i].size);
    max_pfn = top >> PAGE_SHIFT;
    /* The reference counts follow the bitmap in the same reserved block. */
    u64 bitmap_bytes = ALIGN_UP((max_pfn + 63) / 64 * 8 + max_pfn * sizeof(u16), PAGE_SIZE);

    /* Put the bitmap right after the kernel image, or after the initrd if that is in the way. */
    u64 kstart = virt_to_phys(_kernel_start), kend = virt_to_phys(_kernel_end);
    u64 rd0 = ALIGN_DOWN(bootinfo.initrd_phys, PAGE_SIZE);
    u64 rd1 = ALIGN_UP(bootinfo.initrd_phys + bootinfo.initrd_size, PAGE_SIZE);
    u64 at = ALIGN_UP(kend, PAGE_SIZE);
    if (bootinfo.initrd_size && overlaps(at, at + bitmap_bytes, rd0, rd1))
        at = rd1;
    if (at + bitmap_bytes > BOOT_MAPPED_BYTES || at + bitmap_bytes > top)
        panic("pmm: no room for the frame bitmap (%lu bytes) after 0x%lx", bitmap_bytes, kend);
    bitmap = phys_to_virt(at); /* covered by the boot direct map (< 1 GiB) */
    memset(bitmap, 0xff, bitmap_bytes);
    refs = (u16 *)((u8 *)bitmap + (max_pfn + 63) / 64 * 8);
    memset(refs, 0, max_pfn * sizeof(u16));

    for (unsigned i = 0; i < bootinfo.nmem; i++) {
        const struct mem_region *m = &bootinfo.mem[i];
        if (m->type != MEM_RAM)
            continue;
        u64 s = ALIGN_UP(m->base, PAGE_SIZE), e = ALIGN_DOWN(m->base + m->size, PAGE_SIZE);
        if (s < e) {
            mark_range(s, e, false);
            total_pages += (e - s) >> PAGE_SHIFT;
        }
    }
    /* Page 0 stays unused so a physical NULL is never a valid frame. */
    mark_range(0, PAGE_SIZE, true);
    mark_range(kstart, kend, true);
    if (bootinfo.initrd_size)
        mark_range(rd0, rd1, true);
    mark_range(at, at + bitmap_bytes, true);
    for (unsigned i = 0; i < bootinfo.nreserved; i++)
        mark_range(ALIGN_DOWN(bootinfo.reserved[i].base, PAGE_SIZE),
                   bootinfo.reserved[i].base + bootinfo.reserved[i].size, true);
    hint = 0;
}

static void zero_frames(u64 phys, size_t n) { memset(phys_to_virt(phys), 0, n * PAGE_SIZE); }

static u64 alloc_one(void);

u64 pmm_alloc(void)
{
    u64 phys = alloc_one();
    /* Out of frames: the page cache gives back those no address space maps. */
    if (!phys && pcache_shrink())
        phys = alloc_one();
    return phys;
}

static u64 alloc_one(void)
{
    u64 words = (max_pfn + 63) / 64;
    for (u64 k = 0; k < words; k++) {
        u64 w = (hint + k) % words;
        if (bitmap[w] == ~0ul)
            continue;
        u64 pfn = w * 64 + (u64)__builtin_ctzl(~bitmap[w]);
        if (pfn >= max_pfn)
            continue;
        set_used(pfn);
        refs[pfn] = 1;
        free_pages--;
        hint = w;
        u64 phys = pfn << PAGE_SHIFT;
        zero_frames(phys, 1);
        return phys;
    }
    return 0;
}

/* The first pfn of n free frames in [from, to), or 0. */
static u64 find_run(u64 from, u64 to, size_t n)
{
    u64 run = 0;
    for (u64 pfn = from; pfn < to; pfn++) {
        if (pfn % 64 == 0 && bitmap[pfn / 64] == ~0ul) {
            /* A whole bitmap word in use: one test instead of 64. */
            run = 0;
            pfn += 63;
            continue;
        }
        if (frame_used(pfn)) {
            run = 0;
            continue;
        }
        if (++run == n)
            return pfn + 1 - n;
    }
    return 0;
}

u64 pmm_alloc_contig(size_t n)
{
    if (n == 1)
        return pmm_alloc();
    /* Next fit: the search starts where the last run ended, not at frame 1, so it does
     * not walk again over the frames pmm_alloc() fragmented (exec allocates a few of
     * these runs: each first-fit scan cost ~0.4 ms under TCG). */
    static u64 contig_hint = 1;
    u64 first = find_run(contig_hint, max_pfn, n);
    if (!first)
        first = find_run(1, max_pfn, n);
    if (!first)
        return 0;
    for (u64 p = first; p < first + n; p++) {
        set_used(p);
        refs[p] = 1;
    }
    free_pages -= n;
    contig_hint = first + n;
    zero_frames(first << PAGE_SHIFT, n);
    return first << PAGE_SHIFT;
}

void pmm_free(u64 phys) { pmm_free_contig(phys, 1); }

void pmm_free_contig(u64 phys, size_t n)
{
    for (u64 pfn = phys >> PAGE_SHIFT; n; n--, pfn++) {
        if (pfn == 0 || pfn >= max_pfn || !frame_used(pfn))
            panic("pmm: freeing frame 0x%lx that is not allocated", pfn << PAGE_SHIFT);
        if (refs[pfn] > 1) {
            refs[pfn]--; /* still mapped by another address space */
            continue;
        }
        refs[pfn] = 0;
        set_free(pfn);
        free_pages++;
    }
}

void pmm_ref(u64 phys)
{
    u64 pfn = phys >> PAGE_SHIFT;
    if (pfn == 0 || pfn >= max_pfn || !frame_used(pfn) || refs[pfn] == 0xffff)
        panic("pmm: reference to frame 0x%lx that is not allocated (or too many)", phys);
    refs[pfn]++;
}

u32 pmm_refcount(u64 phys)
{
    u64 pfn = phys >> PAGE_SHIFT;
    return pfn < max_pfn ? refs[pfn] : 0;
}

u64 pmm_total_pages(void) { return total_pages; }
u64 pmm_free_pages(void) { return free_pages; }
