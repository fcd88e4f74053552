"""The kernel's LZ4 decoder (libos/lib/lz4.c), built natively with AddressSanitizer.

Valid containers from the converter's writer (fs/cpio.pack) must decode to exactly the
packed bytes, whole and a block at a time (the kernel's way when memory is
fragmented); thousands of damaged ones (bit flips, interesting integers, truncations,
insertions, random blocks) must be refused or decoded without any read or write
outside the input and output buffers: ASan turns such an access into a crash. A
decoder that skipped one bounds check fails here long before a guest would.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from dock2uni.fs.cpio import pack

REPO = Path(__file__).resolve().parents[2]
INTERESTING = (0, 1, 4, 15, 0x7F, 0x80, 0xF0, 0xFF)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the decoder natively")
    exe = tmp_path_factory.mktemp("lz4") / "lz4_harness"
    subprocess.run(
        ["gcc", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
         "-I", str(REPO / "libos" / "include"), "-o", str(exe),
         str(REPO / "tests" / "unit" / "src" / "lz4_harness.c"),
         str(REPO / "libos" / "lib" / "lz4.c")],
        check=True,
    )  # fmt: skip
    return exe


def fnv(data: bytes) -> str:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def run(exe: Path, cases: list[tuple[int, bytes]]) -> list[tuple[int, str, int, str]]:
    """Each case decoded whole (into cap bytes) and block by block: both results and hashes."""
    blob = b"".join(struct.pack("<II", cap, len(data)) + data for cap, data in cases)
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0"}
    proc = subprocess.run([str(exe)], input=blob, capture_output=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    lines = proc.stdout.decode().split()
    rows = [lines[i : i + 4] for i in range(0, len(lines), 4)]
    return [(int(r), h, int(r2), h2) for r, h, r2, h2 in rows]


def seeds() -> list[bytes]:
    rng = random.Random(14)
    text = b"".join(b"%d: the quick brown fox\n" % rng.randrange(100) for _ in range(12000))
    binary = bytes(rng.randrange(4) for _ in range(150_000))  # long matches, short offsets
    return [text, binary, b"a" * 70_000, os.urandom(10_000) + b"b" * 60_000]


def test_valid_containers_decode_to_the_packed_bytes(harness: Path) -> None:
    data = seeds()
    got = run(harness, [(len(d), pack(d)) for d in data])
    assert got == [(0, fnv(d), 0, fnv(d)) for d in data]
    # an output buffer one byte short is refused, not overrun
    assert all(r == -1 for r, *_ in run(harness, [(len(d) - 1, pack(d)) for d in data]))


def test_damaged_containers_never_escape_their_buffers(harness: Path) -> None:
    rng = random.Random(1414)
    cases: list[tuple[int, bytes]] = []
    for d in seeds():
        good = pack(d)
        for _ in range(600):
            b = bytearray(good)
            kind = rng.randrange(5)
            if kind == 0:  # bit flips, mostly in the header and the first blocks
                for _ in range(rng.randrange(1, 8)):
                    b[min(len(b) - 1, int(rng.expovariate(1 / 2000)))] ^= 1 << rng.randrange(8)
            elif kind == 1:
                b[rng.randrange(len(b))] = rng.choice(INTERESTING)
            elif kind == 2:
                b = b[: rng.randrange(len(b))]
            elif kind == 3:
                at = rng.randrange(len(b))
                b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            else:  # a block table entry replaced
                at = 20 + 4 * rng.randrange(max(1, (len(d) + 65535) // 65536))
                b[at : at + 4] = struct.pack("<I", rng.choice((0, 1, 5, 65536, 1 << 31, 2**32 - 1)))
            cases.append((len(d), bytes(b)))
    # whole random blocks behind a valid header
    for _ in range(500):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        head = b"d2uZ" + struct.pack("<IQII", 65536, 65536, 1, len(body))
        cases.append((65536, head + body))
    results = run(harness, cases)
    assert len(results) == len(cases)
    assert sum(r == -1 for r, *_ in results) > len(cases) // 2  # most damage is noticed
    # Block by block, a container is refused exactly when it is refused whole (the
    # output buffers here are as large as the header says), with the same bytes.
    assert all((r, h) == (r2, h2) for r, h, r2, h2 in results)
