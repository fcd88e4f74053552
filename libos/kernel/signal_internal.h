/* SPDX-License-Identifier: Apache-2.0 */
/* signal_internal.h: what signal.c, signal_frame.c and timers.c share (not for other subsystems). */
#ifndef LIBOS_KERNEL_SIGNAL_INTERNAL_H
#define LIBOS_KERNEL_SIGNAL_INTERNAL_H

#include <libos/regs.h>
#include <libos/signal.h>

#define MINSIGSTKSZ 2048

/* Build the rt_sigframe for sig's handler below r->rsp (or on the altstack) and
 * point r at the handler. oldmask goes into uc_sigmask. 0, or -EFAULT when the
 * frame cannot be written (the caller kills with SIGSEGV). */
long signal_frame_setup(struct regs *r, int sig, const struct ksiginfo *info,
                        const struct k_sigaction *ka, u64 oldmask);
/* sp lies on current's enabled alternate stack. */
bool signal_on_altstack(u64 sp);
/* Replace current's mask (SIGKILL/SIGSTOP stay unblockable); a pending signal it
 * unblocks is delivered on the way out. */
void signal_set_blocked(u64 mask);
const char *signal_name(int sig);
/* A SI_TIMER siginfo leaves the queue: fill in its overrun count (timers.c). */
void timers_dequeued(struct ksiginfo *info);

#endif /* LIBOS_KERNEL_SIGNAL_INTERNAL_H */
