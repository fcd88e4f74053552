/* SPDX-License-Identifier: Apache-2.0 */
/* string.c: memcpy and friends for a freestanding kernel built without SSE. */
#include <libos/string.h>

/* A quadword at any alignment. */
typedef u64 __attribute__((may_alias, aligned(1))) uq;

/* 64-byte blocks of eight quadword moves, then quadwords, then bytes. Under QEMU's TCG
 * every iteration of a rep string instruction is a run of its translated block, so
 * rep movsq/stosq cost ~512 block runs per 4 KiB page (zeroing the 17 pages of a 64 KiB
 * kernel block took ~0.1 ms); the loop is 64 runs per page, and on hardware about as
 * fast as rep movs at the kernel's sizes. The attribute keeps gcc from turning the
 * loops back into calls to memcpy and memset themselves. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void *memcpy(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;
    for (; n >= 64; n -= 64, d += 64, s += 64) {
        u64 a = ((const uq *)s)[0], b = ((const uq *)s)[1], c = ((const uq *)s)[2], e = ((const uq *)s)[3];
        u64 f = ((const uq *)s)[4], g = ((const uq *)s)[5], h = ((const uq *)s)[6], i = ((const uq *)s)[7];
        ((uq *)d)[0] = a, ((uq *)d)[1] = b, ((uq *)d)[2] = c, ((uq *)d)[3] = e;
        ((uq *)d)[4] = f, ((uq *)d)[5] = g, ((uq *)d)[6] = h, ((uq *)d)[7] = i;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(uq *)d = *(const uq *)s;
    for (; n; n--)
        *d++ = *s++;
    return dst;
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

/* Blocks of eight quadword stores, then quadwords, then bytes (see memcpy). */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void *memset(void *dst, int c, size_t n)
{
    u8 *d = dst;
    u64 v = 0x0101010101010101ull * (u8)c;
    for (; n >= 64; n -= 64, d += 64) {
        ((uq *)d)[0] = v, ((uq *)d)[1] = v, ((uq *)d)[2] = v, ((uq *)d)[3] = v;
        ((uq *)d)[4] = v, ((uq *)d)[5] = v, ((uq *)d)[6] = v, ((uq *)d)[7] = v;
    }
    for (; n >= 8; n -= 8, d += 8)
        *(uq *)d = v;
    for (; n; n--)
        *d++ = (u8)c;
    return dst;
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
