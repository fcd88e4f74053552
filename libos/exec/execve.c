/* SPDX-License-Identifier: Apache-2.0 */
/* execve.c: execve/execveat: check everything that can fail, then past the point of no return replace the image (docs/exec.md). */
#include <libos/cmdline.h>
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/proc.h>
#include <libos/signal.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <libos/x86.h>

#include "exec_internal.h"

struct interned {
    struct interned *next;
    char s[];
};
static struct interned *interned;

/* VMA names and exec_path must outlive every image that uses them; a program path
 * is stored once however often it runs. */
const char *exec_intern(const char *s)
{
    for (struct interned *i = interned; i; i = i->next)
        if (strcmp(i->s, s) == 0)
            return i->s;
    size_t len = strlen(s);
    struct interned *i = kmalloc(sizeof(*i) + len + 1);
    if (!i)
        return "?";
    memcpy(i->s, s, len + 1);
    i->next = interned;
    interned = i;
    return i->s;
}

/* Linux's exec_binprm loop: each #! level names a new file; an ELF ends it, and its
 * PT_INTERP is opened and checked too (ELIBBAD when it is no ELF for us). */
long exec_prepare(struct binprm *b)
{
    long r;
    for (int depth = 0;; depth++) {
        if (depth > EXEC_MAX_DEPTH)
            return -ELOOP;
        r = elf_read_info(b->file, b->buf, true, &b->elf);
        if (r != -ENOEXEC)
            break;
        r = script_load(b);
        if (r < 0)
            return r;
    }
    if (r < 0)
        return r;
    if (b->elf.interp) {
        r = exec_lookup(AT_FDCWD, b->elf.interp, 0, &b->ld);
        if (r < 0)
            return r;
        u8 head[64];
        r = exec_read_head(b->ld, head, sizeof(head));
        if (r >= 0)
            r = elf_read_info(b->ld, head, false, &b->ld_elf);
        if (r == -ENOEXEC)
            r = -ELIBBAD;
    }
    return r;
}

/* Past the point of no return a failure cannot be reported to the old program: it
 * dies (SIGSEGV for an image that does not load, SIGKILL without memory), as Linux. */
static __noreturn void exec_fatal(long err, const char *what)
{
    kinfo("execve: %s failed after the point of no return (error %ld)", what, -err);
    signal_fatal(err == -ENOMEM ? SIGKILL : SIGSEGV, 0, 0, "exec");
}

/* The new program starts with the FPU's initial state (Linux's fpu__clear_user_states):
 * restoring a zeroed area clears the vector registers; cpu_enter_user() then sets the
 * x87 control word and MXCSR. */
static void fpu_clear(void)
{
    void *area = kzalloc(cpu_fpu_size() + 64);
    if (area)
        cpu_fpu_restore((void *)ALIGN_UP((u64)area, 64ul));
    kfree(area);
}

__noreturn void exec_commit(struct binprm *b, bool boot)
{
    struct process *p = current_process();
    if (!boot) {
        if (exec_dethread() < 0) {
            binprm_free(b);
            kfree(b);
            task_exit(0);
        }
        exec_reset_process();
    }
    /* strace=1: a successful exec never returns to the dispatcher that logs syscalls,
     * so its line is written here, before the caller's memory (its arguments) goes. */
    if (!boot && kopts.strace)
        klog("[pid %d] execve(\"%s\", ...) = 0\n", current->tid, b->filename);
    long r = uvm_exec_reset();
    if (r < 0)
        exec_fatal(r, "a new address space");
    if (!boot)
        process_vfork_release();

    const char *name = exec_intern(b->file_path);
    struct elf_image main, interp;
    r = elf_map(b->file, &b->elf, false, name, &main);
    if (r < 0)
        exec_fatal(r, "mapping the program");
    bool dynamic = b->ld != NULL;
    if (dynamic) {
        r = elf_map(b->ld, &b->ld_elf, true, exec_intern(b->elf.interp), &interp);
        if (r < 0)
            exec_fatal(r, "mapping the ELF interpreter");
    }
    /* The heap starts after the program, except for static-PIE, which sits in the mmap
     * area: there brk moves to the unused PIE base, as Linux does. */
    uvm_set_brk_base(main.is_dyn && !dynamic ? USER_PIE_BASE : ALIGN_UP(main.end, PAGE_SIZE));
    r = uvm_map(USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_SIZE, PROT_READ | PROT_WRITE,
                UVM_FIXED | UVM_STACK, NULL, "[stack]");
    if (r < 0)
        exec_fatal(r, "the stack");
    struct exec_stack_args sa = {(const char *const *)b->argv.v, (const char *const *)b->envp.v,
                                 b->filename, &main, dynamic ? &interp : NULL};
    long sp = stack_build(&sa);
    if (sp < 0)
        exec_fatal(sp, "the initial stack");

    p->exec_path = name;
    /* comm is the name the caller used (Linux: kbasename(bprm->filename)); for an
     * execveat of a descriptor, the file's own name. */
    proc_set_comm(b->filename[0] == '/' || b->dirfd == AT_FDCWD ? b->filename : b->file_path);
    u64 entry = dynamic ? interp.entry : main.entry;
    binprm_free(b);
    kfree(b);

    if (boot) {
        p->start_tsc = rdtsc();
        klog("D2U:ENTER\n");
    } else {
        fpu_clear();
        wrmsr(MSR_KERNEL_GS_BASE, 0); /* the user GS base, while in the kernel */
        current->syscall_nr = -1;
        /* Signals still pending are delivered under the new dispositions. */
        current->work |= TASK_WORK_SIGNAL;
    }
    cpu_enter_user(entry, (u64)sp);
}

/* The name Linux gives the program for AT_EXECFN: the path as given, or /dev/fd/N[/path]
 * for a path relative to a descriptor. */
static char *exec_filename(struct binprm *b, int dirfd, const char *path)
{
    if (dirfd == AT_FDCWD || path[0] == '/')
        return binprm_strdup(b, path, strlen(path));
    char tmp[32];
    size_t n = ksnprintf(tmp, sizeof(tmp), "/dev/fd/%d%s", dirfd, path[0] ? "/" : "");
    char *s = binprm_strdup(b, tmp, n + strlen(path));
    if (s)
        strlcpy(s + n, path, strlen(path) + 1);
    /* The interpreter of a script could not open it after the exec. */
    b->path_inaccessible = fd_get_cloexec(dirfd) == 1;
    return s;
}

long exec_execve(int dirfd, const char *path, u64 uargv, u64 uenvp, int at_flags)
{
    if (at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct binprm *b = kmalloc(sizeof(*b));
    if (!b)
        return -ENOMEM;
    binprm_init(b);
    b->dirfd = dirfd;
    long r = -ENOMEM, argc, envc;
    b->filename = b->interp = exec_filename(b, dirfd, path);
    if (!b->filename)
        goto out;
    /* The order of Linux's do_execveat_common: open, count, limits, copy. */
    r = exec_open(b, dirfd, path, at_flags);
    if (r < 0)
        goto out;
    r = argc = exec_count_user(uargv);
    if (r < 0)
        goto out;
    r = envc = exec_count_user(uenvp);
    if (r < 0)
        goto out;
    r = binprm_set_limit(b, (size_t)argc, (size_t)envc);
    if (r < 0)
        goto out;
    b->bytes = strlen(b->filename) + 1;
    r = binprm_check_size(b);
    if (r >= 0)
        r = binprm_copy_user_strings(b, &b->envp, uenvp, envc);
    if (r >= 0)
        r = binprm_copy_user_strings(b, &b->argv, uargv, argc);
    if (r >= 0 && b->argv.n == 0) { /* an empty argv gets "" (Linux 5.18 on) */
        char *empty = binprm_strdup(b, "", 0);
        b->bytes++;
        r = empty ? strv_push(&b->argv, empty) : -ENOMEM;
    }
    if (r < 0)
        goto out;
    r = exec_prepare(b);
    if (r < 0)
        goto out;
    exec_commit(b, false);
out:
    binprm_free(b);
    kfree(b);
    return r;
}
