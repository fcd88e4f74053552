/* kvm_probe.c: the accelerator probe's guest program: the steps a real program's start-up takes.
 *
 * dock2uni boots this under KVM before trusting `--accel auto` with KVM (accel.py). A
 * probe that stops at the exec of a missing file passed on hosts where no program ran:
 * the kernel's first FPU set-up and its MSR writes come only on the way to ring 3. So
 * this program goes through what libc start-up and a simple program do, in order:
 * SSE arithmetic and an XSAVE/XRSTOR (or FXSAVE) round trip in ring 3, arch_prctl
 * (the kernel writes FS_BASE), write, clock_gettime, a blocking nanosleep (woken by the
 * timer interrupt), a page fault on fresh anonymous memory, and exit_group with a
 * known code. Each line it prints is fixed, so the host compares the whole console
 * output byte for byte; a failed step prints its name and exits with a distinct code.
 *
 * Built freestanding (no libc) by accel.py: gcc -static -nostdlib -ffreestanding. */

typedef unsigned long u64;
typedef unsigned int u32;

#define SYS_write 1
#define SYS_mmap 9
#define SYS_nanosleep 35
#define SYS_arch_prctl 158
#define SYS_clock_gettime 228
#define SYS_exit_group 231
#define ARCH_SET_FS 0x1002
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define PROBE_EXIT 73 /* accel.PROBE_EXIT: the code that means every step passed */
#define SLEEP_NS 20000000L

struct timespec {
    long tv_sec, tv_nsec;
};

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static u64 str_len(const char *s)
{
    u64 n = 0;
    while (s[n])
        n++;
    return n;
}

static void say(const char *s) { sys6(SYS_write, 1, (long)s, (long)str_len(s), 0, 0, 0); }

static __attribute__((noreturn)) void leave(int code)
{
    for (;;)
        sys6(SYS_exit_group, code, 0, 0, 0, 0, 0);
}

static __attribute__((noreturn)) void fail(const char *step, int code)
{
    say("D2U-PROBE: FAIL ");
    say(step);
    say("\n");
    leave(code);
}

static long ns_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

/* The FPU state a context switch or signal saves: XSAVE where the kernel enabled it
 * (CR4.OSXSAVE, visible as CPUID.1:ECX bit 27), else FXSAVE. Both fault in ring 3 if
 * the kernel's FPU set-up is wrong. */
static int fpu_state_round_trip(void)
{
    static unsigned char area[4096] __attribute__((aligned(64)));
    u32 eax = 1, ebx, ecx = 0, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    if (ecx & (1u << 27)) {
        u32 lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 3) != 3) /* x87 and SSE state must be enabled in XCR0 */
            return 0;
        __asm__ volatile("xsave %0" : "=m"(area) : "a"(3), "d"(0) : "memory");
        __asm__ volatile("xrstor %0" ::"m"(area), "a"(3), "d"(0) : "memory");
    } else {
        __asm__ volatile("fxsave %0" : "=m"(area)::"memory");
        __asm__ volatile("fxrstor %0" ::"m"(area) : "memory");
    }
    return 1;
}

static u64 tls_block[2];

int probe_main(void)
{
    /* SSE in ring 3: volatile so the compiler cannot fold it into a constant. */
    volatile double x = 1.5, y = 3.0;
    double z = x * y + 0.25;
    if (z != 4.75)
        fail("sse", 10);
    if (!fpu_state_round_trip())
        fail("xsave", 11);

    /* arch_prctl(ARCH_SET_FS): the kernel writes FS_BASE, as for every libc's TLS. */
    tls_block[0] = (u64)tls_block;
    if (sys6(SYS_arch_prctl, ARCH_SET_FS, (long)tls_block, 0, 0, 0, 0) != 0)
        fail("arch_prctl", 12);
    u64 self;
    __asm__ volatile("movq %%fs:0, %0" : "=r"(self));
    if (self != (u64)tls_block)
        fail("fs_base", 13);
    say("D2U-PROBE: ring 3\n");

    struct timespec wall, t0, t1, nap = {0, SLEEP_NS};
    if (sys6(SYS_clock_gettime, CLOCK_REALTIME, (long)&wall, 0, 0, 0, 0) != 0 ||
        wall.tv_sec < 1500000000L)
        fail("clock_gettime", 14);
    if (sys6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&t0, 0, 0, 0, 0) != 0)
        fail("clock_gettime", 14);
    if (sys6(SYS_nanosleep, (long)&nap, 0, 0, 0, 0, 0) != 0)
        fail("nanosleep", 15);
    if (sys6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&t1, 0, 0, 0, 0) != 0)
        fail("clock_gettime", 14);
    if (ns_between(&t0, &t1) < SLEEP_NS)
        fail("timer", 16);
    say("D2U-PROBE: timer\n");

    /* Two fresh anonymous pages: the first touch of each is a page fault the kernel resolves. */
    long page = sys6(SYS_mmap, 0, 8192, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
    if (page < 0 && page > -4096)
        fail("mmap", 17);
    volatile unsigned char *p = (volatile unsigned char *)page;
    p[0] = 0x5a;
    p[4096 + 17] = 0xa5;
    if (p[0] != 0x5a || p[4096 + 17] != 0xa5 || p[100] != 0)
        fail("page_fault", 18);
    say("D2U-PROBE: ok\n");
    return PROBE_EXIT;
}

/* The entry point: the kernel enters here in ring 3 with the System V initial stack. */
__attribute__((noreturn)) void probe_start(void) { leave(probe_main()); }

__asm__(".globl _start\n"
        "_start:\n"
        "\txor %ebp, %ebp\n"
        "\tand $-16, %rsp\n"
        "\tcall probe_start\n"
        "\thlt\n");
