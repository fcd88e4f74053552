/* SPDX-License-Identifier: Apache-2.0 */
/* virtio_rng.c: virtio-rng at boot: one request for host entropy, mixed into the kernel's generator. */
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/random.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/virtio.h>

#define WANT 64
#define WAIT_NS 200000000ul /* the host answers at once; do not hang a boot on it */

void virtio_rng_attach(struct virtio_dev *d)
{
    static struct virtq q;
    if (!virtio_negotiate(d, 0) || !virtio_queue_init(d, &q, 0, 8)) {
        kinfo("virtio-rng at 0x%lx: not usable", d->phys);
        return;
    }
    u64 phys = pmm_alloc();
    if (!phys)
        return;
    u8 *buf = phys_to_virt(phys);
    virtio_driver_ok(d);
    virtq_add(&q, phys, WANT, true, buf);
    virtq_kick(d, &q);
    u64 until = time_mono_ns() + WAIT_NS;
    u32 len = 0;
    void *c;
    while (!(c = virtq_get(&q, &len)) && time_mono_ns() < until)
        __asm__ volatile("pause");
    if (c && len)
        random_mix(buf, MIN(len, (u32)WANT));
    memset(buf, 0, PAGE_SIZE);
    pmm_free(phys);
}
