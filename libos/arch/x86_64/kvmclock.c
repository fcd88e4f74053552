/* SPDX-License-Identifier: Apache-2.0 */
/* kvmclock.c: read the TSC frequency and wall clock from KVM's pvclock, sparing the PIT calibration.
 *
 * Layouts from the KVM documentation (Documentation/virt/kvm/x86/msr.rst). Only
 * used when CPUID says KVM with KVM_FEATURE_CLOCKSOURCE2; anything odd falls back
 * to the PIT.
 */
#include <libos/cpu.h>
#include <libos/mm.h>
#include <libos/time.h>
#include <libos/x86.h>

struct pvclock_vcpu_time_info {
    u32 version;
    u32 pad0;
    u64 tsc_timestamp;
    u64 system_time;
    u32 tsc_to_system_mul;
    s8 tsc_shift;
    u8 flags;
    u8 pad[2];
} __packed;
_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock layout");

struct pvclock_wall_clock {
    u32 version;
    u32 sec;
    u32 nsec;
} __packed;

#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

static volatile struct pvclock_vcpu_time_info pvti __aligned(64);
static volatile struct pvclock_wall_clock wall __aligned(16);

bool kvmclock_probe(u64 *tsc_hz, u64 *wall_ns)
{
    if (__builtin_memcmp(cpu_features.hv_sig, "KVMKVMKVM\0\0\0", 12) != 0)
        return false;
    if (!(cpuid(0x40000001, 0).eax & KVM_FEATURE_CLOCKSOURCE2))
        return false;
    /* Ask KVM to fill the wall clock (at system_time 0) and to keep our vCPU's
     * time info updated (bit 0 = enable). */
    wrmsr(MSR_KVM_WALL_CLOCK_NEW, virt_to_phys((const void *)&wall));
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, virt_to_phys((const void *)&pvti) | 1);
    u32 mul = pvti.tsc_to_system_mul;
    s8 shift = pvti.tsc_shift;
    u64 sys = pvti.system_time;
    /* Stop the updates again: from here on the kernel reads the TSC itself. */
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
    if (mul == 0 || (pvti.version & 1) || (wall.version & 1))
        return false;
    /* ns = (tsc_delta shifted by tsc_shift) * mul / 2^32, so Hz = 2^32 * 1e9 / (mul * 2^shift). */
    u64 num = NSEC_PER_SEC << 32; /* fits in 64 bits */
    if (shift >= 0)
        *tsc_hz = num / ((u64)mul << shift);
    else
        *tsc_hz = (num / mul) << -shift;
    *wall_ns = (u64)wall.sec * NSEC_PER_SEC + wall.nsec + sys;
    return *tsc_hz != 0;
}
