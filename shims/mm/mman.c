/* SPDX-License-Identifier: Apache-2.0 */
/* mman.c: mmap, munmap, mprotect, mremap and brk: flag checks, then the address space (mm/uvm.c). */
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <shim/util.h>

#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define PROT_GROWSDOWN 0x01000000
#define PROT_VALID (PROT_READ | PROT_WRITE | PROT_EXEC)

/* A file mapping's backing: regular files, read page by page on first touch. A shared
 * mapping is a snapshot of each page at first touch, so it may not be writable. */
/* *own_frames: a shared mapping of a file open for writing maps the file's own pages
 * (UVM_SHARED_FILE), so stores reach the file; otherwise shared pages are snapshots. */
static long file_backing(int fd, u64 off, int type, int prot, struct uvm_backing *b, bool *anon, bool *own_frames)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (f->flags & O_PATH)
        return -EBADF;
    if ((f->flags & O_ACCMODE) == O_WRONLY)
        return -EACCES;
    struct vnode *n = f->node;
    if (S_ISCHR(n->mode) && dev_major(n->rdev) == 1 && dev_minor(n->rdev) == 5) {
        *anon = true; /* mapping /dev/zero is anonymous memory */
        return 0;
    }
    if (!S_ISREG(n->mode))
        return -ENODEV;
    if (type != MAP_PRIVATE && (prot & PROT_WRITE) && (f->flags & O_ACCMODE) == O_RDONLY)
        return -EACCES; /* as Linux: a writable shared mapping needs a file open for writing */
    /* A volume's file has no page cache to share (cache=none): as Linux's 9p
     * (generic_file_readonly_mmap), a shared mapping of it open for writing is EINVAL. */
    if (n->fs && type != MAP_PRIVATE && (f->flags & O_ACCMODE) == O_RDWR)
        return -EINVAL;
    /* A compressed rootfs file is decompressed now, so a corrupt one fails here. */
    long r = fdata_inflate(n); /* a no-op but for a packed rootfs file */
    if (r < 0)
        return r;
    b->node = n;
    b->off = off;
    /* Only the RAM filesystem's regular files have a page tree to share (not /proc's). */
    *own_frames = type != MAP_PRIVATE && (f->flags & O_ACCMODE) == O_RDWR && n->ops == &ramfs_file_ops;
    return 0;
}

/* sys_mmap: PARTIAL: anonymous, private and shared file mappings; shared ones of a file open
 * read-only are snapshots of each page at first touch (they can never be written). */
long sys_mmap(const struct shim_args *a)
{
    u64 addr = arg_u64(a, 0), len = arg_u64(a, 1), off = arg_u64(a, 5);
    int prot = arg_int(a, 2), flags = arg_int(a, 3), fd = arg_int(a, 4);
    int type = flags & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (len == 0 || (off & (PAGE_SIZE - 1)))
        return -EINVAL; /* a length too big for the address space is ENOMEM (uvm_map) */
    prot &= PROT_VALID; /* Linux's mmap ignores unknown bits (mprotect refuses them) */
    struct uvm_backing b = {0};
    bool anon = flags & MAP_ANONYMOUS, own_frames = false;
    if (!anon) {
        long r = file_backing(fd, off, type == MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED, prot, &b, &anon, &own_frames);
        if (r < 0)
            return r;
    }
    int uflags = (flags & MAP_FIXED_NOREPLACE) ? UVM_FIXED_NOREPLACE : (flags & MAP_FIXED) ? UVM_FIXED : 0;
    if (type != MAP_PRIVATE)
        uflags |= anon ? UVM_SHARED_ANON : UVM_SHARED | (own_frames ? UVM_SHARED_FILE : 0); /* anonymous: shared with fork children */
    return uvm_map(addr, len, prot, uflags, anon ? NULL : &b, anon ? NULL : "[file]");
}

/* sys_munmap: Linux munmap(2). */
long sys_munmap(const struct shim_args *a) { return uvm_unmap(arg_u64(a, 0), arg_u64(a, 1)); }

/* sys_mprotect: Linux mprotect(2); PROT_NONE pages keep their contents. */
long sys_mprotect(const struct shim_args *a)
{
    int prot = arg_int(a, 2) & ~PROT_GROWSDOWN;
    if (prot & ~PROT_VALID)
        return -EINVAL;
    return uvm_protect(arg_u64(a, 0), arg_u64(a, 1), prot);
}

/* sys_brk: Linux brk(2): the new break, or the old one when it cannot move. */
long sys_brk(const struct shim_args *a) { return (long)uvm_brk(arg_u64(a, 0)); }

/* sys_mremap: PARTIAL: shrink, grow in place, move (MAYMOVE, FIXED); DONTUNMAP -> EINVAL. */
long sys_mremap(const struct shim_args *a)
{
    int flags = arg_int(a, 3);
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED))
        return -EINVAL;
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
        return -EINVAL;
    u64 fixed = (flags & MREMAP_FIXED) ? arg_u64(a, 4) : 0;
    if ((flags & MREMAP_FIXED) && !fixed)
        return -EINVAL;
    return uvm_remap(arg_u64(a, 0), arg_u64(a, 1), arg_u64(a, 2), flags & MREMAP_MAYMOVE, fixed);
}
