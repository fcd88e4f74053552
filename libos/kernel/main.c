/* SPDX-License-Identifier: Apache-2.0 */
/* main.c: kmain, the boot sequence of the library OS as a flat list of init calls (docs/boot.md). */
#include <libos/bootinfo.h>
#include <libos/cmdline.h>
#include <libos/cpu.h>
#include <libos/exec.h>
#include <libos/hostsig.h>
#include <libos/image_config.h>
#include <libos/lapic.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/proc.h>
#include <libos/random.h>
#include <libos/serial.h>
#include <libos/socket.h>

/* Weak: only an image that links the net family has sockets (shims/net/socket.c
 * pulls net_init in); the others carry no lwIP, AF_UNIX or virtio drivers. */
extern void net_init(void) __attribute__((weak));
#include <libos/task.h>
#include <libos/time.h>
#include <libos/uvm.h>
#include <libos/vfs.h>
#include <shim/shim.h>

__noreturn void kmain(u64 start_info);

/* The rootfs: embedded in the image, or the PVH module (-initrd) when the image has none. */
static void rootfs_init(void)
{
    size_t embedded = (size_t)(image_rootfs_end - image_rootfs_start);
    if (embedded)
        vfs_init(image_rootfs_start, embedded);
    else if (bootinfo.initrd_size)
        vfs_init(phys_to_virt(bootinfo.initrd_phys), bootinfo.initrd_size);
    else
        vfs_init(NULL, 0);
}

__noreturn void kmain(u64 start_info)
{
    serial_init();          /* COM1 = app tty, COM2 = log (if present) */
    pvh_parse(start_info);  /* copy cmdline, memmap, initrd location */
    cpu_init();             /* CPUID; CR0/CR4/XCR0 for the app's FPU/SSE/AVX */
    pmm_init();             /* frames from the memmap minus kernel, initrd, page 0 */
    vm_init();              /* direct map, W^X kernel image, drop the boot tables */
    gdt_init();             /* SYSRET-order GDT, TSS with IST stacks */
    idt_init();             /* exception and interrupt gates */
    syscall_init();         /* EFER.SCE, STAR/LSTAR/FMASK, per-CPU GS */
    lapic_init();           /* mask the PIC; LAPIC timer for sleeps */
    time_init();            /* boot TSC; kvmclock if present (no calibration wait) */
    if (bootinfo.cmdline_truncated)
        kinfo("kernel command line longer than %d bytes: truncated", BOOTINFO_CMDLINE_MAX);
    cmdline_parse(bootinfo.cmdline);
    random_init();          /* RDSEED/RDRAND, seed=, TSC jitter */
    proc_init();            /* pid 1, uid/gid, rlimits */
    sched_init();           /* thread 1 (its kernel stack for ring-3 entries), the idle task */
    hostsig_init();         /* COM4's receive interrupt: signals from the host */
    uvm_init();             /* empty user address space */
    shim_init();            /* syscall table from image_shim_families */
    rootfs_init();          /* cpio -> RAM fs; /dev, /proc; fds 0-2 on the console */
    if (net_init)
        net_init();         /* socket families, when linked (docs/sockets.md) */
    exec_start();           /* load the program and enter ring 3 */
}
