/* SPDX-License-Identifier: Apache-2.0 */
/* entry.S: PVH boot entry: the Xen ELF note, 32-bit start, switch to long mode, jump to kmain.
 *
 * The hypervisor (QEMU microvm, Firecracker >= 1.12) finds the entry point in the
 * XEN_ELFNOTE_PHYS32_ENTRY note of a PT_NOTE segment and starts us as the Xen PVH
 * spec (docs/misc/pvh.html) says: 32-bit protected mode, paging off, flat 4 GiB
 * CS/DS/ES/SS, interrupts off, no usable stack, and %ebx holding the physical
 * address of struct hvm_start_info. The GDT the firmware used may be gone.
 * We cannot run C until we are in long mode, so this file:
 *   1. loads its own GDT (64-bit code at 0x08, data at 0x10; the final GDT in
 *      gdt.c keeps these two selectors),
 *   2. builds temporary page tables mapping the first 1 GiB three times: identity
 *      (we are executing there), the direct map and the higher-half kernel window,
 *   3. enables PAE, EFER.LME (+NXE), paging, and far-jumps into 64-bit code,
 *   4. jumps to the higher half, zeroes .bss, sets the boot stack and calls
 *      kmain(start_info_phys).
 * docs/boot.md describes the same steps for readers.
 */
#include <libos/memlayout.h>

/* Physical address of a kernel symbol: the image is linked at KERNEL_VBASE + phys. */
#define PHYS(x) ((x) - KERNEL_VBASE)

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80

/* The PVH note. QEMU reads the descriptor of a 64-bit ELF note as a 64-bit value
 * located after the name padded to the segment's p_align, so the section stays
 * 4-byte aligned and the descriptor is a .quad (as Linux does). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f
	.long 4f - 3f
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.quad PHYS(pvh_start32)
4:	.balign 4

	.section .boot.text, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	/* %ebx is needed by cpuid below; keep the start_info pointer in %esi until C. */
	mov %ebx, %esi

	/* Our own GDT: the firmware's may live in memory we are about to reuse. */
	lgdt PHYS(boot_gdtr)
	mov $SEL_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss

	/* Zero the boot page tables (NOLOAD section: contents are not guaranteed). */
	mov $PHYS(boot_pml4), %edi
	mov $(BOOT_PT_BYTES / 4), %ecx
	xor %eax, %eax
	rep stosl

	/* PML4[0] (identity) and PML4[256] (direct map at 0xffff800000000000) share
	 * one PDPT; PML4[511] -> a second PDPT whose entry 510 covers 0xffffffff80000000. */
	mov $(PHYS(boot_pdpt_low) + PTE_P + PTE_W), %eax
	mov %eax, PHYS(boot_pml4)
	mov %eax, PHYS(boot_pml4) + 256 * 8
	mov $(PHYS(boot_pdpt_high) + PTE_P + PTE_W), %eax
	mov %eax, PHYS(boot_pml4) + 511 * 8
	mov $(PHYS(boot_pd) + PTE_P + PTE_W), %eax
	mov %eax, PHYS(boot_pdpt_low)
	mov %eax, PHYS(boot_pdpt_high) + 510 * 8

	/* One page directory of 512 x 2 MiB pages: physical [0, 1 GiB). */
	mov $PHYS(boot_pd), %edi
	mov $(PTE_P + PTE_W + PTE_PS), %eax
	mov $512, %ecx
1:	mov %eax, (%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 1b

	/* CR4.PAE: long mode requires PAE-format page tables. */
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4

	/* CR3: the tables above. */
	mov $PHYS(boot_pml4), %eax
	mov %eax, %cr3

	/* NX support decides whether EFER.NXE may be set (setting it without NX #GPs). */
	xor %edi, %edi
	mov $0x80000000, %eax
	cpuid
	cmp $0x80000001, %eax
	jb 2f
	mov $0x80000001, %eax
	cpuid
	bt $20, %edx
	jnc 2f
	mov $0x800, %edi        /* EFER.NXE */
2:
	/* EFER.LME: long mode becomes active when paging is turned on next. */
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax
	or %edi, %eax
	wrmsr

	/* CR0.PG activates long mode (compatibility mode until CS is reloaded);
	 * CR0.WP makes the kernel honour read-only pages too; PE stays on. */
	mov %cr0, %eax
	or $0x80010001, %eax
	mov %eax, %cr0

	/* Reload CS with the 64-bit code descriptor: now in 64-bit mode. */
	ljmp $SEL_KERNEL_CS, $PHYS(start64)

	.code64
start64:
	/* Still executing at the identity-mapped physical address: go to the higher half. */
	movabs $higher_half, %rax
	jmp *%rax

	.text
higher_half:
	mov $SEL_KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	lea boot_stack_top(%rip), %rsp

	/* .bss is zero when loaded from the ELF, but do not rely on every loader. */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	rep stosb

	mov %esi, %edi          /* kmain(start_info physical address), zero-extended */
	xor %ebp, %ebp          /* terminates frame-pointer backtraces */
	call kmain
3:	cli
	hlt
	jmp 3b

	.section .boot.rodata, "a"
	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff    /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff    /* 0x10: flat data, DPL 0 */
boot_gdt_end:
	.balign 8
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.long PHYS(boot_gdt)

	/* The boot page tables and stack: NOLOAD, not part of the zeroed .bss. */
	.section .boot.pagetables, "aw", @nobits
	.balign 4096
boot_pml4:
	.skip 4096
boot_pdpt_low:
	.skip 4096
boot_pdpt_high:
	.skip 4096
boot_pd:
	.skip 4096
	.set BOOT_PT_BYTES, 4 * 4096

	.section .bss
	.balign 4096
	.globl boot_stack_guard
boot_stack_guard:           /* unmapped by vm_init: overflowing the boot stack faults */
	.skip 4096
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
