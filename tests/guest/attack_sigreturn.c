/* attack_sigreturn.c: forged signal frames for rt_sigreturn and hostile sigactions, one per run (argv[1] names it): each must kill the program, never the kernel.
 *
 * Most cases let a real handler corrupt its own frame (the ucontext Linux passes
 * as the third argument) and return through libc's restorer, so the forged frame
 * is otherwise a real one; two call rt_sigreturn on a stack of garbage; the
 * last ones install handlers, restorers and alternate stacks in kernel memory. The
 * program prints "probe <case>" first; if the program survives it prints
 * "SURVIVED <case>" and exits 0, which tests/boot/test_attack_sigreturn.py
 * reports as a failed verdict. Linux kills with SIGSEGV in every case.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "probes.h"

#define KERNEL_TEXT 0xffffffff80100000ull
#define NON_CANONICAL 0x0000800000000000ull

static void (*corrupt)(ucontext_t *uc);

static void handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    corrupt((ucontext_t *)ucv);
}

/* Install the handler with fn as the corruption and raise the signal. */
static void through_handler(void (*fn)(ucontext_t *uc))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    corrupt = fn;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
}

/* cs, gs, fs, ss share one greg on x86-64 (REG_CSGSFS). */
static void set_selectors(ucontext_t *uc, uint16_t cs, uint16_t ss)
{
    uint64_t v = (uint64_t)uc->uc_mcontext.gregs[REG_CSGSFS];
    v = (v & ~0xffffull) | cs;
    v = (v & ~(0xffffull << 48)) | ((uint64_t)ss << 48);
    uc->uc_mcontext.gregs[REG_CSGSFS] = (greg_t)v;
}

static void c_kernel_rip(ucontext_t *uc) { uc->uc_mcontext.gregs[REG_RIP] = (greg_t)KERNEL_TEXT; }
static void c_noncanonical_rip(ucontext_t *uc) { uc->uc_mcontext.gregs[REG_RIP] = (greg_t)NON_CANONICAL; }
/* Resumes at a lone RET: the first use of the forged stack pointer. */
__asm__(".text\n.globl lone_ret\nlone_ret: ret\n");
void lone_ret(void);
static void c_noncanonical_rsp(ucontext_t *uc)
{
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(NON_CANONICAL + 0x1000);
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)lone_ret;
}
static void c_ring0_cs(ucontext_t *uc) { set_selectors(uc, 0x08, 0x2b); }
static void c_ring0_ss(ucontext_t *uc) { set_selectors(uc, 0x33, 0x10); }
static void c_null_ss(ucontext_t *uc) { set_selectors(uc, 0x33, 0x00); }

/* IOPL 3, NT and VM in RFLAGS, resuming at a cli: with IOPL 3 honoured it would run. */
static void do_cli(void)
{
    __asm__ volatile("cli");
}
static void c_iopl_rflags(ucontext_t *uc)
{
    uc->uc_mcontext.gregs[REG_EFL] |= (3 << 12) | (1 << 14) | (1 << 17);
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)do_cli;
}

static void c_bad_mxcsr(ucontext_t *uc) { uc->uc_mcontext.fpregs->mxcsr = 0xffffffffu; }
static void c_fpstate_unmapped(ucontext_t *uc) { uc->uc_mcontext.fpregs = (void *)0x1000; }
static void c_fpstate_kernel(ucontext_t *uc) { uc->uc_mcontext.fpregs = (void *)KERNEL_TEXT; }

/* The XSAVE header's reserved bytes (XCOMP_BV): XRSTOR would #GP. Only when the frame has one. */
static void c_xsave_header(ucontext_t *uc)
{
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
    uint32_t magic1;
    memcpy(&magic1, fp + 464, 4);
    if (magic1 != 0x46505853u) {
        uc->uc_mcontext.fpregs->mxcsr = 0xffffffffu; /* no XSAVE on this CPU: still a forged fpstate */
        return;
    }
    uint64_t junk = ~0ull;
    memcpy(fp + 512 + 8, &junk, 8);
}

static void p_kernel_rip(void) { through_handler(c_kernel_rip); }
static void p_noncanonical_rip(void) { through_handler(c_noncanonical_rip); }
static void p_noncanonical_rsp(void) { through_handler(c_noncanonical_rsp); }
static void p_ring0_cs(void) { through_handler(c_ring0_cs); }
static void p_ring0_ss(void) { through_handler(c_ring0_ss); }
static void p_null_ss(void) { through_handler(c_null_ss); }
static void p_iopl_rflags(void) { through_handler(c_iopl_rflags); }
static void p_bad_mxcsr(void) { through_handler(c_bad_mxcsr); }
static void p_fpstate_unmapped(void) { through_handler(c_fpstate_unmapped); }
static void p_fpstate_kernel(void) { through_handler(c_fpstate_kernel); }
static void p_xsave_header(void) { through_handler(c_xsave_header); }

/* rt_sigreturn with RSP on a page of 0xff bytes (every field hostile). */
static void p_garbage_frame(void)
{
    static unsigned char junk[8192] __attribute__((aligned(16)));
    memset(junk, 0xff, sizeof(junk));
    __asm__ volatile("movq %0, %%rsp\n\tmovl $15, %%eax\n\tsyscall" ::"r"(junk + 4096) : "rax", "memory");
}

/* rt_sigreturn with RSP pointing nowhere: the frame cannot be read. */
static void p_unreadable_frame(void)
{
    __asm__ volatile("movl $0x10, %%esp\n\tmovl $15, %%eax\n\tsyscall" ::: "rax", "memory");
}

/* rt_sigaction as the kernel sees it, bypassing libc (which adds its restorer). */
struct ksigaction {
    uint64_t handler, flags, restorer, mask;
};
#define SA_RESTORER_ 0x04000000ul

static void raw_action(uint64_t handler, uint64_t flags, uint64_t restorer)
{
    struct ksigaction ka = {handler, flags, restorer, 0};
    syscall(SYS_rt_sigaction, SIGUSR1, &ka, NULL, 8);
    raise(SIGUSR1);
}

static void plain_handler(int sig) { (void)sig; }
__asm__(".text\n.globl raw_restorer\nraw_restorer: movl $15, %eax\n\tsyscall\n");
void raw_restorer(void);

static void p_handler_kernel(void) { raw_action(KERNEL_TEXT, SA_RESTORER_, (uint64_t)(uintptr_t)raw_restorer); }
static void p_handler_noncanonical(void) { raw_action(NON_CANONICAL, SA_RESTORER_, (uint64_t)(uintptr_t)raw_restorer); }
static void p_restorer_kernel(void) { raw_action((uint64_t)(uintptr_t)plain_handler, SA_RESTORER_, KERNEL_TEXT); }
static void p_no_restorer(void) { raw_action((uint64_t)(uintptr_t)plain_handler, 0, 0); }

/* An alternate stack in kernel memory: the frame cannot be written there. */
static void p_altstack_kernel(void)
{
    stack_t ss = {.ss_sp = (void *)KERNEL_TEXT, .ss_size = 65536, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    raw_action((uint64_t)(uintptr_t)plain_handler, SA_RESTORER_ | SA_ONSTACK, (uint64_t)(uintptr_t)raw_restorer);
}

static const struct probe probes[] = {
    {"kernel_rip", p_kernel_rip},
    {"noncanonical_rip", p_noncanonical_rip},
    {"noncanonical_rsp", p_noncanonical_rsp},
    {"ring0_cs", p_ring0_cs},
    {"ring0_ss", p_ring0_ss},
    {"null_ss", p_null_ss},
    {"iopl_rflags", p_iopl_rflags},
    {"bad_mxcsr", p_bad_mxcsr},
    {"fpstate_unmapped", p_fpstate_unmapped},
    {"fpstate_kernel", p_fpstate_kernel},
    {"xsave_header", p_xsave_header},
    {"garbage_frame", p_garbage_frame},
    {"unreadable_frame", p_unreadable_frame},
    {"handler_kernel", p_handler_kernel},
    {"handler_noncanonical", p_handler_noncanonical},
    {"restorer_kernel", p_restorer_kernel},
    {"no_restorer", p_no_restorer},
    {"altstack_kernel", p_altstack_kernel},
};

int main(int argc, char **argv) { return probe_main(probes, sizeof(probes) / sizeof(probes[0]), argc, argv); }
