/* attack_trap.c: hostile trap-path probes, one per run (argv[1] names it): each must kill the program, never the kernel.
 *
 * Every case does one thing a hostile program might try at the ring-3/ring-0
 * boundary: privileged instructions, software interrupts, far jumps and IRETQ to
 * kernel or 32-bit segments, non-canonical and kernel addresses, the finding-1
 * compatibility-mode SYSCALL. It prints "probe <case>" first; if the hostile step
 * returns, it prints "SURVIVED <case>" and exits 0, which the boot test reports as
 * a failed verdict. The expected signal per case is in tests/boot/attack_cases.py
 * (natively where Linux gives the same verdict, and booted).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probes.h"

#define KERNEL_TEXT 0xffffffff80100000ul
#define DIRECT_MAP 0xffff800000000000ul
#define NON_CANONICAL 0x0000800000000000ul

static volatile uint64_t sink;

/* lretq to selector:target, 64-bit operand size. */
static void far_return(uint64_t sel, void *target)
{
    __asm__ volatile("pushq %0\n\tpushq %1\n\tlretq" ::"r"(sel), "r"(target) : "memory");
}

/* iretq with the given frame from ring 3. */
static void iret_to(uint64_t rip, uint64_t cs, uint64_t rflags, uint64_t rsp, uint64_t ss)
{
    __asm__ volatile("pushq %4\n\tpushq %3\n\tpushq %2\n\tpushq %1\n\tpushq %0\n\tiretq" ::"r"(rip), "r"(cs),
                     "r"(rflags), "r"(rsp), "r"(ss)
                     : "memory");
}

static void after_far(void) {}

/* Finding 1: far-jump to the 32-bit user code selector, then SYSCALL from compatibility mode. */
static void compat_syscall(void)
{
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "pushq $0x1b\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n\t"
                     "1: syscall\n\t" ::
                         : "rax", "rcx", "r11", "memory");
}

static void ljmp_cs32(void)
{
    struct {
        uint64_t off;
        uint16_t sel;
    } __attribute__((packed)) target = {(uint64_t)after_far, 0x1b};
    __asm__ volatile("rex.W ljmp *%0" ::"m"(target) : "memory");
}

static int recurse(int depth)
{
    volatile char pad[4096];
    pad[0] = (char)depth;
    if (depth >= 0) /* always: the stack runs out first */
        return recurse(depth + 1) + pad[0];
    return 0;
}

static void exec_page(int prot)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 0xc3; /* ret */
    mprotect(p, 4096, prot);
    ((void (*)(void))p)();
}

static void stack_exec(void)
{
    unsigned char code[16] = {0xc3};
    ((void (*)(void))code)();
}

static void unaligned_with_ac(void)
{
    static char buf[16] __attribute__((aligned(16)));
    __asm__ volatile("pushfq\n\torq $0x40000, (%%rsp)\n\tpopfq" ::: "memory");
    sink = *(volatile uint32_t *)(buf + 1);
    __asm__ volatile("pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq" ::: "memory");
}

static void syscall_bad_rsp(void)
{
    /* A syscall with a non-canonical stack pointer: the kernel must not use it;
     * the program's next push then faults (#SS). */
    __asm__ volatile("movq %%rsp, %%rbx\n\t"
                     "movabsq $0x8000000000000000, %%rsp\n\t"
                     "movl $39, %%eax\n\t"
                     "syscall\n\t"
                     "pushq %%rax\n\t"
                     "movq %%rbx, %%rsp" ::
                         : "rax", "rbx", "rcx", "r11", "memory");
}

static void syscall_kernel_rsp(void)
{
    __asm__ volatile("movq %%rsp, %%rbx\n\t"
                     "movabsq $0xffffffff80100000, %%rsp\n\t"
                     "movl $39, %%eax\n\t"
                     "syscall\n\t"
                     "pushq %%rax\n\t"
                     "movq %%rbx, %%rsp" ::
                         : "rax", "rbx", "rcx", "r11", "memory");
}

static void single_step_syscall(void)
{
    __asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
                     "movl $39, %%eax\n\tsyscall\n\tnop" ::
                         : "rax", "rcx", "r11", "memory");
}

static void last_page_map(void)
{
    /* Finding "also": the last user page must not be mappable; if it is, run a
     * syscall there so the return goes to a non-canonical RIP. */
    unsigned char *p = mmap((void *)0x7ffffffff000ul, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
        printf("refused\n");
        *(volatile int *)0 = 1; /* the verdict: refused, then an ordinary SIGSEGV */
    }
    static const unsigned char code[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05}; /* mov $39,%eax; syscall */
    memcpy(p + 4096 - sizeof(code), code, sizeof(code));
    ((void (*)(void))(p + 4096 - sizeof(code)))();
}

/* Fill the RAM file system until writes fail, then split one mapping page by page
 * until that fails too (issue #15 finding 4: this used to panic the kernel after
 * about 4,000 splits), then touch fresh memory: the verdict is Linux's errnos and
 * then the out-of-memory kill (SIGKILL), never a panic. Guest only: natively it
 * would fill the host's disk. */
static void fill_ram_then_split(void)
{
    static char chunk[1 << 16];
    memset(chunk, 0x77, sizeof(chunk));
    FILE *f = fopen("/fill.bin", "w");
    int fd = f ? fileno(f) : -1;
    long n;
    while ((n = write(fd, chunk, sizeof(chunk))) > 0)
        ;
    printf("fill: %s\n", n < 0 ? strerror(errno) : "short");
    size_t pages = 140000, i;
    unsigned char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (i = 0; i < pages; i += 2)
        if (mprotect(p + i * 4096, 4096, PROT_READ) != 0)
            break;
    printf("split: %s\n", i < pages ? strerror(errno) : "no limit");
    munmap(p, pages * 4096);
    unsigned char *q = mmap(NULL, 1ul << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t off = 0; q != MAP_FAILED && off < (1ul << 30); off += 4096)
        q[off] = 1; /* more than the guest has: the out-of-memory kill */
}

#define ASM_CASE(fn, text)                                                                         \
    static void fn(void) { __asm__ volatile(text ::: "memory"); }

ASM_CASE(p_hlt, "hlt")
ASM_CASE(p_cli, "cli")
ASM_CASE(p_sti, "sti")
ASM_CASE(p_out_exit_port, "movl $0, %%eax\n\toutl %%eax, $0xf4")
ASM_CASE(p_out_log_port, "movb $0x44, %%al\n\tmovw $0x2f8, %%dx\n\toutb %%al, %%dx")
ASM_CASE(p_in_port, "movw $0x3f8, %%dx\n\tinb %%dx, %%al")
ASM_CASE(p_lgdt, "subq $16, %%rsp\n\tlgdt (%%rsp)")
ASM_CASE(p_lidt, "subq $16, %%rsp\n\tlidt (%%rsp)")
ASM_CASE(p_mov_cr3, "xorl %%eax, %%eax\n\tmovq %%rax, %%cr3")
ASM_CASE(p_read_cr0, "movq %%cr0, %%rax")
ASM_CASE(p_wrmsr, "movl $0xc0000082, %%ecx\n\txorl %%eax, %%eax\n\txorl %%edx, %%edx\n\twrmsr")
ASM_CASE(p_rdmsr, "movl $0xc0000082, %%ecx\n\trdmsr")
ASM_CASE(p_invlpg, "invlpg (%%rsp)")
ASM_CASE(p_wbinvd, "wbinvd")
ASM_CASE(p_swapgs, "swapgs")
ASM_CASE(p_sysret, "sysretq")
ASM_CASE(p_ltr, "movw $0x30, %%ax\n\tltr %%ax")
ASM_CASE(p_ud2, "ud2")
ASM_CASE(p_int3, "int3")
ASM_CASE(p_int_3_long, ".byte 0xcd, 0x03")
ASM_CASE(p_icebp, ".byte 0xf1")
ASM_CASE(p_int1, "int $1")
ASM_CASE(p_int_de, "int $0")
ASM_CASE(p_int_pf, "int $14")
ASM_CASE(p_int_df, "int $8")
ASM_CASE(p_int_timer, "int $0x20")
ASM_CASE(p_int80, "movl $20, %%eax\n\tint $0x80")
ASM_CASE(p_int_ff, "int $0xff")
ASM_CASE(p_into, ".byte 0xce")
ASM_CASE(p_sysenter, "sysenter")
ASM_CASE(p_sidt, "subq $16, %%rsp\n\tsidt (%%rsp)\n\taddq $16, %%rsp")
ASM_CASE(p_sgdt, "subq $16, %%rsp\n\tsgdt (%%rsp)\n\taddq $16, %%rsp")
ASM_CASE(p_str, "str %%ax")
ASM_CASE(p_sldt, "sldt %%ax")
ASM_CASE(p_smsw, "smsw %%ax")
ASM_CASE(p_mov_ss_kernel, "movw $0x10, %%ax\n\tmovw %%ax, %%ss")
ASM_CASE(p_mov_ds_tss, "movw $0x33, %%ax\n\tmovw %%ax, %%ds")
ASM_CASE(p_mov_fs_cs32, "movw $0x1b, %%ax\n\tmovw %%ax, %%fs")
ASM_CASE(p_jmp_noncanonical, "movabsq $0x0000800000000000, %%rax\n\tjmp *%%rax")
ASM_CASE(p_jmp_kernel, "movabsq $0xffffffff80100000, %%rax\n\tjmp *%%rax")
ASM_CASE(p_call_direct_map, "movabsq $0xffff800000100000, %%rax\n\tcall *%%rax")
ASM_CASE(p_div_zero, "xorl %%ecx, %%ecx\n\tmovl $1, %%eax\n\tcltd\n\tidivl %%ecx")
ASM_CASE(p_div_overflow, "movl $0x80000000, %%eax\n\tcltd\n\tmovl $-1, %%ecx\n\tidivl %%ecx")
ASM_CASE(p_read_noncanonical, "movabsq $0x0000800000000000, %%rax\n\tmovq (%%rax), %%rax")

static void p_compat_syscall(void) { compat_syscall(); }
static void p_ljmp_cs32(void) { ljmp_cs32(); }
static void p_lret_cs32(void) { far_return(0x1b, (void *)after_far); }
static void p_lret_kernel_cs(void) { far_return(0x08, (void *)after_far); }
static void p_iret_kernel_cs(void) { iret_to((uint64_t)after_far, 0x08, 0x2, (uint64_t)&sink + 64, 0x10); }
static void p_iret_noncanonical(void) { iret_to(NON_CANONICAL, 0x33, 0x202, (uint64_t)&sink + 64, 0x2b); }
static void p_iret_kernel_rip(void) { iret_to(KERNEL_TEXT, 0x33, 0x202, (uint64_t)&sink + 64, 0x2b); }
static void p_iret_iopl3(void)
{
    /* iretq may not raise IOPL from ring 3 (silently kept): the port write still faults. */
    uint64_t cs, ss;
    __asm__ volatile("movq %%cs, %0\n\tmovq %%ss, %1" : "=r"(cs), "=r"(ss));
    uint64_t stack[64];
    iret_to((uint64_t)p_out_exit_port, cs, 0x3202, (uint64_t)&stack[32], ss);
}
static void p_read_kernel(void) { sink = *(volatile uint64_t *)KERNEL_TEXT; }
static void p_write_kernel(void) { *(volatile uint64_t *)KERNEL_TEXT = 0; }
static void p_write_direct_map(void) { *(volatile uint64_t *)(DIRECT_MAP + 0x100000) = 0; }
static void p_read_null(void) { sink = *(volatile uint64_t *)0; }
static void p_write_null_page_high(void) { *(volatile uint64_t *)0xfff8 = 0; }
static void p_stack_overflow(void) { sink = (uint64_t)recurse(0); }
static void p_exec_rw_page(void) { exec_page(PROT_READ | PROT_WRITE); }
static void p_exec_none_page(void) { exec_page(PROT_NONE); }
static void p_exec_stack(void) { stack_exec(); }
static void p_write_text(void) { *(volatile unsigned char *)(uintptr_t)p_hlt = 0xc3; }
static void p_unaligned_ac(void) { unaligned_with_ac(); }
static void p_syscall_bad_rsp(void) { syscall_bad_rsp(); }
static void p_syscall_kernel_rsp(void) { syscall_kernel_rsp(); }
static void p_single_step(void) { single_step_syscall(); }
static void p_last_page(void) { last_page_map(); }
static void p_fill_ram(void) { fill_ram_then_split(); }

static const struct probe probes[] = {
    {"compat_syscall", p_compat_syscall},
    {"ljmp_cs32", p_ljmp_cs32},
    {"lret_cs32", p_lret_cs32},
    {"lret_kernel_cs", p_lret_kernel_cs},
    {"iret_kernel_cs", p_iret_kernel_cs},
    {"iret_noncanonical", p_iret_noncanonical},
    {"iret_kernel_rip", p_iret_kernel_rip},
    {"iret_iopl3", p_iret_iopl3},
    {"hlt", p_hlt},
    {"cli", p_cli},
    {"sti", p_sti},
    {"out_exit_port", p_out_exit_port},
    {"out_log_port", p_out_log_port},
    {"in_port", p_in_port},
    {"lgdt", p_lgdt},
    {"lidt", p_lidt},
    {"mov_cr3", p_mov_cr3},
    {"read_cr0", p_read_cr0},
    {"wrmsr", p_wrmsr},
    {"rdmsr", p_rdmsr},
    {"invlpg", p_invlpg},
    {"wbinvd", p_wbinvd},
    {"swapgs", p_swapgs},
    {"sysret", p_sysret},
    {"ltr", p_ltr},
    {"ud2", p_ud2},
    {"int3", p_int3},
    {"int_3_long", p_int_3_long},
    {"icebp", p_icebp},
    {"int1", p_int1},
    {"int_de", p_int_de},
    {"int_pf", p_int_pf},
    {"int_df", p_int_df},
    {"int_timer", p_int_timer},
    {"int80", p_int80},
    {"int_ff", p_int_ff},
    {"into", p_into},
    {"sysenter", p_sysenter},
    {"sidt", p_sidt},
    {"sgdt", p_sgdt},
    {"str", p_str},
    {"sldt", p_sldt},
    {"smsw", p_smsw},
    {"mov_ss_kernel", p_mov_ss_kernel},
    {"mov_ds_tss", p_mov_ds_tss},
    {"mov_fs_cs32", p_mov_fs_cs32},
    {"jmp_noncanonical", p_jmp_noncanonical},
    {"jmp_kernel", p_jmp_kernel},
    {"call_direct_map", p_call_direct_map},
    {"read_noncanonical", p_read_noncanonical},
    {"read_kernel", p_read_kernel},
    {"write_kernel", p_write_kernel},
    {"write_direct_map", p_write_direct_map},
    {"read_null", p_read_null},
    {"write_below_mmap_min", p_write_null_page_high},
    {"stack_overflow", p_stack_overflow},
    {"exec_rw_page", p_exec_rw_page},
    {"exec_none_page", p_exec_none_page},
    {"exec_stack", p_exec_stack},
    {"write_text", p_write_text},
    {"div_zero", p_div_zero},
    {"div_overflow", p_div_overflow},
    {"unaligned_ac", p_unaligned_ac},
    {"syscall_bad_rsp", p_syscall_bad_rsp},
    {"syscall_kernel_rsp", p_syscall_kernel_rsp},
    {"single_step", p_single_step},
    {"last_page", p_last_page},
    {"fill_ram_then_split", p_fill_ram},
};

int main(int argc, char **argv) { return probe_main(probes, sizeof(probes) / sizeof(probes[0]), argc, argv); }
