/* SPDX-License-Identifier: Apache-2.0 */
/* idt.c: the interrupt descriptor table: 256 gates to the stubs in vectors.S. */
#include <libos/cpu.h>
#include <libos/memlayout.h>

struct idt_gate {
    u16 offset_lo;
    u16 selector;
    u8 ist;
    u8 type_attr;
    u16 offset_mid;
    u32 offset_hi;
    u32 reserved;
} __packed;
_Static_assert(sizeof(struct idt_gate) == 16, "x86-64 IDT gate");

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate (IF cleared on entry) */
#define GATE_DPL3 0x60

extern const u64 vector_stubs[256];
static struct idt_gate idt[256] __aligned(16);

static void set_gate(unsigned vec, u8 ist, u8 dpl_bits)
{
    u64 h = vector_stubs[vec];
    idt[vec] = (struct idt_gate){
        .offset_lo = (u16)h,
        .selector = SEL_KERNEL_CS,
        .ist = ist,
        .type_attr = GATE_INTERRUPT | dpl_bits,
        .offset_mid = (u16)(h >> 16),
        .offset_hi = (u32)(h >> 32),
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, 0, 0);
    /* NMI, #DF and #MC run on their own IST stacks (gdt.c): they can arrive
     * between SYSRET's stack switch and sysretq, when RSP is the user's. */
    set_gate(2, 1, 0);
    set_gate(8, 2, 0);
    set_gate(18, 3, 0);
    /* int3 and into are allowed from ring 3, as on Linux (SIGTRAP, SIGSEGV). */
    set_gate(3, 0, GATE_DPL3);
    set_gate(4, 0, GATE_DPL3);

    struct {
        u16 limit;
        u64 base;
    } __packed p = {sizeof(idt) - 1, (u64)idt};
    /* Load the IDT: from here on exceptions reach trap_dispatch() instead of triple-faulting. */
    __asm__ volatile("lidt %0" ::"m"(p));
}
