/* SPDX-License-Identifier: Apache-2.0 */
/* virtio_9p.c: the virtio-9p transport: devices by mount tag, one request queue, one exchange at a time, sleeping for the reply.
 *
 * A request is a two-descriptor chain: the message out, a reply buffer in (virtio 1.1
 * §5.11 gives no framing beyond 9P's own size field). Both buffers are physically
 * contiguous and msize bytes, so a Tread or Twrite of a whole msize needs no scatter
 * list. The caller sleeps on the device's wait queue; the interrupt wakes it. A lost
 * interrupt costs at most one tick: the wait has a short deadline and re-checks the
 * used ring. A device that never answers (the host is gone) fails the request with
 * EIO and is not used again: the descriptors still belong to it.
 */
#include <libos/errno.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/time.h>
#include <libos/virtio.h>

#define VIRTIO_9P_MOUNT_TAG 0       /* feature: the config space holds the tag */
#define MSIZE (128u * 1024 + 4096)  /* 128 KiB of data plus the 9P header, as Linux's default 128 KiB */
#define MAX_9P 8
#define TAG_MAX 64
#define TICK_NS 1000000ul           /* re-check the used ring this often without an interrupt */
#define DEAD_NS 600000000000ul      /* no answer in ten minutes: the host is gone (a slow fsync takes less) */

struct virtio_9p {
    struct virtio_dev *dev;
    struct virtq q;
    char tag[TAG_MAX + 1];
    u8 *req, *rep;
    u64 req_phys, rep_phys;
    struct waitq wq;
    bool done, dead;
    u32 rep_len;
};

static struct virtio_9p devs[MAX_9P];
static unsigned ndevs;

static void interrupt(struct virtio_dev *d, u32 status)
{
    struct virtio_9p *v = d->priv;
    u32 len;
    if (virtq_get(&v->q, &len)) {
        v->done = true;
        v->rep_len = len;
    }
    waitq_wake(&v->wq, -1);
}

void virtio_9p_attach(struct virtio_dev *d)
{
    if (ndevs >= MAX_9P)
        return;
    struct virtio_9p *v = &devs[ndevs];
    if (!virtio_negotiate(d, 1ull << VIRTIO_9P_MOUNT_TAG) || !(d->features & (1ull << VIRTIO_9P_MOUNT_TAG)) ||
        !virtio_queue_init(d, &v->q, 0, 8)) {
        kinfo("virtio-9p at 0x%lx: not usable", d->phys);
        virtio_fail(d);
        return;
    }
    u16 len = virtio_config16(d, 0);
    if (len == 0 || len > TAG_MAX) {
        kinfo("virtio-9p at 0x%lx: mount tag of %u bytes ignored", d->phys, len);
        virtio_fail(d);
        return;
    }
    for (u16 i = 0; i < len; i++)
        v->tag[i] = (char)virtio_config8(d, 2u + i);
    v->tag[len] = 0;
    u32 pages = ALIGN_UP(MSIZE, PAGE_SIZE) / PAGE_SIZE;
    v->req_phys = pmm_alloc_contig(pages);
    v->rep_phys = pmm_alloc_contig(pages);
    if (!v->req_phys || !v->rep_phys) {
        kinfo("virtio-9p %s: no memory for its buffers", v->tag);
        virtio_fail(d);
        return;
    }
    v->req = phys_to_virt(v->req_phys);
    v->rep = phys_to_virt(v->rep_phys);
    v->dev = d;
    d->priv = v;
    d->interrupt = interrupt;
    virtio_driver_ok(d);
    ndevs++;
}

struct virtio_9p *virtio_9p_find(const char *tag)
{
    for (unsigned i = 0; i < ndevs; i++)
        if (strcmp(devs[i].tag, tag) == 0)
            return &devs[i];
    return NULL;
}

u32 virtio_9p_msize(struct virtio_9p *v) { return MSIZE; }

u8 *virtio_9p_req_buf(struct virtio_9p *v) { return v->req; }

long virtio_9p_rpc(struct virtio_9p *v, u32 req_len, const u8 **reply)
{
    if (v->dead || req_len > MSIZE)
        return -EIO;
    u64 phys[2] = {v->req_phys, v->rep_phys};
    u32 lens[2] = {req_len, MSIZE};
    v->done = false;
    if (virtq_add_chain(&v->q, phys, lens, 1, 1, v) < 0)
        return -EIO; /* one exchange at a time: the ring cannot be full */
    virtq_kick(v->dev, &v->q);
    u64 give_up = time_mono_ns() + DEAD_NS;
    while (!v->done) {
        u32 len;
        if (virtq_get(&v->q, &len)) {
            v->done = true;
            v->rep_len = len;
            break;
        }
        if (time_mono_ns() > give_up) {
            kinfo("virtio-9p %s: no answer from the host; the volume fails with EIO", v->tag);
            v->dead = true;
            return -EIO;
        }
        /* Sleep: the idle task halts with interrupts on and ours wakes us. */
        waitq_wait(&v->wq, time_mono_ns() + TICK_NS, 0);
    }
    if (v->rep_len < 7 || v->rep_len > MSIZE)
        return -EIO;
    *reply = v->rep;
    return v->rep_len;
}
