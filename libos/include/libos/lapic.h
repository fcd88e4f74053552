/* SPDX-License-Identifier: Apache-2.0 */
/* lapic.h: the local APIC: its one-shot timer wakes the CPU from hlt during sleeps.
 *
 * Interface:
 *   lapic_init()                 enable the xAPIC (MMIO via the uncached direct map).
 *   lapic_timer_oneshot(ticks)   fire VEC_LAPIC_TIMER once after ticks timer counts.
 *   lapic_timer_free_run()       start counting down from the maximum, no interrupt.
 *   lapic_timer_count()          the current count (for calibration against the PIT).
 *   lapic_eoi()                  acknowledge the interrupt being handled.
 */
#ifndef LIBOS_LAPIC_H
#define LIBOS_LAPIC_H

#include <libos/types.h>

void lapic_init(void);
void lapic_timer_oneshot(u32 ticks);
void lapic_timer_free_run(void);
u32 lapic_timer_count(void);
void lapic_eoi(void);

#endif /* LIBOS_LAPIC_H */
