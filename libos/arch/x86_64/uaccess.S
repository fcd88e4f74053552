/* SPDX-License-Identifier: Apache-2.0 */
/* uaccess.S: memory copies that survive a page fault on a bad application pointer.
 *
 * The page-fault handler (trap.c) first tries to populate the page (demand
 * paging). If that fails and the faulting RIP lies between uaccess_begin and
 * uaccess_end, it resumes at uaccess_fault, which returns -EFAULT to the caller.
 * These functions are leaves that never touch the stack between the possible
 * fault and the return, so the fixup needs no unwinding.
 *
 * With SMAP on (cpu.c sets uaccess_smap), these are the only places where ring 0
 * may touch user pages: stac opens the window, clac closes it on every way out
 * (uaccess_fault included). Anywhere else a kernel access to a user page faults.
 */
#define EFAULT 14

/* stac/clac only when the CPU has SMAP (they are #UD otherwise). */
.macro USER_OPEN
	testb $1, uaccess_smap(%rip)
	jz 99f
	stac
99:
.endm

.macro USER_CLOSE
	testb $1, uaccess_smap(%rip)
	jz 98f
	clac
98:
.endm

	.data
	.globl uaccess_smap
uaccess_smap:
	.byte 0

	.text
	.globl uaccess_begin, uaccess_end, uaccess_fault

uaccess_begin:
/* long uaccess_copy(void *dst, const void *src, size_t n): 0 or -EFAULT. */
	.globl uaccess_copy
uaccess_copy:
	USER_OPEN
	/* 64-byte blocks of eight quadword moves first: under QEMU's TCG each iteration
	 * of a rep string op costs a run of its translated block, so rep movsq was 512
	 * runs per 4 KiB and this loop is 64 (hardware: about as fast); then the tail
	 * with rep movsq and rep movsb, at most 7 iterations each. */
	cmpq $64, %rdx
	jb 2f
1:	movq (%rsi), %rax
	movq 8(%rsi), %rcx
	movq 16(%rsi), %r8
	movq 24(%rsi), %r9
	movq %rax, (%rdi)
	movq %rcx, 8(%rdi)
	movq %r8, 16(%rdi)
	movq %r9, 24(%rdi)
	movq 32(%rsi), %rax
	movq 40(%rsi), %rcx
	movq 48(%rsi), %r8
	movq 56(%rsi), %r9
	movq %rax, 32(%rdi)
	movq %rcx, 40(%rdi)
	movq %r8, 48(%rdi)
	movq %r9, 56(%rdi)
	addq $64, %rsi
	addq $64, %rdi
	subq $64, %rdx
	cmpq $64, %rdx
	jae 1b
2:	movq %rdx, %rcx
	shrq $3, %rcx
	andl $7, %edx
	rep movsq
	movq %rdx, %rcx
	rep movsb
	USER_CLOSE
	xorl %eax, %eax
	ret

/* long uaccess_zero(void *dst, size_t n): 0 or -EFAULT. */
	.globl uaccess_zero
uaccess_zero:
	xorl %eax, %eax
	USER_OPEN
	cmpq $64, %rsi		/* 64-byte blocks first, as uaccess_copy */
	jb 2f
1:	movq %rax, (%rdi)
	movq %rax, 8(%rdi)
	movq %rax, 16(%rdi)
	movq %rax, 24(%rdi)
	movq %rax, 32(%rdi)
	movq %rax, 40(%rdi)
	movq %rax, 48(%rdi)
	movq %rax, 56(%rdi)
	addq $64, %rdi
	subq $64, %rsi
	cmpq $64, %rsi
	jae 1b
2:	movq %rsi, %rcx
	shrq $3, %rcx
	andl $7, %esi
	rep stosq
	movq %rsi, %rcx
	rep stosb
	USER_CLOSE
	ret

/* long uaccess_strnlen(const char *s, size_t max): length (max if no NUL) or -EFAULT. */
	.globl uaccess_strnlen
uaccess_strnlen:
	xorl %eax, %eax
	USER_OPEN
1:	cmpq %rsi, %rax
	jae 2f
	cmpb $0, (%rdi,%rax)
	je 2f
	incq %rax
	jmp 1b
2:	USER_CLOSE
	ret

uaccess_fault:
	USER_CLOSE
	movq $-EFAULT, %rax
	ret
uaccess_end:

	.section .note.GNU-stack, "", @progbits
