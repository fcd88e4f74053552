/* SPDX-License-Identifier: Apache-2.0 */
/* exec.h: loading the application: ELF images, the Linux initial stack, and the start.
 *
 * Interface:
 *   exec_start()    resolve the program from image_config + the command line, load it
 *                   (and its PT_INTERP), build the stack, enter ring 3; on failure
 *                   print D2U:EXECFAIL and end the VM. Never returns.
 *   elf_*()         (exec_internal.h) read one ELF's headers, then map its PT_LOADs.
 *   stack_build()   write argv/envp/auxv like Linux's create_elf_tables(); returns %rsp.
 *   exec_execve()   execve/execveat (docs/exec.md): returns -errno while the old image
 *                   can still be told; past the point of no return it enters the new
 *                   program (or kills the process) and never returns.
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

/* Returns the initial %rsp or -errno. */
long stack_build(const struct exec_stack_args *a);
__noreturn void exec_start(void);
/* path: a kernel copy; uargv/uenvp: user vectors (0 = empty); at_flags: AT_EMPTY_PATH,
 * AT_SYMLINK_NOFOLLOW. */
long exec_execve(int dirfd, const char *path, u64 uargv, u64 uenvp, int at_flags);

#endif /* LIBOS_EXEC_H */
