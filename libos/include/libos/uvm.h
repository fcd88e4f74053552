/* SPDX-License-Identifier: Apache-2.0 */
/* uvm.h: address spaces: VMAs, demand paging, mmap/munmap/mprotect/brk, copy-on-write fork.
 *
 * Interface (mm/uvm.c): every range is a VMA with Linux protections; pages are
 * allocated on first touch (zero-filled, or copied from the VMA's backing bytes
 * or file: a private copy of the current contents, which is MAP_PRIVATE).
 * Functions return an address or 0 on success, -errno on failure. They work on
 * the active address space (struct mm), the running process's: the scheduler
 * switches it with uvm_activate() (docs/processes.md).
 */
#ifndef LIBOS_UVM_H
#define LIBOS_UVM_H

#include <libos/types.h>

/* Linux PROT_* values. */
#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4

/* uvm_map flags. */
#define UVM_FIXED 0x1           /* replace whatever is mapped at addr (MAP_FIXED) */
#define UVM_FIXED_NOREPLACE 0x2 /* exactly addr, -EEXIST if anything is there */
#define UVM_STACK 0x4           /* the main stack ([stack] in dumps) */
#define UVM_SHARED 0x8          /* a MAP_SHARED file mapping: read-only snapshots unless... */
#define UVM_SHARED_ANON 0x10    /* MAP_SHARED|MAP_ANONYMOUS: fork shares its frames, writable */
#define UVM_SHARED_FILE 0x20    /* ...with UVM_SHARED (file open for writing): the file's own frames */
#define UVM_NEVER_WRITE 0x40    /* mprotect may not add PROT_WRITE (Linux's VM_MAYWRITE clear) */

struct vnode;

/* Backing of a mapping: either bytes (the first len bytes of the range come from data,
 * which must stay valid forever, as archive bytes do), or a regular file read at off
 * when each page is first touched (the VMA holds a vnode reference). The rest reads
 * as zero. */
struct uvm_backing {
    const u8 *data;
    u64 len;
    struct vnode *node;
    u64 off;
};

struct mm;
/* Boot: pid 1's empty address space, made active. */
void uvm_init(void);
/* An empty address space (one reference), or NULL. */
struct mm *uvm_mm_new(void);
void uvm_mm_get(struct mm *m);
/* Drop a reference; the last one frees every page, VMA and table. */
void uvm_mm_put(struct mm *m);
/* Load m's page tables (NULL: the kernel's alone); no effect when already active. */
void uvm_activate(struct mm *m);
struct mm *uvm_active(void);
/* fork: a copy-on-write copy of the active address space, or NULL with *err. */
struct mm *uvm_fork(long *err);
/* Map len bytes (rounded up to pages). addr is a hint unless UVM_FIXED*; name
 * (static or rootfs string) labels the VMA in dumps. Returns the address. */
long uvm_map(u64 addr, u64 len, int prot, int flags, const struct uvm_backing *backing, const char *name);
long uvm_unmap(u64 addr, u64 len);
/* The highest free range of len bytes below the mmap top, aligned to align; -ENOMEM. */
long uvm_find_free(u64 len, u64 align);
long uvm_protect(u64 addr, u64 len, int prot);
/* MADV_DONTNEED: drop the pages; the next touch sees zeroes (or the backing bytes again). */
long uvm_discard(u64 addr, u64 len);
long uvm_remap(u64 old_addr, u64 old_len, u64 new_len, bool may_move, u64 fixed_addr);
/* brk(2): new break, or the unchanged one on failure (Linux semantics). */
u64 uvm_brk(u64 new_brk);
void uvm_set_brk_base(u64 base);
/* Called by the page-fault handler: 0 if the page is now mapped, -EIO for a page
 * wholly past the end of a mapped file (SIGBUS), -EFAULT otherwise. */
long uvm_handle_fault(u64 addr, u64 error);
/* How many bytes from addr on (at most len) lie in VMAs the kernel may copy to
 * (write) or from (read: any protection but PROT_NONE, as x86 reads them): Linux's
 * short count for a transfer that meets a hole or a read-only page. */
u64 uvm_accessible(u64 addr, u64 len, bool write);
/* True if [addr, addr+len) is entirely inside VMAs that allow prot. */
bool uvm_range_ok(u64 addr, u64 len, int prot);
/* Print the VMA list on the log port (crash reports). */
void uvm_dump(void);
/* Sum of the resident pages, for sysinfo/statistics. */
u64 uvm_resident_pages(void);
struct process;
/* The same for process p's address space (/proc/[pid]/stat, status, statm). */
u64 uvm_resident_pages_of(struct process *p);

/* Every VMA of process p in address order (/proc/[pid]/maps, smaps): name is the
 * dump label or NULL, node the mapped file or NULL; none for a zombie. */
struct uvm_vma_info {
    u64 start, end, off;
    int prot;
    bool shared, stack, heap;
    const char *name;
    struct vnode *node;
};
void uvm_for_each_vma(struct process *p, void (*fn)(const struct uvm_vma_info *v, void *ctx), void *ctx);
/* Copy n bytes at user address addr of process p into the kernel buffer buf
 * (/proc/[pid]/cmdline, environ): its address space is made active for the copy. The
 * count copied (short at a hole), -EFAULT when nothing could be, -ESRCH for a zombie. */
long uvm_copy_from_process(struct process *p, u64 addr, void *buf, size_t n);
/* A futex word in a MAP_SHARED anonymous page (shared with fork children): true with
 * *key = the frame's physical address + offset, the same in every process. */
bool uvm_futex_shared_key(u64 uaddr, u64 *key);
/* execve's point of no return: give the calling process an empty user address space
 * (brk reset) for the new program. A process that shares its address space (a vfork
 * child) gets a new one instead of emptying the shared one. 0 or -ENOMEM. */
long uvm_exec_reset(void);

#endif /* LIBOS_UVM_H */
