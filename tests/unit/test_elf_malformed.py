"""A corpus of malformed ELF files: clear per-file errors while the rest of the audit completes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from dock2uni.analyse import analyse_paths
from dock2uni.analyse.cache import FileAnalyser
from dock2uni.audit import build_report, render
from dock2uni.context import Context
from dock2uni.elf.facts import ElfFacts
from dock2uni.errors import ElfError
from dock2uni.support import load_support_table
from tests.imagetree import compile_c, image_with

LIBS = "/usr/lib/x86_64-linux-gnu"


def corpus(good: bytes) -> dict[str, bytes]:
    """Malformed variants of a good shared object, by the name they get in the image."""
    phoff = struct.unpack_from("<Q", good, 32)[0]
    out: dict[str, bytes] = {}
    out["truncated"] = good[:100]
    out["truncated-half"] = good[: len(good) // 2]
    huge = bytearray(good)
    struct.pack_into("<H", huge, 56, 0xFFFF)  # e_phnum
    out["huge-phnum"] = bytes(huge)
    past = bytearray(good)
    for i in range(struct.unpack_from("<H", good, 56)[0]):
        off = phoff + 56 * i
        if struct.unpack_from("<I", past, off)[0] == 1:  # PT_LOAD
            struct.pack_into("<Q", past, off + 32, len(good) * 4)  # p_filesz
            break
    out["segment-past-eof"] = bytes(past)
    dyn = bytearray(good)
    for i in range(struct.unpack_from("<H", good, 56)[0]):
        off = phoff + 56 * i
        if struct.unpack_from("<I", dyn, off)[0] == 2:  # PT_DYNAMIC: fill it with junk
            d_off, d_size = (
                struct.unpack_from("<Q", dyn, off + 8)[0],
                struct.unpack_from("<Q", dyn, off + 32)[0],
            )
            dyn[d_off : d_off + d_size] = (b"\xff\xff\xff\x7f" * d_size)[:d_size]
    out["corrupt-dynamic"] = bytes(dyn)
    arm = bytearray(good)
    struct.pack_into("<H", arm, 18, 183)  # e_machine = aarch64
    out["wrong-machine"] = bytes(arm)
    out["not-elf"] = b"/* GNU ld script */\nGROUP ( libc.so.6 )\n"
    return out


@pytest.fixture(scope="module")
def good_lib(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small, valid shared object to break."""
    import subprocess

    d = tmp_path_factory.mktemp("good")
    (d / "g.c").write_text("int g(void) { return 7; }\n")
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(d / "g.so"), str(d / "g.c")],
        check=True,
        capture_output=True,
    )
    return (d / "g.so").read_bytes()


def test_each_malformation_gets_a_clear_error(good_lib: bytes, tmp_path: Path) -> None:
    """Header problems are caught in Python; LIEF's own failures come back as values."""
    img = image_with({}, tmp_path / "store")
    files = corpus(good_lib)
    for name, data in files.items():
        img.add_bytes(f"/bad/{name}.so", data)
    with FileAnalyser(img.tree, img.store, tmp_path / "cache") as analyser:
        results = analyser.load_facts([f"/bad/{n}.so" for n in files])
    for name in ("truncated", "truncated-half", "huge-phnum", "segment-past-eof", "not-elf"):
        err = results[f"/bad/{name}.so"]
        assert isinstance(err, ElfError), name
        assert err.message.startswith(f"unparseable ELF: /bad/{name}.so"), err.message
    assert "not an ELF" in str(results["/bad/not-elf.so"])
    assert "absurd" in str(results["/bad/huge-phnum.so"])
    assert "past EOF" in str(results["/bad/segment-past-eof.so"])
    arm = results["/bad/wrong-machine.so"]
    assert isinstance(arm, ElfFacts) and not arm.is_x86_64
    assert isinstance(results["/bad/corrupt-dynamic.so"], (ElfFacts, ElfError))


def test_audit_completes_around_malformed_libraries(good_lib: bytes, tmp_path: Path) -> None:
    """A program needing broken libraries: each is reported, libc is still analysed."""
    names = [
        "truncated",
        "huge-phnum",
        "segment-past-eof",
        "corrupt-dynamic",
        "wrong-machine",
        "not-elf",
    ]
    exe = compile_c("hello", "pie", tmp_path)
    img = image_with({"/app/hello": exe}, tmp_path / "store")
    # Put the broken files where the loader looks for DT_NEEDED names of a second program.
    needs = tmp_path / "needs.c"
    needs.write_text("int main(void) { return 0; }\n")
    import subprocess

    for name in names:
        (tmp_path / f"lib{name}.so").write_bytes(good_lib)
    subprocess.run(
        [
            "gcc",
            "-o",
            str(tmp_path / "needs"),
            str(needs),
            f"-L{tmp_path}",
            "-Wl,--no-as-needed",
            *[f"-l{name}" for name in names],
        ],
        check=True,
        capture_output=True,
    )
    img.add_bytes("/app/needs", (tmp_path / "needs").read_bytes())
    for name, data in corpus(good_lib).items():
        if name in names:
            img.add_bytes(f"{LIBS}/lib{name}.so", data)
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    analysis = analyse_paths(img.tree, img.store, [("/app/needs", "main")], ctx)
    by = {e.requested: e for e in analysis.closure.entries}
    assert by["libc.so.6"].status == "ok"
    assert "exit_group" in analysis.syscall_names()  # libc and ld.so were analysed
    for name in ("truncated", "huge-phnum", "segment-past-eof", "not-elf"):
        assert by[f"lib{name}.so"].status == "missing"  # no loadable candidate anywhere
        assert "not-elf" in (by[f"lib{name}.so"].note or "")
    assert by["libwrong-machine.so"].status == "wrong-arch"
    report = build_report(analysis, load_support_table())
    assert report.verdict == "unsupported"
    text = render(report, "text")
    assert "libtruncated.so" in text and "libwrong-machine.so" in text
