/* SPDX-License-Identifier: Apache-2.0 */
/* chacha20.c: the ChaCha20 block function, written from RFC 8439 §2.1-2.3. */
#include <libos/random.h>

static inline u32 rotl(u32 v, int n) { return (v << n) | (v >> (32 - n)); }

#define QR(a, b, c, d)                                                                             \
    do {                                                                                           \
        a += b, d ^= a, d = rotl(d, 16);                                                           \
        c += d, b ^= c, b = rotl(b, 12);                                                           \
        a += b, d ^= a, d = rotl(d, 8);                                                            \
        c += d, b ^= c, b = rotl(b, 7);                                                            \
    } while (0)

void chacha20_block(const u32 key[8], u64 counter, const u32 nonce[2], u8 out[64])
{
    /* "expand 32-byte k", the key, a 64-bit block counter and a 64-bit nonce. */
    u32 in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    for (int i = 0; i < 8; i++)
        in[4 + i] = key[i];
    in[12] = (u32)counter;
    in[13] = (u32)(counter >> 32);
    in[14] = nonce[0];
    in[15] = nonce[1];
    u32 x[16];
    for (int i = 0; i < 16; i++)
        x[i] = in[i];
    for (int round = 0; round < 10; round++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++) {
        u32 v = x[i] + in[i];
        out[4 * i + 0] = (u8)v;
        out[4 * i + 1] = (u8)(v >> 8);
        out[4 * i + 2] = (u8)(v >> 16);
        out[4 * i + 3] = (u8)(v >> 24);
    }
}
