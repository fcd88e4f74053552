"""fs/store.py: loose files, pack sessions, visibility across processes, damage detection."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from dock2uni.fs.store import ContentStore, DamagedStoreError, read_pack_index


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def packs(root: Path) -> list[Path]:
    folder = root / "packs"
    return sorted(folder.iterdir()) if folder.exists() else []


def packed_alone(root: Path, data: bytes) -> tuple[str, Path]:
    """Store ``data`` as the only content of a new pack; (its digest, the pack)."""
    store = ContentStore(root)
    store.begin_pack()
    digest = store.put_bytes(data)
    store.end_pack(commit=True)
    (pack,) = packs(root)
    return digest, pack


def test_outside_a_session_small_contents_are_loose_files(tmp_path: Path) -> None:
    """Without a pack session a small content is one loose file, named by its digest."""
    store = ContentStore(tmp_path)
    digest = store.put_bytes(b"hello")
    assert digest == sha(b"hello")
    assert store.path(digest).read_bytes() == b"hello"
    assert store.has(digest) and store.read(digest) == b"hello"
    assert packs(tmp_path) == []


def test_a_session_writes_one_pack_readable_at_once_and_after_commit(tmp_path: Path) -> None:
    """A session stores 100 contents (duplicates once) in one pack: readable by the writer at once,
    by other stores only after the commit, and nothing left loose."""
    store = ContentStore(tmp_path)
    store.begin_pack()
    digests = [store.put_bytes(b"file %d" % i) for i in range(100)]
    assert store.put_bytes(b"file 7") == digests[7]  # stored once
    assert store.read(digests[3]) == b"file 3"  # readable before the pack is published
    other = ContentStore(tmp_path)
    assert not other.has(digests[3])  # ...but only by the writer
    store.end_pack(commit=True)
    (pack,) = packs(tmp_path)
    assert len(read_pack_index(str(pack))) == 100
    assert not list((tmp_path / "sha256").iterdir())
    assert other.has(digests[3]) and other.read(digests[3], 4) == b"file"
    with other.open(digests[99]) as f:
        assert f.read() == b"file 99"


def test_path_copies_a_packed_content_out_once(tmp_path: Path) -> None:
    """path() of a packed content copies it out under sha256/, with the same bytes."""
    digest, _pack = packed_alone(tmp_path, b"\x7fELF" + bytes(100))
    fresh = ContentStore(tmp_path)
    path = fresh.path(digest)
    assert path.read_bytes() == b"\x7fELF" + bytes(100)
    assert path.is_relative_to(tmp_path / "sha256")


def test_an_abandoned_session_leaves_nothing(tmp_path: Path) -> None:
    """A session ended without commit (a failed layer) leaves no pack, no content, no temp file."""
    store = ContentStore(tmp_path)
    store.begin_pack()
    digest = store.put_bytes(b"from a layer that failed")
    store.end_pack(commit=False)
    assert not store.has(digest)
    assert packs(tmp_path) == [] and not list((tmp_path / "tmp").iterdir())


def test_content_packed_by_an_earlier_run_is_not_packed_again(tmp_path: Path) -> None:
    """A content already in a pack from an earlier run is not written to a second pack."""
    first = ContentStore(tmp_path)
    first.begin_pack()
    first.put_bytes(b"shared base layer file")
    first.end_pack(commit=True)
    second = ContentStore(tmp_path)
    second.begin_pack()
    second.put_bytes(b"shared base layer file")
    second.end_pack(commit=True)  # nothing new: no second pack
    assert len(packs(tmp_path)) == 1


def test_two_sessions_cannot_nest(tmp_path: Path) -> None:
    """begin_pack() inside an open session is a programming error (RuntimeError)."""
    store = ContentStore(tmp_path)
    store.begin_pack()
    with pytest.raises(RuntimeError):
        store.begin_pack()
    store.end_pack(commit=False)


def test_a_damaged_pack_is_an_error_not_wrong_bytes(tmp_path: Path) -> None:
    """A flipped byte in a pack is IntegrityError on read, never the damaged bytes."""
    digest, pack = packed_alone(tmp_path, b"original bytes")
    raw = bytearray(pack.read_bytes())
    raw[raw.index(b"original")] ^= 0xFF
    pack.write_bytes(bytes(raw))
    store = ContentStore(tmp_path)
    with pytest.raises(DamagedStoreError, match="damaged"):
        store.read(digest)
    assert not pack.exists() and not store.has(digest)  # removed: the layer is read again


def test_a_truncated_pack_counts_as_absent(tmp_path: Path) -> None:
    """A pack cut short (an interrupted write) counts as absent: has() is False, no bad read."""
    digest, pack = packed_alone(tmp_path, b"soon lost")
    pack.write_bytes(pack.read_bytes()[:-3])
    assert not ContentStore(tmp_path).has(digest)


def test_streamed_contents_stay_loose_even_in_a_session(tmp_path: Path) -> None:
    """A content written from a stream (put) stays a loose file, even inside a session."""
    store = ContentStore(tmp_path)
    store.begin_pack()
    data = bytes(range(256)) * 5000
    digest = store.put(io.BytesIO(data), len(data))
    store.end_pack(commit=True)
    assert packs(tmp_path) == []
    assert store.path(digest).read_bytes() == data


def test_a_full_disk_is_an_output_error(tmp_path: Path) -> None:
    """Writes that the system refuses (here RLIMIT_FSIZE, as a full disk would) end in
    OutputError naming the store, not an internal error; a child process takes the limit."""
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from dock2uni.errors import OutputError\n"
        "from dock2uni.fs.store import ContentStore\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))\n"
        "store = ContentStore(Path(sys.argv[1]))\n"
        "store.begin_pack()\n"
        "try:\n"
        "    for i in range(100):\n"
        "        store.put_bytes(bytes([i]) * (4 << 10))\n"
        "    store.end_pack(commit=True)\n"
        "except OutputError as exc:\n"
        "    store.end_pack(commit=False)\n"
        "    print(exc.exit_code, exc.message)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.startswith("15 cannot write to the content store"), out
    assert packs(tmp_path / "store") == []
