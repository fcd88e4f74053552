/* SPDX-License-Identifier: Apache-2.0 */
/* exec_internal.h: what the files of libos/exec share: the program being prepared (struct binprm) and its steps (docs/exec.md). */
#ifndef LIBOS_EXEC_INTERNAL_H
#define LIBOS_EXEC_INTERNAL_H

#include <libos/exec.h>
#include <libos/memlayout.h>
#include <libos/types.h>

#define BINPRM_BUF_SIZE 256            /* Linux reads this much to pick a format (#! line) */
#define MAX_ARG_STRLEN (32 * PAGE_SIZE) /* one argv/envp string, NUL included */
#define MAX_ARG_STRINGS 0x7fffffff
#define ARG_MAX_FLOOR (32 * PAGE_SIZE)  /* the total Linux always allows, whatever the stack limit */
#define STK_LIM (8ul << 20)             /* Linux's _STK_LIM */
#define EXEC_MAX_DEPTH 5                /* format rewrites (#! levels): a 6th is ELOOP, as Linux */

struct elf64_phdr;

/* One ELF file's headers, read and checked before the point of no return. */
struct elf_info {
    u16 type, phnum;
    u64 entry, phoff;
    struct elf64_phdr *ph; /* kmalloc'd copy of the program headers */
    char *interp;          /* PT_INTERP path (kmalloc'd), or NULL */
};

/* Strings are packed into chunks the binprm owns; vectors point into them. */
struct exec_chunk {
    struct exec_chunk *next;
    size_t used, cap;
    char data[];
};

struct exec_strv {
    char **v; /* NULL-terminated */
    size_t n, cap;
};

struct binprm {
    struct exec_strv argv, envp;
    struct exec_chunk *chunks;
    u64 bytes;               /* string bytes on the new stack (filename, envp, argv) */
    u64 limit;               /* what they may take (Linux's bprm_stack_limits) */
    const char *filename;    /* AT_EXECFN: the path as the caller named it */
    const char *interp;      /* the file being examined: filename, then each #! interpreter */
    bool path_inaccessible;  /* execveat of a close-on-exec fd: a script could not reopen it */
    int dirfd;               /* where filename is looked up from */
    struct vnode *file;      /* the program (an ELF once the #! levels are done); referenced */
    char *file_path;         /* its path for /proc/self/exe, absolute */
    u8 buf[BINPRM_BUF_SIZE]; /* the first bytes of file, zero-padded */
    struct elf_info elf;
    struct vnode *ld;        /* PT_INTERP's file, referenced, or NULL */
    struct elf_info ld_elf;
};

/* args.c: the strings. */
void binprm_init(struct binprm *b);
void binprm_free(struct binprm *b);
/* A kernel string into the chunks: the copy, or NULL when memory runs out. */
char *binprm_strdup(struct binprm *b, const char *s, size_t len);
/* Append a kernel string to v; 0 or -ENOMEM. */
long strv_push(struct exec_strv *v, char *s);
/* The pointers before the NULL that ends a user vector (0 for a NULL vector):
 * Linux's count(): -EFAULT, -E2BIG. */
long exec_count_user(u64 uvec);
/* Linux's bprm_stack_limits from RLIMIT_STACK and the vector sizes; -E2BIG. */
long binprm_set_limit(struct binprm *b, size_t argc, size_t envc);
/* Copy the n strings of a user vector into v, counting them against the limit:
 * -EFAULT, -E2BIG (a string of MAX_ARG_STRLEN or more, or past the total), -ENOMEM. */
long binprm_copy_user_strings(struct binprm *b, struct exec_strv *v, u64 uvec, long n);
/* Whether the strings still fit (after a #! rewrite): 0 or -E2BIG. */
long binprm_check_size(const struct binprm *b);

/* open.c: open the file named by path for exec as Linux's do_open_execat (EACCES for
 * anything but a regular file with an execute bit for us, ELOOP for a symlink with
 * AT_SYMLINK_NOFOLLOW); fills b->file (referenced), b->file_path and b->buf. */
long exec_open(struct binprm *b, int dirfd, const char *path, int at_flags);
/* The same checks for a file the loader opens itself (PT_INTERP): a referenced vnode. */
long exec_lookup(int dirfd, const char *path, int at_flags, struct vnode **out);
/* The file's first bytes into buf (zero-padded). */
long exec_read_head(struct vnode *n, u8 *buf, size_t len);
/* Drop b->file and b->ld. */
void exec_close(struct binprm *b);

/* script.c: a #! file: rewrite argv (interpreter, its argument, the script's path,
 * the old argv[1..]) and open the interpreter. -ENOEXEC when b->buf is no script. */
long script_load(struct binprm *b);

/* elf.c */
long elf_read_info(struct vnode *file, const u8 *head, bool main, struct elf_info *out);
long elf_map(struct vnode *file, const struct elf_info *e, bool as_interp, const char *name,
             struct elf_image *out);
void elf_info_free(struct elf_info *e);

/* dethread.c: end every other thread of the process and wait for them (Linux's
 * de_thread); the caller takes the pid as its tid. -EAGAIN when another thread's
 * exec won the race (the caller is then killed on its way out). */
long exec_dethread(void);
/* The process-wide state a new program does not inherit (docs/exec.md). */
void exec_reset_process(void);

/* execve.c: resolve every #! level from b->file and open the ELF interpreter; then,
 * past the point of no return, replace the image and enter it (boot: the first
 * program, no threads or inherited state to reset). */
long exec_prepare(struct binprm *b);
__noreturn void exec_commit(struct binprm *b, bool boot);
/* An interned copy of a path (VMA names, exec_path must outlive the image). */
const char *exec_intern(const char *s);

#endif /* LIBOS_EXEC_INTERNAL_H */
