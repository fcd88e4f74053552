/* SPDX-License-Identifier: Apache-2.0 */
/* lz4.h: LZ4 block decompression (lib/lz4.c) and the compressed rootfs file format.
 *
 * Interface: lz4_block() decodes one raw LZ4 block (no frame header), checking every
 * read and write against the buffers' ends; lz4_file_*() read the per-file container the
 * converter writes for a compressed rootfs file (docs/rootfs-compression.md), whole or
 * a block at a time (when no contiguous run of memory holds the whole file).
 */
#ifndef LIBOS_LZ4_H
#define LIBOS_LZ4_H

#include <libos/types.h>

/* Decode src[0, srclen) into dst[0, dstcap): the bytes produced, or -1 when the block
 * is malformed (a length past either end, an offset before the output's start). */
long lz4_block(const u8 *src, size_t srclen, u8 *dst, size_t dstcap);

/* The container: "d2uZ", u32 block size, u64 uncompressed size, u32 block count, then
 * one u32 per block (its stored length; bit 31: stored raw, not compressed), then the
 * blocks back to back. Little-endian. */
#define LZ4_FILE_MAGIC "d2uZ"
#define LZ4_FILE_HDR 20
#define LZ4_FILE_RAW (1u << 31)

/* The uncompressed size recorded in a container of len bytes, or -1 if its header is short. */
long lz4_file_size(const u8 *src, size_t len);
/* The block size the container was written with (a multiple of 4096), or -1. */
long lz4_file_block_size(const u8 *src, size_t len);
/* Decompress the whole container into dst (cap >= the uncompressed size): 0, or -1
 * when anything about it is inconsistent (magic, block table, a block's contents). */
long lz4_file_decode(const u8 *src, size_t len, u8 *dst, size_t cap);
/* The same, a block at a time: each block is decoded into scratch (cap >= the block
 * size) and handed to sink with its offset in the file, in order. 0; -1 as above (the
 * blocks before the bad one were handed over); -2 when the sink answered false. */
typedef bool (*lz4_sink)(void *ctx, u64 off, const u8 *bytes, size_t n);
long lz4_file_decode_each(const u8 *src, size_t len, u8 *scratch, size_t cap, lz4_sink sink, void *ctx);

#endif /* LIBOS_LZ4_H */
