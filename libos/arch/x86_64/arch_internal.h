/* SPDX-License-Identifier: Apache-2.0 */
/* arch_internal.h: declarations shared by the files of arch/x86_64 only. */
#ifndef ARCH_X86_64_INTERNAL_H
#define ARCH_X86_64_INTERNAL_H

#include <libos/regs.h>
#include <libos/types.h>

void tss_set_rsp0(u64 top);

/* vectors.S / syscall_entry.S / uaccess.S symbols. */
extern char uaccess_begin[], uaccess_end[], uaccess_fault[];
extern u8 uaccess_smap; /* 1: the copies bracket user accesses with stac/clac */
void syscall_entry(void);
void compat_syscall_entry(void);
__noreturn void compat_syscall_fault(struct regs *r);
__noreturn void cpu_enter_user_frame(struct regs *frame);

#endif
