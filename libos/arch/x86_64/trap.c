/* SPDX-License-Identifier: Apache-2.0 */
/* trap.c: exception and interrupt dispatch, register dumps, application faults as signals. */
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/hostsig.h>
#include <libos/lapic.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/signal.h>
#include <libos/task.h>
#include <libos/uvm.h>
#include <libos/virtio.h>

/* Weak: the virtio drivers are linked with the network only (kernel/main.c). */
extern void virtio_interrupt(void) __attribute__((weak));
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

/* A frame pointer worth following: in the kernel image (boot and IST stacks) or
 * within the running thread's kernel stack (kernel/task.c's region). */
static bool frame_ok(u64 rbp)
{
    if (rbp & 7)
        return false;
    if (rbp >= KERNEL_VBASE)
        return true;
    return current && rbp >= current->kstack_base && rbp + 16 <= current->kstack_top;
}

static void backtrace(u64 rbp)
{
    /* Frame-pointer walk; the kernel is built with -fno-omit-frame-pointer. */
    for (int i = 0; i < 16 && frame_ok(rbp); i++) {
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

/* si_code values of the fault signals (Linux's asm-generic/siginfo.h). */
#define FPE_INTDIV_ 1
#define FPE_FLTDIV 3
#define FPE_FLTOVF 4
#define FPE_FLTUND 5
#define FPE_FLTRES 6
#define FPE_FLTINV 7
#define BUS_ADRALN 1
#define TRAP_TRACE 2

/* The application did something that raises a synchronous signal: its handler
 * runs when it has one that is not blocked (signal_force_fault); otherwise Linux
 * would kill the process: report it like a core dump would. */
__noreturn void signal_crash_report(const struct regs *r, int sig, u64 addr, const char *cause)
{
    u64 cr2 = r->vector == VEC_PF ? addr : 0;
    if (current_process()->pid != 1)
        signal_fatal(sig, addr, r->rip, cause); /* not the application's end: one line (signal.c) */
    kinfo("application fault: %s (vector %lu) at rip 0x%lx, signal %d", exception_name(r->vector),
          r->vector, r->rip, sig);
    dump_regs(r, cr2);
    uvm_dump();
    signal_fatal(sig, addr, r->rip, cause);
}

static void user_fault(struct regs *r, int sig, int code, u64 addr, const char *cause)
{
    if (signal_fault_has_handler(sig)) {
        signal_force_fault(r, sig, code, addr, cause);
        return;
    }
    signal_crash_report(r, sig, addr, cause);
}

__noreturn void compat_syscall_fault(struct regs *r)
{
    u64 cr2 = 0;
    kinfo("application fault: %s at rip 0x%lx, signal %d", exception_name(r->vector), r->rip,
          SIGSEGV);
    dump_regs(r, cr2);
    signal_fatal(SIGSEGV, r->rip, r->rip, "compat-syscall");
}

static void page_fault(struct regs *r)
{
    u64 addr = read_cr2();
    bool user = regs_from_user(r);
    /* Demand paging serves the kernel too: it touches user memory through uaccess
     * copies and while building the initial stack. */
    long fr = addr < USER_TOP ? uvm_handle_fault(addr, r->error) : -EFAULT;
    if (fr == 0)
        return;
    if (!user) {
        if (r->rip >= (u64)uaccess_begin && r->rip < (u64)uaccess_end) {
            r->rip = (u64)uaccess_fault; /* the copy returns -EFAULT */
            return;
        }
        kernel_fault(r, addr);
    }
    if (fr == -EIO) {
        user_fault(r, SIGBUS, BUS_ADRERR, addr, "past-end-of-file");
        return;
    }
    /* "protection": there is a mapping (maybe PROT_NONE) but it forbids this access. */
    bool mapped = (r->error & PF_PRESENT) || (addr < USER_TOP && uvm_range_ok(addr, 1, PROT_NONE));
    static const char *const causes[3][2] = {
        {"read-unmapped", "read-protection"},
        {"write-unmapped", "write-protection"},
        {"exec-unmapped", "exec-protection"},
    };
    int row = (r->error & PF_FETCH) ? 2 : (r->error & PF_WRITE) ? 1 : 0;
    user_fault(r, SIGSEGV, mapped ? SEGV_ACCERR : SEGV_MAPERR, addr, causes[row][mapped]);
}

/* Linux's fpu__exception_code(): the first unmasked exception flag decides. */
static int fp_code(u32 flags)
{
    if (flags & 0x01)
        return FPE_FLTINV;
    if (flags & 0x04)
        return FPE_FLTDIV;
    if (flags & 0x08)
        return FPE_FLTOVF;
    if (flags & 0x12)
        return FPE_FLTUND;
    if (flags & 0x20)
        return FPE_FLTRES;
    return 0;
}

static int simd_code(void)
{
    u32 mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    return fp_code(mxcsr & ~(mxcsr >> 7) & 0x3f);
}

static int x87_code(void)
{
    u16 sw, cw;
    __asm__ volatile("fnstsw %0; fnstcw %1" : "=m"(sw), "=m"(cw));
    return fp_code(sw & ~cw & 0x3f);
}

/* A ring-3 exception other than a page fault: its signal, si_code and si_addr as Linux sends them. */
static void user_exception(struct regs *r)
{
    const char *cause = exception_name(r->vector);
    switch (r->vector) {
    case VEC_DE:
        user_fault(r, SIGFPE, FPE_INTDIV_, r->rip, cause);
        return;
    case VEC_MF:
        user_fault(r, SIGFPE, x87_code(), r->rip, cause);
        return;
    case VEC_XM:
        user_fault(r, SIGFPE, simd_code(), r->rip, cause);
        return;
    case VEC_DB:
        user_fault(r, SIGTRAP, TRAP_TRACE, r->rip, cause);
        return;
    case VEC_BP:
        user_fault(r, SIGTRAP, SI_KERNEL, 0, cause); /* int3: force_sig(SIGTRAP), no address */
        return;
    case VEC_UD:
        user_fault(r, SIGILL, ILL_ILLOPN, r->rip, cause);
        return;
    case VEC_AC:
        user_fault(r, SIGBUS, BUS_ADRALN, 0, cause);
        return;
    case VEC_SS:
    case 11: /* segment not present */
        user_fault(r, SIGBUS, SI_KERNEL, 0, cause);
        return;
    default: /* #GP and the rest: Linux sends SIGSEGV with SI_KERNEL and no address */
        user_fault(r, SIGSEGV, SI_KERNEL, 0, cause);
        return;
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
        sched_timer_interrupt(r); /* kernel timers, the end of a quantum */
        return;
    }
    if (r->vector == VEC_HOSTSIG) {
        hostsig_interrupt(); /* a signal from the host (kernel/hostsig.c) */
        lapic_eoi();
        return;
    }
    if (r->vector == VEC_VIRTIO) {
        if (virtio_interrupt)
            virtio_interrupt(); /* a NIC's packets, a finished request (drivers/virtio_mmio.c) */
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
    if (regs_from_user(r) && r->vector != VEC_DF && r->vector != VEC_MC) {
        user_exception(r);
        return;
    }
    kernel_fault(r, read_cr2());
}

