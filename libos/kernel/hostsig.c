/* SPDX-License-Identifier: Apache-2.0 */
/* hostsig.c: the host-signal port: bytes on COM4 become signals sent to the first process. */
#include <libos/cmdline.h>
#include <libos/hostsig.h>
#include <libos/ioapic.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/proc.h>
#include <libos/serial.h>
#include <libos/signal.h>

static bool enabled;

void hostsig_init(void)
{
    if (kopts.hostsig_irq == 0)
        return; /* booted by hand, or by a launcher that forwards nothing */
    if (!serial_open_rx_irq(COM4_PORT)) {
        kinfo("d2u.hostsig=%d: no UART at COM4 (0x%x): signals from the host are not received",
              kopts.hostsig_irq, COM4_PORT);
        return;
    }
    if (!ioapic_route_isa((unsigned)kopts.hostsig_irq, VEC_HOSTSIG)) {
        kinfo("d2u.hostsig=%d: no I/O APIC line for it: signals from the host are not received",
              kopts.hostsig_irq);
        return;
    }
    enabled = true;
}

bool hostsig_enabled(void) { return enabled; }

void hostsig_interrupt(void)
{
    if (!enabled)
        return;
    int byte;
    /* Drain the FIFO: several signals may have arrived before this interrupt ran. */
    while ((byte = serial_read_byte(COM4_PORT)) >= 0) {
        if (byte < 1 || byte > NSIG) {
            kinfo("host-signal byte %d ignored: not a signal number", byte);
            continue;
        }
        /* As Linux fills siginfo for a kill() from another pid namespace (docker's
         * signal proxy is one): SI_USER, and the sender maps to pid 0, uid 0. */
        struct ksiginfo info = {.si_signo = byte, .si_code = SI_USER};
        info.u.kill.pid = 0;
        info.u.kill.uid = 0;
        signal_send_process(process_find(1), &info); /* the host signals pid 1, as docker does */
    }
}
