/* SPDX-License-Identifier: Apache-2.0 */
/* signal_frame.c: Linux x86-64's rt_sigframe (siginfo, ucontext, XSAVE fpstate) for a handler, and rt_sigreturn.
 *
 * The kernel never touches vector registers (-mgeneral-regs-only), so the
 * thread's FPU state is live in the CPU while we run: XSAVE (FXSAVE without
 * XSAVE) goes into a kernel buffer and from there to the user frame; the way
 * back copies into the buffer, checks it, and XRSTORs it. A check in the kernel
 * buffer means a forged fpstate can never make XRSTOR fault in ring 0.
 */
#include <libos/cpu.h>
#include <libos/errno.h>
#include <libos/log.h>
#include <libos/memlayout.h>
#include <libos/string.h>
#include <libos/task.h>
#include <libos/uaccess.h>
#include <libos/x86.h>

#include "signal_internal.h"

#define REDZONE 128
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define FXSAVE_SIZE 512
#define XSAVE_HDR_SIZE 64
#define SW_RESERVED_OFF 464
#define MXCSR_OFF 24
#define MXCSR_MASK_OFF 28
#define FPBUF_MAX 8192
#define XFEATURE_FPSSE 0x3ul

#define RF_CF 0x1ul
#define RF_PF 0x4ul
#define RF_AF 0x10ul
#define RF_ZF 0x40ul
#define RF_SF 0x80ul
#define RF_TF 0x100ul
#define RF_DF 0x400ul
#define RF_OF 0x800ul
#define RF_RF 0x10000ul
#define RF_AC 0x40000ul
/* Linux's FIX_EFLAGS: the only RFLAGS bits a frame may set; IOPL, NT, VM, IF and
 * the rest keep the kernel's values. */
#define FIX_EFLAGS (RF_AC | RF_OF | RF_DF | RF_TF | RF_SF | RF_ZF | RF_AF | RF_PF | RF_CF | RF_RF)

struct sigcontext64 {
    u64 r8, r9, r10, r11, r12, r13, r14, r15;
    u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    u16 cs, gs, fs, ss;
    u64 err, trapno, oldmask, cr2;
    u64 fpstate;
    u64 reserved1[8];
};
_Static_assert(sizeof(struct sigcontext64) == 256, "x86-64 struct sigcontext");

struct kucontext {
    u64 uc_flags;
    u64 uc_link;
    struct k_stack_t uc_stack;
    struct sigcontext64 uc_mcontext;
    u64 uc_sigmask;
};
_Static_assert(sizeof(struct kucontext) == 304, "x86-64 kernel struct ucontext");

struct rt_sigframe {
    u64 pretcode;
    struct kucontext uc;
    struct ksiginfo info;
};
_Static_assert(sizeof(struct rt_sigframe) == 440, "x86-64 struct rt_sigframe");

struct fpx_sw_bytes {
    u32 magic1, extended_size;
    u64 xfeatures;
    u32 xstate_size;
    u32 padding[7];
};
_Static_assert(sizeof(struct fpx_sw_bytes) == 48, "struct _fpx_sw_bytes");

static u8 fpbuf[FPBUF_MAX] __attribute__((aligned(64)));
static u32 fp_bytes;   /* XSAVE area size for XCR0 (CPUID 0xD.0:EBX), or 512 */
static u32 mxcsr_mask; /* the MXCSR bits this CPU accepts */

static u32 fp_size(void)
{
    if (!fp_bytes) {
        fp_bytes = FXSAVE_SIZE;
        if (cpu_features.xsave) {
            u32 n = cpuid(0xd, 0).ebx;
            if (n >= FXSAVE_SIZE + XSAVE_HDR_SIZE && n <= FPBUF_MAX)
                fp_bytes = n;
            else
                kinfo("signal: XSAVE area of %u bytes does not fit the signal buffer", n);
        }
    }
    return fp_bytes;
}

static bool use_xsave(void) { return fp_size() > FXSAVE_SIZE; }

/* The live FPU state into fpbuf (standard, non-compacted format). */
static void fpu_save(void)
{
    memset(fpbuf, 0, fp_size());
    if (use_xsave()) {
        u64 m = cpu_features.xcr0;
        __asm__ volatile("xsave64 %0" : "+m"(fpbuf) : "a"((u32)m), "d"((u32)(m >> 32)));
    } else {
        __asm__ volatile("fxsave64 %0" : "+m"(fpbuf));
    }
    if (!mxcsr_mask) {
        memcpy(&mxcsr_mask, fpbuf + MXCSR_MASK_OFF, 4);
        if (!mxcsr_mask)
            mxcsr_mask = 0xffbf; /* the architectural default when the field is 0 */
    }
}

/* fpbuf into the CPU. The caller checked it (MXCSR, header), so this cannot fault. */
static void fpu_load(void)
{
    if (use_xsave()) {
        u64 m = cpu_features.xcr0;
        __asm__ volatile("xrstor64 %0" ::"m"(fpbuf), "a"((u32)m), "d"((u32)(m >> 32)));
    } else {
        __asm__ volatile("fxrstor64 %0" ::"m"(fpbuf));
    }
}

/* The handler starts with the init FPU state, as on Linux (FCW 0x37f, MXCSR 0x1f80, vectors 0). */
static void fpu_init_state(void)
{
    memset(fpbuf, 0, fp_size());
    u16 fcw = 0x37f;
    u32 mxcsr = 0x1f80;
    memcpy(fpbuf, &fcw, 2);
    memcpy(fpbuf + MXCSR_OFF, &mxcsr, 4);
    fpu_load(); /* XSTATE_BV 0: every component in its init state */
}

long signal_frame_setup(struct regs *r, int sig, const struct ksiginfo *info,
                        const struct k_sigaction *ka, u64 oldmask)
{
    struct k_stack_t *alt = &current->sig.altstack;
    u64 sp = r->rsp;
    bool nested = signal_on_altstack(sp), entering = false;
    sp -= REDZONE;
    if ((ka->flags & SA_ONSTACK) && !nested && !(alt->flags & SS_DISABLE) && alt->size) {
        sp = alt->sp + alt->size;
        entering = true;
    }
    if (!(ka->flags & SA_RESTORER))
        return -EFAULT; /* x86-64 has no kernel-provided return trampoline */
    if (ka->handler >= USER_MAP_TOP)
        return -EFAULT; /* IRETQ there would fault in ring 0; Linux's program dies of SIGSEGV */
    u32 fsize = fp_size(), fextra = use_xsave() ? 4 : 0;
    u64 fp = (sp - fsize - fextra) & ~63ul;
    sp = ((fp - sizeof(struct rt_sigframe)) & ~15ul) - 8; /* as after a CALL */
    if ((nested || entering) && !signal_on_altstack(sp))
        return -EFAULT; /* the alternate stack overflowed */
    if (sp >= r->rsp && !entering)
        return -EFAULT; /* wrapped around */

    struct rt_sigframe f;
    memset(&f, 0, sizeof(f));
    f.pretcode = ka->restorer;
    f.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (use_xsave() ? UC_FP_XSTATE : 0);
    f.uc.uc_stack = *alt;
    if (!alt->size)
        f.uc.uc_stack.flags = SS_DISABLE;
    struct sigcontext64 *sc = &f.uc.uc_mcontext;
    sc->r8 = r->r8, sc->r9 = r->r9, sc->r10 = r->r10, sc->r11 = r->r11;
    sc->r12 = r->r12, sc->r13 = r->r13, sc->r14 = r->r14, sc->r15 = r->r15;
    sc->rdi = r->rdi, sc->rsi = r->rsi, sc->rbp = r->rbp, sc->rbx = r->rbx;
    sc->rdx = r->rdx, sc->rax = r->rax, sc->rcx = r->rcx, sc->rsp = r->rsp;
    sc->rip = r->rip, sc->eflags = r->rflags;
    sc->cs = (u16)r->cs, sc->ss = (u16)r->ss;
    if (r->vector < 32) {
        sc->trapno = r->vector;
        sc->err = r->error;
        if (r->vector == 14)
            sc->cr2 = info->u.fault.addr;
    }
    sc->oldmask = oldmask;
    sc->fpstate = fp;
    f.uc.uc_sigmask = oldmask;
    f.info = *info;

    fpu_save();
    if (use_xsave()) {
        struct fpx_sw_bytes sw = {.magic1 = FP_XSTATE_MAGIC1,
                                  .extended_size = fsize + 4,
                                  .xfeatures = cpu_features.xcr0,
                                  .xstate_size = fsize};
        memcpy(fpbuf + SW_RESERVED_OFF, &sw, sizeof(sw));
        u32 magic2 = FP_XSTATE_MAGIC2;
        if (copy_to_user(fp + fsize, &magic2, 4) < 0)
            return -EFAULT;
    }
    if (copy_to_user(fp, fpbuf, fsize) < 0 || copy_to_user(sp, &f, sizeof(f)) < 0)
        return -EFAULT;

    if (alt->flags & SS_AUTODISARM)
        *alt = (struct k_stack_t){.flags = SS_DISABLE};
    r->rdi = (u64)sig;
    r->rsi = sp + __builtin_offsetof(struct rt_sigframe, info);
    r->rdx = sp + __builtin_offsetof(struct rt_sigframe, uc);
    r->rax = 0;
    r->rsp = sp;
    r->rip = ka->handler;
    r->cs = SEL_USER_CS;
    r->ss = SEL_USER_DS;
    r->rflags &= ~(RF_DF | RF_RF | RF_TF);
    fpu_init_state();
    return 0;
}

/* fpstate from the frame into fpbuf, checked: false for a forged one. */
static bool fpu_fetch(u64 ufp, u64 uc_flags)
{
    u32 fsize = fp_size();
    memset(fpbuf, 0, fsize);
    if (copy_from_user(fpbuf, ufp, FXSAVE_SIZE) < 0)
        return false;
    if (use_xsave()) {
        struct fpx_sw_bytes sw;
        memcpy(&sw, fpbuf + SW_RESERVED_OFF, sizeof(sw));
        u32 magic2 = 0;
        bool xs = (uc_flags & UC_FP_XSTATE) && sw.magic1 == FP_XSTATE_MAGIC1 &&
                  sw.xstate_size >= FXSAVE_SIZE + XSAVE_HDR_SIZE && sw.xstate_size <= fsize &&
                  sw.xstate_size <= sw.extended_size &&
                  copy_from_user(&magic2, ufp + sw.xstate_size, 4) == 0 &&
                  magic2 == FP_XSTATE_MAGIC2;
        u64 bv = XFEATURE_FPSSE;
        if (xs) {
            /* Linux: without both magics only the legacy area counts. */
            if (copy_from_user(fpbuf, ufp, sw.xstate_size) < 0)
                return false;
            u64 hdr[8];
            memcpy(hdr, fpbuf + FXSAVE_SIZE, sizeof(hdr));
            for (int i = 1; i < 8; i++)
                if (hdr[i])
                    return false; /* XCOMP_BV and reserved bytes: XRSTOR would #GP */
            if (hdr[0] & ~cpu_features.xcr0)
                return false;
            bv = hdr[0] & (sw.xfeatures | XFEATURE_FPSSE);
        } else {
            memset(fpbuf + FXSAVE_SIZE, 0, fsize - FXSAVE_SIZE);
        }
        memcpy(fpbuf + FXSAVE_SIZE, &bv, sizeof(bv));
    }
    u32 mxcsr;
    memcpy(&mxcsr, fpbuf + MXCSR_OFF, 4);
    return !(mxcsr & ~mxcsr_mask);
}

static __noreturn void bad_frame(const struct regs *r, const char *why)
{
    kinfo("rt_sigreturn: forged or corrupt signal frame (%s) at rsp 0x%lx: SIGSEGV", why, r->rsp);
    signal_fatal(SIGSEGV, 0, r->rip, "rt_sigreturn-bad-frame");
}

long signal_return(struct regs *r)
{
    u64 frame = r->rsp - 8; /* the handler's RET popped pretcode */
    struct kucontext uc;
    if (copy_from_user(&uc, frame + 8, sizeof(uc)) < 0)
        bad_frame(r, "unreadable");
    const struct sigcontext64 *sc = &uc.uc_mcontext;
    if (sc->rip >= USER_MAP_TOP || sc->rsp >= USER_TOP)
        bad_frame(r, "rip or rsp outside user space");
    u64 ss = (uc.uc_flags & UC_STRICT_RESTORE_SS) ? (u64)(sc->ss | 3) : SEL_USER_DS;
    if ((u64)(sc->cs | 3) != SEL_USER_CS || ss != SEL_USER_DS)
        bad_frame(r, "segment selectors");
    if (mxcsr_mask == 0)
        fpu_save(); /* learn the MXCSR mask */
    if (sc->fpstate) {
        if (!fpu_fetch(sc->fpstate, uc.uc_flags))
            bad_frame(r, "fpstate");
        fpu_load();
    } else {
        fpu_init_state(); /* Linux: no fpstate means the init state */
    }
    r->r8 = sc->r8, r->r9 = sc->r9, r->r10 = sc->r10, r->r11 = sc->r11;
    r->r12 = sc->r12, r->r13 = sc->r13, r->r14 = sc->r14, r->r15 = sc->r15;
    r->rdi = sc->rdi, r->rsi = sc->rsi, r->rbp = sc->rbp, r->rbx = sc->rbx;
    r->rdx = sc->rdx, r->rax = sc->rax, r->rcx = sc->rcx, r->rsp = sc->rsp;
    r->rip = sc->rip;
    r->rflags = (r->rflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
    r->cs = SEL_USER_CS;
    r->ss = SEL_USER_DS;
    current->syscall_nr = -1; /* no restart processing of the sigreturn itself */
    current->restart_deadline = 0; /* Linux: nothing left for restart_syscall */
    signal_set_blocked(uc.uc_sigmask);
    /* Linux ignores errors here (the stack may be in use). */
    (void)signal_altstack(&uc.uc_stack, NULL, r->rsp);
    current->work |= TASK_WORK_SIGNAL; /* return through IRETQ: RCX and R11 are the program's */
    return (long)r->rax;
}
