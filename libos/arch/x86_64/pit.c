/* SPDX-License-Identifier: Apache-2.0 */
/* pit.c: the 8254 PIT, channel 0 only, polled as a reference clock for TSC/LAPIC calibration. */
#include <libos/memlayout.h>
#include <libos/time.h>
#include <libos/x86.h>

void pit_start_countdown(void)
{
    /* Command: channel 0, access lobyte/hibyte, mode 2 (rate generator), binary.
     * Channel 0 because channel 2's gate needs the speaker port, which microvm
     * lacks (libos-design.md §6). Its IRQ0 stays masked at the PIC. */
    outb(PIT_CMD_PORT, 0x34);
    /* Reload value 0 = 65536: the longest period, counting down at 1.193182 MHz. */
    outb(PIT_CH0_PORT, 0x00);
    outb(PIT_CH0_PORT, 0x00);
}

u16 pit_read_count(void)
{
    /* Counter-latch command for channel 0, then read the latched count low byte first. */
    outb(PIT_CMD_PORT, 0x00);
    u8 lo = inb(PIT_CH0_PORT);
    u8 hi = inb(PIT_CH0_PORT);
    return (u16)(lo | (hi << 8));
}
