/* SPDX-License-Identifier: Apache-2.0 */
/* time.h: clocks (TSC-based monotonic time, wall clock) and sleeping (kernel/time.c).
 *
 * Interface:
 *   time_init()            record the boot TSC and the wall-clock source; no waiting.
 *   time_mono_ns()         nanoseconds since boot. The first call calibrates the TSC
 *                          (kvmclock under KVM, else ~10 ms against PIT channel 0).
 *   time_real_ns()         wall clock: epoch= from the launcher, else kvmclock or CMOS.
 *   time_sleep_until(ns)   block the calling thread until time_mono_ns() >= ns, not
 *                          interruptible (kernel/sched.c; other threads run meanwhile).
 *   ktimer_*               kernel timers, below; the scheduler programs the LAPIC one-shot
 *                          timer for the earliest of them (tickless).
 */
#ifndef LIBOS_TIME_H
#define LIBOS_TIME_H

#include <libos/types.h>

#define NSEC_PER_SEC 1000000000ul

void time_init(void);
u64 time_mono_ns(void);
u64 time_real_ns(void);
void time_sleep_until(u64 mono_deadline_ns);
/* Nanoseconds since the TSC read tsc_then (calibrating first if needed). */
u64 time_since_tsc_ns(u64 tsc_then);
/* TSC ticks per second (calibrating first if needed). */
u64 time_tsc_hz(void);
/* A TSC tick count as nanoseconds (calibrating first if needed). */
u64 time_ticks_to_ns(u64 ticks);

/* Kernel timers (kernel/time.c): fn runs once at or after deadline (a time_mono_ns()
 * value) from the timer interrupt or the scheduler, interrupts off, current
 * unspecified: it may wake tasks and send signals, never block. Re-arming from fn
 * is allowed. A struct ktimer is embedded in its owner (itimers, POSIX timers,
 * timerfds, wait deadlines). */
struct ktimer {
    u64 deadline;
    void (*fn)(struct ktimer *t);
    struct ktimer *next;
    bool armed;
};
void ktimer_arm(struct ktimer *t, u64 deadline, void (*fn)(struct ktimer *t));
void ktimer_cancel(struct ktimer *t);
/* The scheduler's side (kernel/sched.c): run every expired timer; the earliest armed
 * deadline (~0ul: none). */
void ktimer_run_expired(void);
u64 ktimer_next_deadline(void);
/* Make the LAPIC timer interrupt arrive at or before deadline (an earlier one
 * already armed is kept); time_timer_fired() forgets it when it has arrived. */
void time_timer_program(u64 deadline);
void time_timer_fired(void);

/* Platform clock sources (arch/x86_64). */
void pit_start_countdown(void);
u16 pit_read_count(void);
/* CMOS RTC wall clock in Unix seconds, or 0 if no RTC answers. */
u64 rtc_read_epoch(void);
/* kvmclock: TSC frequency in Hz and wall-clock seconds at boot, or false when not under KVM. */
bool kvmclock_probe(u64 *tsc_hz, u64 *wall_ns);

#endif /* LIBOS_TIME_H */
