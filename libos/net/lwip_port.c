/* SPDX-License-Identifier: Apache-2.0 */
/* lwip_port.c: what lwIP needs from the kernel: accounted memory, time, randomness, diagnostics, its timers as a ktimer. */
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/random.h>
#include <libos/string.h>
#include <libos/time.h>
#include <stdlib.h> /* atoi (the lwIP compat header) */

#include "inet_internal.h"

#include "lwip/netif.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

/* -- memory ------------------------------------------------------------------------ */

/* Every lwIP allocation (PCBs, pbufs, segments, reassembly) is charged to one budget:
 * an eighth of RAM, at least 4 MiB and at most 256 MiB. Past it lwIP sees NULL,
 * which it handles everywhere (a dropped frame, ERR_MEM to a sender), so a flood
 * or many idle connections cost at most the budget, never the kernel's memory. */
#define BUDGET_MIN (4ul << 20)
#define BUDGET_MAX (256ul << 20)
#define HDR 16

static size_t mem_used, mem_budget, mem_peak;

size_t inet_mem_used(void) { return mem_used; }
size_t inet_mem_budget(void) { return mem_budget; }

void inet_mem_init(void)
{
    size_t b = (size_t)(pmm_total_pages() * PAGE_SIZE / 8);
    mem_budget = MIN(MAX(b, BUDGET_MIN), BUDGET_MAX);
}

/* A refused allocation is a dropped frame or a refused connection that the program
 * never hears about: say so on the log, at most once a second with the count since,
 * so a memory figure that is too small explains itself (docs/networking.md). */
#define SHORTAGE_LOG_MS 1000u
static u64 shortage_count;
static u32 shortage_logged_at;
static bool shortage_seen;

static void *shortage(size_t size, bool budget)
{
    shortage_count++;
    u32 now = (u32)(time_mono_ns() / 1000000ul);
    if (!shortage_seen || now - shortage_logged_at >= SHORTAGE_LOG_MS) {
        kinfo("net: no memory for %lu bytes (%s: %lu of %lu KiB in use); %lu refused so far: "
              "frames are dropped and connections refused, give the guest more memory",
              (unsigned long)size, budget ? "the network's budget" : "the kernel heap",
              (unsigned long)(mem_used >> 10), (unsigned long)(mem_budget >> 10),
              (unsigned long)shortage_count);
        shortage_logged_at = now;
        shortage_seen = true;
    }
    return NULL;
}

/* Small objects may go past the budget by a reserve: lwIP cannot take a failure of
 * every allocation (sys_timeout asserts when it gets no struct sys_timeo, and a lost
 * TCP timer would stop every connection), and the large ones (pbufs with data) fail
 * first anyway, so the reserve is not eaten by traffic. */
#define SMALL_OBJECT 64
#define SMALL_RESERVE (64ul << 10)

void *lwip_port_malloc(size_t size)
{
    bool over = size > mem_budget || mem_used + size + HDR > mem_budget;
    if (over && (size > SMALL_OBJECT || mem_used + size + HDR > mem_budget + SMALL_RESERVE))
        return shortage(size, true);
    u8 *p = kmalloc(size + HDR);
    if (!p)
        return shortage(size, false);
    *(size_t *)p = size + HDR;
    mem_used += size + HDR;
    if (mem_used > mem_peak)
        mem_peak = mem_used;
    return p + HDR;
}

void *lwip_port_calloc(size_t n, size_t size)
{
    if (size && n > ~(size_t)0 / size)
        return NULL;
    void *p = lwip_port_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void lwip_port_free(void *p)
{
    if (!p)
        return;
    u8 *h = (u8 *)p - HDR;
    mem_used -= *(size_t *)h;
    kfree(h);
}

/* -- time, randomness, diagnostics ---------------------------------------------------- */

u32_t sys_now(void) { return (u32_t)(time_mono_ns() / 1000000ul); }

unsigned int lwip_port_rand(void)
{
    unsigned int r;
    random_bytes(&r, sizeof(r));
    return r;
}

void lwip_port_diag(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[n - 1] = 0;
    kinfo("lwip: %s", buf);
}

void lwip_port_assert(const char *msg, const char *file, int line)
{
    panic("lwIP assertion \"%s\" failed at %s:%d", msg, file, line);
}

int atoi(const char *s)
{
    int sign = 1, v = 0;
    if (*s == '-')
        sign = -1, s++;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return sign * v;
}

/* -- driving lwIP ------------------------------------------------------------------- */

/* lwIP's timeouts (TCP's 250 ms timer while connections exist, ARP, DHCP, ND,
 * reassembly) run from one ktimer armed for the earliest of them. */
static struct ktimer net_timer;
static u64 net_timer_at = ~0ul;

static void net_timer_fire(struct ktimer *t)
{
    (void)t;
    net_timer_at = ~0ul;
    sys_check_timeouts();
    inet_poll();
}

void inet_poll(void)
{
    /* Packets a netif sent to itself (lo, or one's own address on eth0) wait on its
     * loop queue until polled: deliver them now, which may queue answers; bounded by
     * LWIP_LOOPBACK_MAX_PBUFS and the windows. */
    for (int round = 0; round < 64; round++) {
        bool any = false;
        struct netif *n;
        NETIF_FOREACH(n) {
            if (n->loop_first) {
                any = true;
                netif_poll(n);
            }
        }
        if (!any)
            break;
    }
    u32 sleep = sys_timeouts_sleeptime();
    if (sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
        return;
    u64 at = time_mono_ns() + (u64)sleep * 1000000ul;
    /* Keep an armed timer that comes no later than needed: re-arming on every call
     * would reorder the ktimer list for nothing. */
    if (net_timer.armed && net_timer_at <= at)
        return;
    net_timer_at = at;
    ktimer_arm(&net_timer, at, net_timer_fire);
}
