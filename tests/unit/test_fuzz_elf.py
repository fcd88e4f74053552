"""Fuzz: the ELF header check, the program check of convert, LIEF's sandboxed parse of what
passes (program headers, dynamic section, symbols), and the image's ld.so.cache parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import strategies as st

from dock2uni.analyse.ldcache import parse_ld_cache
from dock2uni.elf.header import check_bytes, require_program
from dock2uni.elf.lief_adapter import LiefSession
from dock2uni.errors import ElfError
from tests.fuzzing import byte_mutants, fuzz

pytestmark = pytest.mark.fuzz

HOST_ELVES = ("/bin/true", "/usr/lib/x86_64-linux-gnu/libz.so.1")


def seeds() -> list[bytes]:
    """A dynamic PIE and a shared library of the host (dynamic section, PT_INTERP,
    symbol tables), and small hand-made headers for the odd classes and types."""
    out = [Path(p).read_bytes() for p in HOST_ELVES if Path(p).is_file()]
    assert out, "no host ELF file to seed from"
    head = out[0][:64]
    out += [head, head[:4] + b"\x01" + head[5:52], head[:16] + b"\x04\x00" + head[18:]]
    return out


def header(data: bytes) -> None:
    require_program(check_bytes(data, size=len(data), path="/fuzz"), path="/fuzz")


def test_fuzz_elf_header(capsys: pytest.CaptureFixture[str]) -> None:
    fuzz("elf-header", byte_mutants(seeds()), header, capsys=capsys, batch=300)


def test_fuzz_elf_dynamic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Mutants that pass the header check go to LIEF in its sandboxed child, eight at a
    time: every answer is facts or an ElfError, and the session survives."""
    session = LiefSession(file_timeout=10)

    def parse(batch: list[bytes]) -> None:
        items = []
        for i, data in enumerate(batch):
            try:
                check_bytes(data, size=len(data), path=f"/f{i}")
            except ElfError:
                continue
            host = tmp_path / f"f{i}"
            host.write_bytes(data)
            items.append((f"/f{i}", host))
        if items:
            results = session.parse(items)
            assert set(results) == {name for name, _ in items}

    try:
        fuzz(
            "elf-dynamic",
            st.lists(byte_mutants(seeds(), max_ops=4), min_size=1, max_size=8),
            parse,
            capsys=capsys,
            batch=10,
        )
    finally:
        session.close()


def test_fuzz_ld_cache(capsys: pytest.CaptureFixture[str]) -> None:
    """The image's /etc/ld.so.cache (the analysis reads it to find libraries)."""
    cache = Path("/etc/ld.so.cache")
    if not cache.is_file():
        pytest.fail("the host has no /etc/ld.so.cache to seed from")
    fuzz("ld.so.cache", byte_mutants([cache.read_bytes()[:16384]]), parse_ld_cache, capsys=capsys)
