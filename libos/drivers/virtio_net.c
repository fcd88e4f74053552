/* SPDX-License-Identifier: Apache-2.0 */
/* virtio_net.c: the virtio-net driver: MAC from the config space, receive and transmit rings of copied frames. */
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/string.h>
#include <libos/virtio.h>

#define F_MAC 5
#define F_MRG_RXBUF 15
#define F_STATUS 16

#define BUF_SIZE 2048 /* a 1514-byte frame and the 12-byte header fit */
#define RX_BUFS 256
#define TX_BUFS 256

static struct virtio_dev *dev;
static struct virtq rxq, txq;
static u32 hdr_len;
static u8 mac[6];
static u8 *rx_mem, *tx_mem;
static u64 rx_phys, tx_phys;
static u16 tx_free[TX_BUFS], tx_nfree;

void (*virtio_net_rx)(const void *frame, u32 len);
void (*virtio_net_rx_end)(void);

bool virtio_net_present(void) { return dev != NULL; }
void virtio_net_mac(u8 out[6]) { memcpy(out, mac, 6); }

static void rx_post(u32 i)
{
    virtq_add(&rxq, rx_phys + (u64)i * BUF_SIZE, BUF_SIZE, true, (void *)(u64)(i + 1));
}

static void tx_reclaim(void)
{
    u32 len;
    void *c;
    while ((c = virtq_get(&txq, &len)))
        tx_free[tx_nfree++] = (u16)((u64)c - 1);
}

void virtio_net_poll(void)
{
    if (!dev)
        return;
    static bool busy;
    if (busy)
        return; /* a handler that sent a frame must not re-enter the receive loop */
    busy = true;
    u32 len;
    void *c;
    unsigned n = 0;
    /* A bounded batch: a flood cannot keep the kernel here forever. */
    while (n < RX_BUFS && (c = virtq_get(&rxq, &len))) {
        u32 i = (u32)((u64)c - 1);
        if (i < RX_BUFS) {
            if (len > hdr_len && len <= BUF_SIZE && virtio_net_rx)
                virtio_net_rx(rx_mem + (u64)i * BUF_SIZE + hdr_len, len - hdr_len);
            rx_post(i);
        }
        n++;
    }
    if (n)
        virtq_kick(dev, &rxq);
    tx_reclaim();
    busy = false;
}

static void interrupt(struct virtio_dev *d, u32 status)
{
    virtio_net_poll();
    if (virtio_net_rx_end)
        virtio_net_rx_end(); /* the stack's follow-up work: its timers, looped packets */
}

bool virtio_net_tx_idle(void)
{
    if (!dev)
        return true;
    tx_reclaim();
    return tx_nfree == txq.size;
}

bool virtio_net_send(const void *const *parts, const u32 *lens, unsigned nparts)
{
    if (!dev)
        return false;
    tx_reclaim();
    if (!tx_nfree)
        return false;
    u32 total = 0;
    for (unsigned k = 0; k < nparts; k++)
        total += lens[k];
    if (total + hdr_len > BUF_SIZE)
        return false;
    u16 i = tx_free[--tx_nfree];
    u8 *buf = tx_mem + (u64)i * BUF_SIZE;
    memset(buf, 0, hdr_len); /* no offloads: flags 0, gso none */
    u32 off = hdr_len;
    for (unsigned k = 0; k < nparts; k++) {
        memcpy(buf + off, parts[k], lens[k]);
        off += lens[k];
    }
    if (virtq_add(&txq, tx_phys + (u64)i * BUF_SIZE, off, false, (void *)(u64)(i + 1)) < 0) {
        tx_free[tx_nfree++] = i;
        return false;
    }
    virtq_kick(dev, &txq);
    return true;
}

void virtio_net_attach(struct virtio_dev *d)
{
    if (dev)
        return; /* one NIC: eth0 */
    /* MRG_RXBUF only fixes the header at 12 bytes here: without GSO a frame always
     * fits one 2 KiB buffer. Checksum offloads are not negotiated: QEMU's user
     * network would compute them in the host anyway, and lwIP's are cheap. */
    if (!virtio_negotiate(d, 1ull << F_MAC | 1ull << F_MRG_RXBUF)) {
        kinfo("virtio-net at 0x%lx: feature negotiation failed", d->phys);
        return;
    }
    hdr_len = (d->features & (1ull << VIRTIO_F_VERSION_1 | 1ull << F_MRG_RXBUF)) ? 12 : 10;
    if (!virtio_queue_init(d, &rxq, 0, RX_BUFS) || !virtio_queue_init(d, &txq, 1, TX_BUFS)) {
        kinfo("virtio-net at 0x%lx: no queues", d->phys);
        virtio_fail(d);
        return;
    }
    size_t rx_pages = ALIGN_UP((size_t)rxq.size * BUF_SIZE, PAGE_SIZE) / PAGE_SIZE;
    size_t tx_pages = ALIGN_UP((size_t)txq.size * BUF_SIZE, PAGE_SIZE) / PAGE_SIZE;
    rx_phys = pmm_alloc_contig(rx_pages);
    tx_phys = pmm_alloc_contig(tx_pages);
    if (!rx_phys || !tx_phys) {
        kinfo("virtio-net: no memory for buffers");
        virtio_fail(d);
        return;
    }
    rx_mem = phys_to_virt(rx_phys);
    tx_mem = phys_to_virt(tx_phys);
    if (d->features & (1ull << F_MAC))
        for (int k = 0; k < 6; k++)
            mac[k] = virtio_config8(d, (unsigned)k);
    else
        memcpy(mac, (u8[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, 6); /* QEMU's default */
    for (u32 i = 0; i < rxq.size; i++)
        rx_post(i);
    tx_nfree = 0;
    for (u32 i = 0; i < txq.size; i++)
        tx_free[tx_nfree++] = (u16)i;
    d->interrupt = interrupt;
    dev = d;
    virtio_driver_ok(d);
    virtq_kick(d, &rxq);
}
