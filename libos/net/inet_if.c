/* SPDX-License-Identifier: Apache-2.0 */
/* inet_if.c: lwIP's interfaces: lo, eth0 on virtio-net configured from the command line or DHCP, and the list AF_NETLINK reports. */
#include <libos/cmdline.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/virtio.h>

#include "inet_internal.h"

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define ETH_MTU 1500
#define DHCP_WAIT_NS (3ul * NSEC_PER_SEC) /* QEMU's DHCP answers in milliseconds */

static struct netif eth0;
static bool eth0_up;

/* -- eth0: lwIP's side of the virtio-net driver -------------------------------------- */

static err_t eth0_output(struct netif *n, struct pbuf *p)
{
    const void *parts[8];
    u32 lens[8];
    unsigned k = 0;
    for (struct pbuf *q = p; q && k < 8; q = q->next, k++) {
        parts[k] = q->payload;
        lens[k] = q->len;
    }
    if (k == 8 && p) {
        /* A long chain: flatten it (rare: TCP segments are one or two pbufs). */
        static u8 flat[ETH_MTU + 64];
        if (p->tot_len > sizeof(flat))
            return ERR_BUF;
        pbuf_copy_partial(p, flat, p->tot_len, 0);
        parts[0] = flat;
        lens[0] = p->tot_len;
        k = 1;
    }
    return virtio_net_send(parts, lens, k) ? ERR_OK : ERR_MEM;
}

static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static u16 be16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }

/* Linux lets a new connection reuse the 4-tuple of one in TIME_WAIT when its SYN
 * starts after what the old one received (tcp_timewait_state_process); lwIP only
 * answers such a SYN with an ACK until TIME_WAIT ends. Clients that reuse ports
 * quickly (QEMU's user network forwards the host client's port) would then stall for
 * 2*MSL, so a fresh SYN retires the old PCB first, as Linux would. */
static void timewait_reuse(const u8 *f, u32 len)
{
    const u8 *ip = f + 14, *tcp;
    u16 type = be16(f + 12);
    bool v6;
    if (type == 0x0800 && len >= 14 + 20 && (ip[0] >> 4) == 4 && ip[9] == 6) {
        u32 ihl = (ip[0] & 15) * 4u;
        if (ihl < 20 || len < 14 + ihl + 20)
            return;
        tcp = ip + ihl;
        v6 = false;
    } else if (type == 0x86dd && len >= 14 + 40 + 20 && ip[6] == 6) {
        tcp = ip + 40;
        v6 = true;
    } else {
        return;
    }
    if ((tcp[13] & 0x17) != 0x02)
        return; /* SYN alone (no ACK, RST, FIN) */
    u16 sport = be16(tcp), dport = be16(tcp + 2);
    u32 seq = be32(tcp + 4);
    for (struct tcp_pcb *p = tcp_tw_pcbs; p; p = p->next) {
        if (p->local_port != dport || p->remote_port != sport)
            continue;
        if (v6 ? !IP_IS_V6_VAL(p->remote_ip) || memcmp(ip_2_ip6(&p->remote_ip)->addr, ip + 8, 16)
               : IP_IS_V6_VAL(p->remote_ip) || memcmp(&ip_2_ip4(&p->remote_ip)->addr, ip + 12, 4))
            continue;
        if ((s32)(seq - p->rcv_nxt) > 0)
            tcp_abort(p); /* a TIME_WAIT PCB has no callbacks: just freed */
        return;
    }
}

/* A frame from the NIC: into a pbuf of its own (the ring buffer is reused at once). */
static void eth0_rx(const void *frame, u32 len)
{
    if (!eth0_up || len < 14 || len > ETH_MTU + 18)
        return;
    if (tcp_tw_pcbs)
        timewait_reuse(frame, len);
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
    if (!p)
        return; /* over the memory budget: dropped, as a full NIC queue would */
    memcpy(p->payload, frame, len);
    if (eth0.input(p, &eth0) != ERR_OK)
        pbuf_free(p);
}

static err_t eth0_init(struct netif *n)
{
    n->name[0] = 'e';
    n->name[1] = 't';
    n->mtu = ETH_MTU;
    n->hwaddr_len = 6;
    virtio_net_mac(n->hwaddr);
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_MLD6 |
               NETIF_FLAG_LINK_UP;
    n->output = etharp_output;
    n->output_ip6 = ethip6_output;
    n->linkoutput = eth0_output;
    return ERR_OK;
}

static void prefix_mask(u8 prefix, u8 mask[4])
{
    u32 m = prefix ? ~0u << (32 - prefix) : 0;
    mask[0] = (u8)(m >> 24), mask[1] = (u8)(m >> 16), mask[2] = (u8)(m >> 8), mask[3] = (u8)m;
}

static void eth0_start(void)
{
    ip4_addr_t ip, mask, gw;
    ip4_addr_set_zero(&ip);
    ip4_addr_set_zero(&mask);
    ip4_addr_set_zero(&gw);
    if (kopts.have_ip) {
        u8 m[4];
        prefix_mask(kopts.prefix, m);
        IP4_ADDR(&ip, kopts.ip[0], kopts.ip[1], kopts.ip[2], kopts.ip[3]);
        IP4_ADDR(&mask, m[0], m[1], m[2], m[3]);
        if (kopts.have_gw)
            IP4_ADDR(&gw, kopts.gw[0], kopts.gw[1], kopts.gw[2], kopts.gw[3]);
    }
    if (!netif_add(&eth0, &ip, &mask, &gw, NULL, eth0_init, ethernet_input)) {
        kinfo("net: eth0 could not be added");
        return;
    }
    if (kopts.hostname[0])
        netif_set_hostname(&eth0, kopts.hostname);
    netif_create_ip6_linklocal_address(&eth0, 1);
    eth0.ip6_autoconfig_enabled = 1; /* SLAAC (the macro warns on a static netif) */
    netif_set_default(&eth0);
    netif_set_up(&eth0);
    eth0_up = true;
    virtio_net_rx = eth0_rx;
    /* Input may start lwIP timers (TCP's, ARP's): inet_poll arms the ktimer for them. */
    virtio_net_rx_end = inet_poll;
    if (kopts.have_ip)
        return;
    /* No address given: DHCP, as Docker's network would hand one out. The program
     * starts once it has an address (or after DHCP_WAIT_NS), so a client's first
     * connect does not race the lease. */
    if (dhcp_start(&eth0) != ERR_OK) {
        kinfo("net: DHCP could not start on eth0");
        return;
    }
    u64 until = time_mono_ns() + DHCP_WAIT_NS;
    while (!dhcp_supplied_address(&eth0) && time_mono_ns() < until) {
        inet_poll();
        time_sleep_until(time_mono_ns() + 5000000ul);
        virtio_net_poll();
    }
    if (!dhcp_supplied_address(&eth0))
        kinfo("net: no DHCP answer on eth0 yet; it keeps asking");
}

void inet_if_init(void)
{
    lwip_init(); /* lo with 127.0.0.1/8 and ::1 (LWIP_HAVE_LOOPIF) */
    virtio_probe();
    if (virtio_net_present() && kopts.net != NET_NONE)
        eth0_start();
    inet_etc_write(eth0_up ? &eth0 : NULL);
    inet_poll();
}

/* -- the end of the VM ------------------------------------------------------------------ */

#define FLUSH_MAX_NS (2ul * NSEC_PER_SEC)

static bool tcp_pending(void)
{
    for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next)
        if (p->unsent || p->unacked)
            return true;
    return false;
}

void net_exit_flush(void)
{
    if (!eth0_up)
        return; /* loopback traffic ends with the program */
    u64 until = time_mono_ns() + FLUSH_MAX_NS;
    do {
        virtio_net_poll();
        sys_check_timeouts();
        inet_poll();
        if (!tcp_pending() && virtio_net_tx_idle())
            break;
        for (int i = 0; i < 1000; i++)
            __asm__ volatile("pause");
    } while (time_mono_ns() < until);
}

/* -- for AF_NETLINK (getifaddrs, if_nameindex) ----------------------------------------- */

#define IFF_UP 0x1
#define IFF_BROADCAST 0x2
#define IFF_LOOPBACK 0x8
#define IFF_RUNNING 0x40
#define IFF_MULTICAST 0x1000

/* Bits set in a netmask (a loop: __builtin_popcount needs libgcc without -mpopcnt). */
static u8 mask_prefix(u32 mask_be)
{
    u8 n = 0;
    for (; mask_be; mask_be &= mask_be - 1)
        n++;
    return n;
}

int net_ifaces(struct net_iface *out, int max)
{
    int n = 0;
    struct netif *nf;
    NETIF_FOREACH(nf) {
        if (n >= max)
            break;
        struct net_iface *i = &out[n++];
        memset(i, 0, sizeof(*i));
        i->index = netif_get_index(nf);
        bool lo = nf->name[0] == 'l' && nf->name[1] == 'o';
        memcpy(i->name, lo ? "lo" : "eth0", lo ? 3 : 5);
        i->flags = (netif_is_up(nf) ? IFF_UP | IFF_RUNNING : 0) |
                   (lo ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST);
        i->mtu = lo ? 65536 : nf->mtu;
        if (!lo)
            memcpy(i->mac, nf->hwaddr, 6);
        u32 a = ip4_addr_get_u32(netif_ip4_addr(nf));
        if (a) {
            i->has_ipv4 = true;
            memcpy(i->ipv4, &a, 4);
            i->ipv4_prefix = mask_prefix(ip4_addr_get_u32(netif_ip4_netmask(nf)));
        }
        for (int k = 0; k < LWIP_IPV6_NUM_ADDRESSES; k++) {
            if (!ip6_addr_isvalid(netif_ip6_addr_state(nf, k)))
                continue;
            /* The global address when there is one, else link-local or ::1. */
            const u8 *b = (const u8 *)netif_ip6_addr(nf, k)->addr;
            if (!i->has_ipv6 || b[0] != 0xfe) {
                i->has_ipv6 = true;
                memcpy(i->ipv6, b, 16);
                i->ipv6_prefix = lo ? 128 : 64;
            }
        }
    }
    return n;
}
