/* SPDX-License-Identifier: Apache-2.0 */
/* cpu.h: x86-64 CPU setup: features, control registers, GDT/TSS/IDT, SYSCALL MSRs, user entry.
 *
 * Interface:
 *   cpu_init()           probe CPUID, set CR0/CR4/XCR0 for the app's FPU/SSE/AVX.
 *   gdt_init()           final GDT (SYSRET order) and TSS with RSP0 and IST stacks.
 *   idt_init()           256 gates; exceptions and the LAPIC vectors.
 *   syscall_init()       EFER.SCE, STAR/LSTAR/FMASK, per-CPU block behind GS.
 *   cpu_enter_user()     first entry to ring 3 with a clean register and FPU state.
 */
#ifndef LIBOS_CPU_H
#define LIBOS_CPU_H

/* Offsets in struct percpu used by syscall_entry.S. */
#define PCPU_USER_RSP 0
#define PCPU_KSTACK_TOP 8
/* Offset of struct task's work field (task.h), read by the ring-3 return paths. */
#define TASK_WORK_OFFSET 32

#ifndef __ASSEMBLER__
#include <libos/regs.h>
#include <libos/types.h>

struct cpu_features {
    bool nx, xsave, avx, fsgsbase, rdrand, rdseed, pdpe1gb, hypervisor;
    bool smep, smap, umip; /* the protections cpu_init() turns on when present */
    u32 hwcap;       /* CPUID.1:EDX, the Linux AT_HWCAP value */
    u32 hwcap2;      /* AT_HWCAP2: bit 1 = FSGSBASE usable */
    u64 xcr0;        /* enabled XSAVE components */
    char hv_sig[13]; /* CPUID 0x40000000 vendor, "" if none */
};
extern struct cpu_features cpu_features;

/* Per-CPU block, reached through GS in the kernel (swapgs on every user entry). */
struct percpu {
    u64 user_rsp;   /* scratch: user RSP during syscall entry */
    u64 kstack_top; /* kernel stack of the current thread */
};
_Static_assert(__builtin_offsetof(struct percpu, user_rsp) == PCPU_USER_RSP, "asm offset");
_Static_assert(__builtin_offsetof(struct percpu, kstack_top) == PCPU_KSTACK_TOP, "asm offset");

void cpu_init(void);
void gdt_init(void);
void idt_init(void);
void syscall_init(void);
/* The kernel stack used on entry from ring 3 (TSS.RSP0 and the syscall stack). */
void cpu_set_kernel_stack(u64 top);
/* The application's FS and GS base (GS lives in KERNEL_GS_BASE while in the kernel). */
u64 cpu_user_fs(void);
void cpu_set_user_fs(u64 base);
u64 cpu_user_gs(void);
void cpu_set_user_gs(u64 base);
/* The application's FPU/SSE/AVX state: XSAVE (XCR0's components) or FXSAVE. The area
 * is cpu_fpu_size() bytes, 64-byte aligned; the kernel never touches these registers
 * (-mgeneral-regs-only), so they belong to the thread that last ran in ring 3. */
u32 cpu_fpu_size(void);
void cpu_fpu_save(void *area);
void cpu_fpu_restore(const void *area);
/* Enter ring 3 at rip with stack rsp: all GPRs 0, RFLAGS 0x202, FPU in its init state. */
__noreturn void cpu_enter_user(u64 rip, u64 rsp);

/* Handlers called by the asm stubs. */
void trap_dispatch(struct regs *r);
int syscall_dispatch(struct regs *r); /* returns 1 when the return must use iretq */
#endif

#endif /* LIBOS_CPU_H */
