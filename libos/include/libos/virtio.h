/* SPDX-License-Identifier: Apache-2.0 */
/* virtio.h: virtio-mmio devices on QEMU microvm (drivers/virtio_mmio.c) and the drivers on top (net, rng).
 *
 * Interface:
 *   virtio_probe()           find the devices (the kernel command line's virtio_mmio.device=
 *                            words, else a scan of microvm's window), start the drivers:
 *                            virtio-net (drivers/virtio_net.c), virtio-rng (drivers/virtio_rng.c),
 *                            virtio-9p (drivers/virtio_9p.c, the volumes: docs/volumes.md).
 *   virtio_interrupt()       the shared interrupt vector VEC_VIRTIO (trap.c): every device
 *                            acknowledges its status and runs its handler.
 * A driver uses the transport through struct virtio_dev and split virtqueues with one
 * descriptor per buffer. Both transports: version 2 (modern, with
 * -global virtio-mmio.force-legacy=false) and version 1 (legacy, QEMU's default).
 * Everything runs with interrupts off (task.h); no locks.
 */
#ifndef LIBOS_VIRTIO_H
#define LIBOS_VIRTIO_H

#include <libos/types.h>

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_9P 9

#define VIRTIO_F_VERSION_1 32

struct vring_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

struct virtq {
    u16 size;
    u16 index;                  /* the queue number on its device */
    struct vring_desc *desc;
    volatile u16 *avail;        /* flags, idx, ring[size], used_event */
    volatile u8 *used;          /* flags, idx, ring[size] of {u32 id, u32 len}, avail_event */
    u16 avail_idx, last_used;
    u16 free_head, num_free;
    void **cookie;              /* per descriptor: what the driver gave virtq_add */
};

struct virtio_dev {
    volatile u8 *regs;
    u64 phys;
    u32 version;                /* 1 legacy, 2 modern */
    u32 device_id;
    unsigned gsi;               /* its interrupt line */
    u64 features;               /* negotiated */
    void (*interrupt)(struct virtio_dev *d, u32 status);
    void *priv;
};

void virtio_probe(void);
void virtio_interrupt(void);

/* Reset, ACKNOWLEDGE, DRIVER, features (wanted & offered, plus VERSION_1 on a modern
 * device), FEATURES_OK. false if the device refuses. */
bool virtio_negotiate(struct virtio_dev *d, u64 wanted);
/* Queue idx with at most max entries; false when the device has no such queue or
 * memory is short. */
bool virtio_queue_init(struct virtio_dev *d, struct virtq *q, unsigned idx, u16 max);
void virtio_driver_ok(struct virtio_dev *d);
void virtio_fail(struct virtio_dev *d);
u8 virtio_config8(struct virtio_dev *d, unsigned off);
u16 virtio_config16(struct virtio_dev *d, unsigned off);

/* One buffer (physically contiguous): device-writable when write. -1 when full. */
int virtq_add(struct virtq *q, u64 phys, u32 len, bool write, void *cookie);
/* One request as a descriptor chain: nout device-readable buffers, then nin
 * device-writable ones. -1 when the ring has too few free entries. */
int virtq_add_chain(struct virtq *q, const u64 *phys, const u32 *len, unsigned nout, unsigned nin, void *cookie);
/* Tell the device about new buffers. */
void virtq_kick(struct virtio_dev *d, struct virtq *q);
/* The next buffer the device finished, its cookie and the bytes written; NULL if none. */
void *virtq_get(struct virtq *q, u32 *len);

/* Drivers. Weak: virtio-net comes with the net family only, virtio-9p with the volume client. */
void virtio_net_attach(struct virtio_dev *d) __attribute__((weak));
void virtio_rng_attach(struct virtio_dev *d);
void virtio_9p_attach(struct virtio_dev *d) __attribute__((weak));

/* virtio-9p (drivers/virtio_9p.c): the device whose mount tag is tag, or NULL. One
 * exchange at a time per device: the caller (fs/9p_client.c) serialises its users. */
struct virtio_9p;
struct virtio_9p *virtio_9p_find(const char *tag);
/* The largest message the transport carries; both buffers have that size. */
u32 virtio_9p_msize(struct virtio_9p *v);
/* The buffer a request is built in. */
u8 *virtio_9p_req_buf(struct virtio_9p *v);
/* Send the first req_len bytes of the request buffer and sleep until the reply is in;
 * *reply points at it. Its length, or -EIO when the device failed or went away (it is
 * then never used again). */
long virtio_9p_rpc(struct virtio_9p *v, u32 req_len, const u8 **reply);

/* virtio-net as the network layer sees it (net/inet_netif.c). */
bool virtio_net_present(void);
void virtio_net_mac(u8 mac[6]);
/* Queue one frame (copied); false when the ring is full (the frame is dropped). */
bool virtio_net_send(const void *const *parts, const u32 *lens, unsigned nparts);
/* Called for every received frame (from the interrupt or virtio_net_poll()). */
extern void (*virtio_net_rx)(const void *frame, u32 len);
/* Called after the interrupt handler delivered a batch (may be NULL). */
extern void (*virtio_net_rx_end)(void);
/* Every queued frame has been taken by the device. */
bool virtio_net_tx_idle(void);
/* Process finished buffers now (the interrupt does the same). */
void virtio_net_poll(void);

#endif /* LIBOS_VIRTIO_H */
