/* SPDX-License-Identifier: Apache-2.0 */
/* serial.c: 16550 UART driver, transmit and receive by polling the line status register. */
#include <libos/memlayout.h>
#include <libos/serial.h>
#include <libos/x86.h>

/* Register offsets from the UART's I/O base. */
#define UART_DATA 0 /* THR/RBR, or divisor low byte when LCR.DLAB=1 */
#define UART_IER 1  /* interrupt enable, or divisor high byte when DLAB=1 */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

static u16 log_port = COM1_PORT;
static u16 stderr_port = COM1_PORT;

static void uart_setup(u16 base)
{
    /* Interrupts off: every transfer is polled, no IRQ routing is needed. */
    outb(base + UART_IER, 0x00);
    /* DLAB on to reach the divisor latch; divisor 1 = 115200 baud (QEMU ignores the rate). */
    outb(base + UART_LCR, 0x80);
    outb(base + UART_DATA, 0x01);
    outb(base + UART_IER, 0x00);
    /* DLAB off, 8 data bits, no parity, 1 stop bit. */
    outb(base + UART_LCR, 0x03);
    /* Enable and clear both FIFOs, 14-byte RX trigger. */
    outb(base + UART_FCR, 0xc7);
    /* DTR, RTS and OUT2: the modem-control lines a host-side terminal expects. */
    outb(base + UART_MCR, 0x0b);
}

/* A UART exists at base if its scratch register keeps what we write; an absent
 * port reads back 0xff on the ISA bus. */
static bool uart_present(u16 base)
{
    outb(base + UART_SCR, 0x5a);
    if (inb(base + UART_SCR) != 0x5a)
        return false;
    outb(base + UART_SCR, 0xa5);
    return inb(base + UART_SCR) == 0xa5;
}

void serial_init(void)
{
    uart_setup(COM1_PORT);
    if (uart_present(COM2_PORT)) {
        uart_setup(COM2_PORT);
        log_port = COM2_PORT;
    }
    if (uart_present(COM3_PORT)) {
        uart_setup(COM3_PORT);
        stderr_port = COM3_PORT;
    }
}

bool serial_open_rx_irq(u16 base)
{
    if (!uart_present(base))
        return false;
    uart_setup(base);
    /* FIFOs on and cleared, RX trigger level 1: every byte raises the interrupt at
     * once instead of after the FIFO's character timeout. */
    outb(base + UART_FCR, 0x07);
    /* IER bit 0: interrupt when received data is available (the only source). */
    outb(base + UART_IER, 0x01);
    return true;
}

u16 serial_log_port(void) { return log_port; }

u16 serial_stderr_port(void) { return stderr_port; }

void serial_write(u16 port, const void *buf, size_t n)
{
    const u8 *p = buf;
    for (size_t i = 0; i < n; i++) {
        /* Wait for the transmit holding register to drain before each byte. */
        while (!(inb(port + UART_LSR) & LSR_THR_EMPTY))
            cpu_relax();
        outb(port + UART_DATA, p[i]);
    }
}

bool serial_rx_ready(u16 port)
{
    /* LSR bit 0 (data ready): RBR or the RX FIFO holds a byte; reading LSR does not consume it. */
    return inb(port + UART_LSR) & LSR_DATA_READY;
}

int serial_read_byte(u16 port)
{
    /* LSR bit 0: a received byte is waiting in RBR. */
    if (!(inb(port + UART_LSR) & LSR_DATA_READY))
        return -1;
    return inb(port + UART_DATA);
}
