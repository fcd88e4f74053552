"""The compressed rootfs entries (fs/cpio.py): format, when a file is packed, hard links.

The container is decoded here by hand with lz4.block (not with fs/cpio.unpack), so a
writer that got the layout wrong cannot pass by agreeing with its own reader; GNU cpio
must still read the archive as newc (the check field is the only one that changes).
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
from pathlib import Path

import lz4.block
import pytest

from dock2uni.fs.cpio import PACK_MAGIC, PACK_MIN_SIZE, CpioStats, unpack, write_cpio
from dock2uni.fs.cpioread import entries
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, Tree
from dock2uni.link import recommended_mem

TEXT = b"".join(b"line %d of a compressible file\n" % i for i in range(8000))  # ~250 KB
NOISE = os.urandom(100_000)  # incompressible
SMALL = b"x" * (PACK_MIN_SIZE - 1)  # compressible but under the threshold


def decode(blob: bytes) -> bytes:
    """The container by the documented layout (docs/rootfs-compression.md)."""
    assert blob[:4] == PACK_MAGIC
    bsize, size, count = struct.unpack_from("<IQI", blob, 4)
    assert bsize % 4096 == 0 and count == -(-size // bsize)
    table = struct.unpack_from(f"<{count}I", blob, 20)
    at, out = 20 + 4 * count, b""
    for i, stored in enumerate(table):
        n, want = stored & 0x7FFFFFFF, min(bsize, size - i * bsize)
        chunk = blob[at : at + n]
        out += chunk if stored >> 31 else lz4.block.decompress(chunk, uncompressed_size=want)
        at += n
    assert at == len(blob)
    return out


def archive(tmp_path: Path, *, compress: bool) -> tuple[bytes, CpioStats]:
    store = ContentStore(tmp_path / "store")
    tree = Tree()

    def put(data: bytes) -> FileNode:
        return FileNode(mode=0o644, size=len(data), digest=store.put_bytes(data))

    text = put(TEXT)
    tree.root.children["d"] = DirNode(
        children={"text": put(TEXT), "noise": put(NOISE), "small": put(SMALL)}
    )
    tree.root.children["a"] = text  # a hard link pair: one entry carries the data
    tree.root.children["b"] = text
    out, stats = io.BytesIO(), CpioStats()
    write_cpio(tree.walk(), out, store, compress=compress, stats=stats)
    return out.getvalue(), stats


def listing(raw: bytes, tmp_path: Path) -> dict[str, tuple[int, bool, bytes]]:
    path = tmp_path / "root.cpio"
    path.write_bytes(raw)
    got = {}
    with path.open("rb") as f:
        for e in entries(f, 0, len(raw), what="test"):
            got[e.path] = (e.size, e.packed, raw[e.offset : e.offset + e.size])
    return got


def test_compressible_files_are_packed_and_round_trip(tmp_path: Path) -> None:
    raw, stats = archive(tmp_path, compress=True)
    got = listing(raw, tmp_path)
    size, packed, blob = got["/d/text"]
    assert packed and size == len(blob) < len(TEXT) // 2
    assert decode(blob) == TEXT and unpack(blob) == TEXT
    assert got["/d/noise"][1:] == (False, NOISE)  # would not shrink by a tenth: raw
    assert got["/d/small"][1:] == (False, SMALL)  # too small to pay
    # the link group: the first name is empty, the last carries the (packed) data
    assert got["/a"][:2] == (0, False)
    assert got["/b"][1] and decode(got["/b"][2]) == TEXT
    assert stats.packed_files == 2 and stats.packed_bytes == 2 * len(TEXT)
    plain, plain_stats = archive(tmp_path / "plain", compress=False)
    assert stats.uncompressed == len(plain) > len(raw)
    assert plain_stats.packed_files == 0
    assert not any(p for _, p, _ in listing(plain, tmp_path).values())


def test_gnu_cpio_still_reads_the_archive(tmp_path: Path) -> None:
    """Every field but check keeps its newc meaning: cpio lists the names and sizes."""
    raw, _ = archive(tmp_path, compress=True)
    out = subprocess.run(
        ["cpio", "-itv", "--quiet"], input=raw, capture_output=True, check=True
    ).stdout.decode()
    names = {line.split()[-1] for line in out.splitlines()}
    assert {"d/text", "d/noise", "d/small", "a", "b"} <= names


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:10],  # short header
        lambda b: b"XXXX" + b[4:],  # magic
        lambda b: b[:-1],  # truncated block
        lambda b: b + b"\0",  # trailing bytes
        # the first block's stored length one short: it decodes short, the rest misaligns
        lambda b: b[:20] + struct.pack("<I", struct.unpack_from("<I", b, 20)[0] - 1) + b[24:],
    ],
)
def test_a_damaged_container_is_refused(damage: object, tmp_path: Path) -> None:
    raw, _ = archive(tmp_path, compress=True)
    blob = listing(raw, tmp_path)["/d/text"][2]
    with pytest.raises(ValueError):
        unpack(damage(blob))  # type: ignore[operator]


def test_the_memory_rule_counts_the_decoded_bytes() -> None:
    """docs/rootfs-compression.md: packed files are counted decoded; a mapped packed file
    shares its decoded frames (closure, slim); the default rule adds them to 2 x rootfs."""
    mib = 1 << 20
    raw = recommended_mem(10 * mib, mapped=9 * mib, kernel=mib)
    packed = recommended_mem(5 * mib, mapped=9 * mib, kernel=mib, packed=10 * mib)
    assert raw == packed == 48 * mib  # 1 + 10 + 9 + 24 and 1 + 5 + 10 + 0 + 24, rounded
    assert recommended_mem(5 * mib, mapped=9 * mib, kernel=mib, packed=30 * mib) == 64 * mib
    assert recommended_mem(5 * mib, packed=40 * mib) == recommended_mem(25 * mib)
