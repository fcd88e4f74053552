/* SPDX-License-Identifier: Apache-2.0 */
/* switch.S: the kernel-stack switch between two tasks and the first-run trampolines of new ones.
 *
 * Only the callee-saved registers need saving: the switch is an ordinary C call
 * from schedule(), so the compiler already assumes everything else is clobbered.
 * The user registers are in the struct regs at the top of each task's kernel stack
 * and the FPU state is switched in C (kernel/sched.c); interrupts are off throughout.
 */

	.text

/* struct task *sched_switch_stack(u64 *save_rsp, u64 new_rsp, struct task *prev):
 * save our kernel RSP in *save_rsp, continue on new_rsp, and return prev there:
 * the resumed side learns which task it came from (to free it if it died). */
	.globl sched_switch_stack
	.balign 16
sched_switch_stack:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	movq %rdx, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* A new thread's first run: its stack holds a zeroed switch frame whose return
 * address is this, directly below its user frame (struct regs), so RSP points at
 * that frame here. Finish the switch, then leave for ring 3 the common way. */
	.globl task_user_trampoline
	.balign 16
task_user_trampoline:
	movq %rax, %rdi
	call sched_finish_switch
	jmp trap_return

/* The idle task's first run: the same, then the idle loop (never returns). */
	.globl task_idle_trampoline
	.balign 16
task_idle_trampoline:
	movq %rax, %rdi
	call sched_finish_switch
	call sched_idle_loop
	ud2

	.section .note.GNU-stack, "", @progbits
