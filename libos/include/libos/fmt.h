/* SPDX-License-Identifier: Apache-2.0 */
/* fmt.h: printf-style formatting into buffers or an output callback (lib/fmt.c).
 *
 * Supported: %d %i %u %x %X %o %p %s %c %% with flags '-', '0', a width, a
 * precision for %s, and the length modifiers l, ll, z. No floating point.
 */
#ifndef LIBOS_FMT_H
#define LIBOS_FMT_H

#include <libos/types.h>

typedef void (*fmt_sink)(void *ctx, const char *s, size_t n);

/* Format into sink; returns the number of characters produced. */
size_t fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap);

/* snprintf semantics: always NUL-terminates when size > 0; returns the full length. */
size_t ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif /* LIBOS_FMT_H */
