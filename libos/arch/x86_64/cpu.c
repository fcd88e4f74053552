/* SPDX-License-Identifier: Apache-2.0 */
/* cpu.c: CPUID feature probe, the control-register state the application needs (FPU/SSE/AVX) and the kernel's protections. */
#include <libos/cpu.h>
#include <libos/log.h>
#include <libos/string.h>
#include <libos/x86.h>

#include "arch_internal.h"

struct cpu_features cpu_features;

#define XCR0_X87 0x1
#define XCR0_SSE 0x2
#define XCR0_AVX 0x4
#define XCR0_AVX512 0xe0 /* opmask, ZMM_Hi256, Hi16_ZMM: all three or none */
#define FXSAVE_SIZE 512

static u32 fpu_size = FXSAVE_SIZE;

static void probe(void)
{
    struct cpu_features *f = &cpu_features;
    u32 max = cpuid(0, 0).eax;
    struct cpuid_regs l1 = cpuid(1, 0);
    f->hwcap = l1.edx;
    f->xsave = l1.ecx & (1u << 26);
    f->avx = l1.ecx & (1u << 28);
    f->rdrand = l1.ecx & (1u << 30);
    f->hypervisor = l1.ecx & (1u << 31);
    if (max >= 7) {
        struct cpuid_regs l7 = cpuid(7, 0);
        f->fsgsbase = l7.ebx & (1u << 0);
        f->smep = l7.ebx & (1u << 7);
        f->rdseed = l7.ebx & (1u << 18);
        f->smap = l7.ebx & (1u << 20);
        f->umip = l7.ecx & (1u << 2);
    }
    if (cpuid(0x80000000, 0).eax >= 0x80000001) {
        struct cpuid_regs e1 = cpuid(0x80000001, 0);
        f->nx = e1.edx & (1u << 20);
        f->pdpe1gb = e1.edx & (1u << 26);
    }
    if (f->hypervisor) {
        struct cpuid_regs hv = cpuid(0x40000000, 0);
        memcpy(f->hv_sig + 0, &hv.ebx, 4);
        memcpy(f->hv_sig + 4, &hv.ecx, 4);
        memcpy(f->hv_sig + 8, &hv.edx, 4);
        f->hv_sig[12] = 0;
    }
}

void cpu_init(void)
{
    probe();
    /* QEMU's TCG (7.2 at least) pops the frame of a ring-3 iretq or far return with
     * supervisor rights, so with SMAP on those instructions fault in programs that use
     * them legitimately: no SMAP under TCG (logged below as missing). */
    bool tcg = strcmp(cpu_features.hv_sig, "TCGTCGTCGTCG") == 0;
    if (tcg)
        cpu_features.smap = false;

    /* CR0: MP+NE for native x87 error reporting (#MF, not IRQ13), WP so the kernel
     * honours read-only pages; AM so a program that sets RFLAGS.AC gets alignment
     * checks (SIGBUS) as on Linux; EM and TS cleared so x87/SSE run without trapping. */
    u64 cr0 = read_cr0();
    cr0 |= CR0_MP | CR0_NE | CR0_WP | CR0_AM;
    cr0 &= ~(CR0_EM | CR0_TS);
    write_cr0(cr0);

    /* CR4: OSFXSR enables SSE and fxsave, OSXMMEXCPT routes SIMD FP errors to #XM
     * (else #UD on the app's first SSE instruction); PGE keeps global kernel pages
     * in the TLB; FSGSBASE lets the app use wrfsbase (AT_HWCAP2); OSXSAVE enables
     * xgetbv/xsetbv so libc can see AVX.
     * Protections against a hostile program (docs/security-kernel.md): SMEP (ring 0
     * never executes user pages), SMAP (ring 0 touches user pages only inside the
     * checked copies of uaccess.S, between stac and clac), UMIP (sgdt/sidt/sldt/str/
     * smsw fault in ring 3 instead of revealing kernel addresses). */
    u64 cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_PGE;
    if (cpu_features.smep)
        cr4 |= CR4_SMEP;
    if (cpu_features.smap) {
        cr4 |= CR4_SMAP;
        uaccess_smap = 1;
    }
    if (cpu_features.umip)
        cr4 |= CR4_UMIP;
    if (cpu_features.fsgsbase) {
        cr4 |= CR4_FSGSBASE;
        cpu_features.hwcap2 |= 1u << 1; /* HWCAP2_FSGSBASE */
    }
    if (cpu_features.xsave)
        cr4 |= CR4_OSXSAVE;
    write_cr4(cr4);

    if (cpu_features.xsave) {
        struct cpuid_regs d = cpuid(0xd, 0);
        u64 supported = ((u64)d.edx << 32) | d.eax;
        u64 xcr0 = XCR0_X87 | XCR0_SSE;
        if (cpu_features.avx && (supported & XCR0_AVX))
            xcr0 |= XCR0_AVX;
        if ((xcr0 & XCR0_AVX) && (supported & XCR0_AVX512) == XCR0_AVX512)
            xcr0 |= XCR0_AVX512;
        /* XCR0 selects the state components the app may use; glibc picks its
         * AVX/AVX-512 string functions only when xgetbv shows them enabled. */
        xsetbv(0, xcr0);
        cpu_features.xcr0 = xcr0;
        /* CPUID 0xD.0 EBX: the XSAVE area size for the components XCR0 now enables. */
        fpu_size = MAX(cpuid(0xd, 0).ebx, (u32)FXSAVE_SIZE + 64);
    }
    if (!cpu_features.smep || !cpu_features.smap || !cpu_features.umip || !cpu_features.nx)
        kinfo("cpu: without%s%s%s%s (%s): fewer protections against the program",
              cpu_features.smep ? "" : " SMEP", cpu_features.smap ? "" : " SMAP",
              cpu_features.umip ? "" : " UMIP", cpu_features.nx ? "" : " NX",
              tcg ? "QEMU TCG: SMAP breaks its ring-3 iretq" : "this CPU model lacks them");
}

u32 cpu_fpu_size(void) { return fpu_size; }

/* The 64-bit forms (xsave64/fxsave64) keep the full FPU instruction and data pointers.
 * The requested-feature mask in EDX:EAX is all ones: XCR0 limits it to what is enabled. */
void cpu_fpu_save(void *area)
{
    if (cpu_features.xsave)
        __asm__ volatile("xsave64 (%0)" ::"r"(area), "a"(~0u), "d"(~0u) : "memory");
    else
        __asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory");
}

void cpu_fpu_restore(const void *area)
{
    if (cpu_features.xsave)
        __asm__ volatile("xrstor64 (%0)" ::"r"(area), "a"(~0u), "d"(~0u) : "memory");
    else
        __asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
}
