/* SPDX-License-Identifier: Apache-2.0 */
/* fdata.c: contents of regular files: immutable archive bytes under a radix tree of written pages.
 *
 * A file's byte at offset o is, in order: the byte in its written 4 KiB page (the
 * tree), else the archive's byte if o < base_len, else zero (a hole or past a
 * truncation). The first write to a page copies that page's archive bytes into a
 * fresh frame (copy-on-write per page), so writing a byte of a large library copies
 * one page, and sparse files hold only the pages written. The tree is a radix tree
 * of 512-slot nodes, one frame each; height h covers 512^h pages, and height 0 with
 * a root is a single data page (small files cost one frame). docs/filesystem.md
 * explains the choice and the memory accounting.
 *
 * A compressed rootfs file (VN_PACKED: data is the archive's LZ4 container) is
 * decompressed on the first use of its bytes (read, copy-on-write, mmap, exec) into
 * contiguous frames the file owns (VN_INFLATED); from then on those frames are its
 * base bytes, and the fault handler maps them directly instead of copying them into
 * the page cache, so the decompressed bytes are in RAM once (rootfs-compression.md).
 * When no run of free frames is long enough, the file is decoded a block at a time
 * into its written pages instead (inflate_into_pages).
 */
#include <libos/errno.h>
#include <libos/log.h>
#include <libos/lz4.h>
#include <libos/mm.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/vfs.h>

#define SLOT_SHIFT 9
#define SLOTS (1u << SLOT_SHIFT)

static u64 used_pages; /* data and tree-node frames of every file */

/* Frames kept back for page tables, kernel objects and the application's own faults,
 * so a full filesystem fails writes with ENOSPC instead of starving the kernel. */
static u64 reserve_pages(void) { return MAX(256ul, pmm_total_pages() / 64); }

u64 fdata_avail_pages(void)
{
    u64 free = pmm_free_pages(), keep = reserve_pages();
    return free > keep ? free - keep : 0;
}

u64 fdata_used_pages(void) { return used_pages; }

static void *frame_alloc(void)
{
    if (!fdata_avail_pages())
        pcache_shrink(); /* the page cache's unmapped frames come back first */
    if (!fdata_avail_pages())
        return NULL;
    u64 phys = pmm_alloc(); /* zeroed */
    if (!phys)
        return NULL;
    used_pages++;
    return phys_to_virt(phys);
}

static void frame_free(void *p)
{
    pmm_free(virt_to_phys(p));
    used_pages--;
}

static u8 *page_for_write(struct vnode *n, u64 idx);

/* Copy one decoded block into the file's written pages (blocks are page-aligned). */
static bool store_block(void *ctx, u64 off, const u8 *bytes, size_t len)
{
    struct vnode *n = ctx;
    for (size_t done = 0; done < len; done += PAGE_SIZE) {
        u8 *page = page_for_write(n, (off + done) / PAGE_SIZE);
        if (!page)
            return false;
        memcpy(page, bytes + done, MIN((size_t)PAGE_SIZE, len - done));
    }
    return true;
}

static long decode_failed(struct vnode *n)
{
    n->flags |= VN_BADPACK;
    kinfo("rootfs: inode %lu: its compressed data is corrupt; reading it fails with EIO", n->ino);
    return -EIO;
}

/* Where a block is decoded when memory is fragmented: no run of 16 free frames may be
 * left either. The kernel is not preemptible and decoding never sleeps, so one buffer
 * serves every file. The converter writes 64 KiB blocks (rootfs-compression.md). */
static u8 block_scratch[65536] __attribute__((aligned(4096)));

/* No run of free frames holds the whole file (memory fragmented by a long run): decode
 * it a block at a time into its written pages instead, as if a program had written
 * every byte. Its bytes are then in pages the fault handler copies or shares as any
 * written file's. Pages stored before a failure hold the right bytes and stay. */
static long inflate_into_pages(struct vnode *n)
{
    long bsize = lz4_file_block_size(n->data, n->packed_len);
    if (bsize < 0)
        return decode_failed(n);
    if ((u64)bsize > sizeof(block_scratch))
        return -ENOMEM; /* not the converter's: no scratch for it */
    kinfo("rootfs: inode %lu: no %lu contiguous free pages; decoded into pages of its own", n->ino,
          ALIGN_UP(n->base_len, PAGE_SIZE) / PAGE_SIZE);
    u64 base = n->base_len;
    n->base_len = 0; /* the pages are filled from the container, not from base bytes */
    long r = lz4_file_decode_each(n->data, n->packed_len, block_scratch, sizeof(block_scratch), store_block, n);
    if (r < 0) {
        n->base_len = base;
        return r == -1 ? decode_failed(n) : -ENOMEM;
    }
    n->data = NULL;
    n->packed_len = 0;
    n->flags &= ~VN_PACKED;
    return 0;
}

long fdata_inflate(struct vnode *n)
{
    if (!(n->flags & VN_PACKED))
        return 0;
    if (n->flags & VN_BADPACK)
        return -EIO;
    u64 npg = ALIGN_UP(n->base_len, PAGE_SIZE) / PAGE_SIZE;
    if (npg > fdata_avail_pages())
        pcache_shrink();
    if (npg > fdata_avail_pages())
        return -ENOMEM;
    u64 phys = npg ? pmm_alloc_contig(npg) : 0; /* zeroed: the last page's tail reads as 0 */
    if (npg && !phys)
        return inflate_into_pages(n);
    u8 *dst = npg ? phys_to_virt(phys) : NULL;
    if (npg && lz4_file_decode(n->data, n->packed_len, dst, n->base_len) < 0) {
        pmm_free_contig(phys, npg);
        return decode_failed(n);
    }
    n->data = dst;
    n->packed_len = npg;
    n->flags = (n->flags & ~VN_PACKED) | VN_INFLATED;
    used_pages += npg;
    return 0;
}

/* Give back the frames of an inflated file (a mapping keeps its own reference). */
static void deflate(struct vnode *n)
{
    if (!(n->flags & VN_INFLATED))
        return;
    if (n->packed_len)
        pmm_free_contig(virt_to_phys(n->data), n->packed_len);
    used_pages -= n->packed_len;
    n->data = NULL;
    n->base_len = n->packed_len = 0;
    n->flags &= ~VN_INFLATED;
}

/* Pages covered by a tree of height h (4 levels cover FILE_SIZE_MAX). */
static u64 capacity(u32 h) { return 1ul << (SLOT_SHIFT * h); }

static u8 *lookup(const struct vnode *n, u64 idx)
{
    if (!n->pages || idx >= capacity(n->pages_height))
        return NULL;
    void *node = n->pages;
    for (u32 l = n->pages_height; l > 0 && node; l--)
        node = ((void **)node)[(idx >> (SLOT_SHIFT * (l - 1))) & (SLOTS - 1)];
    return node;
}

/* The written page idx, creating it (with its archive bytes) if needed; NULL: no memory. */
static u8 *page_for_write(struct vnode *n, u64 idx)
{
    u8 *page = lookup(n, idx);
    if (page)
        return page;
    if (idx * PAGE_SIZE < n->base_len && fdata_inflate(n) < 0)
        return NULL;
    if (!n->pages) {
        while (idx >= capacity(n->pages_height))
            n->pages_height++;
    } else {
        while (idx >= capacity(n->pages_height)) { /* grow: the old root becomes slot 0 */
            void **top = frame_alloc();
            if (!top)
                return NULL;
            top[0] = n->pages;
            n->pages = top;
            n->pages_height++;
        }
    }
    void **slot = &n->pages;
    for (u32 l = n->pages_height; l > 0; l--) {
        if (!*slot && !(*slot = frame_alloc()))
            return NULL;
        slot = &((void **)*slot)[(idx >> (SLOT_SHIFT * (l - 1))) & (SLOTS - 1)];
    }
    if (!(page = frame_alloc()))
        return NULL;
    u64 off = idx * PAGE_SIZE;
    if (off < n->base_len)
        memcpy(page, n->data + off, MIN(PAGE_SIZE, n->base_len - off));
    *slot = page;
    n->npages++;
    return page;
}

u8 *fdata_page(struct vnode *n, u64 idx) { return page_for_write(n, idx); }

long fdata_read(struct vnode *n, void *buf, size_t len, u64 off)
{
    if (n->fs) /* a volume's file (exec, mmap): its bytes are on the host */
        return n->fs->read(n, buf, len, off);
    long bad = fdata_inflate(n); /* a compressed file's first read decodes it */
    if (bad < 0)
        return bad;
    if (off >= n->size)
        return 0;
    len = MIN(len, n->size - off);
    size_t done = 0;
    while (done < len) {
        u64 at = off + done, po = at & (PAGE_SIZE - 1);
        size_t k = MIN(len - done, PAGE_SIZE - po);
        u8 *dst = (u8 *)buf + done;
        const u8 *page = lookup(n, at / PAGE_SIZE);
        long r;
        if (page) {
            r = uaccess_copy(dst, page + po, k);
        } else {
            size_t from_base = at < n->base_len ? MIN(k, n->base_len - at) : 0;
            r = from_base ? uaccess_copy(dst, n->data + at, from_base) : 0;
            if (r == 0 && from_base < k)
                r = uaccess_zero(dst + from_base, k - from_base);
        }
        if (r < 0)
            return done ? (long)done : r;
        done += k;
    }
    return (long)done;
}

long fdata_write(struct vnode *n, const void *buf, size_t len, u64 off)
{
    if (off >= FILE_SIZE_MAX)
        return -EFBIG;
    len = MIN(len, FILE_SIZE_MAX - off);
    size_t done = 0;
    while (done < len) {
        u64 at = off + done, po = at & (PAGE_SIZE - 1);
        size_t k = MIN(len - done, PAGE_SIZE - po);
        u8 *page = page_for_write(n, at / PAGE_SIZE);
        if (!page)
            return done ? (long)done : -ENOSPC;
        if (uaccess_copy(page + po, (const u8 *)buf + done, k) < 0)
            return done ? (long)done : -EFAULT;
        done += k;
        n->size = MAX(n->size, at + k);
    }
    return (long)done;
}

long fdata_allocate(struct vnode *n, u64 off, u64 len)
{
    if (off + len > FILE_SIZE_MAX || off + len < off)
        return -EFBIG;
    for (u64 idx = off / PAGE_SIZE; len && idx <= (off + len - 1) / PAGE_SIZE; idx++)
        if (!page_for_write(n, idx))
            return -ENOSPC;
    return 0;
}

static void free_subtree(struct vnode *n, void *node, u32 level)
{
    if (level == 0) {
        n->npages--;
    } else {
        for (u32 i = 0; i < SLOTS; i++)
            if (((void **)node)[i])
                free_subtree(n, ((void **)node)[i], level - 1);
    }
    frame_free(node);
}

/* Free the pages at index >= keep below node (level >= 1, first page index base). */
static void trim(struct vnode *n, void **node, u32 level, u64 base, u64 keep)
{
    u64 span = capacity(level - 1);
    for (u32 i = 0; i < SLOTS; i++) {
        u64 first = base + i * span;
        if (!node[i])
            continue;
        if (first >= keep) {
            free_subtree(n, node[i], level - 1);
            node[i] = NULL;
        } else if (level > 1 && first + span > keep) {
            trim(n, node[i], level - 1, first, keep);
        }
    }
}

long fdata_truncate(struct vnode *n, u64 size)
{
    if (size > FILE_SIZE_MAX)
        return -EFBIG;
    if (n->fs) /* a volume's file: the host truncates */
        return n->fs->setattr(n, &(struct vattr){.valid = VA_SIZE, .size = size});
    if (size < n->size) {
        if (size == 0) {
            deflate(n);
            n->flags &= ~VN_PACKED; /* nothing of the container is needed any more */
        } else if (size < n->base_len) {
            long r = fdata_inflate(n);
            if (r < 0)
                return r;
        }
        /* An inflated file's frames may be mapped: as Linux's page cache, the part of
         * the last page past the new end reads as zero (the fault handler maps them). */
        if ((n->flags & VN_INFLATED) && size < n->base_len)
            memset((u8 *)n->data + size, 0, ALIGN_UP(size, PAGE_SIZE) - size);
        n->base_len = MIN(n->base_len, size);
        u64 keep = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;
        if (keep == 0) {
            fdata_release(n);
        } else if (n->pages && n->pages_height > 0) {
            trim(n, n->pages, n->pages_height, 0, keep);
        }
        /* The tail of the last page must read as zero if the file grows again. */
        u8 *last = (size & (PAGE_SIZE - 1)) ? lookup(n, size / PAGE_SIZE) : NULL;
        if (last)
            memset(last + (size & (PAGE_SIZE - 1)), 0, PAGE_SIZE - (size & (PAGE_SIZE - 1)));
    }
    n->size = size;
    return 0;
}

void fdata_release(struct vnode *n)
{
    deflate(n);
    if (n->pages)
        free_subtree(n, n->pages, n->pages_height);
    n->pages = NULL;
    n->pages_height = 0;
}

const u8 *fdata_flat(struct vnode *n)
{
    if (n->pages || n->base_len != n->size || fdata_inflate(n) < 0)
        return NULL;
    return n->data;
}

u64 fdata_blocks(const struct vnode *n)
{
    u64 base_pages = ALIGN_UP(n->base_len, PAGE_SIZE) / PAGE_SIZE, pages = n->npages;
    for (u64 idx = 0; idx < base_pages; idx++)
        if (!n->pages || !lookup(n, idx))
            pages++;
    return pages * (PAGE_SIZE / 512);
}
