"""Backward register data flow on hand-assembled x86-64 functions."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from dock2uni.analyse.dataflow import Function

SYSCALL = "0f05"


def fn(hexcode: str) -> Function:
    return Function(bytes.fromhex(hexcode), 0x1000)


def test_constant_move() -> None:
    """mov eax, 0x27; syscall -> 39."""
    v = fn("b827000000" + SYSCALL).values_at(0x1005, "rax")
    assert v.consts == {39} and not v.params and not v.unknown


def test_register_copy_reaches_a_parameter() -> None:
    """mov rax, rdi; syscall -> the function is a wrapper taking the number in rdi."""
    v = fn("4889f8" + SYSCALL).values_at(0x1003, "rax")
    assert v.params == {"rdi"} and not v.consts


def test_push_pop_and_xor() -> None:
    """push 0x3c; pop rax -> 60; xor eax, eax -> 0."""
    assert fn("6a3c58" + SYSCALL).values_at(0x1003, "rax").consts == {60}
    assert fn("31c0" + SYSCALL).values_at(0x1002, "rax").consts == {0}


def test_musl_low_byte_after_clear() -> None:
    """xor eax, eax; mov al, 56 (musl's clone) -> 56."""
    assert fn("31c0b038" + SYSCALL).values_at(0x1004, "rax").consts == {56}


def test_two_paths_join() -> None:
    """Both branches' constants reach the join: test edi; je L; mov eax,1; jmp J; L: mov eax,2."""
    code = "85ff7407b801000000eb05b802000000" + SYSCALL
    v = fn(code).values_at(0x1010, "rax")
    assert v.consts == {1, 2} and not v.unknown


def test_call_clobbers_and_memory_is_unknown() -> None:
    """A call in between clobbers eax; a load from memory is unknown."""
    clobbered = fn("b827000000" + "e800000000" + SYSCALL).values_at(0x100A, "rax")
    assert not clobbered.consts and clobbered.unknown
    loaded = fn("8b07" + SYSCALL).values_at(0x1002, "rax")
    assert loaded.unknown and "memory" in loaded.unknown[0]


def test_callee_saved_register_survives_a_call() -> None:
    """mov ebx, 5; call f; mov eax, ebx; syscall -> 5 (rbx is callee-saved)."""
    code = "bb05000000" + "e800000000" + "89d8" + SYSCALL
    assert fn(code).values_at(0x100C, "rax").consts == {5}


def test_start_not_on_a_boundary_is_realigned() -> None:
    """A start one byte early that swallows the site is re-decoded until the site is seen."""
    code = "b8" + "b80f000000" + SYSCALL  # stray byte, then mov eax, 15; syscall
    assert fn(code).values_at(0x1006, "rax").consts == {15}


# -- arguments passed on the stack (glibc 2.41's __syscall_cancel, Go's ABI0) -----------


def asm(text: str) -> Function:
    """Assemble Intel-syntax ``text`` with GNU as at 0x1000 (labels allowed)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, obj, raw = (Path(tmp) / n for n in ("f.s", "f.o", "f.bin"))
        src.write_text(f".intel_syntax noprefix\n.text\n{text}\n")
        subprocess.run(["as", "--64", "-o", str(obj), str(src)], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
        return Function(raw.read_bytes(), 0x1000)


def at(f: Function, mnemonic: str, nth: int = 0) -> int:
    """Address of the nth instruction with this mnemonic."""
    return [i.address for i in f.insns if i.mnemonic == mnemonic][nth]


def test_number_loaded_from_above_the_return_address_is_a_stack_parameter() -> None:
    """__syscall_cancel's fast path: push rbx; mov rax, [rsp + 0x10]; syscall -> stack1."""
    f = asm("push rbx\nmov rax, qword ptr [rsp + 0x10]\nsyscall\npop rbx\nret")
    v = f.values_at(at(f, "syscall"), "rax")
    assert v.params == {"stack1"} and not v.unknown


def test_register_argument_loaded_from_the_stack() -> None:
    """__internal_syscall_cancel: three pushes, then rsi <- [rsp + 0x20] is stack1."""
    f = asm("push rbx\npush r9\npush r8\nmov rsi, qword ptr [rsp + 0x20]\ncall 0x2000")
    assert f.values_at(at(f, "call"), "rsi").params == {"stack1"}


def test_caller_pushes_a_constant() -> None:
    """read() in glibc 2.41: sub rsp, 0x10; push 0; call -> stack1 is 0."""
    f = asm("sub rsp, 0x10\nxor r9d, r9d\npush 0\nxor ecx, ecx\ncall 0x2000\nadd rsp, 0x18\nret")
    v = f.values_at(at(f, "call"), "stack1")
    assert v.consts == {0} and not v.unknown


def test_caller_forwards_its_own_stack_argument() -> None:
    """__syscall_cancel: push qword ptr [rsp + 0x18] re-pushes its stack1 for the callee."""
    f = asm("sub rsp, 0x10\npush qword ptr [rsp + 0x18]\ncall 0x2000\npop rdx\npop rcx\nret")
    assert f.values_at(at(f, "call"), "stack1").params == {"stack1"}


def test_stores_into_outgoing_slots_and_pushed_registers() -> None:
    """mov [rsp], imm / mov [rsp + 8], imm fill stack1 and stack2; push rcx copies rcx."""
    f = asm(
        "sub rsp, 16\nmov qword ptr [rsp + 8], 5\nmov qword ptr [rsp], 7\ncall 0x2000\n"
        "mov ecx, 0xca\npush rcx\ncall 0x3000"
    )
    first, second = at(f, "call", 0), at(f, "call", 1)
    assert f.values_at(first, "stack1").consts == {7}
    assert f.values_at(first, "stack2").consts == {5}
    assert f.values_at(second, "stack1").consts == {202}


def test_tail_jump_passes_the_stack_argument_through() -> None:
    """At a tail jmp the callee's stack1 is our own [rsp + 8]: a parameter again."""
    f = asm("mov eax, 1\njmp 0x2000")
    assert f.values_at(at(f, "jmp"), "stack1").params == {"stack1"}


def test_unknown_stack_depth_is_unknown_not_a_guess() -> None:
    """After sub rsp, rax (alloca) slot addresses are unknowable."""
    f = asm("sub rsp, rax\npush 3\ncall 0x2000")
    v = f.values_at(at(f, "call"), "stack1")
    assert not v.consts and v.unknown


def test_padding_after_a_noreturn_call_does_not_mix_depths() -> None:
    """test; jne L; sub rsp, 8; call fatal; nop; L: push 1; call -> 1 (the nop is dead)."""
    f = asm(
        "test rcx, rcx\njne 1f\nsub rsp, 8\ncall 0x3000\nnop\n"
        "1: push 1\ncall 0x2000\nadd rsp, 8\nret"
    )
    v = f.values_at(at(f, "call", 1), "stack1")
    assert v.consts == {1} and not v.unknown


def test_go_stack_check_does_not_move_rsp() -> None:
    """Go's prologue `cmp rsp, [r14 + 0x10]` reads rsp: depths stay known after it."""
    f = asm(
        "cmp rsp, qword ptr [r14 + 0x10]\njbe 1f\nsub rsp, 0x18\nmov qword ptr [rsp], 5\n"
        "call 0x2000\nadd rsp, 0x18\nret\n1: ret"
    )
    assert f.values_at(at(f, "call"), "stack1").consts == {5}


def test_go_inline_mark_nop_after_a_call_falls_through() -> None:
    """call; nop; more code (Go's inline mark): the nop is not noreturn padding."""
    f = asm("sub rsp, 8\ncall 0x3000\nnop\npush 7\ncall 0x2000\nadd rsp, 16\nret")
    v = f.values_at(at(f, "call", 1), "stack1")
    assert v.consts == {7} and not v.unknown
