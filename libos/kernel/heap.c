/* SPDX-License-Identifier: Apache-2.0 */
/* heap.c: kmalloc: power-of-two size classes carved from pages, big blocks straight from the PMM.
 *
 * Every block starts with a 16-byte header naming its class (or its page count
 * for big blocks), which keeps the returned pointer 16-byte aligned and lets
 * kfree() work without a size argument.
 */
#include <libos/heap.h>
#include <libos/mm.h>
#include <libos/string.h>

#define HDR 16
#define MIN_SHIFT 5  /* 32-byte blocks (16 usable) */
#define MAX_SHIFT 11 /* 2048-byte blocks */
#define NCLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define BIG_CLASS 0xff

struct hdr {
    u32 cls;
    u32 pages;
    u64 pad;
};
_Static_assert(sizeof(struct hdr) == HDR, "heap header keeps 16-byte alignment");

struct free_block {
    struct free_block *next;
};

static struct free_block *free_lists[NCLASSES];

static bool refill(unsigned cls)
{
    u64 frame = pmm_alloc();
    if (!frame)
        return false;
    size_t bsize = 1ul << (cls + MIN_SHIFT);
    u8 *page = phys_to_virt(frame);
    for (size_t off = 0; off + bsize <= PAGE_SIZE; off += bsize) {
        struct free_block *b = (struct free_block *)(page + off);
        b->next = free_lists[cls];
        free_lists[cls] = b;
    }
    return true;
}

void *kmalloc(size_t size)
{
    size_t need = size + HDR;
    if (need <= (1ul << MAX_SHIFT)) {
        unsigned cls = 0;
        while ((1ul << (cls + MIN_SHIFT)) < need)
            cls++;
        if (!free_lists[cls] && !refill(cls))
            return NULL;
        struct free_block *b = free_lists[cls];
        free_lists[cls] = b->next;
        struct hdr *h = (struct hdr *)b;
        h->cls = cls;
        h->pages = 0;
        return (u8 *)h + HDR;
    }
    size_t pages = (need + PAGE_SIZE - 1) / PAGE_SIZE;
    u64 phys = pmm_alloc_contig(pages);
    if (!phys)
        return NULL;
    struct hdr *h = phys_to_virt(phys);
    h->cls = BIG_CLASS;
    h->pages = (u32)pages;
    return (u8 *)h + HDR;
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, size);
    return p;
}

void kfree(void *p)
{
    if (!p)
        return;
    struct hdr *h = (struct hdr *)((u8 *)p - HDR);
    if (h->cls == BIG_CLASS) {
        pmm_free_contig(virt_to_phys(h), h->pages);
        return;
    }
    u32 cls = h->cls; /* read before the free-list link overwrites the header */
    struct free_block *b = (struct free_block *)h;
    b->next = free_lists[cls];
    free_lists[cls] = b;
}

char *kstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = kmalloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
