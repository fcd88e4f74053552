/* SPDX-License-Identifier: Apache-2.0 */
/* string.h: the freestanding memory and string routines the kernel uses (lib/string.c). */
#ifndef LIBOS_STRING_H
#define LIBOS_STRING_H

#include <libos/types.h>

/* gcc may emit calls to memcpy/memset/memmove/memcmp for struct copies even with
 * -fno-builtin, so these four keep their standard names and contracts. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
/* Copies at most size-1 bytes and always NUL-terminates (size > 0); returns strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size);

/* Parse an unsigned number in base 10, or base 16 with a 0x prefix; sets *end. */
u64 parse_u64(const char *s, const char **end);

#endif /* LIBOS_STRING_H */
