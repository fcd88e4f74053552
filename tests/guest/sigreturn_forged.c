/* sigreturn_forged.c: rt_sigreturn of a forged frame (a kernel-half RIP) kills the program with SIGSEGV, nothing else.
 *
 * The frame is built by hand where no signal was delivered and rt_sigreturn is
 * entered directly. Linux restores it, returns to the kernel address and the fetch
 * faults: the program dies of SIGSEGV (status 139 under `docker run`). The library OS
 * must refuse it the same way, and survive to report it. Expected status: killed by
 * SIGSEGV (tests/boot/guest_images.py).
 */
#include "guest.h"

#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <ucontext.h>

/* What rt_sigreturn reads at the user stack pointer: the ucontext right after the
 * restorer's return address (which the restorer's `ret` has already popped). */
static struct {
    ucontext_t uc;
    siginfo_t info;
} frame __attribute__((aligned(64)));

int main(void)
{
    guest_begin();
    memset(&frame, 0, sizeof(frame));
    frame.uc.uc_stack.ss_flags = SS_DISABLE;
    sigprocmask(SIG_SETMASK, NULL, &frame.uc.uc_sigmask);
    frame.uc.uc_mcontext.gregs[REG_RIP] = (greg_t)0xffff800000001000UL; /* the kernel's half */
    frame.uc.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)&frame;
    frame.uc.uc_mcontext.gregs[REG_CSGSFS] = 0x33; /* user code selector, as it would be */
    frame.uc.uc_mcontext.gregs[REG_EFL] = 0x202;
    frame.uc.uc_mcontext.fpregs = NULL; /* no FPU state: allowed, the kernel clears it */
    CHECK("frame_built", 1);
    guest_finish();
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "mov %1, %%eax\n\t"
                     "syscall\n\t"
                     "ud2"
                     :
                     : "r"(&frame.uc), "i"(SYS_rt_sigreturn)
                     : "memory");
    return 0; /* not reached */
}
