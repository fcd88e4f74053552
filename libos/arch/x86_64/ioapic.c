/* SPDX-License-Identifier: Apache-2.0 */
/* ioapic.c: program one redirection entry of the I/O APIC at its fixed microvm address. */
#include <libos/ioapic.h>
#include <libos/memlayout.h>
#include <libos/mm.h>
#include <libos/x86.h>

#define IOAPIC_REGSEL 0x00 /* index register: which internal register IOWIN reaches */
#define IOAPIC_WIN 0x10
#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n)) /* low dword; the high dword follows */

#define REDIR_MASKED (1u << 16)

static u32 ioapic_read(volatile u32 *base, u32 reg)
{
    base[IOAPIC_REGSEL / 4] = reg;
    return base[IOAPIC_WIN / 4];
}

static void ioapic_write(volatile u32 *base, u32 reg, u32 v)
{
    base[IOAPIC_REGSEL / 4] = reg;
    base[IOAPIC_WIN / 4] = v;
}

bool ioapic_route_isa(unsigned irq, u8 vector)
{
    /* Uncached: the direct map's MMIO hole covers the I/O APIC's page (memlayout.h). */
    volatile u32 *base = phys_to_virt(IOAPIC_PHYS);
    u32 ver = ioapic_read(base, IOAPIC_VER);
    unsigned entries = ((ver >> 16) & 0xff) + 1;
    if (ver == 0xffffffffu || irq >= entries)
        return false; /* nothing there (an absent device reads all ones) */
    /* Physical destination: this CPU's APIC ID (CPUID.1:EBX[31:24]), the only CPU. */
    u32 apic_id = cpuid(1, 0).ebx >> 24;
    /* Mask while the two halves are inconsistent, write the destination, then the
     * low half: fixed delivery, physical mode, active high, edge, unmasked. */
    ioapic_write(base, IOAPIC_REDTBL(irq), REDIR_MASKED | vector);
    ioapic_write(base, IOAPIC_REDTBL(irq) + 1, apic_id << 24);
    ioapic_write(base, IOAPIC_REDTBL(irq), vector);
    return true;
}

#define REDIR_LEVEL (1u << 15)

bool ioapic2_present(void)
{
    volatile u32 *base = phys_to_virt(IOAPIC2_PHYS);
    return ioapic_read(base, IOAPIC_VER) != 0xffffffffu;
}

bool ioapic_route_gsi_level(unsigned gsi, u8 vector)
{
    volatile u32 *base = phys_to_virt(gsi < 24 ? IOAPIC_PHYS : IOAPIC2_PHYS);
    unsigned pin = gsi < 24 ? gsi : gsi - 24;
    u32 ver = ioapic_read(base, IOAPIC_VER);
    unsigned entries = ((ver >> 16) & 0xff) + 1;
    if (ver == 0xffffffffu || pin >= entries)
        return false;
    u32 apic_id = cpuid(1, 0).ebx >> 24;
    ioapic_write(base, IOAPIC_REDTBL(pin), REDIR_MASKED | vector);
    ioapic_write(base, IOAPIC_REDTBL(pin) + 1, apic_id << 24);
    ioapic_write(base, IOAPIC_REDTBL(pin), REDIR_LEVEL | vector);
    return true;
}
