/* SPDX-License-Identifier: Apache-2.0 */
/* time.c: monotonic and wall clocks from the TSC, the LAPIC one-shot timer and the kernel timers (ktimer).
 *
 * Calibration is lazy: a program that never asks for the time never waits for it.
 * The first call measures the TSC (and the LAPIC timer) against PIT channel 0 for
 * CALIBRATE_NS, unless kvmclock already told us the TSC frequency. Every probe has
 * a timeout and a fallback (libos-design.md §10, §13 item 14).
 */
#include <libos/cmdline.h>
#include <libos/lapic.h>
#include <libos/log.h>
#include <libos/time.h>
#include <libos/x86.h>

#define PIT_HZ 1193182ul
#define CALIBRATE_NS 10000000ul                          /* 10 ms */
#define CALIBRATE_PIT_TICKS (PIT_HZ * CALIBRATE_NS / NSEC_PER_SEC)
#define PIT_TIMEOUT_SPINS 2000000                        /* PIT absent or frozen */
#define FALLBACK_TSC_HZ 1000000000ul

static u64 tsc_boot;
static u64 tsc_hz, tsc_mult; /* ns = (ticks * tsc_mult) >> 32 */
static u64 lapic_hz, lapic_mult; /* LAPIC ticks = (ns * lapic_mult) >> 32 */
static bool tsc_ready, lapic_ready, real_ready;
static s64 real_offset_ns; /* wall = monotonic + offset */
static u64 kvm_tsc_hz, kvm_wall_ns;
static bool have_kvmclock;

void time_init(void)
{
    tsc_boot = rdtsc();
    have_kvmclock = kvmclock_probe(&kvm_tsc_hz, &kvm_wall_ns);
}

static void set_tsc_hz(u64 hz)
{
    tsc_hz = hz;
    tsc_mult = (NSEC_PER_SEC << 32) / hz; /* 1e9 << 32 still fits in 64 bits */
    tsc_ready = true;
}

static void set_lapic_hz(u64 hz)
{
    lapic_hz = MIN(hz, 0xffffffffu); /* keeps hz << 32 within 64 bits */
    lapic_mult = (lapic_hz << 32) / NSEC_PER_SEC;
    lapic_ready = lapic_mult != 0;
}

/* Count PIT ticks for CALIBRATE_NS while watching the TSC and the LAPIC timer. */
static bool calibrate_pit(void)
{
    pit_start_countdown();
    lapic_timer_free_run();
    u16 prev = pit_read_count();
    u64 tsc0 = rdtsc();
    u32 apic0 = lapic_timer_count();
    u64 ticks = 0;
    for (long spins = 0; ticks < CALIBRATE_PIT_TICKS; spins++) {
        u16 now = pit_read_count();
        ticks += (u16)(prev - now); /* the counter runs down and wraps at 65536 */
        prev = now;
        if (spins > PIT_TIMEOUT_SPINS && ticks < 16)
            return false;
    }
    u64 dtsc = rdtsc() - tsc0;
    u32 dapic = apic0 - lapic_timer_count();
    set_tsc_hz(dtsc * PIT_HZ / ticks);
    set_lapic_hz((u64)dapic * PIT_HZ / ticks);
    return true;
}

/* With the TSC known, time the LAPIC timer against it for 1 ms. */
static void calibrate_lapic_by_tsc(void)
{
    lapic_timer_free_run();
    u32 apic0 = lapic_timer_count();
    u64 t0 = rdtsc(), span = tsc_hz / 1000;
    while (rdtsc() - t0 < span)
        cpu_relax();
    set_lapic_hz((u64)(apic0 - lapic_timer_count()) * 1000);
}

static void calibrate(void)
{
    if (have_kvmclock) {
        set_tsc_hz(kvm_tsc_hz);
        calibrate_lapic_by_tsc();
        return;
    }
    if (calibrate_pit())
        return;
    /* No PIT (microvm,pit=off): CPUID 0x15 (TSC/crystal ratio) or 0x16 (base MHz) may
     * give the TSC rate; else guess 1 GHz. */
    u32 max_leaf = cpuid(0, 0).eax;
    struct cpuid_regs c15 = max_leaf >= 0x15 ? cpuid(0x15, 0) : (struct cpuid_regs){0};
    struct cpuid_regs c16 = max_leaf >= 0x16 ? cpuid(0x16, 0) : (struct cpuid_regs){0};
    if (c15.eax && c15.ebx && c15.ecx)
        set_tsc_hz((u64)c15.ecx * c15.ebx / c15.eax);
    else if (c16.eax & 0xffff)
        set_tsc_hz((u64)(c16.eax & 0xffff) * 1000000);
    else {
        kinfo("no PIT and no TSC frequency in CPUID: assuming 1 GHz, clocks may drift");
        set_tsc_hz(FALLBACK_TSC_HZ);
    }
    calibrate_lapic_by_tsc();
}

u64 time_tsc_hz(void)
{
    if (!tsc_ready)
        calibrate();
    return tsc_hz;
}

u64 time_mono_ns(void)
{
    if (unlikely(!tsc_ready))
        calibrate();
    return (u64)(((unsigned __int128)(rdtsc() - tsc_boot) * tsc_mult) >> 32);
}

u64 time_since_tsc_ns(u64 tsc_then)
{
    if (unlikely(!tsc_ready))
        calibrate();
    return (u64)(((unsigned __int128)(rdtsc() - tsc_then) * tsc_mult) >> 32);
}

u64 time_ticks_to_ns(u64 ticks)
{
    if (unlikely(!tsc_ready))
        calibrate();
    return (u64)(((unsigned __int128)ticks * tsc_mult) >> 32);
}

u64 time_real_ns(void)
{
    u64 mono = time_mono_ns();
    if (unlikely(!real_ready)) {
        u64 wall_now;
        if (kopts.have_epoch)
            /* The launcher's time() when it started QEMU: our boot, give or take. */
            wall_now = kopts.epoch * NSEC_PER_SEC + mono;
        else if (have_kvmclock)
            wall_now = kvm_wall_ns + mono;
        else
            wall_now = rtc_read_epoch() * NSEC_PER_SEC;
        real_offset_ns = (s64)(wall_now - mono);
        real_ready = true;
    }
    return (u64)((s64)mono + real_offset_ns);
}

/* -- the LAPIC one-shot timer and the kernel timers ------------------------------------ */

static u64 programmed = ~0ul;    /* deadline the LAPIC timer is armed for, ~0: none */
static struct ktimer *ktimers;   /* armed timers, earliest deadline first */

void time_timer_program(u64 deadline)
{
    /* Lazy: an earlier interrupt already on its way serves too (its handler
     * re-programs), so the common case writes no LAPIC register at all. */
    if (deadline >= programmed)
        return;
    u64 now = time_mono_ns();
    if (!lapic_ready)
        return;
    u64 ns = deadline > now ? deadline - now : 0;
    u64 ticks = (u64)(((unsigned __int128)ns * lapic_mult) >> 32);
    /* A count beyond 32 bits (over a minute away) fires early and is re-armed then. */
    lapic_timer_oneshot(ticks >= 0xffffffffu ? 0xffffffffu : (u32)ticks + 1);
    programmed = ticks >= 0xffffffffu ? now + ((0xfffffffful << 32) / lapic_mult) : deadline;
}

void time_timer_fired(void) { programmed = ~0ul; }

void ktimer_arm(struct ktimer *t, u64 deadline, void (*fn)(struct ktimer *t))
{
    if (t->armed)
        ktimer_cancel(t);
    t->deadline = deadline;
    t->fn = fn;
    t->armed = true;
    struct ktimer **p = &ktimers;
    while (*p && (*p)->deadline <= deadline)
        p = &(*p)->next;
    t->next = *p;
    *p = t;
    time_timer_program(deadline);
}

void ktimer_cancel(struct ktimer *t)
{
    if (!t->armed)
        return;
    for (struct ktimer **p = &ktimers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    t->armed = false;
    t->next = NULL;
}

u64 ktimer_next_deadline(void) { return ktimers ? ktimers->deadline : ~0ul; }

void ktimer_run_expired(void)
{
    if (!ktimers)
        return;
    u64 now = time_mono_ns();
    while (ktimers && ktimers->deadline <= now) {
        struct ktimer *t = ktimers;
        ktimers = t->next;
        t->next = NULL;
        t->armed = false;
        t->fn(t); /* may re-arm t or others: the list is re-read */
    }
}
