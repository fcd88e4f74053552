/* SPDX-License-Identifier: Apache-2.0 */
/* syscall_entry.S: SYSCALL entry, SYSRET/IRETQ exit, and the first jump to ring 3.
 *
 * SYSCALL leaves RSP as the user's, RIP in RCX, RFLAGS in R11, and clears the
 * FMASK bits (IF among them), so nothing can interrupt us before the stack switch.
 * We swapgs to reach the per-CPU block, switch to the thread's kernel stack, and
 * build a struct regs identical to an interrupt frame. The return uses SYSRET
 * unless syscall_dispatch() asks for IRETQ (non-canonical RIP, changed frame):
 * SYSRET with a non-canonical RCX faults in ring 0 on the user stack (libos-design.md §4.1).
 * Pending return work (current->work: a reschedule, a signal) also takes the IRETQ
 * path, where trap_return runs it: the fast path pays one load and one OR.
 */
#include <libos/cpu.h>
#include <libos/memlayout.h>
#include <libos/regs.h>
#include "frame.inc"

/* SYSCALL_FRAME cs: from SYSCALL's state (user RSP, RIP in RCX, RFLAGS in R11,
 * interrupts off) to a struct regs on the thread's kernel stack, as an interrupt
 * frame with code segment cs would be. */
.macro SYSCALL_FRAME cs
	swapgs
	movq %rsp, %gs:PCPU_USER_RSP
	movq %gs:PCPU_KSTACK_TOP, %rsp
	pushq $SEL_USER_DS
	pushq %gs:PCPU_USER_RSP
	pushq %r11              /* user RFLAGS */
	pushq \cs
	pushq %rcx              /* user RIP */
	pushq $0                /* error code */
	pushq $REGS_VECTOR_SYSCALL
	PUSH_GPRS
.endm

	.section .text.hot, "ax"
	.globl syscall_entry
	.balign 64
syscall_entry:
	SYSCALL_FRAME $SEL_USER_CS
	movq %rsp, %rdi
	call syscall_dispatch
	movq current(%rip), %rcx
	orl TASK_WORK_OFFSET(%rcx), %eax
	jnz trap_return         /* iretq asked for, or return work (task.h): full restore */

	POP_GPRS
	addq $16, %rsp          /* vector, error */
	movq 0(%rsp), %rcx      /* RIP for SYSRET */
	movq 16(%rsp), %r11     /* RFLAGS for SYSRET */
	movq 24(%rsp), %rsp     /* user stack; interrupts stay off until sysretq */
	swapgs
	sysretq

/* compat_syscall_entry: SYSCALL from compatibility mode (MSR_CSTAR). There is no
 * 32-bit user code, so only a hostile program gets here: switch to the kernel
 * stack with the same frame (RSP is the user's, interrupts are off) and kill it. */
	.text
	.globl compat_syscall_entry
	.balign 16
compat_syscall_entry:
	SYSCALL_FRAME $SEL_USER_CS32
	cld
	movq %rsp, %rdi
	call compat_syscall_fault
	ud2

/* cpu_enter_user_frame(struct regs *frame): load a complete user frame and iretq. */
	.globl cpu_enter_user_frame
cpu_enter_user_frame:
	movq %rdi, %rsp
	jmp trap_return

	.section .note.GNU-stack, "", @progbits
