/* SPDX-License-Identifier: Apache-2.0 */
/* base64.c: RFC 4648 base64 decoding for the d2u.cmd= and d2u.env= command-line keys. */
#include <libos/cmdline.h>
#include <libos/heap.h>

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

u8 *base64_decode(const char *s, size_t len, size_t *out_len)
{
    while (len && s[len - 1] == '=')
        len--;
    u8 *out = kmalloc(len * 3 / 4 + 1);
    if (!out)
        return NULL;
    u32 acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(s[i]);
        if (v < 0) {
            kfree(out);
            return NULL;
        }
        acc = (acc << 6) | (u32)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (u8)(acc >> bits);
        }
    }
    out[n] = 0;
    *out_len = n;
    return out;
}
