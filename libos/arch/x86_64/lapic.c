/* SPDX-License-Identifier: Apache-2.0 */
/* lapic.c: the local APIC in xAPIC (MMIO) mode: spurious vector, one-shot timer, EOI. */
#include <libos/lapic.h>
#include <libos/memlayout.h>
#include <libos/mm.h>
#include <libos/x86.h>

#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define APIC_BASE_ENABLE (1ul << 11)
#define LVT_MASKED (1u << 16)
#define SVR_ENABLE (1u << 8)

static volatile u32 *regs;

static inline void lapic_write(u32 reg, u32 v) { regs[reg / 4] = v; }
static inline u32 lapic_read(u32 reg) { return regs[reg / 4]; }

void lapic_init(void)
{
    /* IA32_APIC_BASE: where the registers are, and the global enable bit (kept on). */
    u64 base = rdmsr(MSR_APIC_BASE);
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
    regs = phys_to_virt(base & PTE_ADDR_MASK); /* uncached: inside the direct map's MMIO hole */

    /* Mask both legacy 8259 PICs (OCW1 = all ones): the PIT's IRQ0 would otherwise
     * arrive on a vector that collides with CPU exceptions. */
    outb(PIC1_DATA_PORT, 0xff);
    outb(PIC2_DATA_PORT, 0xff);

    /* Spurious-interrupt vector register: software-enable the APIC. */
    lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
    /* LINT0/LINT1 masked: no ExtINT from the PIC, no NMI from the platform pins. */
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
    /* Timer: divide by 16, one-shot mode, masked until a sleep arms it. */
    lapic_write(LAPIC_TIMER_DIV, 0x3);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER);
    lapic_write(LAPIC_TIMER_INIT, 0);
}

void lapic_timer_oneshot(u32 ticks)
{
    /* Unmask the timer in one-shot mode; writing the initial count starts it. */
    lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER);
    lapic_write(LAPIC_TIMER_INIT, ticks ? ticks : 1);
}

void lapic_timer_free_run(void)
{
    /* Masked one-shot from the largest count: a free-running down-counter to time. */
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
}

u32 lapic_timer_count(void) { return lapic_read(LAPIC_TIMER_CUR); }

void lapic_eoi(void)
{
    /* End of interrupt: any value; lets the APIC deliver the next one. */
    lapic_write(LAPIC_EOI, 0);
}
