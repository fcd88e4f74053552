"""The pure-Python ELF pre-check rejects malformed headers with clear messages."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from dock2uni.elf.header import check_bytes, check_file
from dock2uni.errors import ElfError


def elf64(*, phnum: int = 1, phoff: int = 64, machine: int = 62, etype: int = 2) -> bytearray:
    """A minimal ELF64 header followed by ``phnum`` PT_LOAD program headers."""
    head = bytearray(b"\x7fELF\x02\x01\x01" + bytes(9))
    head += struct.pack(
        "<HHIQQQIHHHHHH", etype, machine, 1, 0x401000, phoff, 0, 0, 64, 56, phnum, 64, 0, 0
    )
    for _ in range(phnum):
        head += struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x200, 0x200, 0x1000)
    head += bytes(max(0, 0x200 - len(head)))
    return head


def test_valid_header_is_accepted() -> None:
    """A well-formed header gives class, machine, type, entry and segments."""
    data = bytes(elf64())
    h = check_bytes(data, size=len(data), path="/ok")
    assert (h.elf_class, h.machine, h.elf_type, h.entry) == (64, 62, "EXEC", 0x401000)
    assert len(h.segments) == 1 and h.interp is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"#!/bin/sh\necho hi\n", "not an ELF file"),
        (b"\x7fELF", "truncated ELF identification"),
        (b"\x7fELF\x02\x02\x01" + bytes(100), "big-endian"),
        (b"\x7fELF\x05\x01\x01" + bytes(100), "invalid ELF class"),
        (bytes(elf64())[:40], "truncated"),
        (bytes(elf64(phnum=0xFFFF)), "absurd"),
        (bytes(elf64(phoff=0x10000)), "past EOF"),
    ],
)
def test_malformed_headers_are_rejected(data: bytes, message: str) -> None:
    """Each malformation gets an 'unparseable ELF' error naming the problem."""
    with pytest.raises(ElfError, match=message) as info:
        check_bytes(data, size=len(data), path="/bad")
    assert info.value.message.startswith("unparseable ELF: /bad")
    assert info.value.exit_code == 13


def test_segment_past_eof_is_rejected() -> None:
    """A PT_LOAD whose file bytes extend past the end of the file is refused."""
    data = elf64()
    struct.pack_into("<Q", data, 64 + 32, 0x10_0000)  # p_filesz of the first phdr
    with pytest.raises(ElfError, match="extends past EOF"):
        check_bytes(bytes(data), size=len(data), path="/bad")


def test_other_machines_pass_the_header_check() -> None:
    """A well-formed aarch64 file passes; the closure reports it as wrong-arch instead."""
    data = bytes(elf64(machine=183))
    assert check_bytes(data, size=len(data), path="/arm").machine_name == "aarch64"


def test_interp_must_be_terminated(tmp_path: Path) -> None:
    """PT_INTERP without a NUL terminator is refused; a proper one is read."""
    data = elf64()
    struct.pack_into("<IIQQQQQQ", data, 64, 3, 4, 0x100, 0x400100, 0x400100, 11, 11, 1)
    data[0x100:0x10B] = b"/lib/ld.so\0"
    good = tmp_path / "good"
    good.write_bytes(bytes(data))
    assert check_file(good, path="/good").interp == "/lib/ld.so"
    data[0x10A] = ord("X")
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    with pytest.raises(ElfError, match="NUL-terminated"):
        check_file(bad, path="/bad")
