/* SPDX-License-Identifier: Apache-2.0 */
/* random.h: the kernel's random generator (kernel/random.c): ChaCha20 with fast key erasure.
 *
 * Interface: random_init() seeds it from RDSEED/RDRAND when the CPU has them, the
 * launcher's seed= and TSC jitter; random_bytes() never blocks. It backs
 * getrandom(2), /dev/urandom, /dev/random and AT_RANDOM.
 */
#ifndef LIBOS_RANDOM_H
#define LIBOS_RANDOM_H

#include <libos/types.h>

void random_init(void);
void random_bytes(void *buf, size_t n);
/* Mix more entropy into the key. */
void random_mix(const void *data, size_t n);

/* ChaCha20 block function (RFC 8439 §2.3): 64 bytes of keystream. */
void chacha20_block(const u32 key[8], u64 counter, const u32 nonce[2], u8 out[64]);

#endif /* LIBOS_RANDOM_H */
