"""Backward register data flow on hand-assembled x86-64 functions."""

from __future__ import annotations

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
