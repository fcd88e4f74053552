/* SPDX-License-Identifier: Apache-2.0 */
/* pvh.c: read the Xen PVH struct hvm_start_info into struct bootinfo.
 *
 * Layouts from the Xen public header arch-x86/hvm/start_info.h (PVH spec,
 * docs/misc/pvh.html). Runs on the boot page tables: the firmware data lives
 * below 1 GiB, which the boot direct map covers.
 */
#include <libos/bootinfo.h>
#include <libos/log.h>
#include <libos/mm.h>
#include <libos/string.h>

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
    u32 magic, version, flags, nr_modules;
    u64 modlist_paddr, cmdline_paddr, rsdp_paddr;
    u64 memmap_paddr; /* version >= 1 */
    u32 memmap_entries, reserved;
} __packed;

struct hvm_modlist_entry {
    u64 paddr, size, cmdline_paddr, reserved;
} __packed;

struct hvm_memmap_table_entry {
    u64 addr, size;
    u32 type, reserved;
} __packed;

_Static_assert(sizeof(struct hvm_start_info) == 56, "PVH start_info v1 layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "PVH modlist entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "PVH memmap entry layout");

struct bootinfo bootinfo;

static void reserve(u64 base, u64 size)
{
    if (size && bootinfo.nreserved < BOOTINFO_MAX_RESERVED)
        bootinfo.reserved[bootinfo.nreserved++] = (struct mem_region){base, size, 0};
}

void pvh_parse(u64 start_info)
{
    const struct hvm_start_info *si = phys_to_virt(start_info);
    if (si->magic != HVM_START_MAGIC)
        panic("boot: hvm_start_info magic 0x%x at 0x%lx (not a PVH boot?)", si->magic, start_info);

    reserve(start_info, sizeof(*si));
    if (si->cmdline_paddr) {
        const char *cmd = phys_to_virt(si->cmdline_paddr);
        size_t n = strlcpy(bootinfo.cmdline, cmd, sizeof(bootinfo.cmdline));
        bootinfo.cmdline_truncated = n >= sizeof(bootinfo.cmdline);
        reserve(si->cmdline_paddr, n + 1);
    }
    bootinfo.rsdp_phys = si->rsdp_paddr;

    if (si->nr_modules && si->modlist_paddr) {
        const struct hvm_modlist_entry *mod = phys_to_virt(si->modlist_paddr);
        bootinfo.initrd_phys = mod->paddr;
        bootinfo.initrd_size = mod->size;
        reserve(si->modlist_paddr, (u64)si->nr_modules * sizeof(*mod));
    }

    if (si->version >= 1 && si->memmap_paddr) {
        const struct hvm_memmap_table_entry *e = phys_to_virt(si->memmap_paddr);
        reserve(si->memmap_paddr, (u64)si->memmap_entries * sizeof(*e));
        for (u32 i = 0; i < si->memmap_entries && bootinfo.nmem < BOOTINFO_MAX_REGIONS; i++) {
            /* QEMU appends an all-zero entry; type 0 and empty entries mean nothing. */
            if (e[i].size == 0 || e[i].type == 0)
                continue;
            bootinfo.mem[bootinfo.nmem++] = (struct mem_region){e[i].addr, e[i].size, e[i].type};
        }
    }
    if (bootinfo.nmem == 0)
        panic("boot: PVH start_info v%u has no memory map", si->version);
}
