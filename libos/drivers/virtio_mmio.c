/* SPDX-License-Identifier: Apache-2.0 */
/* virtio_mmio.c: virtio-mmio on QEMU microvm: discovery, feature negotiation, split virtqueues (modern and legacy), the shared interrupt. */
#include <libos/bootinfo.h>
#include <libos/ioapic.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/mm.h>
#include <libos/string.h>
#include <libos/virtio.h>

/* Registers (virtio 1.1 §4.2.2; the legacy layout §4.2.4 shares most of them). */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_GUEST_PAGE_SIZE 0x028 /* legacy */
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_ALIGN 0x03c     /* legacy */
#define R_QUEUE_PFN 0x040       /* legacy */
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS 0x060
#define R_INT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LO 0x080
#define R_QUEUE_DESC_HI 0x084
#define R_QUEUE_AVAIL_LO 0x090
#define R_QUEUE_AVAIL_HI 0x094
#define R_QUEUE_USED_LO 0x0a0
#define R_QUEUE_USED_HI 0x0a4
#define R_CONFIG 0x100

#define MAGIC 0x74726976 /* "virt" */
#define SLOT_SIZE 0x200

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_FAILED 128

#define MAX_DEVICES 8

static struct virtio_dev devices[MAX_DEVICES];
static unsigned ndevices;

static inline u32 rd(struct virtio_dev *d, unsigned off) { return *(volatile u32 *)(d->regs + off); }
static inline void wr(struct virtio_dev *d, unsigned off, u32 v) { *(volatile u32 *)(d->regs + off) = v; }
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }

u8 virtio_config8(struct virtio_dev *d, unsigned off) { return d->regs[R_CONFIG + off]; }

u16 virtio_config16(struct virtio_dev *d, unsigned off)
{
    return (u16)(d->regs[R_CONFIG + off] | d->regs[R_CONFIG + off + 1] << 8);
}

void virtio_fail(struct virtio_dev *d) { wr(d, R_STATUS, rd(d, R_STATUS) | S_FAILED); }

bool virtio_negotiate(struct virtio_dev *d, u64 wanted)
{
    wr(d, R_STATUS, 0); /* reset */
    wr(d, R_STATUS, S_ACKNOWLEDGE);
    wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
    wr(d, R_DEV_FEATURES_SEL, 0);
    u64 offered = rd(d, R_DEV_FEATURES);
    wr(d, R_DEV_FEATURES_SEL, 1);
    offered |= (u64)rd(d, R_DEV_FEATURES) << 32;
    if (d->version >= 2)
        wanted |= 1ull << VIRTIO_F_VERSION_1; /* required by the modern transport */
    d->features = offered & wanted;
    if (d->version >= 2 && !(d->features & (1ull << VIRTIO_F_VERSION_1))) {
        virtio_fail(d);
        return false;
    }
    wr(d, R_DRV_FEATURES_SEL, 0);
    wr(d, R_DRV_FEATURES, (u32)d->features);
    wr(d, R_DRV_FEATURES_SEL, 1);
    wr(d, R_DRV_FEATURES, (u32)(d->features >> 32));
    if (d->version == 1) {
        wr(d, R_GUEST_PAGE_SIZE, PAGE_SIZE);
        return true; /* legacy devices have no FEATURES_OK handshake */
    }
    wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    if (!(rd(d, R_STATUS) & S_FEATURES_OK)) {
        virtio_fail(d);
        return false;
    }
    return true;
}

bool virtio_queue_init(struct virtio_dev *d, struct virtq *q, unsigned idx, u16 max)
{
    wr(d, R_QUEUE_SEL, idx);
    if (d->version >= 2 && rd(d, R_QUEUE_READY))
        return false;
    u32 nmax = rd(d, R_QUEUE_NUM_MAX);
    if (nmax == 0)
        return false;
    u16 n = (u16)MIN(nmax, (u32)max);
    /* The legacy layout (one block: descriptors, available ring, then the used ring
     * at the next page) serves both transports. */
    size_t used_off = ALIGN_UP(16ul * n + 6 + 2ul * n, PAGE_SIZE);
    size_t bytes = used_off + ALIGN_UP(6 + 8ul * n, PAGE_SIZE);
    size_t pages = bytes / PAGE_SIZE;
    u64 phys = pmm_alloc_contig(pages);
    if (!phys)
        return false;
    u8 *mem = phys_to_virt(phys);
    memset(mem, 0, bytes);
    q->size = n;
    q->index = (u16)idx;
    q->desc = (struct vring_desc *)mem;
    q->avail = (volatile u16 *)(mem + 16ul * n);
    q->used = mem + used_off;
    q->avail_idx = q->last_used = 0;
    q->cookie = (void **)phys_to_virt(pmm_alloc_contig(ALIGN_UP(sizeof(void *) * n, PAGE_SIZE) / PAGE_SIZE));
    if ((u64)q->cookie == DIRECT_MAP_BASE)
        return false;
    for (u16 i = 0; i < n; i++)
        q->desc[i].next = (u16)(i + 1);
    q->free_head = 0;
    q->num_free = n;
    wr(d, R_QUEUE_NUM, n);
    if (d->version == 1) {
        wr(d, R_QUEUE_ALIGN, PAGE_SIZE);
        wr(d, R_QUEUE_PFN, (u32)(phys >> PAGE_SHIFT));
    } else {
        u64 a = phys + 16ul * n, u = phys + used_off;
        wr(d, R_QUEUE_DESC_LO, (u32)phys);
        wr(d, R_QUEUE_DESC_HI, (u32)(phys >> 32));
        wr(d, R_QUEUE_AVAIL_LO, (u32)a);
        wr(d, R_QUEUE_AVAIL_HI, (u32)(a >> 32));
        wr(d, R_QUEUE_USED_LO, (u32)u);
        wr(d, R_QUEUE_USED_HI, (u32)(u >> 32));
        wr(d, R_QUEUE_READY, 1);
    }
    return true;
}

void virtio_driver_ok(struct virtio_dev *d)
{
    u32 s = S_ACKNOWLEDGE | S_DRIVER | S_DRIVER_OK;
    if (d->version >= 2)
        s |= S_FEATURES_OK;
    wr(d, R_STATUS, s);
}

int virtq_add(struct virtq *q, u64 phys, u32 len, bool write, void *cookie)
{
    if (!q->num_free)
        return -1;
    u16 i = q->free_head;
    q->free_head = q->desc[i].next;
    q->num_free--;
    q->desc[i].addr = phys;
    q->desc[i].len = len;
    q->desc[i].flags = write ? VRING_DESC_F_WRITE : 0;
    q->cookie[i] = cookie;
    q->avail[2 + q->avail_idx % q->size] = i;
    __asm__ volatile("" ::: "memory"); /* the ring entry before the index (x86: stores stay ordered) */
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
    return i;
}

int virtq_add_chain(struct virtq *q, const u64 *phys, const u32 *len, unsigned nout, unsigned nin, void *cookie)
{
    unsigned n = nout + nin;
    if (n == 0 || q->num_free < n)
        return -1;
    u16 head = q->free_head, i = head;
    for (unsigned k = 0; k < n; k++) {
        q->desc[i].addr = phys[k];
        q->desc[i].len = len[k];
        q->desc[i].flags = (u16)((k >= nout ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0));
        if (k + 1 < n)
            i = q->desc[i].next; /* the free list is linked through next already */
    }
    q->free_head = q->desc[i].next;
    q->num_free = (u16)(q->num_free - n);
    q->cookie[head] = cookie;
    q->avail[2 + q->avail_idx % q->size] = head;
    __asm__ volatile("" ::: "memory");
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
    return head;
}

void virtq_kick(struct virtio_dev *d, struct virtq *q)
{
    barrier();
    wr(d, R_QUEUE_NOTIFY, q->index);
}

void *virtq_get(struct virtq *q, u32 *len)
{
    u16 used_idx = *(volatile u16 *)(q->used + 2);
    if (q->last_used == used_idx)
        return NULL;
    __asm__ volatile("" ::: "memory");
    volatile u32 *e = (volatile u32 *)(q->used + 4 + 8ul * (q->last_used % q->size));
    u32 id = e[0];
    *len = e[1];
    q->last_used++;
    if (id >= q->size)
        return NULL; /* a device bug; never trust the index */
    void *c = q->cookie[id];
    /* A chain goes back to the free list whole: its tail links to the old head. */
    u16 tail = (u16)id;
    q->num_free++;
    while ((q->desc[tail].flags & VRING_DESC_F_NEXT) && q->desc[tail].next < q->size) {
        q->desc[tail].flags = 0;
        tail = q->desc[tail].next;
        q->num_free++;
    }
    q->desc[tail].flags = 0;
    q->desc[tail].next = q->free_head;
    q->free_head = (u16)id;
    return c;
}

void virtio_interrupt(void)
{
    for (unsigned i = 0; i < ndevices; i++) {
        struct virtio_dev *d = &devices[i];
        u32 st = rd(d, R_INT_STATUS);
        if (!st)
            continue;
        wr(d, R_INT_ACK, st); /* lowers the level-triggered line */
        if (d->interrupt)
            d->interrupt(d, st);
    }
}

/* -- discovery ------------------------------------------------------------------------- */

static void add_device(u64 phys, unsigned gsi)
{
    if (ndevices >= MAX_DEVICES)
        return;
    volatile u8 *regs = phys_to_virt(phys);
    if (*(volatile u32 *)regs != MAGIC)
        return;
    u32 id = *(volatile u32 *)(regs + R_DEVICE_ID);
    u32 version = *(volatile u32 *)(regs + R_VERSION);
    if (id == 0 || version < 1 || version > 2)
        return; /* an empty slot */
    for (unsigned i = 0; i < ndevices; i++)
        if (devices[i].phys == phys)
            return;
    struct virtio_dev *d = &devices[ndevices++];
    memset(d, 0, sizeof(*d));
    d->regs = regs;
    d->phys = phys;
    d->version = version;
    d->device_id = id;
    d->gsi = gsi;
}

/* QEMU appends "virtio_mmio.device=512@0xfeb00e00:12" per device when ACPI is off. */
static void parse_cmdline(const char *p)
{
    static const char key[] = "virtio_mmio.device=";
    while ((p = strchr(p, 'v'))) {
        if (strncmp(p, key, sizeof(key) - 1) != 0) {
            p++;
            continue;
        }
        p += sizeof(key) - 1;
        const char *at = strchr(p, '@');
        if (!at)
            return;
        p = at + 1;
        const char *end;
        u64 base = 0;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            for (p += 2;; p++) {
                int v = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                      : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
                if (v < 0)
                    break;
                base = base << 4 | (u64)v;
            }
        } else {
            base = parse_u64(p, &end);
            p = end;
        }
        if (*p != ':')
            continue;
        u64 irq = parse_u64(p + 1, &end);
        p = end;
        if (base >= MMIO_HOLE_START && base < MMIO_HOLE_END && irq < 48)
            add_device(base, (unsigned)irq);
    }
}

void virtio_probe(void)
{
    static bool probed; /* the network and the volumes both ask for the devices */
    if (probed)
        return;
    probed = true;
    parse_cmdline(bootinfo.cmdline);
    if (ndevices == 0) {
        /* With ACPI (the default) microvm lists the devices only in its DSDT: scan the
         * 24 slots, whose lines are GSIs 24-47 on the second I/O APIC; without it,
         * 8 slots on ISA lines 5-12. */
        bool two = ioapic2_present();
        unsigned slots = two ? 24 : 8, base_gsi = two ? 24 : 5;
        for (unsigned s = 0; s < slots; s++)
            add_device(VIRTIO_MMIO_PHYS + s * SLOT_SIZE, base_gsi + s);
    }
    for (unsigned i = 0; i < ndevices; i++) {
        struct virtio_dev *d = &devices[i];
        if (d->device_id == VIRTIO_ID_NET && virtio_net_attach)
            virtio_net_attach(d);
        else if (d->device_id == VIRTIO_ID_RNG)
            virtio_rng_attach(d);
        else if (d->device_id == VIRTIO_ID_9P && virtio_9p_attach)
            virtio_9p_attach(d);
        else
            continue;
        if (d->interrupt && !ioapic_route_gsi_level(d->gsi, VEC_VIRTIO))
            kinfo("virtio device %u at 0x%lx: no I/O APIC line %u; polled only", d->device_id,
                  d->phys, d->gsi);
    }
}
