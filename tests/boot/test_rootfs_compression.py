"""Compressed rootfs files (docs/rootfs-compression.md) under QEMU: the same bytes as on Linux.

tests/guest/packed.c reads, maps (private and shared), execs, forks over, writes into
and truncates a file the image stores LZ4-packed, and prints its size and checksums:
the output must equal a native run's on a copy of the same file. A damaged packed file
gives the program EIO on every use of its bytes and a console line, one whose header
claims more bytes than the guest has gives ENOMEM, and the kernel goes on. A file first
used when memory is too fragmented to hold it in one run is decoded a block at a time
and reads as on Linux. The nginx size goal of issue 14 is asserted in test_slim_boot.py.
"""

from __future__ import annotations

import random
import shutil
import struct
from pathlib import Path

import pytest

from dock2uni.context import Context
from dock2uni.fs.cpioread import CpioEntry, entries, rootfs_region
from dock2uni.uni import read_metadata
from tests.boot.conftest import Booted
from tests.boot.guest_images import convert_guest, guest_layout
from tests.infra.terminal import run_on_pty

pytestmark = pytest.mark.boot
PROGRAM, TARGET, OTHER = "/guest/glibc/packed", "/guest/glibc/hello", "/guest/glibc/io"


def _entry(image: Path, initrd: Path | None, path: str) -> CpioEntry:
    archive, start, end = rootfs_region(image, initrd)
    with archive.open("rb") as f:
        return next(e for e in entries(f, start, end, what="test") if e.path == path)


def test_a_packed_file_behaves_as_on_linux(
    guest_root: Path, guest_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    copy, other = tmp_path / "hello", tmp_path / "other"
    shutil.copy2(guest_root / TARGET.lstrip("/"), copy)
    shutil.copy2(guest_root / OTHER.lstrip("/"), other)
    bindir = guest_root / "guest" / "glibc"
    native = run_on_pty(["./packed", str(copy), str(other)], cwd=bindir, timeout=60)
    assert native.returncode == 0 and native.stdout.rstrip().endswith(b" 0 failed"), (
        native.stdout.decode()
    )

    uni = tmp_path / "packed.uni"
    convert_guest(guest_source, PROGRAM, uni, boot_ctx, cmd=(TARGET, OTHER), compress=True)
    meta = read_metadata(uni)
    assert meta["rootfs"]["compressed"] is True
    assert meta["sizes"]["rootfs"] < meta["sizes"]["rootfs_uncompressed"]
    assert all(_entry(uni, None, p).packed for p in (PROGRAM, TARGET, OTHER))
    booted: Booted = boot(uni, tty=True)  # type: ignore[operator]  # as the native pty
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout == native.stdout, booted.describe()
    assert booted.result.exit_code == 0, booted.describe()


def test_a_damaged_or_too_big_packed_file_fails_and_the_kernel_goes_on(
    guest_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    uni = tmp_path / "damaged.uni"
    convert_guest(
        guest_source, PROGRAM, uni, boot_ctx, cmd=(TARGET, "eio", OTHER), compress=True,
        separate_initrd=True,
    )  # fmt: skip
    initrd = uni.with_name(uni.name + ".cpio")
    e = _entry(uni, initrd, TARGET)
    assert e.packed
    raw = bytearray(initrd.read_bytes())
    (count,) = struct.unpack_from("<I", raw, e.offset + 16)
    (first,) = struct.unpack_from("<I", raw, e.offset + 20)
    assert not first >> 31  # a compressed block, not one stored raw
    block = e.offset + 20 + 4 * count
    # Every literal length byte says "more follows" until the block ends: the decoder
    # must notice it ran off its input, not read past it.
    raw[block : block + first] = b"\xff" * first
    big = _entry(uni, initrd, OTHER)
    assert big.packed
    struct.pack_into("<Q", raw, big.offset + 8, 1 << 30)  # the uncompressed size: 1 GiB
    initrd.write_bytes(bytes(raw))
    booted: Booted = boot(uni, tty=True)  # type: ignore[operator]
    assert booted.result.status == "exit" and booted.result.exit_code == 0, booted.describe()
    assert booted.stdout.rstrip().endswith(b" 0 failed"), booted.describe()
    assert any("compressed data is corrupt" in line for line in booted.result.log), (
        booted.describe()
    )


def test_a_packed_file_is_decoded_in_blocks_when_memory_is_fragmented(
    guest_root: Path, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """packed.c's frag mode cuts the guest's free memory into single pages (all but
    2 MiB), then reads and maps a 9 MiB packed file: the kernel finds no run of frames
    for it and must decode it block by block into pages of the file's own; the bytes
    are Linux's, and the console says which way it went."""
    root = tmp_path / "root"
    (root / "guest" / "glibc").mkdir(parents=True)
    shutil.copy2(guest_root / PROGRAM.lstrip("/"), root / PROGRAM.lstrip("/"))
    rng = random.Random(7)
    big = root / "big"
    big.write_bytes(
        b"".join(
            b"%d: the quick brown fox %d\n" % (rng.randrange(100000), rng.randrange(1000))
            for _ in range(300000)
        )
    )
    native = run_on_pty(["./packed", str(big), "frag"], cwd=root / "guest" / "glibc", timeout=60)
    assert native.returncode == 0 and native.stdout.rstrip().endswith(b" 0 failed"), (
        native.stdout.decode()
    )

    uni = tmp_path / "frag.uni"
    source = guest_layout(root, tmp_path / "layout")
    convert_guest(source, PROGRAM, uni, boot_ctx, cmd=("/big", "frag"), compress=True)
    assert _entry(uni, None, "/big").packed
    booted: Booted = boot(uni, tty=True, mem=128 << 20)  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout == native.stdout, booted.describe()
    assert booted.result.exit_code == 0, booted.describe()
    assert any("decoded into pages of its own" in line for line in booted.result.log), (
        booted.describe()
    )
