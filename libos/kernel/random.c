/* SPDX-License-Identifier: Apache-2.0 */
/* random.c: a ChaCha20 generator with fast key erasure, seeded from hardware, seed= and TSC jitter. */
#include <libos/cmdline.h>
#include <libos/cpu.h>
#include <libos/random.h>
#include <libos/string.h>
#include <libos/x86.h>

static u32 key[8];
static const u32 nonce[2] = {0x756b6f64, 0x696e7532}; /* "dokuuni2": domain separation only */
static u64 counter;
static size_t mix_pos;

/* Replace the key with fresh keystream: earlier outputs cannot be recomputed from it. */
static void rekey(void)
{
    u8 block[64];
    chacha20_block(key, counter++, nonce, block);
    memcpy(key, block, sizeof(key));
    memset(block, 0, sizeof(block));
}

void random_mix(const void *data, size_t n)
{
    const u8 *p = data;
    u8 *k = (u8 *)key;
    for (size_t i = 0; i < n; i++, mix_pos++)
        k[mix_pos % sizeof(key)] ^= p[i];
    rekey();
}

static bool hw_random(bool seed, u64 *out)
{
    /* Intel recommends retrying RDRAND up to 10 times when CF=0 (no data yet). */
    for (int i = 0; i < 10; i++) {
        u8 ok;
        if (seed)
            __asm__ volatile("rdseed %0; setc %1" : "=r"(*out), "=qm"(ok));
        else
            __asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok));
        if (ok)
            return true;
    }
    return false;
}

void random_init(void)
{
    u64 v;
    for (int i = 0; i < 4; i++) {
        if (cpu_features.rdseed && hw_random(true, &v))
            random_mix(&v, sizeof(v));
        if (cpu_features.rdrand && hw_random(false, &v))
            random_mix(&v, sizeof(v));
    }
    if (kopts.seed_len)
        random_mix(kopts.seed, kopts.seed_len);
    /* TSC jitter: weak alone (TCG has no RDRAND with the default CPU), but free. */
    for (int i = 0; i < 8; i++) {
        v = rdtsc();
        random_mix(&v, sizeof(v));
    }
}

void random_bytes(void *buf, size_t n)
{
    u8 *p = buf, block[64];
    while (n) {
        chacha20_block(key, counter++, nonce, block);
        size_t k = n < sizeof(block) ? n : sizeof(block);
        memcpy(p, block, k);
        p += k;
        n -= k;
    }
    memset(block, 0, sizeof(block));
    rekey();
}
