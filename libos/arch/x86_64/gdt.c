/* SPDX-License-Identifier: Apache-2.0 */
/* gdt.c: the final GDT (selectors in the order SYSCALL/SYSRET need) and the TSS. */
#include <libos/cpu.h>
#include <libos/memlayout.h>
#include <libos/mm.h>
#include <libos/string.h>

#include "arch_internal.h"

struct tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __packed;
_Static_assert(sizeof(struct tss) == 104, "x86-64 TSS layout");

#define IST_NMI 1
#define IST_DOUBLE_FAULT 2
#define IST_MACHINE_CHECK 3

static u64 gdt[8] __aligned(16);
static struct tss tss __aligned(16);
/* Each IST stack sits above its own guard page (unmapped in gdt_init). */
static u8 ist_stacks[3][PAGE_SIZE + IST_STACK_SIZE] __aligned(PAGE_SIZE);

struct descriptor_ptr {
    u16 limit;
    u64 base;
} __packed;

void gdt_init(void)
{
    /* Index order fixed by SYSCALL/SYSRET (STAR in syscall.c): kernel CS, kernel DS,
     * the SYSRET base slot, user DS, user CS64, then the TSS. The base slot would be
     * the 32-bit user code segment; it stays a null descriptor: with no 32-bit code
     * segment a program cannot enter compatibility mode (where SYSCALL goes through
     * CSTAR without a stack switch), and a far jump to 0x1b faults (SIGSEGV). SYSRET
     * to 64-bit code never reads the slot. */
    gdt[0] = 0;
    gdt[SEL_KERNEL_CS >> 3] = 0x00af9a000000ffff; /* present, DPL 0, code, L=1 */
    gdt[SEL_KERNEL_DS >> 3] = 0x00cf92000000ffff; /* present, DPL 0, data, writable */
    gdt[SEL_USER_CS32 >> 3] = 0;                  /* no 32-bit user code (see above) */
    gdt[SEL_USER_DS >> 3] = 0x00cff2000000ffff;   /* present, DPL 3, data, writable */
    gdt[SEL_USER_CS >> 3] = 0x00affa000000ffff;   /* present, DPL 3, code, L=1 */

    memset(&tss, 0, sizeof(tss));
    for (int i = 0; i < 3; i++) {
        vm_guard_page(ist_stacks[i]);
        tss.ist[i] = (u64)ist_stacks[i] + sizeof(ist_stacks[i]);
    }
    _Static_assert(IST_NMI == 1 && IST_DOUBLE_FAULT == 2 && IST_MACHINE_CHECK == 3, "ist_stacks order");
    tss.iomap_base = sizeof(tss); /* no I/O permission bitmap: ring 3 gets no ports */

    u64 base = (u64)&tss, limit = sizeof(tss) - 1;
    /* 16-byte system descriptor: type 9 (available 64-bit TSS), present, DPL 0. */
    gdt[SEL_TSS >> 3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ul << 40) |
                        (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[(SEL_TSS >> 3) + 1] = base >> 32;

    struct descriptor_ptr p = {sizeof(gdt) - 1, (u64)gdt};
    /* Load the GDT, then reload CS with a far return (no far jmp with a 64-bit
     * target exists) and the data segments, so no stale boot descriptor stays cached. */
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl %2, %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     :
                     : "m"(p), "i"(SEL_KERNEL_CS), "i"(SEL_KERNEL_DS)
                     : "rax", "memory");
    /* Load the task register: the CPU reads RSP0 and the IST stacks from the TSS. */
    __asm__ volatile("ltr %w0" ::"r"(SEL_TSS));
}

void tss_set_rsp0(u64 top)
{
    /* The CPU switches to RSP0 on any interrupt or exception taken in ring 3. */
    tss.rsp[0] = top;
}
