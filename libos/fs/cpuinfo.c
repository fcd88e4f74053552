/* SPDX-License-Identifier: Apache-2.0 */
/* cpuinfo.c: /proc/cpuinfo: one processor, its fields and flags from CPUID, in Linux's format and order. */
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/fmt.h>
#include <libos/heap.h>
#include <libos/string.h>
#include <libos/time.h>
#include <libos/vfs.h>
#include <libos/x86.h>

/* CPUID registers as the flag table names them. */
enum reg { EAX, EBX, ECX, EDX };

/* Linux's flag names (arch/x86/include/asm/cpufeatures.h) in its word order: leaf 1 EDX,
 * 0x80000001 EDX, leaf 1 ECX, 0x80000001 ECX, leaf 7 EBX, 0xd.1 EAX, 7.1 EAX, 7 ECX, 7 EDX.
 * Linux's synthetic flags (constant_tsc, rep_good...) are not listed: they describe its
 * own choices. */
static const struct flag {
    u32 leaf, sub;
    u8 reg, bit;
    const char *name;
} flags[] = {
    {1, 0, EDX, 0, "fpu"}, {1, 0, EDX, 1, "vme"}, {1, 0, EDX, 2, "de"}, {1, 0, EDX, 3, "pse"},
    {1, 0, EDX, 4, "tsc"}, {1, 0, EDX, 5, "msr"}, {1, 0, EDX, 6, "pae"}, {1, 0, EDX, 7, "mce"},
    {1, 0, EDX, 8, "cx8"}, {1, 0, EDX, 9, "apic"}, {1, 0, EDX, 11, "sep"}, {1, 0, EDX, 12, "mtrr"},
    {1, 0, EDX, 13, "pge"}, {1, 0, EDX, 14, "mca"}, {1, 0, EDX, 15, "cmov"}, {1, 0, EDX, 16, "pat"},
    {1, 0, EDX, 17, "pse36"}, {1, 0, EDX, 18, "pn"}, {1, 0, EDX, 19, "clflush"}, {1, 0, EDX, 21, "dts"},
    {1, 0, EDX, 22, "acpi"}, {1, 0, EDX, 23, "mmx"}, {1, 0, EDX, 24, "fxsr"}, {1, 0, EDX, 25, "sse"},
    {1, 0, EDX, 26, "sse2"}, {1, 0, EDX, 27, "ss"}, {1, 0, EDX, 28, "ht"}, {1, 0, EDX, 29, "tm"},
    {1, 0, EDX, 31, "pbe"},
    {0x80000001, 0, EDX, 11, "syscall"}, {0x80000001, 0, EDX, 19, "mp"}, {0x80000001, 0, EDX, 20, "nx"},
    {0x80000001, 0, EDX, 22, "mmxext"}, {0x80000001, 0, EDX, 25, "fxsr_opt"},
    {0x80000001, 0, EDX, 26, "pdpe1gb"}, {0x80000001, 0, EDX, 27, "rdtscp"}, {0x80000001, 0, EDX, 29, "lm"},
    {0x80000001, 0, EDX, 30, "3dnowext"}, {0x80000001, 0, EDX, 31, "3dnow"},
    {1, 0, ECX, 0, "pni"}, {1, 0, ECX, 1, "pclmulqdq"}, {1, 0, ECX, 2, "dtes64"}, {1, 0, ECX, 3, "monitor"},
    {1, 0, ECX, 4, "ds_cpl"}, {1, 0, ECX, 5, "vmx"}, {1, 0, ECX, 6, "smx"}, {1, 0, ECX, 7, "est"},
    {1, 0, ECX, 8, "tm2"}, {1, 0, ECX, 9, "ssse3"}, {1, 0, ECX, 10, "cid"}, {1, 0, ECX, 11, "sdbg"},
    {1, 0, ECX, 12, "fma"}, {1, 0, ECX, 13, "cx16"}, {1, 0, ECX, 14, "xtpr"}, {1, 0, ECX, 15, "pdcm"},
    {1, 0, ECX, 17, "pcid"}, {1, 0, ECX, 18, "dca"}, {1, 0, ECX, 19, "sse4_1"}, {1, 0, ECX, 20, "sse4_2"},
    {1, 0, ECX, 21, "x2apic"}, {1, 0, ECX, 22, "movbe"}, {1, 0, ECX, 23, "popcnt"},
    {1, 0, ECX, 24, "tsc_deadline_timer"}, {1, 0, ECX, 25, "aes"}, {1, 0, ECX, 26, "xsave"},
    {1, 0, ECX, 28, "avx"}, {1, 0, ECX, 29, "f16c"}, {1, 0, ECX, 30, "rdrand"}, {1, 0, ECX, 31, "hypervisor"},
    {0x80000001, 0, ECX, 0, "lahf_lm"}, {0x80000001, 0, ECX, 1, "cmp_legacy"}, {0x80000001, 0, ECX, 2, "svm"},
    {0x80000001, 0, ECX, 3, "extapic"}, {0x80000001, 0, ECX, 4, "cr8_legacy"}, {0x80000001, 0, ECX, 5, "abm"},
    {0x80000001, 0, ECX, 6, "sse4a"}, {0x80000001, 0, ECX, 7, "misalignsse"},
    {0x80000001, 0, ECX, 8, "3dnowprefetch"}, {0x80000001, 0, ECX, 9, "osvw"}, {0x80000001, 0, ECX, 10, "ibs"},
    {0x80000001, 0, ECX, 11, "xop"}, {0x80000001, 0, ECX, 12, "skinit"}, {0x80000001, 0, ECX, 13, "wdt"},
    {0x80000001, 0, ECX, 15, "lwp"}, {0x80000001, 0, ECX, 16, "fma4"}, {0x80000001, 0, ECX, 17, "tce"},
    {0x80000001, 0, ECX, 19, "nodeid_msr"}, {0x80000001, 0, ECX, 21, "tbm"}, {0x80000001, 0, ECX, 22, "topoext"},
    {0x80000001, 0, ECX, 23, "perfctr_core"}, {0x80000001, 0, ECX, 24, "perfctr_nb"},
    {0x80000001, 0, ECX, 26, "bpext"}, {0x80000001, 0, ECX, 27, "ptsc"}, {0x80000001, 0, ECX, 28, "perfctr_llc"},
    {0x80000001, 0, ECX, 29, "mwaitx"},
    {7, 0, EBX, 0, "fsgsbase"}, {7, 0, EBX, 1, "tsc_adjust"}, {7, 0, EBX, 2, "sgx"}, {7, 0, EBX, 3, "bmi1"},
    {7, 0, EBX, 4, "hle"}, {7, 0, EBX, 5, "avx2"}, {7, 0, EBX, 7, "smep"}, {7, 0, EBX, 8, "bmi2"},
    {7, 0, EBX, 9, "erms"}, {7, 0, EBX, 10, "invpcid"}, {7, 0, EBX, 11, "rtm"}, {7, 0, EBX, 12, "cqm"},
    {7, 0, EBX, 15, "rdt_a"}, {7, 0, EBX, 16, "avx512f"}, {7, 0, EBX, 17, "avx512dq"},
    {7, 0, EBX, 18, "rdseed"}, {7, 0, EBX, 19, "adx"}, {7, 0, EBX, 20, "smap"}, {7, 0, EBX, 21, "avx512ifma"},
    {7, 0, EBX, 23, "clflushopt"}, {7, 0, EBX, 24, "clwb"}, {7, 0, EBX, 25, "intel_pt"},
    {7, 0, EBX, 26, "avx512pf"}, {7, 0, EBX, 27, "avx512er"}, {7, 0, EBX, 28, "avx512cd"},
    {7, 0, EBX, 29, "sha_ni"}, {7, 0, EBX, 30, "avx512bw"}, {7, 0, EBX, 31, "avx512vl"},
    {0xd, 1, EAX, 0, "xsaveopt"}, {0xd, 1, EAX, 1, "xsavec"}, {0xd, 1, EAX, 2, "xgetbv1"},
    {0xd, 1, EAX, 3, "xsaves"},
    {7, 1, EAX, 4, "avx_vnni"}, {7, 1, EAX, 5, "avx512_bf16"},
    {7, 0, ECX, 1, "avx512vbmi"}, {7, 0, ECX, 2, "umip"}, {7, 0, ECX, 5, "waitpkg"},
    {7, 0, ECX, 6, "avx512_vbmi2"}, {7, 0, ECX, 8, "gfni"}, {7, 0, ECX, 9, "vaes"},
    {7, 0, ECX, 10, "vpclmulqdq"}, {7, 0, ECX, 11, "avx512_vnni"}, {7, 0, ECX, 12, "avx512_bitalg"},
    {7, 0, ECX, 14, "avx512_vpopcntdq"}, {7, 0, ECX, 22, "rdpid"}, {7, 0, ECX, 25, "cldemote"},
    {7, 0, ECX, 27, "movdiri"}, {7, 0, ECX, 28, "movdir64b"}, {7, 0, ECX, 29, "enqcmd"},
    {7, 0, EDX, 2, "avx512_4vnniw"}, {7, 0, EDX, 3, "avx512_4fmaps"}, {7, 0, EDX, 4, "fsrm"},
    {7, 0, EDX, 8, "avx512_vp2intersect"}, {7, 0, EDX, 10, "md_clear"}, {7, 0, EDX, 14, "serialize"},
    {7, 0, EDX, 16, "tsxldtrk"}, {7, 0, EDX, 22, "amx_bf16"}, {7, 0, EDX, 23, "avx512_fp16"},
    {7, 0, EDX, 24, "amx_tile"}, {7, 0, EDX, 25, "amx_int8"}, {7, 0, EDX, 28, "flush_l1d"},
    {7, 0, EDX, 29, "arch_capabilities"},
};

static u32 reg_of(struct cpuid_regs r, enum reg which)
{
    return which == EAX ? r.eax : which == EBX ? r.ebx : which == ECX ? r.ecx : r.edx;
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Linux clears what the kernel did not enable: the AVX family without YMM state in XCR0,
 * AVX-512 and AMX without their states, SMAP when off (TCG here), UMIP when off. */
static bool enabled(const char *name)
{
    u64 xcr0 = cpu_features.xcr0;
    if (starts_with(name, "avx512"))
        return (xcr0 & 0xe6) == 0xe6;
    if (starts_with(name, "amx"))
        return (xcr0 & 0x60000) == 0x60000;
    if (!strcmp(name, "avx") || !strcmp(name, "avx2") || !strcmp(name, "fma") || !strcmp(name, "f16c") ||
        !strcmp(name, "vaes") || !strcmp(name, "vpclmulqdq") || !strcmp(name, "avx_vnni"))
        return (xcr0 & 0x6) == 0x6;
    if (!strcmp(name, "smap"))
        return cpu_features.smap;
    if (!strcmp(name, "umip"))
        return cpu_features.umip;
    return true;
}

static bool has_flag(const struct flag *f, u32 max_basic, u32 max_ext)
{
    if (f->leaf >= 0x80000000 ? f->leaf > max_ext : f->leaf > max_basic)
        return false;
    if (f->leaf == 7 && f->sub > cpuid(7, 0).eax)
        return false;
    return (reg_of(cpuid(f->leaf, f->sub), f->reg) >> f->bit & 1) && enabled(f->name);
}

/* The brand string without Linux's trimmed leading and trailing blanks. */
static void brand(char out[49], u32 max_ext)
{
    out[0] = 0;
    if (max_ext < 0x80000004)
        return;
    char raw[49];
    for (u32 i = 0; i < 3; i++) {
        struct cpuid_regs r = cpuid(0x80000002 + i, 0);
        memcpy(raw + 16 * i, &r.eax, 4);
        memcpy(raw + 16 * i + 4, &r.ebx, 4);
        memcpy(raw + 16 * i + 8, &r.ecx, 4);
        memcpy(raw + 16 * i + 12, &r.edx, 4);
    }
    raw[48] = 0;
    const char *p = raw;
    while (*p == ' ')
        p++;
    strlcpy(out, p, 49);
    for (size_t n = strlen(out); n && (out[n - 1] == ' ' || out[n - 1] == 0); n--)
        out[n - 1] = 0;
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = kvsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len = MIN(b->len + n, b->cap - 1);
}

static void generate(struct buf *b)
{
    struct cpuid_regs l0 = cpuid(0, 0), l1 = cpuid(1, 0);
    u32 max_ext = cpuid(0x80000000, 0).eax;
    char vendor[13], name[49];
    memcpy(vendor, &l0.ebx, 4);
    memcpy(vendor + 4, &l0.edx, 4);
    memcpy(vendor + 8, &l0.ecx, 4);
    vendor[12] = 0;
    brand(name, max_ext);
    u32 family = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf;
    if (family == 0xf)
        family += (l1.eax >> 20) & 0xff;
    if (family >= 6)
        model += ((l1.eax >> 16) & 0xf) << 4;
    u64 khz = time_tsc_hz() / 1000;
    u32 clflush = ((l1.ebx >> 8) & 0xff) * 8;
    put(b, "processor\t: 0\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\nmodel name\t: %s\n", vendor,
        family, model, name[0] ? name : "unknown");
    put(b, "stepping\t: %u\ncpu MHz\t\t: %lu.%03lu\n", l1.eax & 0xf, khz / 1000, khz % 1000);
    if (max_ext >= 0x80000006)
        put(b, "cache size\t: %u KB\n", cpuid(0x80000006, 0).ecx >> 16);
    put(b, "physical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 0\n"
           "initial apicid\t: 0\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\nflags\t\t:",
        l0.eax);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (has_flag(&flags[i], l0.eax, max_ext))
            put(b, " %s", flags[i].name);
    /* bogomips: Linux's calibrated delay loop gives twice the clock in MHz. */
    put(b, "\nbugs\t\t:\nbogomips\t: %lu.%02lu\nclflush size\t: %u\ncache_alignment\t: %u\n", khz * 2 / 1000,
        khz * 2 % 1000 / 10, clflush, clflush);
    if (max_ext >= 0x80000008) {
        u32 a = cpuid(0x80000008, 0).eax;
        put(b, "address sizes\t: %u bits physical, %u bits virtual\n", a & 0xff, (a >> 8) & 0xff);
    }
    put(b, "power management:\n\n");
}

/* Made at the first read, not at boot: it needs the TSC frequency (a calibration). */
static const char *text(size_t *len)
{
    static char *cached;
    static size_t cached_len;
    if (!cached) {
        struct buf b = {kmalloc(4096), 0, 4096};
        if (!b.p)
            return NULL;
        generate(&b);
        cached = b.p, cached_len = b.len;
    }
    *len = cached_len;
    return cached;
}

static long cpuinfo_pread(struct file *f, void *buf, size_t n, u64 off)
{
    (void)f;
    size_t len;
    const char *t = text(&len);
    return t ? kfile_pread_text(t, len, buf, n, off) : -ENOMEM;
}

const struct file_ops procfs_cpuinfo_ops = {
    .read = kfile_read_at_pos,
    .pread = cpuinfo_pread,
    .write = kfile_write_eio,
    .seekable = true,
};
