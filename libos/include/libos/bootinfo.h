/* SPDX-License-Identifier: Apache-2.0 */
/* bootinfo.h: what the boot protocol told us, normalised (only pvh.c knows hvm_start_info).
 *
 * Interface: pvh_parse() fills the single struct bootinfo before anything else
 * allocates memory; everything it points to has been copied into it, so the
 * firmware's memory may be reused afterwards. The initrd is not copied.
 */
#ifndef LIBOS_BOOTINFO_H
#define LIBOS_BOOTINFO_H

#include <libos/types.h>

#define BOOTINFO_MAX_REGIONS 64
#define BOOTINFO_CMDLINE_MAX 8192
#define BOOTINFO_MAX_RESERVED 8

#define MEM_RAM 1

struct mem_region {
    u64 base, size;
    u32 type; /* E820 type: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable */
};

struct bootinfo {
    char cmdline[BOOTINFO_CMDLINE_MAX];
    bool cmdline_truncated;
    u64 initrd_phys, initrd_size; /* PVH module 0, or 0/0 */
    u64 rsdp_phys;
    struct mem_region mem[BOOTINFO_MAX_REGIONS];
    unsigned nmem;
    /* Boot-protocol data (start_info, cmdline, module list, memory map): copied
     * above, but kept out of the frame allocator anyway, as the PVH spec suggests. */
    struct mem_region reserved[BOOTINFO_MAX_RESERVED];
    unsigned nreserved;
};

extern struct bootinfo bootinfo;

/* Parse the PVH start_info at physical address start_info; panics if the magic is wrong. */
void pvh_parse(u64 start_info);

#endif /* LIBOS_BOOTINFO_H */
