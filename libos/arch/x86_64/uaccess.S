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
	movq %rdx, %rcx
	shrq $3, %rcx		/* whole quadwords first: under QEMU's TCG each iteration */
	andl $7, %edx		/* of a rep string op costs a translated-block run, so a */
	USER_OPEN		/* page is 512 of them instead of 4096 (ERMS hardware: equal) */
	rep movsq
	movq %rdx, %rcx
	rep movsb
	USER_CLOSE
	xorl %eax, %eax
	ret

/* long uaccess_zero(void *dst, size_t n): 0 or -EFAULT. */
	.globl uaccess_zero
uaccess_zero:
	movq %rsi, %rcx
	shrq $3, %rcx		/* quadwords first, as uaccess_copy */
	andl $7, %esi
	xorl %eax, %eax
	USER_OPEN
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
