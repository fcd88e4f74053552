/* SPDX-License-Identifier: Apache-2.0 */
/* cpio.c: parse a cpio "newc" archive in place into the RAM filesystem.
 *
 * Format (as written by `cpio -o -H newc` and the converter): a 110-byte ASCII
 * header "070701" + 13 eight-digit hex fields (ino, mode, uid, gid, nlink,
 * mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check),
 * the NUL-terminated name padded so header+name is a multiple of 4, then the
 * data padded to 4; "TRAILER!!!" ends it. Hardlinked files share an inode
 * number and only one of their entries carries the data.
 *
 * A regular file whose header has check = 1 (newc leaves the field 0) holds an LZ4
 * container of its bytes (lib/lz4.c, docs/rootfs-compression.md) instead of them:
 * its size is the container's uncompressed size, read here; the bytes are decoded on
 * first use (fdata_inflate), so files nobody reads cost only their archive bytes.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/lz4.h>
#include <libos/string.h>
#include <libos/vfs.h>

#define HDR_LEN 110
#define HARDLINK_BUCKETS 64

struct hardlink {
    u64 key;
    struct vnode *node;
    struct hardlink *next;
};

static struct hardlink *hardlinks[HARDLINK_BUCKETS];

static bool hex8(const u8 *p, u32 *out)
{
    u32 v = 0;
    for (int i = 0; i < 8; i++) {
        u8 c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (u32)d;
    }
    *out = v;
    return true;
}

/* Find or create the directory for path[0..len), creating missing ones (0755). */
static struct vnode *ensure_dir(const char *path, u32 len)
{
    struct vnode *dir = vfs_root();
    u32 i = 0;
    while (i < len) {
        u32 s = i;
        while (i < len && path[i] != '/')
            i++;
        u32 n = i - s;
        i++;
        if (n == 0 || (n == 1 && path[s] == '.'))
            continue;
        struct vnode *child = ramfs_child(dir, path + s, n);
        if (!child) {
            child = ramfs_new_node(S_IFDIR | 0755);
            ramfs_link(dir, path + s, n, child);
        }
        if (!S_ISDIR(child->mode))
            return NULL;
        dir = child;
    }
    return dir;
}

static struct vnode *hardlink_node(u64 key)
{
    for (struct hardlink *h = hardlinks[key % HARDLINK_BUCKETS]; h; h = h->next)
        if (h->key == key)
            return h->node;
    return NULL;
}

static void remember_hardlink(u64 key, struct vnode *n)
{
    struct hardlink *h = kmalloc(sizeof(*h));
    if (!h)
        panic("cpio: out of memory");
    *h = (struct hardlink){key, n, hardlinks[key % HARDLINK_BUCKETS]};
    hardlinks[key % HARDLINK_BUCKETS] = h;
}

static void add_entry(const char *name, u32 namelen, const u32 *f, const u8 *data)
{
    enum { INO, MODE, UID, GID, NLINK, MTIME, SIZE, DEVMAJ, DEVMIN, RDEVMAJ, RDEVMIN, NAMESIZE, CHECK };
    /* Names are relative to the archive root: "./bin/sh", "bin/sh" or "/bin/sh". */
    while (namelen && (name[0] == '/' || (name[0] == '.' && (namelen == 1 || name[1] == '/')))) {
        u32 skip = name[0] == '/' ? 1 : namelen == 1 ? 1 : 2;
        name += skip, namelen -= skip;
    }
    while (namelen && name[namelen - 1] == '/')
        namelen--;
    struct vnode *node;
    if (namelen == 0) { /* the archive's "." entry: attributes of / */
        node = vfs_root();
    } else {
        u32 slash = namelen;
        while (slash && name[slash - 1] != '/')
            slash--;
        struct vnode *dir = ensure_dir(name, slash ? slash - 1 : 0);
        if (!dir) {
            kinfo("rootfs: skipping '%.*s': a parent is not a directory", (int)namelen, name);
            return;
        }
        const char *base = name + slash;
        u32 baselen = namelen - slash;
        node = ramfs_child(dir, base, baselen);
        u64 key = ((u64)f[DEVMAJ] << 52) ^ ((u64)f[DEVMIN] << 32) ^ f[INO];
        if (!node && S_ISREG(f[MODE]) && f[NLINK] > 1 && (node = hardlink_node(key))) {
            ramfs_link(dir, base, baselen, node);
        } else if (!node) {
            node = ramfs_new_node(f[MODE]);
            ramfs_link(dir, base, baselen, node);
            if (S_ISREG(f[MODE]) && f[NLINK] > 1)
                remember_hardlink(key, node);
        } else if ((node->mode & S_IFMT) != (f[MODE] & S_IFMT)) {
            kinfo("rootfs: '%.*s' appears twice with different types; keeping the first", (int)namelen, name);
            return;
        }
    }
    node->mode = f[MODE];
    node->uid = f[UID];
    node->gid = f[GID];
    node->atime = node->mtime = node->ctime = (struct ktimespec){f[MTIME], 0};
    if (f[INO])
        node->ino = f[INO];
    /* nlink is not copied: it counts the entries that really link the node. */
    if (S_ISCHR(node->mode) || (node->mode & S_IFMT) == S_IFBLK) {
        node->rdev = makedev(f[RDEVMAJ], f[RDEVMIN]);
        node->ops = S_ISCHR(node->mode) ? devfs_ops_for(node->rdev) : NULL;
    }
    if (f[SIZE] || !S_ISREG(node->mode)) { /* hardlinks: only one entry has the data */
        node->data = data;
        node->size = f[SIZE];
        node->base_len = S_ISREG(node->mode) ? f[SIZE] : 0;
        node->flags &= ~(VN_PACKED | VN_BADPACK);
        if (S_ISREG(node->mode) && f[CHECK] == 1) {
            long size = lz4_file_size(data, f[SIZE]);
            bool bad = size < 0 || (u64)size > FILE_SIZE_MAX;
            node->size = node->base_len = bad ? 0 : (u64)size;
            node->packed_len = f[SIZE];
            /* A short or bad header: the file reads as EIO (fdata_inflate), not as empty. */
            node->flags |= VN_PACKED | (bad ? VN_BADPACK : 0);
            if (bad)
                kinfo("rootfs: '%.*s': its compressed data has a bad header", (int)namelen, name);
        }
    }
}

long cpio_load(const u8 *p, size_t len)
{
    size_t off = 0;
    while (off + HDR_LEN <= len) {
        const u8 *h = p + off;
        if (memcmp(h, "07070", 5) != 0 || (h[5] != '1' && h[5] != '2'))
            return -EINVAL;
        u32 f[13];
        for (int i = 0; i < 13; i++)
            if (!hex8(h + 6 + 8 * i, &f[i]))
                return -EINVAL;
        u32 namesize = f[11], filesize = f[6];
        size_t name_off = off + HDR_LEN;
        size_t data_off = ALIGN_UP(name_off + namesize, 4);
        if (namesize == 0 || data_off > len || filesize > len - data_off)
            return -EINVAL;
        const char *name = (const char *)p + name_off;
        u32 namelen = namesize - 1; /* namesize counts the NUL */
        if (namelen == 10 && memcmp(name, "TRAILER!!!", 10) == 0)
            return 0;
        add_entry(name, namelen, f, p + data_off);
        off = ALIGN_UP(data_off + filesize, 4);
    }
    return 0;
}
