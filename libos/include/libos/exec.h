/* SPDX-License-Identifier: Apache-2.0 */
/* exec.h: loading the application: ELF images, the Linux initial stack, and the start.
 *
 * Interface:
 *   exec_start()    resolve the program from image_config + the command line, load it
 *                   (and its PT_INTERP), build the stack, enter ring 3; on failure
 *                   print D2U:EXECFAIL and end the VM. Never returns.
 *   elf_load()      map one ELF's PT_LOAD segments into the address space.
 *   stack_build()   write argv/envp/auxv like Linux's create_elf_tables(); returns %rsp.
 */
#ifndef LIBOS_EXEC_H
#define LIBOS_EXEC_H

#include <libos/types.h>

struct vnode;

struct elf_image {
    u64 bias;        /* load bias: runtime address = bias + p_vaddr */
    u64 entry;       /* bias + e_entry */
    u64 phdr;        /* runtime address of the program headers */
    u64 phnum;
    u64 end;         /* end of the highest segment (for brk) */
    bool is_dyn;     /* ET_DYN */
    const char *interp; /* PT_INTERP path inside the file, or NULL */
};

struct exec_stack_args {
    const char *const *argv;
    const char *const *envp;
    const char *execfn;
    const struct elf_image *main;
    const struct elf_image *interp; /* NULL for static programs */
};

/* as_interp: place anywhere in the mmap area (ld.so). Returns 0 or -errno. */
long elf_load(const struct vnode *file, const char *name, bool as_interp, struct elf_image *out);
/* Returns the initial %rsp or -errno. */
long stack_build(const struct exec_stack_args *a);
__noreturn void exec_start(void);

#endif /* LIBOS_EXEC_H */
