/* SPDX-License-Identifier: Apache-2.0 */
/* 9p_msg.c: 9P message fields: little-endian integers, counted strings and qids, bounds-checked both ways.
 *
 * Encoding past the buffer or decoding past the reply sets bad instead of touching
 * memory out of range: the caller checks it once per message (a host that sends a
 * short or lying reply gets EIO, never a kernel fault).
 */
#include <libos/p9.h>
#include <libos/string.h>

static u8 *room(struct p9_buf *b, u32 n)
{
    if (b->bad || b->cap - b->len < n) {
        b->bad = true;
        return NULL;
    }
    u8 *p = b->p + b->len;
    b->len += n;
    return p;
}

static void put(struct p9_buf *b, u64 v, u32 n)
{
    u8 *p = room(b, n);
    for (u32 i = 0; p && i < n; i++)
        p[i] = (u8)(v >> (8 * i));
}

void p9_put8(struct p9_buf *b, u8 v) { put(b, v, 1); }
void p9_put16(struct p9_buf *b, u16 v) { put(b, v, 2); }
void p9_put32(struct p9_buf *b, u32 v) { put(b, v, 4); }
void p9_put64(struct p9_buf *b, u64 v) { put(b, v, 8); }

void p9_putstr(struct p9_buf *b, const char *s, u32 len)
{
    if (len > 0xffff) {
        b->bad = true;
        return;
    }
    p9_put16(b, (u16)len);
    u8 *p = room(b, len);
    if (p)
        memcpy(p, s, len);
}

const u8 *p9_getbytes(struct p9_buf *b, u32 n)
{
    if (b->bad || b->len - b->off < n) {
        b->bad = true;
        return NULL;
    }
    const u8 *p = b->q + b->off;
    b->off += n;
    return p;
}

static u64 get(struct p9_buf *b, u32 n)
{
    const u8 *p = p9_getbytes(b, n);
    u64 v = 0;
    for (u32 i = 0; p && i < n; i++)
        v |= (u64)p[i] << (8 * i);
    return v;
}

u8 p9_get8(struct p9_buf *b) { return (u8)get(b, 1); }
u16 p9_get16(struct p9_buf *b) { return (u16)get(b, 2); }
u32 p9_get32(struct p9_buf *b) { return (u32)get(b, 4); }
u64 p9_get64(struct p9_buf *b) { return get(b, 8); }

const char *p9_getstr(struct p9_buf *b, u16 *len)
{
    *len = p9_get16(b);
    const char *s = (const char *)p9_getbytes(b, *len);
    if (!s)
        *len = 0;
    return s;
}

void p9_getqid(struct p9_buf *b, struct p9_qid *q)
{
    q->type = p9_get8(b);
    q->version = p9_get32(b);
    q->path = p9_get64(b);
}
