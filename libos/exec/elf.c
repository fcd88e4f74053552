/* SPDX-License-Identifier: Apache-2.0 */
/* elf.c: map an x86-64 ELF (ET_EXEC, ET_DYN PIE, static-PIE, ld.so) into the address space.
 *
 * Follows the ELF-64 spec and the placement rules of Linux fs/binfmt_elf.c
 * without ASLR: ET_EXEC at its link addresses, a PIE with an interpreter at
 * ELF_ET_DYN_BASE (0x555555554000), anything else ET_DYN (static-PIE, the
 * interpreter) top-down in the mmap area. Segments become file-backed VMAs whose
 * pages are copied from the rootfs on first touch; the tail of the last file
 * page and the bss read as zero.
 */
#include <libos/errno.h>
#include <libos/exec.h>
#include <libos/memlayout.h>
#include <libos/string.h>
#include <libos/uvm.h>
#include <libos/vfs.h>

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

long elf_load(const struct vnode *file, const char *name, bool as_interp, struct elf_image *out)
{
    /* Segments map the archive's bytes directly; a file written at run time has no
     * such flat copy (it is only reachable once execve exists). */
    const u8 *data = fdata_flat(file);
    u64 size = file->size;
    const struct elf64_ehdr *eh = (const struct elf64_ehdr *)data;
    if (!data || size < sizeof(*eh) || memcmp(eh->e_ident, "\177ELF", 4) != 0)
        return -ENOEXEC;
    /* 64-bit, little-endian, current version, x86-64, executable or shared object. */
    if (eh->e_ident[4] != 2 || eh->e_ident[5] != 1 || eh->e_ident[6] != 1 || eh->e_machine != EM_X86_64 ||
        (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) || eh->e_phentsize != sizeof(struct elf64_phdr) ||
        eh->e_phnum == 0 || eh->e_phoff > size || (u64)eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff)
        return -ENOEXEC;
    const struct elf64_phdr *ph = (const struct elf64_phdr *)(data + eh->e_phoff);

    u64 lo = ~0ul, hi = 0, align = PAGE_SIZE;
    const struct elf64_phdr *first_load = NULL, *phdr_seg = NULL;
    *out = (struct elf_image){.phnum = eh->e_phnum, .is_dyn = eh->e_type == ET_DYN};
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type == PT_INTERP && !as_interp) {
            if (p->p_offset > size || p->p_filesz > size - p->p_offset || p->p_filesz < 2 ||
                data[p->p_offset + p->p_filesz - 1] != 0)
                return -ENOEXEC;
            out->interp = (const char *)data + p->p_offset;
        } else if (p->p_type == PT_PHDR) {
            phdr_seg = p;
        } else if (p->p_type == PT_LOAD && p->p_memsz) {
            if (p->p_filesz > p->p_memsz || p->p_offset > size || p->p_filesz > size - p->p_offset ||
                (p->p_offset & (PAGE_SIZE - 1)) != (p->p_vaddr & (PAGE_SIZE - 1)) ||
                p->p_vaddr + p->p_memsz < p->p_vaddr)
                return -ENOEXEC;
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

    if (eh->e_type == ET_DYN) {
        if (out->interp && !as_interp) {
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

    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || !p->p_memsz)
            continue;
        u64 pageoff = p->p_vaddr & (PAGE_SIZE - 1);
        u64 start = out->bias + p->p_vaddr - pageoff;
        u64 end = ALIGN_UP(out->bias + p->p_vaddr + p->p_memsz, PAGE_SIZE);
        struct uvm_backing b = {.data = data + p->p_offset - pageoff, .len = p->p_filesz + pageoff};
        long r = uvm_map(start, end - start, prot_of(p->p_flags), UVM_FIXED, &b, name);
        if (r < 0)
            return r;
    }
    out->entry = out->bias + eh->e_entry;
    out->end = out->bias + hi;
    if (phdr_seg)
        out->phdr = out->bias + phdr_seg->p_vaddr;
    else
        out->phdr = out->bias + first_load->p_vaddr - first_load->p_offset + eh->e_phoff;
    return 0;
}
