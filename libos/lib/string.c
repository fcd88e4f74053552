/* SPDX-License-Identifier: Apache-2.0 */
/* string.c: memcpy and friends for a freestanding kernel built without SSE. */
#include <libos/string.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    void *ret = dst;
    /* Quadwords, then the tail bytes: as fast as rep movsb on ERMS hardware, and 8x
     * fewer iterations under QEMU's TCG, where each one is a translated-block run
     * (a page fault's 4 KiB copy was 4096 of them). */
    size_t q = n >> 3, r = n & 7;
    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) : : "memory");
    return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    /* Overlapping with dst above src: copy backwards with the direction flag set. */
    d += n - 1;
    s += n - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *ret = dst;
    /* Quadwords, then the tail bytes (see memcpy). */
    u64 pattern = 0x0101010101010101ull * (u8)c;
    size_t q = n >> 3, r = n & 7;
    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(q) : "a"(pattern) : "memory");
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(r) : "a"(pattern) : "memory");
    return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (u8)*a - (u8)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}

u64 parse_u64(const char *s, const char **end)
{
    u64 v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        for (;; s++) {
            int d;
            if (*s >= '0' && *s <= '9')
                d = *s - '0';
            else if (*s >= 'a' && *s <= 'f')
                d = *s - 'a' + 10;
            else if (*s >= 'A' && *s <= 'F')
                d = *s - 'A' + 10;
            else
                break;
            v = v * 16 + (u64)d;
        }
    } else {
        for (; *s >= '0' && *s <= '9'; s++)
            v = v * 10 + (u64)(*s - '0');
    }
    if (end)
        *end = s;
    return v;
}
