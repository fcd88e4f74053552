/* floor.S: the smallest PVH guest: one byte on COM1, then exit through isa-debug-exit.
 *
 * It is the boot-time floor of the benchmarks: QEMU's own start-up and teardown
 * with the same flags as `dock2uni run`, plus nothing. QEMU enters it in 32-bit
 * protected mode at the address of the XEN_ELFNOTE_PHYS32_ENTRY note (PVH boot
 * ABI); the note must sit in a PT_NOTE segment (floor.ld), or QEMU ignores it.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

	.section .note.Xen, "a"
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz: a 32-bit entry address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.long pvh_start

	.section .text, "ax"
	.code32
	.globl pvh_start
pvh_start:
	/* the marker the harness waits for: the transmit register needs no set-up under QEMU */
	movw $COM1, %dx
	movb $'!', %al
	outb %al, %dx
	/* QEMU exits with status (0 << 1) | 1 = 1 */
	movw $DEBUG_EXIT, %dx
	xorl %eax, %eax
	outl %eax, %dx
1:	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
