/* SPDX-License-Identifier: Apache-2.0 */
/* shim.h: the shim table format, handler signature and argument accessors (docs/shims.md).
 *
 * Interface:
 *   Each family's <family>.def is an X-macro list of SHIM()/SHIM_ERR() lines;
 *   shims/family.c turns it into `const struct shim_family shim_family_<family>`.
 *   At boot shim_init() copies the families the image lists (image_config.h)
 *   into one 512-entry table indexed by syscall number; syscall_dispatch() calls
 *   the handler with the six argument registers, or returns -ENOSYS and logs
 *   the number once when no family provides it.
 *   Handlers: `long sys_<name>(const struct shim_args *a)`, return >= 0 or -errno.
 *   When SHIM_DEF names a .def (the Makefile defines it for a family's files),
 *   this header also declares that family's handlers, so a handler missing from
 *   the .def or misspelt fails the build (-Wmissing-prototypes).
 */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

#include <libos/errno.h>
#include <libos/types.h>

#define SHIM_TABLE_SIZE 512

enum shim_level {
    SHIM_LEVEL_FULL,
    SHIM_LEVEL_PARTIAL,
    SHIM_LEVEL_STUB,
    SHIM_LEVEL_ERR,
};

struct regs;

struct shim_args {
    u64 a[6];          /* rdi, rsi, rdx, r10, r8, r9 */
    u64 nr;
    struct regs *regs; /* the saved user frame, for the few calls that need it */
};

typedef long (*shim_handler)(const struct shim_args *a);

struct shim_entry {
    u16 nr;
    u8 level;
    u8 err; /* errno for SHIM_LEVEL_ERR */
    shim_handler handler;
};

struct shim_family {
    const char *name;
    const struct shim_entry *entries;
    u32 count;
};

/* From asm/unistd_64.h at build time (gen-syscall-names.sh); NULL for holes. */
extern const char *const syscall_names[SHIM_TABLE_SIZE];

void shim_init(void);
/* The Linux name of syscall nr, or NULL. */
const char *shim_syscall_name(u64 nr);
/* strace=1: one log line per syscall (shims/common/strace.c). ret_known false: "= ?". */
void strace_log(const struct shim_args *a, long ret, bool ret_known);

/* Argument accessors: the Linux ABI passes every argument in a 64-bit register;
 * int arguments use the low 32 bits only. */
static inline int arg_int(const struct shim_args *a, int i) { return (int)a->a[i]; }
static inline unsigned arg_uint(const struct shim_args *a, int i) { return (unsigned)a->a[i]; }
static inline long arg_long(const struct shim_args *a, int i) { return (long)a->a[i]; }
static inline u64 arg_u64(const struct shim_args *a, int i) { return a->a[i]; }
/* A user-space pointer: an address to check and copy through uaccess.h, never dereference. */
static inline u64 arg_uptr(const struct shim_args *a, int i) { return a->a[i]; }

#ifdef SHIM_DEF
#define SHIM(nr, name, level, handler, note) long handler(const struct shim_args *a);
#define SHIM_ERR(nr, name, err, note)
#include SHIM_DEF
#undef SHIM
#undef SHIM_ERR
#endif

#endif /* SHIM_SHIM_H */
