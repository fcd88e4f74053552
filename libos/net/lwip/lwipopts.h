/* SPDX-License-Identifier: Apache-2.0 */
/* lwipopts.h: the library OS's configuration of lwIP 2.1.3 (raw API, NO_SYS, IPv4+IPv6; docs/networking.md).
 *
 * Every lwIP entry point runs with interrupts off in the non-preemptible kernel
 * (task.h): no locks, no tcpip thread, no sequential API. Memory comes from the
 * kernel heap through lwip_port_malloc(), which accounts every byte against one
 * budget (net/lwip_port.c), so the stack is bounded though MEMP_MEM_MALLOC removes
 * lwIP's own per-pool counts.
 */
#ifndef LIBOS_LWIPOPTS_H
#define LIBOS_LWIPOPTS_H

/* -- system --------------------------------------------------------------------- */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0 /* interrupts are off whenever lwIP runs */
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_NETIF_API 0
#define LWIP_TIMERS 1
#define LWIP_RAND() lwip_port_rand()

/* -- memory: the kernel heap, accounted -------------------------------------------- */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 16
#define mem_clib_malloc lwip_port_malloc
#define mem_clib_free lwip_port_free
#define mem_clib_calloc lwip_port_calloc
/* pbufs carrying received frames come from the heap too (PBUF_RAM), so PBUF_POOL
 * is only used by code we do not compile. */
#define PBUF_POOL_SIZE 16
#define MEMP_NUM_SYS_TIMEOUT 16
#define LWIP_SUPPORT_CUSTOM_PBUF 1

/* -- protocols -------------------------------------------------------------------- */
#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define ARP_QUEUEING 1
#define ARP_TABLE_SIZE 32
#define IP_FORWARD 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define IP_REASS_MAX_PBUFS 64       /* bounds reassembly memory against fragment floods */
#define LWIP_IPV6_FRAG 1
#define LWIP_IPV6_REASS 1
#define IPV6_FRAG_COPYHEADER 1      /* 64-bit pointers do not fit the fragment header (ip6_frag.c) */
#define LWIP_IPV6_AUTOCONFIG 1      /* SLAAC on QEMU's user network (fec0::/64) */
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_NUM_ADDRESSES 3
#define LWIP_ICMP 1
#define LWIP_ICMP6 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_UDPLITE 0
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define DHCP_DOES_ARP_CHECK 0       /* a 1-second wait for nothing on a private user network */
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0                  /* the application's resolver does DNS over UDP sockets */
#define LWIP_NETIF_HOSTNAME 1       /* DHCP sends d2u.hostname */
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_NETIF_LOOPBACK 1       /* packets to one's own address, on every netif */
#define LWIP_HAVE_LOOPIF 1          /* lo: 127.0.0.1 and ::1 */
#define LWIP_LOOPBACK_MAX_PBUFS 1024 /* bounds the loopback queue: TCP retransmits past it */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1 /* lo skips checksums, as Linux's loopback does */
#define LWIP_CHECKSUM_ON_COPY 0

/* -- TCP -------------------------------------------------------------------------- */
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 2
#define TCP_WND (128 * 1024)
#define TCP_SND_BUF (128 * 1024)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT (TCP_SND_BUF / 4)
#define TCP_SNDQUEUELOWAT (TCP_SND_QUEUELEN / 4)
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_MAX_BYTES (256 * 1024) /* per connection: out-of-order data is bounded */
#define TCP_OOSEQ_MAX_PBUFS 64
#define TCP_LISTEN_BACKLOG 1        /* SYNs past listen()'s backlog are dropped, as Linux */
#define TCP_DEFAULT_LISTEN_BACKLOG 128
#define LWIP_TCP_KEEPALIVE 1        /* TCP_KEEPIDLE/INTVL/CNT per connection */
#define TCP_OVERSIZE TCP_MSS
#define LWIP_TCP_TIMESTAMPS 0
#define TCP_MSL 10000UL             /* TIME_WAIT lasts 2*MSL = 20 s, not 2 min: fewer idle PCBs */
#define SO_REUSE 1
#define SO_REUSE_RXTOALL 1
#define LWIP_TCP_PCB_NUM_EXT_ARGS 0
#define TCP_TMR_INTERVAL 250
#define LWIP_CALLBACK_API 1
#define LWIP_EVENT_API 0

/* -- misc ------------------------------------------------------------------------- */
#define LWIP_STATS 0
#define LWIP_SINGLE_NETIF 0
#define LWIP_NUM_NETIF_CLIENT_DATA 0
#define LWIP_NETIF_TX_SINGLE_PBUF 1  /* virtio-net sends one descriptor per frame */
#define ETH_PAD_SIZE 0

/* Provided by net/lwip_port.c. */
#include <stddef.h>
void *lwip_port_malloc(size_t size);
void *lwip_port_calloc(size_t n, size_t size);
void lwip_port_free(void *p);
unsigned int lwip_port_rand(void);

#endif /* LIBOS_LWIPOPTS_H */
