/* SPDX-License-Identifier: Apache-2.0 */
/* exit.c: ending the VM: console marker, isa-debug-exit, then halt (docs/console-protocol.md). */
#include <libos/fmt.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/socket.h>
#include <libos/x86.h>

#define EXIT_PANIC 125
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127
#define ENOENT_VALUE 2

/* Every way out ends here, after its marker is on the log port:
 *  1. QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=4)
 *     exits QEMU with status (value << 1) | 1 when the guest writes value;
 *     without the device the write goes nowhere.
 *  2. Then halt with interrupts off, so a VM without the device stops running
 *     (the launcher times out) instead of rebooting into the app again. */
static __noreturn void vm_exit(u32 value)
{
    /* 32-bit write: the device is registered with iosize=4. */
    outl(DEBUG_EXIT_PORT, value);
    halt_forever();
}

/* Weak: present only when the net family linked the network (kernel/main.c). */
extern void net_exit_flush(void) __attribute__((weak));

__noreturn void kexit(int code)
{
    if (net_exit_flush)
        net_exit_flush(); /* what the program sent last still reaches the network */
    klog("D2U:EXIT code=%d\n", code & 0xff);
    vm_exit((u32)code & 0xff);
}

__noreturn void kexit_crash(int signal, u64 addr, u64 rip, const char *cause)
{
    if (net_exit_flush)
        net_exit_flush();
    klog("D2U:CRASH signal=%d addr=0x%lx rip=0x%lx cause=%s\n", signal, addr, rip, cause);
    vm_exit(128 + (u32)signal);
}

__noreturn void kexit_execfail(int err, const char *path)
{
    klog("D2U:EXECFAIL errno=%d path=%s\n", err, path);
    vm_exit(err == ENOENT_VALUE ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

__noreturn void panic(const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    irq_disable();
    klog("D2U:PANIC %s\n", msg);
    vm_exit(EXIT_PANIC);
}
