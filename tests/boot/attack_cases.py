"""The verdicts of tests/guest/attack_trap.c: the signal each hostile trap-path probe must die of.

native: the signal Linux kills the program with (None: Linux gives a different verdict
by design, e.g. int 0x80 runs a 32-bit syscall there, or it depends on the host CPU).
guest: the signals accepted in the unikernel (two when the CPU vendor or QEMU's
emulation decides, e.g. SYSENTER is #UD on AMD and #GP on Intel). Every guest verdict also requires
that the kernel survived: a D2U:CRASH marker, no panic, no reset.
"""

from __future__ import annotations

from typing import NamedTuple

SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGKILL, SIGSEGV = 4, 5, 7, 8, 9, 11
SURVIVES = 0  # accepted in the guest: the CPU emulation lacks the check (exit 0, "SURVIVED")


class Verdict(NamedTuple):
    native: int | None
    guest: frozenset[int]
    umip: bool = False  # the guest verdict holds only when the log says UMIP is on


def _v(native: int | None, *guest: int, umip: bool = False) -> Verdict:
    return Verdict(native, frozenset(guest or (native,)), umip)  # type: ignore[arg-type]


TRAP_CASES: dict[str, Verdict] = {
    # Finding 1: compatibility mode is unreachable (no 32-bit user code segment).
    "compat_syscall": _v(SIGSEGV),
    "ljmp_cs32": _v(SIGSEGV),
    "lret_cs32": _v(SIGSEGV),
    "lret_kernel_cs": _v(SIGSEGV),
    "iret_kernel_cs": _v(SIGSEGV),
    "iret_noncanonical": _v(SIGSEGV),
    "iret_kernel_rip": _v(SIGSEGV),
    "iret_iopl3": _v(SIGSEGV),
    # Privileged instructions and ports (the log and exit ports above all).
    "hlt": _v(SIGSEGV),
    "cli": _v(SIGSEGV),
    "sti": _v(SIGSEGV),
    "out_exit_port": _v(SIGSEGV),
    "out_log_port": _v(SIGSEGV),
    "in_port": _v(SIGSEGV),
    "lgdt": _v(SIGSEGV),
    "lidt": _v(SIGSEGV),
    "mov_cr3": _v(SIGSEGV),
    "read_cr0": _v(SIGSEGV),
    "wrmsr": _v(SIGSEGV),
    "rdmsr": _v(SIGSEGV),
    "invlpg": _v(SIGSEGV),
    "wbinvd": _v(SIGSEGV),
    "swapgs": _v(SIGSEGV),
    "sysret": _v(SIGSEGV),
    "ltr": _v(SIGSEGV),
    # Software interrupts: only int3 (and icebp, which bypasses the gate) reach a handler.
    "ud2": _v(SIGILL),
    "int3": _v(SIGTRAP),
    "int_3_long": _v(SIGTRAP),
    "icebp": _v(SIGTRAP, SIGTRAP, SIGILL),  # TCG decodes icebp as #UD
    "int1": _v(SIGSEGV),
    "int_de": _v(SIGSEGV),
    "int_pf": _v(SIGSEGV),
    "int_df": _v(SIGSEGV),
    "int_timer": _v(SIGSEGV),
    "int80": _v(None, SIGSEGV),  # no 32-bit syscalls (Linux without IA32 emulation)
    "int_ff": _v(SIGSEGV),
    "into": _v(SIGILL),
    # Natively the host's vendor decides: #UD on AMD (SIGILL), on Intel Linux's compat
    # entry refuses the 64-bit caller (SIGSEGV); both hosts run this suite.
    "sysenter": _v(None, SIGILL, SIGSEGV),
    # Descriptor-table reads: UMIP makes them fault instead of revealing kernel addresses.
    "sidt": _v(None, SIGSEGV, umip=True),
    "sgdt": _v(None, SIGSEGV, umip=True),
    "str": _v(None, SIGSEGV, umip=True),
    "sldt": _v(None, SIGSEGV, umip=True),
    "smsw": _v(None, SIGSEGV, umip=True),
    # Segment registers loaded with kernel, TSS or absent descriptors.
    "mov_ss_kernel": _v(SIGSEGV),
    "mov_ds_tss": _v(None, SIGSEGV),  # 0x33 is the TSS here, Linux's user CS there
    "mov_fs_cs32": _v(SIGSEGV),
    # Kernel and non-canonical addresses.
    "jmp_noncanonical": _v(SIGSEGV),
    "jmp_kernel": _v(SIGSEGV),
    "call_direct_map": _v(SIGSEGV),
    "read_noncanonical": _v(SIGSEGV),
    "read_kernel": _v(SIGSEGV),
    "write_kernel": _v(SIGSEGV),
    "write_direct_map": _v(SIGSEGV),
    "read_null": _v(SIGSEGV),
    "write_below_mmap_min": _v(SIGSEGV),
    # Memory protections.
    "stack_overflow": _v(SIGSEGV),
    "exec_rw_page": _v(SIGSEGV),
    "exec_none_page": _v(SIGSEGV),
    "exec_stack": _v(SIGSEGV),
    "write_text": _v(SIGSEGV),
    # Arithmetic, alignment check (CR0.AM), single step.
    "div_zero": _v(SIGFPE),
    "div_overflow": _v(SIGFPE),
    "unaligned_ac": _v(SIGBUS, SIGBUS, SURVIVES),  # TCG does not emulate #AC
    "single_step": _v(SIGTRAP),
    # The syscall entry with a hostile stack pointer: the kernel never uses it.
    "syscall_bad_rsp": _v(SIGBUS, SIGBUS, SIGSEGV),  # TCG raises #GP, hardware #SS
    "syscall_kernel_rsp": _v(SIGSEGV),
    # The last user page is refused (then an ordinary NULL write).
    "last_page": _v(SIGSEGV),
    # Memory and VMAs exhausted: ENOSPC, ENOMEM, then the out-of-memory kill (guest only).
    "fill_ram_then_split": _v(None, SIGKILL),
}

# tests/guest/attack_sigreturn.c: forged frames given to rt_sigreturn, hostile handler,
# restorer and alternate-stack addresses. Linux kills with
# SIGSEGV (SIGBUS for the stack pointer its RET then uses); the unikernel refuses
# the frame itself (SIGSEGV) or masks the RFLAGS bits as Linux does.
SIGRETURN_CASES: dict[str, Verdict] = {
    "kernel_rip": _v(SIGSEGV),
    "noncanonical_rip": _v(SIGSEGV),
    "noncanonical_rsp": _v(SIGBUS, SIGSEGV, SIGBUS),
    "ring0_cs": _v(SIGSEGV),
    "ring0_ss": _v(SIGSEGV),
    "null_ss": _v(SIGSEGV),
    "iopl_rflags": _v(SIGSEGV),
    "bad_mxcsr": _v(SIGSEGV),
    "fpstate_unmapped": _v(SIGSEGV),
    "fpstate_kernel": _v(SIGSEGV),
    "xsave_header": _v(SIGSEGV),
    "garbage_frame": _v(SIGSEGV),
    "unreadable_frame": _v(SIGSEGV),
    # Hostile sigactions and alternate stacks: the frame is never built, or RET faults.
    "handler_kernel": _v(SIGSEGV),
    "handler_noncanonical": _v(SIGSEGV),
    "restorer_kernel": _v(SIGSEGV),
    "no_restorer": _v(SIGSEGV),
    "altstack_kernel": _v(SIGSEGV),
}
