# config.mk: compiler flags of the library OS, shims and the per-image config (freestanding x86-64).

ifeq ($(origin CC),default)
CC := gcc
endif
LD ?= ld
AR ?= ar

# Why each flag:
#  -ffreestanding -fno-builtin -nostdlib  no hosted libc; the kernel provides its own memcpy & co.
#  -mno-red-zone          interrupts and exceptions in ring 0 push onto the current stack.
#  -mgeneral-regs-only    the kernel never touches x87/SSE/AVX, so the app's vector state
#                         needs no saving on syscalls (libos-design.md §4.4).
#  -mcmodel=kernel -fno-pic -fno-pie  linked in the top 2 GiB (0xffffffff80000000+).
#  -fno-stack-protector   there is no TLS canary in the kernel.
#  -ffunction-sections -fdata-sections  lets the per-image link drop unused code (--gc-sections).
#  -fno-asynchronous-unwind-tables  no .eh_frame: smaller images.
#  -fcf-protection=none   no endbr64/.note.gnu.property (no CET in the kernel).
#  -fno-omit-frame-pointer  panic backtraces.
FREESTANDING_FLAGS := -ffreestanding -fno-builtin -nostdlib -mno-red-zone -mgeneral-regs-only \
	-mcmodel=kernel -fno-pic -fno-pie -fno-stack-protector -ffunction-sections -fdata-sections \
	-fno-asynchronous-unwind-tables -fcf-protection=none -fno-omit-frame-pointer \
	-fno-strict-aliasing -fno-delete-null-pointer-checks

WARN_FLAGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes

OPT_FLAGS ?= -O2

COMMON_CFLAGS = -std=gnu11 $(OPT_FLAGS) $(FREESTANDING_FLAGS) $(WARN_FLAGS) \
	-I$(LIBOS_DIR)/include -I$(SHIMS_DIR)/include
