/* lz4_harness.c: run the kernel's LZ4 decoder (libos/lib/lz4.c) natively under AddressSanitizer.
 *
 * Reads records from stdin: u32 cap, u32 length, then length bytes (all little-endian).
 * Each input is copied into a buffer of exactly its length and decoded as a container
 * (lz4_file_decode) into a buffer of exactly cap bytes, so any read or write past
 * either end is an ASan report and a non-zero exit. Prints one line per record: the
 * result, and for a 0 result the FNV-1a hash of the output, which the test compares
 * with the bytes the converter packed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libos/lz4.h>

static int get(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }

int main(void)
{
    u32 cap, len;
    while (get(&cap, 4) && get(&len, 4)) {
        u8 *in = malloc(len ? len : 1), *out = malloc(cap ? cap : 1);
        if (!in || !out || !get(in, len))
            return 2;
        long r = lz4_file_decode(in, len, out, cap);
        long sz = lz4_file_size(in, len);
        u32 h = 2166136261u;
        for (long i = 0; r == 0 && i < sz; i++)
            h = (h ^ out[i]) * 16777619u;
        printf("%ld %08x\n", r, r == 0 ? h : 0);
        free(in);
        free(out);
    }
    return 0;
}
