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

#endif /* LIBOS_IOAPIC_H */
