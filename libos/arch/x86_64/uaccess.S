/* SPDX-License-Identifier: Apache-2.0 */
/* uaccess.S: memory copies that survive a page fault on a bad application pointer.
 *
 * The page-fault handler (trap.c) first tries to populate the page (demand
 * paging). If that fails and the faulting RIP lies between uaccess_begin and
 * uaccess_end, it resumes at uaccess_fault, which returns -EFAULT to the caller.
 * These functions are leaves that never touch the stack between the possible
 * fault and the return, so the fixup needs no unwinding.
 */
#define EFAULT 14

	.text
	.globl uaccess_begin, uaccess_end, uaccess_fault

uaccess_begin:
/* long uaccess_copy(void *dst, const void *src, size_t n): 0 or -EFAULT. */
	.globl uaccess_copy
uaccess_copy:
	movq %rdx, %rcx
	rep movsb
	xorl %eax, %eax
	ret

/* long uaccess_zero(void *dst, size_t n): 0 or -EFAULT. */
	.globl uaccess_zero
uaccess_zero:
	movq %rsi, %rcx
	xorl %eax, %eax
	rep stosb
	ret

/* long uaccess_strnlen(const char *s, size_t max): length (max if no NUL) or -EFAULT. */
	.globl uaccess_strnlen
uaccess_strnlen:
	xorl %eax, %eax
1:	cmpq %rsi, %rax
	jae 2f
	cmpb $0, (%rdi,%rax)
	je 2f
	incq %rax
	jmp 1b
2:	ret

uaccess_fault:
	movq $-EFAULT, %rax
	ret
uaccess_end:

	.section .note.GNU-stack, "", @progbits
