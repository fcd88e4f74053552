/* SPDX-License-Identifier: Apache-2.0 */
/* hostsig.h: signals from the host: `dock2uni run` forwards the signals it receives as bytes on COM4.
 *
 * Interface (docs/console-protocol.md, "Signals from the host"):
 *   hostsig_init()        with d2u.hostsig=IRQ on the command line and a UART at COM4,
 *                         enable its receive interrupt and route IRQ to VEC_HOSTSIG.
 *   hostsig_enabled()     the host can send signals: a guest whose threads all wait
 *                         without a timer is idle, not stuck (sched.c's idle loop).
 *   hostsig_interrupt()   VEC_HOSTSIG's handler (trap.c): every byte waiting on COM4 is
 *                         one signal number, sent to the first process as kill(2) from
 *                         outside its pid namespace would (SI_USER, si_pid 0, si_uid 0).
 * Interrupt-driven, so an idle guest (halted in pause(), a futex or a read) gets the
 * signal at once; no periodic tick is needed.
 */
#ifndef LIBOS_HOSTSIG_H
#define LIBOS_HOSTSIG_H

#include <libos/types.h>

void hostsig_init(void);
bool hostsig_enabled(void);
void hostsig_interrupt(void);

#endif /* LIBOS_HOSTSIG_H */
