/* SPDX-License-Identifier: Apache-2.0 */
/* lz4.c: LZ4 block decoder and the compressed-file container, written from the LZ4 block format spec.
 *
 * A block is a run of sequences: a token (high nibble: literal count, low nibble:
 * match length - 4; 15 means "more length bytes follow", each 255 adding 255 and
 * continuing), the literals, then a 2-byte little-endian offset back into the output
 * and the match to copy from there (it may overlap the bytes it produces). The last
 * sequence has literals only. The input is untrusted (the image may be damaged), so
 * every length is checked against what is left of the input and of the output before
 * it is used: a bad block is an error, never a read or write outside the buffers.
 */
#include <libos/lz4.h>
#include <libos/string.h>

/* Add the extension bytes of a length whose nibble was 15; false: ran off the input. */
static bool ext_len(const u8 **ip, const u8 *end, size_t *len)
{
    u8 b;
    do {
        if (*ip >= end)
            return false;
        b = *(*ip)++;
        *len += b;
        if (*len > (1ul << 40))
            return false; /* nonsense, and guards the sums below against overflow */
    } while (b == 255);
    return true;
}

long lz4_block(const u8 *src, size_t srclen, u8 *dst, size_t dstcap)
{
    const u8 *ip = src, *iend = src + srclen;
    u8 *op = dst, *oend = dst + dstcap;
    while (ip < iend) {
        u8 token = *ip++;
        size_t lit = token >> 4;
        if (lit == 15 && !ext_len(&ip, iend, &lit))
            return -1;
        if (lit > (size_t)(iend - ip) || lit > (size_t)(oend - op))
            return -1;
        memcpy(op, ip, lit);
        op += lit, ip += lit;
        if (ip == iend)
            break; /* the last sequence: literals only */
        if (iend - ip < 2)
            return -1;
        size_t offset = ip[0] | (size_t)ip[1] << 8;
        ip += 2;
        if (offset == 0 || offset > (size_t)(op - dst))
            return -1;
        size_t mlen = token & 15;
        if (mlen == 15 && !ext_len(&ip, iend, &mlen))
            return -1;
        mlen += 4;
        if (mlen > (size_t)(oend - op))
            return -1;
        const u8 *from = op - offset;
        if (offset >= mlen) {
            memcpy(op, from, mlen);
            op += mlen;
        } else {
            while (mlen--) /* overlapping: each byte may be one just written */
                *op++ = *from++;
        }
    }
    return op - dst;
}

static u32 le32(const u8 *p) { return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }

long lz4_file_size(const u8 *src, size_t len)
{
    if (len < LZ4_FILE_HDR || memcmp(src, LZ4_FILE_MAGIC, 4) != 0)
        return -1;
    u64 size = le32(src + 8) | (u64)le32(src + 12) << 32;
    return size > (1ul << 40) ? -1 : (long)size;
}

long lz4_file_block_size(const u8 *src, size_t len)
{
    if (lz4_file_size(src, len) < 0)
        return -1;
    u32 bsize = le32(src + 4);
    return bsize == 0 || (bsize & 4095) ? -1 : (long)bsize;
}

/* Check the container and decode its blocks in order: each into dst at its offset, or,
 * with a sink, into dst (a scratch of cap >= the block size) and then to the sink. */
static long walk(const u8 *src, size_t len, u8 *dst, size_t cap, lz4_sink sink, void *ctx)
{
    long size = lz4_file_size(src, len), bsize = lz4_file_block_size(src, len);
    if (size < 0 || bsize < 0 || (size_t)(sink ? bsize : size) > cap)
        return -1;
    u32 nblocks = le32(src + 16);
    if (nblocks != (size + bsize - 1) / bsize)
        return -1;
    if ((len - LZ4_FILE_HDR) / 4 < nblocks)
        return -1;
    const u8 *table = src + LZ4_FILE_HDR;
    size_t at = LZ4_FILE_HDR + 4ul * nblocks;
    size_t out = 0;
    for (u32 i = 0; i < nblocks; i++) {
        u32 stored = le32(table + 4 * i), n = stored & ~LZ4_FILE_RAW;
        size_t want = MIN((size_t)bsize, (size_t)size - out);
        u8 *to = sink ? dst : dst + out;
        if (n > len - at)
            return -1;
        if (stored & LZ4_FILE_RAW) {
            if (n != want)
                return -1;
            memcpy(to, src + at, n);
        } else if (lz4_block(src + at, n, to, want) != (long)want) {
            return -1;
        }
        if (sink && !sink(ctx, out, to, want))
            return -2;
        at += n;
        out += want;
    }
    return at == len ? 0 : -1;
}

long lz4_file_decode(const u8 *src, size_t len, u8 *dst, size_t cap) { return walk(src, len, dst, cap, NULL, NULL); }

long lz4_file_decode_each(const u8 *src, size_t len, u8 *scratch, size_t cap, lz4_sink sink, void *ctx)
{
    return walk(src, len, scratch, cap, sink, ctx);
}
