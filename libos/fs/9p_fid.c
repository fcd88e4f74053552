/* SPDX-License-Identifier: Apache-2.0 */
/* 9p_fid.c: fid numbers of a 9P session: a counter plus a stack of clunked fids for reuse. */
#include <libos/heap.h>
#include <libos/p9.h>
#include <libos/string.h>

u32 p9_fid_alloc(struct p9_session *s)
{
    if (s->nfree)
        return s->free_fids[--s->nfree];
    if (s->next_fid == P9_NOFID)
        return P9_NOFID;
    return s->next_fid++;
}

void p9_fid_free(struct p9_session *s, u32 fid)
{
    if (fid == P9_NOFID)
        return;
    if (s->nfree == s->free_cap) {
        u32 cap = s->free_cap ? s->free_cap * 2 : 64;
        u32 *n = kmalloc(cap * sizeof(u32));
        if (!n)
            return; /* the number is lost, not reused: harmless */
        if (s->nfree)
            memcpy(n, s->free_fids, s->nfree * sizeof(u32));
        kfree(s->free_fids);
        s->free_fids = n;
        s->free_cap = cap;
    }
    s->free_fids[s->nfree++] = fid;
}
