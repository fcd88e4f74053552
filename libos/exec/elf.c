/* SPDX-License-Identifier: Apache-2.0 */
/* elf.c: map an x86-64 ELF (ET_EXEC, ET_DYN PIE, static-PIE, ld.so) into the address space.
 *
 * Follows the ELF-64 spec and the placement rules of Linux fs/binfmt_elf.c
 * without ASLR: ET_EXEC at its link addresses, a PIE with an interpreter at
 * ELF_ET_DYN_BASE (0x555555554000), anything else ET_DYN (static-PIE, the
 * interpreter) top-down in the mmap area. Segments become file-backed VMAs whose
 * pages come from the rootfs on first touch (a read maps the page cache's shared
 * frame, a write makes a private copy: mm/pcache.c); the tail of the last file
 * page and the bss read as zero. The headers are read and checked first
 * (elf_read_info, before execve's point of no return), the segments mapped after.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/memlayout.h>
#include <libos/string.h>
#include <libos/uaccess.h>
#include <libos/uvm.h>
#include <libos/vfs.h>

#include "exec_internal.h"

#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PF_X 1
#define PF_W 2
#define PF_R 4

struct elf64_ehdr {
    u8 e_ident[16];
    u16 e_type, e_machine;
    u32 e_version;
    u64 e_entry, e_phoff, e_shoff;
    u32 e_flags;
    u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "Elf64_Ehdr");

struct elf64_phdr {
    u32 p_type, p_flags;
    u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
_Static_assert(sizeof(struct elf64_phdr) == 56, "Elf64_Phdr");

static int prot_of(u32 flags)
{
    return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) | ((flags & PF_X) ? PROT_EXEC : 0);
}

static bool phdrs_size_ok(const struct elf64_ehdr *eh)
{
    return eh->e_phentsize == sizeof(struct elf64_phdr) && eh->e_phnum >= 1 &&
           (u64)eh->e_phnum * sizeof(struct elf64_phdr) <= 65536;
}

void elf_info_free(struct elf_info *e)
{
    kfree(e->ph);
    kfree(e->interp);
    *e = (struct elf_info){0};
}

/* Linux's load_elf_binary checks, done before the point of no return: the header
 * (ENOEXEC), the program headers (EIO when the file is shorter than they claim),
 * PT_INTERP (the first one; ENOEXEC unless a NUL-terminated path). */
long elf_read_info(struct vnode *file, const u8 *head, bool main, struct elf_info *out)
{
    const struct elf64_ehdr *eh = (const struct elf64_ehdr *)head;
    *out = (struct elf_info){0};
    if (memcmp(eh->e_ident, "\177ELF", 4) != 0)
        return -ENOEXEC;
    /* 64-bit, little-endian, current version, x86-64, executable or shared object. */
    if (eh->e_ident[4] != 2 || eh->e_ident[5] != 1 || eh->e_ident[6] != 1 || eh->e_machine != EM_X86_64 ||
        (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) || !phdrs_size_ok(eh))
        return -ENOEXEC;
    size_t phsize = (size_t)eh->e_phnum * sizeof(struct elf64_phdr);
    out->ph = kmalloc(phsize);
    if (!out->ph)
        return -ENOMEM;
    out->type = eh->e_type;
    out->phnum = eh->e_phnum;
    out->entry = eh->e_entry;
    out->phoff = eh->e_phoff;
    long r = eh->e_phoff > file->size ? 0 : fdata_read(file, out->ph, phsize, eh->e_phoff);
    if (r >= 0 && (size_t)r != phsize)
        r = -EIO;
    bool loads = false;
    for (unsigned i = 0; r >= 0 && i < eh->e_phnum; i++) {
        const struct elf64_phdr *p = &out->ph[i];
        if (p->p_type == PT_INTERP && main && !out->interp) {
            if (p->p_filesz > PATH_MAX || p->p_filesz < 2 || p->p_offset > file->size) {
                r = -ENOEXEC;
                break;
            }
            out->interp = kmalloc(p->p_filesz);
            if (!out->interp) {
                r = -ENOMEM;
                break;
            }
            r = fdata_read(file, out->interp, p->p_filesz, p->p_offset);
            if (r >= 0 && (u64)r != p->p_filesz)
                r = -EIO;
            else if (r >= 0 && out->interp[p->p_filesz - 1] != 0)
                r = -ENOEXEC;
        } else if (p->p_type == PT_LOAD && p->p_memsz) {
            if (p->p_filesz > p->p_memsz || p->p_offset > file->size || p->p_filesz > file->size - p->p_offset ||
                (p->p_offset & (PAGE_SIZE - 1)) != (p->p_vaddr & (PAGE_SIZE - 1)) ||
                p->p_vaddr + p->p_memsz < p->p_vaddr)
                r = -ENOEXEC;
            loads = true;
        }
    }
    if (r >= 0 && !loads)
        r = -ENOEXEC;
    if (r < 0) {
        elf_info_free(out);
        return r;
    }
    return 0;
}

/* One PT_LOAD of a file written at run time (no flat copy): its file pages are read
 * on first touch, the bss is anonymous, and the tail of the last file page is zeroed
 * as Linux's padzero does (the page holds whatever follows in the file). */
static long map_from_node(struct vnode *file, const struct elf64_phdr *p, u64 start, u64 end, int prot,
                          u64 bias, const char *name)
{
    u64 pageoff = p->p_vaddr & (PAGE_SIZE - 1);
    u64 file_end = bias + p->p_vaddr + p->p_filesz;
    u64 file_pages_end = MIN(ALIGN_UP(file_end, PAGE_SIZE), end);
    long r = 0;
    if (file_pages_end > start) {
        struct uvm_backing b = {.node = file, .off = p->p_offset - pageoff};
        r = uvm_map(start, file_pages_end - start, prot | PROT_WRITE, UVM_FIXED, &b, name);
        if (r >= 0 && file_end < file_pages_end)
            r = uaccess_zero((void *)file_end, file_pages_end - file_end);
        if (r >= 0 && !(prot & PROT_WRITE))
            r = uvm_protect(start, file_pages_end - start, prot);
    }
    if (r >= 0 && end > file_pages_end && file_pages_end >= start)
        r = uvm_map(file_pages_end, end - file_pages_end, prot, UVM_FIXED, NULL, name);
    return r < 0 ? r : 0;
}

long elf_map(struct vnode *file, const struct elf_info *e, bool as_interp, const char *name,
             struct elf_image *out)
{
    const struct elf64_phdr *ph = e->ph;
    u64 lo = ~0ul, hi = 0, align = PAGE_SIZE;
    const struct elf64_phdr *first_load = NULL, *phdr_seg = NULL;
    *out = (struct elf_image){.phnum = e->phnum, .is_dyn = e->type == ET_DYN, .interp = e->interp};
    for (unsigned i = 0; i < e->phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type == PT_PHDR) {
            phdr_seg = p;
        } else if (p->p_type == PT_LOAD && p->p_memsz) {
            if (!first_load)
                first_load = p;
            lo = MIN(lo, ALIGN_DOWN(p->p_vaddr, PAGE_SIZE));
            hi = MAX(hi, p->p_vaddr + p->p_memsz);
            if (p->p_align > align && !(p->p_align & (p->p_align - 1)))
                align = p->p_align;
        }
    }
    if (!first_load)
        return -ENOEXEC;
    u64 span = ALIGN_UP(hi, PAGE_SIZE) - lo;

    if (e->type == ET_DYN) {
        if (e->interp && !as_interp) {
            out->bias = ALIGN_DOWN(USER_PIE_BASE, align) - lo;
        } else {
            long at = uvm_find_free(span, align);
            if (at < 0)
                return -ENOMEM;
            out->bias = (u64)at - lo;
        }
    } else if (lo < USER_MIN_ADDR || hi > USER_MMAP_TOP) {
        return -EINVAL; /* an ET_EXEC that wants the NULL guard or the stack */
    }

    /* Segments map the archive's bytes directly when the file was never written. A
     * compressed file's bytes are frames it owns (fdata_inflate): its segments map the
     * file instead, so the mapping's reference keeps them alive (uvm.c shares them). */
    long inflated = fdata_inflate(file); /* a no-op but for a packed rootfs file */
    if (inflated < 0)
        return inflated;
    const u8 *data = (file->flags & VN_INFLATED) ? NULL : fdata_flat(file);
    for (unsigned i = 0; i < e->phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || !p->p_memsz)
            continue;
        u64 pageoff = p->p_vaddr & (PAGE_SIZE - 1);
        u64 start = out->bias + p->p_vaddr - pageoff;
        u64 end = ALIGN_UP(out->bias + p->p_vaddr + p->p_memsz, PAGE_SIZE);
        long r;
        if (data) {
            struct uvm_backing b = {.data = data + p->p_offset - pageoff, .len = p->p_filesz + pageoff};
            r = uvm_map(start, end - start, prot_of(p->p_flags), UVM_FIXED, &b, name);
        } else {
            r = map_from_node(file, p, start, end, prot_of(p->p_flags), out->bias, name);
        }
        if (r < 0)
            return r;
    }
    out->entry = out->bias + e->entry;
    out->end = out->bias + hi;
    if (phdr_seg)
        out->phdr = out->bias + phdr_seg->p_vaddr;
    else
        out->phdr = out->bias + first_load->p_vaddr - first_load->p_offset + e->phoff;
    return 0;
}
