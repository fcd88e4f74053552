/* SPDX-License-Identifier: Apache-2.0 */
/* regs.h: the register frame saved on every entry to the kernel (trap, interrupt, syscall).
 *
 * The layout is shared with vectors.S and syscall_entry.S: general registers
 * pushed by the stub, then vector and error code, then the hardware iretq frame.
 * A syscall entry builds the same frame so one return path serves both.
 */
#ifndef LIBOS_REGS_H
#define LIBOS_REGS_H

#define REGS_GPR_BYTES (15 * 8)
#define REGS_VECTOR_SYSCALL 0x100

#ifndef __ASSEMBLER__
#include <libos/types.h>

struct regs {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector; /* exception/IRQ vector, or REGS_VECTOR_SYSCALL */
    u64 error;  /* CPU error code, or 0 */
    u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU (built by software for syscalls) */
};
_Static_assert(sizeof(struct regs) == 22 * 8, "struct regs layout used by the asm stubs");

static inline bool regs_from_user(const struct regs *r) { return (r->cs & 3) == 3; }
#endif

#endif /* LIBOS_REGS_H */
