/* SPDX-License-Identifier: Apache-2.0 */
/* syscall.c: SYSCALL MSRs, the per-CPU block, and the first entry into ring 3. */
#include <libos/cpu.h>
#include <libos/memlayout.h>
#include <libos/signal.h>
#include <libos/string.h>
#include <libos/x86.h>

#include "arch_internal.h"

#define RFLAGS_TF (1ul << 8)
#define RFLAGS_DF (1ul << 10)
#define RFLAGS_IOPL (3ul << 12)
#define RFLAGS_NT (1ul << 14)
#define RFLAGS_AC (1ul << 18)
#define USER_RFLAGS_INIT 0x202 /* IF set, reserved bit 1 */
#define MXCSR_INIT 0x1f80      /* all SIMD exceptions masked, round to nearest */

static struct percpu percpu;

void syscall_init(void)
{
    /* EFER.SCE: without it SYSCALL raises #UD. */
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    /* STAR[47:32]: SYSCALL loads CS = 0x08, SS = 0x10. STAR[63:48]: SYSRET loads
     * CS = base+16 (0x2b, user CS64) and SS = base+8 (0x23, user DS), RPL 3. */
    wrmsr(MSR_STAR, ((u64)SEL_USER_CS32 << 48) | ((u64)SEL_KERNEL_CS << 32));
    /* LSTAR: the 64-bit SYSCALL entry point. */
    wrmsr(MSR_LSTAR, (u64)syscall_entry);
    /* CSTAR: SYSCALL from compatibility mode (AMD and TCG; Intel raises #UD). No
     * 32-bit code segment exists (gdt.c), but should a program reach it anyway it
     * must not run ring 0 at address 0 on its own stack: the entry kills it. */
    wrmsr(MSR_CSTAR, (u64)compat_syscall_entry);
    /* SYSENTER_CS 0: SYSENTER raises #GP (a SIGSEGV for the program). */
    wrmsr(MSR_SYSENTER_CS, 0);
    wrmsr(MSR_SYSENTER_ESP, 0);
    wrmsr(MSR_SYSENTER_EIP, 0);
    /* FMASK: flags cleared on entry. IF off until we are on the kernel stack; TF,
     * DF, AC, NT and IOPL off so the kernel starts in a known state (as Linux). */
    wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC | RFLAGS_NT | RFLAGS_IOPL);
    /* GS base = per-CPU block while in the kernel; the app's GS base waits in
     * KERNEL_GS_BASE and swapgs exchanges the two on every ring crossing. */
    wrmsr(MSR_GS_BASE, (u64)&percpu);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
}

void cpu_set_kernel_stack(u64 top)
{
    percpu.kstack_top = top;
    tss_set_rsp0(top);
}

u64 cpu_user_fs(void) { return rdmsr(MSR_FS_BASE); }

void cpu_set_user_fs(u64 base)
{
    /* FS base: the app's TLS pointer (%fs:0). The kernel never uses FS. */
    wrmsr(MSR_FS_BASE, base);
}

u64 cpu_user_gs(void) { return rdmsr(MSR_KERNEL_GS_BASE); }

void cpu_set_user_gs(u64 base)
{
    /* Inside the kernel the app's GS base is the inactive one: swapgs restores it on return. */
    wrmsr(MSR_KERNEL_GS_BASE, base);
}

__noreturn void cpu_enter_user(u64 rip, u64 rsp)
{
    /* An entry point outside user space (a hostile ELF) would make IRETQ fault in
     * ring 0: the program dies as it would on its first instruction fetch. */
    if (rip >= USER_MAP_TOP)
        signal_fatal(SIGSEGV, rip, rip, "entry-outside-user-space");
    struct regs *f = (struct regs *)(percpu.kstack_top - sizeof(struct regs));
    memset(f, 0, sizeof(*f)); /* every GPR 0: %rdx = 0 is the atexit pointer for _start */
    f->rip = rip;
    f->cs = SEL_USER_CS;
    f->rflags = USER_RFLAGS_INIT;
    f->rsp = rsp;
    f->ss = SEL_USER_DS;
    f->vector = REGS_VECTOR_SYSCALL;

    /* The app starts with the default FPU state: FCW 0x37f via fninit, MXCSR 0x1f80. */
    u32 mxcsr = MXCSR_INIT;
    __asm__ volatile("fninit\n\tldmxcsr %0" ::"m"(mxcsr));
    /* FS base 0 until libc sets its TLS. */
    wrmsr(MSR_FS_BASE, 0);
    cpu_enter_user_frame(f);
}
