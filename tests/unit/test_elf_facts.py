"""ELF facts via the sandboxed LIEF child: kinds, loader, needed, stack, build-id, Go, crashes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dock2uni.elf.facts import ParsedElf
from dock2uni.elf.lief_adapter import LiefSession, parse_files
from dock2uni.errors import ElfError
from tests.imagetree import AUDIT_SRC, compile_c


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hello.c built as every variant."""
    out = tmp_path_factory.mktemp("hello")
    variants = ["pie", "exec", "static", "static-pie"]
    if shutil.which("musl-gcc"):
        variants.append("musl")
    return {v: compile_c("hello", v, out) for v in variants}


def _facts(paths: dict[str, Path]) -> dict[str, ParsedElf]:
    parsed = parse_files(list(paths.items()))
    out = {}
    for name, result in parsed.items():
        assert isinstance(result, ParsedElf), result
        out[name] = result
    return out


def test_kinds_of_every_variant(hello: dict[str, Path]) -> None:
    """static, exec, pie and static-pie are told apart; dynamic ones name their loader."""
    facts = {k: v.facts for k, v in _facts(hello).items()}
    assert facts["pie"].kind == "pie" and facts["pie"].interp == "/lib64/ld-linux-x86-64.so.2"
    assert facts["exec"].kind == "exec" and facts["exec"].elf_type == "EXEC"
    assert facts["static"].kind == "static" and facts["static"].interp is None
    assert facts["static-pie"].kind == "static-pie" and facts["static-pie"].elf_type == "DYN"
    assert facts["pie"].needed == ("libc.so.6",)
    for variant, f in facts.items():
        assert f.is_x86_64 and f.gnu_stack == "RW" and not f.executable_stack
        if variant != "musl":  # musl-gcc does not ask the linker for a build-id
            assert f.build_id and all(c in "0123456789abcdef" for c in f.build_id)
    assert facts["pie"].libc == "glibc"
    if "musl" in facts:
        assert facts["musl"].kind in ("static", "static-pie")


def test_imports_and_exports_with_versions() -> None:
    """libc.so.6 exports versioned symbols (default and hidden); a program imports them."""
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    parsed = _facts({"libc": libc, "ls": Path("/bin/ls")})
    exports = [s for s in parsed["libc"].facts.exports if s.name == "memcpy"]
    assert {(s.version, s.default) for s in exports} >= {("GLIBC_2.14", True)}
    assert parsed["libc"].facts.soname == "libc.so.6"
    assert parsed["libc"].facts.kind == "shared"
    imports = {s.name: s for s in parsed["ls"].facts.imports}
    assert imports["__libc_start_main"].version == "GLIBC_2.34"


def test_rpath_runpath_flags_and_tls(tmp_path: Path) -> None:
    """DT_RUNPATH (with $ORIGIN), BIND_NOW flags, PT_TLS and an executable stack are read."""
    src = tmp_path / "t.c"
    src.write_text("__thread int x; int main(void) { return x; }\n")
    out = tmp_path / "t"
    subprocess.run(
        [
            "gcc",
            "-o",
            str(out),
            str(src),
            "-Wl,-rpath,$ORIGIN/../lib",
            "-Wl,--enable-new-dtags",
            "-Wl,-z,now",
            "-Wl,-z,execstack",
        ],
        check=True,
        capture_output=True,
    )
    facts = _facts({"t": out})["t"].facts
    assert facts.runpath == ("$ORIGIN/../lib",) and facts.rpath == ()
    assert "BIND_NOW" in facts.flags or "NOW" in facts.flags
    assert facts.tls
    assert facts.gnu_stack == "RWX" and facts.executable_stack


def test_go_buildinfo_is_recognised(tmp_path: Path) -> None:
    """A .go.buildinfo section with the Go magic marks the binary as Go, with its version."""
    src = tmp_path / "go.c"
    version = "go1.21.5"
    blob = "\\xff Go buildinf:\\x08\\x02" + "\\0" * 16 + f"\\x{len(version):02x}{version}"
    src.write_text(
        f'__attribute__((section(".go.buildinfo"), used)) static const char info[] = "{blob}";\n'
        "int main(void) { return 0; }\n"
    )
    out = tmp_path / "go"
    subprocess.run(["gcc", "-o", str(out), str(src)], check=True, capture_output=True)
    facts = _facts({"go": out})["go"].facts
    assert facts.go is not None and facts.go.version == version


def test_crash_of_the_parser_is_contained(tmp_path: Path) -> None:
    """A child that dies (here: too little memory to even load LIEF) gives an error value."""
    exe = compile_c("hello", "pie", tmp_path)
    result = parse_files([("/app/hello", exe)], memory_bytes=64 << 20)
    err = result["/app/hello"]
    assert isinstance(err, ElfError)
    assert err.message.startswith("unparseable ELF: /app/hello")


def test_stall_is_contained_and_the_session_recovers(tmp_path: Path) -> None:
    """Past the wall-clock limit the file is reported and the next batch still works.

    The stall is real: a FIFO nobody writes to blocks the child's first read. (A 0 s
    limit on a real file raced: a quick parse could answer in the same read as its
    "begin" line.)"""
    exe = compile_c("hello", "pie", tmp_path)
    fifo = tmp_path / "stalls"
    os.mkfifo(fifo)
    with LiefSession(file_timeout=1.0) as session:
        first = session.parse([("/slow", fifo)])
        assert isinstance(first["/slow"], ElfError)
        assert "longer than" in first["/slow"].message or "LIEF" in first["/slow"].message
        session.file_timeout = 60.0
        again = session.parse([("/again", exe)])
        assert isinstance(again["/again"], ParsedElf)


def test_fixture_sources_exist() -> None:
    """The C sources the audit tests compile are in the repository."""
    names = {p.stem for p in AUDIT_SRC.glob("*.c")}
    assert {"hello", "direct_syscall", "inline_asm", "never_called", "fnptr", "features"} <= names
