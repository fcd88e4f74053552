/* SPDX-License-Identifier: Apache-2.0 */
/* trap.c: exception and interrupt dispatch, register dumps, application faults as signals. */
#include <libos/cpu.h>
#include <libos/hostsig.h>
#include <libos/lapic.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/signal.h>
#include <libos/uvm.h>
#include <libos/x86.h>

#include "arch_internal.h"

#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17
#define VEC_MC 18
#define VEC_XM 19

#define PF_PRESENT 0x1
#define PF_WRITE 0x2
#define PF_FETCH 0x10

static const char *const exception_names[32] = {
    "divide-error", "debug", "nmi", "breakpoint", "overflow", "bound-range",
    "invalid-opcode", "device-not-available", "double-fault", "coprocessor-overrun",
    "invalid-tss", "segment-not-present", "stack-segment", "general-protection",
    "page-fault", "reserved-15", "x87-fp-error", "alignment-check", "machine-check",
    "simd-fp-error", "virtualization", "control-protection",
};

static const char *exception_name(u64 v)
{
    if (v == REGS_VECTOR_SYSCALL)
        return "compat-mode-syscall"; /* the only syscall frame that reaches a fault report */
    return v < 32 && exception_names[v] ? exception_names[v] : "exception";
}

static void dump_regs(const struct regs *r, u64 cr2)
{
    klog(" RIP %016lx RSP %016lx RFLAGS %016lx\n", r->rip, r->rsp, r->rflags);
    klog(" RAX %016lx RBX %016lx RCX %016lx\n", r->rax, r->rbx, r->rcx);
    klog(" RDX %016lx RSI %016lx RDI %016lx\n", r->rdx, r->rsi, r->rdi);
    klog(" RBP %016lx R8  %016lx R9  %016lx\n", r->rbp, r->r8, r->r9);
    klog(" R10 %016lx R11 %016lx R12 %016lx\n", r->r10, r->r11, r->r12);
    klog(" R13 %016lx R14 %016lx R15 %016lx\n", r->r13, r->r14, r->r15);
    klog(" CR2 %016lx FS  %016lx CS %04lx SS %04lx ERR %lx\n", cr2, rdmsr(MSR_FS_BASE), r->cs,
         r->ss, r->error);
}

static void backtrace(u64 rbp)
{
    /* Frame-pointer walk; the kernel is built with -fno-omit-frame-pointer. */
    for (int i = 0; i < 16 && rbp >= KERNEL_VBASE && !(rbp & 7); i++) {
        const u64 *frame = (const u64 *)rbp;
        klog("  called from %016lx\n", frame[1]);
        rbp = frame[0];
    }
}

static __noreturn void kernel_fault(const struct regs *r, u64 cr2)
{
    klog("dock2uni: kernel %s (vector %lu) at rip %lx\n", exception_name(r->vector), r->vector,
         r->rip);
    dump_regs(r, cr2);
    backtrace(r->rbp);
    panic("kernel %s at rip 0x%lx addr 0x%lx", exception_name(r->vector), r->rip, cr2);
}

/* The application did something that raises a synchronous signal. With no handler
 * that can run, Linux would kill the process: report it like a core dump would. */
static __noreturn void user_fault(const struct regs *r, int sig, u64 addr, const char *cause)
{
    u64 cr2 = r->vector == VEC_PF ? addr : 0;
    kinfo("application fault: %s (vector %lu) at rip 0x%lx, signal %d", exception_name(r->vector),
          r->vector, r->rip, sig);
    dump_regs(r, cr2);
    uvm_dump();
    signal_fatal(sig, addr, r->rip, cause);
}

__noreturn void compat_syscall_fault(struct regs *r)
{
    user_fault(r, SIGSEGV, r->rip, "compat-syscall");
}

static void page_fault(struct regs *r)
{
    u64 addr = read_cr2();
    bool user = regs_from_user(r);
    /* Demand paging serves the kernel too: it touches user memory through uaccess
     * copies and while building the initial stack. */
    if (addr < USER_TOP && uvm_handle_fault(addr, r->error) == 0)
        return;
    if (!user) {
        if (r->rip >= (u64)uaccess_begin && r->rip < (u64)uaccess_end) {
            r->rip = (u64)uaccess_fault; /* the copy returns -EFAULT */
            return;
        }
        kernel_fault(r, addr);
    }
    /* "protection": there is a mapping (maybe PROT_NONE) but it forbids this access. */
    bool mapped = (r->error & PF_PRESENT) || (addr < USER_TOP && uvm_range_ok(addr, 1, PROT_NONE));
    static const char *const causes[3][2] = {
        {"read-unmapped", "read-protection"},
        {"write-unmapped", "write-protection"},
        {"exec-unmapped", "exec-protection"},
    };
    int row = (r->error & PF_FETCH) ? 2 : (r->error & PF_WRITE) ? 1 : 0;
    user_fault(r, SIGSEGV, addr, causes[row][mapped]);
}

static int signal_for_exception(u64 vector)
{
    switch (vector) {
    case VEC_DE:
    case VEC_MF:
    case VEC_XM:
        return SIGFPE;
    case VEC_DB:
    case VEC_BP:
        return SIGTRAP;
    case VEC_UD:
        return SIGILL;
    case VEC_SS:
    case VEC_AC:
        return SIGBUS;
    default:
        return SIGSEGV;
    }
}

void trap_dispatch(struct regs *r)
{
    if (r->vector == VEC_PF) {
        page_fault(r);
        return;
    }
    if (r->vector == VEC_LAPIC_TIMER) {
        lapic_eoi();
        return;
    }
    if (r->vector == VEC_HOSTSIG) {
        hostsig_interrupt(); /* a signal from the host (kernel/hostsig.c) */
        lapic_eoi();
        return;
    }
    if (r->vector == VEC_SPURIOUS)
        return; /* spurious LAPIC interrupts need no EOI */
    if (r->vector >= 32) {
        kinfo("unexpected interrupt vector %lu", r->vector);
        lapic_eoi();
        return;
    }
    if (r->vector == VEC_NMI) {
        kinfo("NMI at rip 0x%lx (ignored)", r->rip);
        return;
    }
    if (regs_from_user(r) && r->vector != VEC_DF && r->vector != VEC_MC)
        user_fault(r, signal_for_exception(r->vector), r->rip, exception_name(r->vector));
    kernel_fault(r, read_cr2());
}
