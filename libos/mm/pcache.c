/* SPDX-License-Identifier: Apache-2.0 */
/* pcache.c: shared frames holding pages of the immutable archive (the page cache of the rootfs files).
 *
 * Linux maps the page-cache page of a file into every process that reads it through
 * a private mapping, and copies it only on a write. Here a file's archive bytes are
 * immutable, so a frame filled once with the bytes src[0, len) (then zeros) can be
 * shared the same way: the fault handler (uvm.c) maps it read-only and copy-on-write
 * for every read or instruction fetch of such a page. Each exec of a program thus
 * costs no allocation, zeroing or copy for its text and read-only data, and the
 * frames keep their physical address across execs, which matters under QEMU's TCG:
 * it keys translated code by physical address, so a program run again reuses its
 * translations instead of translating its text once more (a fork+exec+wait of
 * static busybox's true spent most of its ~16 ms there, and in invalidating the
 * translations of recycled frames). docs/memory-layout.md.
 *
 * The cache holds one reference on each of its frames. It grows up to a
 * fraction of memory; at that cap, or when the frame allocator runs dry
 * (pmm_alloc), the frames nobody else maps are given back.
 */
#include <libos/heap.h>
#include <libos/mm.h>
#include <libos/string.h>

#define BUCKETS 1024

struct entry {
    const u8 *src;
    u32 len;
    u64 frame;
    struct entry *next;
};

static struct entry *table[BUCKETS];
static u64 cached;

static unsigned bucket(const u8 *src) { return (unsigned)(((u64)src >> PAGE_SHIFT) ^ ((u64)src >> 22)) % BUCKETS; }

/* At most 1/8 of memory (a 128 MiB guest: 16 MiB, far more than a program's text). */
static u64 cap(void) { return pmm_total_pages() / 8; }

u64 pcache_shrink(void)
{
    u64 freed = 0;
    for (unsigned b = 0; b < BUCKETS; b++) {
        for (struct entry **pp = &table[b]; *pp;) {
            struct entry *e = *pp;
            if (pmm_refcount(e->frame) > 1) { /* still mapped somewhere */
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            pmm_free(e->frame);
            kfree(e);
            cached--;
            freed++;
        }
    }
    return freed;
}

u64 pcache_find(const u8 *src, size_t len)
{
    for (struct entry *e = table[bucket(src)]; e; e = e->next) {
        if (e->src == src && e->len == len) {
            pmm_ref(e->frame);
            return e->frame;
        }
    }
    return 0;
}

u64 pcache_get(const u8 *src, size_t len)
{
    if (!src || len == 0 || len > PAGE_SIZE)
        return 0;
    struct entry **head = &table[bucket(src)];
    for (struct entry *e = *head; e; e = e->next) {
        if (e->src == src && e->len == len) {
            pmm_ref(e->frame);
            return e->frame;
        }
    }
    if (cached >= cap() && pcache_shrink() == 0)
        return 0; /* full of frames in use: the caller makes a private copy */
    struct entry *e = kmalloc(sizeof(*e));
    u64 frame = e ? pmm_alloc() : 0;
    if (!frame) {
        kfree(e);
        return 0;
    }
    memcpy(phys_to_virt(frame), src, len); /* the rest stays zero */
    *e = (struct entry){src, (u32)len, frame, *head};
    *head = e;
    cached++;
    pmm_ref(frame); /* the cache's own reference */
    return frame;
}
