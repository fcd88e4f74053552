/* SPDX-License-Identifier: Apache-2.0 */
/* memlayout.h: every address and size constant of the library OS (C, asm and link.ld).
 *
 * Physical memory (QEMU microvm, PVH boot; see docs/memory-layout.md):
 *
 *   0x00000000 -- 0x00001000   page 0, never allocated (catches physical NULL bugs)
 *   0x00001000 -- 0x0009fc00   low RAM, allocatable
 *   0x000f0000 -- 0x00100000   firmware: hvm_start_info, cmdline, memmap (reserved)
 *   0x00100000 -- _kernel_end  kernel image (text, rodata, embedded rootfs, data, bss)
 *   ...        -- top of RAM   free frames; an -initrd module sits at the top, reserved
 *   0xfec00000                 IOAPIC      0xfee00000  LAPIC (mapped uncached)
 *
 * Virtual memory (4-level paging, 48-bit):
 *
 *   0x0000000000000000 -- 0x0000000000010000   never mapped (NULL guard, mmap_min_addr)
 *   0x0000000000400000 ...                     ET_EXEC programs at their link address
 *   0x0000555555554000 ...                     PIE programs (Linux ELF_ET_DYN_BASE, no ASLR)
 *                      ... 0x00007ffff7fff000  mmap area, allocated top-down
 *   0x00007fffff7ff000 -- 0x00007ffffffff000   main stack (8 MiB, demand-paged)
 *   0x00007ffffffff000 -- 0x0000800000000000   guard page: top of the lower half
 *   0xffff800000000000 + phys                  direct map of all RAM (2 MiB pages)
 *   0xffffc90000000000 ...                     thread kernel stacks, 4 KiB pages, one
 *                                              KSTACK_SLOT each with unmapped guard pages below
 *   0xffffffff80000000 + phys                  kernel image (-mcmodel=kernel)
 */
#ifndef LIBOS_MEMLAYOUT_H
#define LIBOS_MEMLAYOUT_H

#ifdef __ASSEMBLER__
#define _UL(x) x
#else
#define _UL(x) x##UL
#endif

#define PAGE_SIZE _UL(4096)
#define PAGE_SHIFT 12
#define LARGE_PAGE_SIZE _UL(0x200000)

/* Kernel image: linked at KERNEL_VBASE + phys, loaded (p_paddr) at KERNEL_PHYS_LOAD. */
#define KERNEL_VBASE _UL(0xffffffff80000000)
#define KERNEL_PHYS_LOAD _UL(0x100000)
/* The boot page tables map this much physical memory, identity and higher half. */
#define BOOT_MAPPED_BYTES _UL(0x40000000)

/* Direct map of physical memory. */
#define DIRECT_MAP_BASE _UL(0xffff800000000000)
/* The direct map covers at least this much, so MMIO below 4 GiB is reachable. */
#define DIRECT_MAP_MIN_BYTES _UL(0x100000000)
/* Physical range mapped uncached in the direct map (IOAPIC, LAPIC, firmware MMIO). */
#define MMIO_HOLE_START _UL(0xfe000000)
#define MMIO_HOLE_END _UL(0x100000000)

/* User address space (Linux x86-64 layout without ASLR). */
#define USER_MIN_ADDR _UL(0x10000)
#define USER_TOP _UL(0x0000800000000000)
/* Linux's TASK_SIZE: mappings end at or below it; the last page below USER_TOP is
 * never mapped, so no instruction there can return to a non-canonical RIP. */
#define USER_MAP_TOP _UL(0x00007ffffffff000)
#define USER_STACK_TOP _UL(0x00007ffffffff000)
#define USER_STACK_SIZE _UL(0x800000)
#define USER_MMAP_TOP _UL(0x00007ffff7fff000)
#define USER_PIE_BASE _UL(0x555555554000)

/* Kernel stacks. */
#define BOOT_STACK_SIZE _UL(16384)
#define KSTACK_SIZE _UL(32768)
#define IST_STACK_SIZE _UL(8192)
/* Thread kernel stacks (kernel/task.c): slot i spans [BASE + i * SLOT, + SLOT); its top
 * KSTACK_SIZE bytes are mapped, the pages below stay unmapped (the guard). */
#define KSTACK_REGION_BASE _UL(0xffffc90000000000)
#define KSTACK_SLOT _UL(0x10000)
#define KSTACK_SLOTS 8192

/* x86 I/O ports. */
#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define COM3_PORT 0x3e8 /* the application's stderr without a tty (docs/console-protocol.md) */
#define COM4_PORT 0x2e8 /* signals from the host, one byte each (kernel/hostsig.c) */
#define DEBUG_EXIT_PORT 0xf4
#define PIT_CH0_PORT 0x40
#define PIT_CMD_PORT 0x43
#define PIC1_DATA_PORT 0x21
#define PIC2_DATA_PORT 0xa1
#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT 0x71

/* Memory-mapped devices. */
#define LAPIC_DEFAULT_PHYS _UL(0xfee00000)
#define IOAPIC_PHYS _UL(0xfec00000) /* microvm's first I/O APIC: the ISA lines */
#define IOAPIC2_PHYS _UL(0xfec10000) /* microvm's second I/O APIC (with ACPI): GSIs 24-47, virtio */
#define VIRTIO_MMIO_PHYS _UL(0xfeb00000) /* microvm's virtio-mmio window: 512-byte slots */

/* Interrupt vectors. */
#define VEC_LAPIC_TIMER 0x20
#define VEC_HOSTSIG 0x30 /* COM4 received a byte: a signal from the host */
#define VEC_VIRTIO 0x31 /* a virtio-mmio device (drivers/virtio_mmio.c) */
#define VEC_SPURIOUS 0xff

/* GDT selectors, in the order SYSCALL/SYSRET require (docs/boot.md). */
#define SEL_KERNEL_CS 0x08
#define SEL_KERNEL_DS 0x10
#define SEL_USER_CS32 0x1b
#define SEL_USER_DS 0x23
#define SEL_USER_CS 0x2b
#define SEL_TSS 0x30

#endif /* LIBOS_MEMLAYOUT_H */
