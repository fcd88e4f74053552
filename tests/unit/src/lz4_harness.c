/* lz4_harness.c: run the kernel's LZ4 decoder (libos/lib/lz4.c) natively under AddressSanitizer.
 *
 * Reads records from stdin: u32 cap, u32 length, then length bytes (all little-endian).
 * Each input is copied into a buffer of exactly its length and decoded as a container
 * (lz4_file_decode) into a buffer of exactly cap bytes, so any read or write past
 * either end is an ASan report and a non-zero exit; then a block at a time
 * (lz4_file_decode_each) through a scratch buffer of exactly the block size. Prints one
 * line per record: each way's result and, for a 0 result, the FNV-1a hash of the
 * output, which the test compares with the bytes the converter packed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libos/lz4.h>

static int get(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }

struct hashed {
    u64 next; /* the offset the next block must have: blocks come in order */
    u32 h;
    int out_of_order;
};

static bool sink(void *ctx, u64 off, const u8 *bytes, size_t n)
{
    struct hashed *s = ctx;
    s->out_of_order |= off != s->next;
    s->next = off + n;
    for (size_t i = 0; i < n; i++)
        s->h = (s->h ^ bytes[i]) * 16777619u;
    return true;
}

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
        long bsize = lz4_file_block_size(in, len);
        u8 *scratch = bsize > 0 && bsize <= (1l << 24) ? malloc((size_t)bsize) : NULL;
        struct hashed each = {0, 2166136261u, 0};
        long r2 = scratch ? lz4_file_decode_each(in, len, scratch, (size_t)bsize, sink, &each) : -1;
        if (each.out_of_order)
            return 3;
        printf("%ld %08x %ld %08x\n", r, r == 0 ? h : 0, r2, r2 == 0 ? each.h : 0);
        free(scratch);
        free(in);
        free(out);
    }
    return 0;
}
