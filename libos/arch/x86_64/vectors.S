/* SPDX-License-Identifier: Apache-2.0 */
/* vectors.S: the 256 interrupt/exception entry stubs and the common return path to any ring.
 *
 * Each stub pushes a dummy error code where the CPU pushes none, then the vector,
 * so every frame has the struct regs layout. swapgs runs only when the interrupted
 * code was ring 3 (saved CS RPL == 3): in the kernel GS already holds the per-CPU
 * block, and swapping again would hand it to the app.
 */
#include <libos/cpu.h>
#include <libos/regs.h>
#include "frame.inc"

	.text
	.altmacro

.macro STUB vec
	.balign 16
vector_stub_\vec:
	/* Vectors 8, 10-14, 17, 21, 29, 30 get an error code from the CPU. */
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
.endm

.macro STUB_ADDR vec
	.quad vector_stub_\vec
.endm

	.set i, 0
	.rept 256
	STUB %i
	.set i, i + 1
	.endr

trap_common:
	/* Stack: vector, error, rip, cs (+24), rflags, rsp, ss. */
	testb $3, 24(%rsp)
	jz 1f
	swapgs
1:	PUSH_GPRS
	cld
	/* RFLAGS.AC off: a program (or an interrupted uaccess copy) may have set it,
	 * and with SMAP it would let the handler touch user pages. popfq works on
	 * every CPU, clac only on those with SMAP. */
	pushfq
	andq $~0x40000, (%rsp)
	popfq
	movq %rsp, %rdi
	call trap_dispatch

	/* The one return path to ring 3 through IRETQ (traps, interrupts, slow syscall
	 * exits, a new thread's first run): the return work of task.h runs here, with
	 * interrupts off, on the frame we are about to restore. */
	.globl trap_return
trap_return:
	testb $3, REGS_GPR_BYTES + 24(%rsp) /* saved CS: back to ring 3? */
	jz 2f
	movq current(%rip), %rax
	cmpl $0, TASK_WORK_OFFSET(%rax)
	jz 1f
	movq %rsp, %rdi
	call task_return_work
1:	POP_GPRS
	addq $16, %rsp          /* vector and error code */
	swapgs
	iretq
2:	POP_GPRS
	addq $16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl vector_stubs
vector_stubs:
	.set i, 0
	.rept 256
	STUB_ADDR %i
	.set i, i + 1
	.endr

	.section .note.GNU-stack, "", @progbits
