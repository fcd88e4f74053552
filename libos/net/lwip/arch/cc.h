/* SPDX-License-Identifier: Apache-2.0 */
/* arch/cc.h: lwIP's compiler and platform port for the freestanding kernel (no libc headers). */
#ifndef LIBOS_LWIP_ARCH_CC_H
#define LIBOS_LWIP_ARCH_CC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define LWIP_NO_UNISTD_H 1
#define SSIZE_MAX LONG_MAX
typedef long ssize_t;
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "lu"

/* Byte swaps as single instructions. */
#define lwip_htons(x) ((u16_t)__builtin_bswap16(x))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32(x))

/* Diagnostics go to the kernel log; a failed assertion is a kernel bug and stops the VM
 * (network input never reaches one: lwIP checks input with error returns and
 * LWIP_ERROR, which is silent without LWIP_DEBUG: bad frames flood no log). */
void lwip_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void lwip_port_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x) do { lwip_port_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_assert((x), __FILE__, __LINE__)

#endif /* LIBOS_LWIP_ARCH_CC_H */
