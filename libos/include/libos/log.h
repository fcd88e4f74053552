/* SPDX-License-Identifier: Apache-2.0 */
/* log.h: the kernel log (the log serial port), markers, and the ways the VM ends.
 *
 * Interface:
 *   klog(fmt, ...)        formatted text on the log port, written as given.
 *   kinfo(fmt, ...)       one line "dock2uni: <text>\n" on the log port.
 *   kexit(code)           D2U:EXIT marker, isa-debug-exit(code), halt.
 *   kexit_crash(...)      D2U:CRASH marker, isa-debug-exit(128+signal), halt.
 *   kexit_execfail(...)   D2U:EXECFAIL marker, isa-debug-exit(127 or 126), halt.
 *   panic(fmt, ...)       D2U:PANIC marker with context, isa-debug-exit(125), halt.
 * The markers and values are the contract of docs/console-protocol.md.
 */
#ifndef LIBOS_LOG_H
#define LIBOS_LOG_H

#include <libos/types.h>

void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kinfo(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

__noreturn void kexit(int code);
__noreturn void kexit_crash(int signal, u64 addr, u64 rip, const char *cause);
__noreturn void kexit_execfail(int err, const char *path);
__noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LIBOS_LOG_H */
