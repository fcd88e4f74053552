/* SPDX-License-Identifier: Apache-2.0 */
/* serial.h: polled 16550 UARTs: COM1 carries the application's tty, COM2 the kernel log.
 *
 * Interface:
 *   serial_init()          program COM1, probe and program COM2.
 *   serial_log_port()      COM2 if it answered the probe, else COM1 (docs/console-protocol.md).
 *   serial_stderr_port()   COM3 if it answered the probe (the application's stderr when
 *                          it has no tty), else COM1.
 *   serial_write()         blocking, raw bytes (no newline translation).
 *   serial_rx_ready()      a received byte is waiting (without taking it).
 *   serial_read_byte()     one received byte, or -1 if none is waiting.
 *   serial_open_rx_irq()   probe and program a port whose received bytes raise its IRQ
 *                          line (COM4, kernel/hostsig.c); false if it does not answer.
 */
#ifndef LIBOS_SERIAL_H
#define LIBOS_SERIAL_H

#include <libos/types.h>

void serial_init(void);
u16 serial_log_port(void);
u16 serial_stderr_port(void);
void serial_write(u16 port, const void *buf, size_t n);
bool serial_rx_ready(u16 port);
int serial_read_byte(u16 port);
bool serial_open_rx_irq(u16 port);

#endif /* LIBOS_SERIAL_H */
