/* SPDX-License-Identifier: Apache-2.0 */
/* ioapic.h: the I/O APIC of QEMU microvm: route one ISA interrupt line to a vector of this CPU.
 *
 * Interface:
 *   ioapic_route_isa(irq, vector)   unmask ISA line irq (identity-mapped to GSI irq, as
 *                                   microvm's MADT has it for every line but the PIT's)
 *                                   as an edge-triggered, active-high interrupt on vector,
 *                                   delivered to this CPU. false if no I/O APIC answers.
 * The kernel is otherwise interrupt-free but for the LAPIC timer; only the host-signal
 * port (kernel/hostsig.c) uses this today.
 */
#ifndef LIBOS_IOAPIC_H
#define LIBOS_IOAPIC_H

#include <libos/types.h>

bool ioapic_route_isa(unsigned irq, u8 vector);
/* Route global system interrupt gsi (0-23: the first I/O APIC, 24-47: microvm's second,
 * present with ACPI) as a level-triggered, active-high interrupt on vector: the
 * virtio-mmio lines, which stay asserted until the driver acknowledges the device.
 * false if no I/O APIC has that line. */
bool ioapic_route_gsi_level(unsigned gsi, u8 vector);
/* Whether microvm's second I/O APIC answers (it exists when ACPI is on). */
bool ioapic2_present(void);

#endif /* LIBOS_IOAPIC_H */
