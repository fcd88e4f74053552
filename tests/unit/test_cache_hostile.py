"""A planted or damaged cache (issue 15): no write outside it, no damaged byte in a .uni.

Each test converts a real small image (the hello-static-musl fixture's program plus a
2 MiB file, which the store keeps loose) with a private cache, after planting symlinks,
files or damage in that cache the way an attacker or a broken disk would.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from fixtures.ocibuild import Image, Layer, write_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.acquire.blobcache import BlobCache
from dock2uni.context import Context, Limits
from dock2uni.errors import OutputError
from dock2uni.fs.store import ContentStore, DamagedStoreError
from dock2uni.fs.tree import FileNode
from dock2uni.model import Descriptor
from dock2uni.pipeline import convert_image, inspect_image
from dock2uni.unpack.cache import LayerCache

REPO = Path(__file__).resolve().parents[2]
MUSL = REPO / "build" / "fixtures" / "oci" / "hello-static-musl"
# 2 MiB of a pattern that occurs nowhere else: streamed into a loose store file
BIG = (b"dock2uni-big-file-" + bytes(range(46))) * (2 * 16384)
BIG_HEX = hashlib.sha256(BIG).hexdigest()
PASSWD = b"root:x:0:0:root:/root:/bin/sh\n"
PLANTED = b"PLANTED-HOST-BYTES-" * (len(BIG) // 19) + b"P" * (len(BIG) % 19)


def ctx_for(cache: Path) -> Context:
    return Context(cache_dir=cache, limits=Limits(), quiet=True)


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The static hello program of the fixture, read through dock2uni itself."""
    cache = tmp_path_factory.mktemp("musl-cache")
    inspected = inspect_image(f"oci:{MUSL}", AcquireOptions(), ctx_for(cache))
    path = inspected.spec.exec_path
    assert path is not None
    node = inspected.unpacked.tree.lookup(path)
    assert isinstance(node, FileNode)
    return inspected.unpacked.store.read(node.digest)


def layout_with(tmp: Path, program: bytes, name: str = "layout") -> str:
    layer = (
        Layer()
        .dir("etc")
        .file("etc/passwd", PASSWD)
        .file("hello", program, mode=0o755)
        .file("big.dat", BIG)
    )
    dest = tmp / name
    write_layout(dest, {"latest": Image(layers=[layer], config={"Entrypoint": ["/hello"]})})
    return f"oci:{dest}:latest"


def convert(source: str, cache: Path, out: Path) -> bytes:
    convert_image(source, out, AcquireOptions(), ctx_for(cache))
    return out.read_bytes()


def tree_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "planted",
    [
        "files",
        "files/sha256",
        f"files/sha256/{BIG_HEX[:2]}",
        "files/packs",
        "files/tmp",
        "layers",
        "analysis",
        "analysis/facts",
        "build",
        "linked",
    ],
)
def test_a_planted_symlink_never_redirects_a_write(
    tmp_path: Path, program: bytes, planted: str
) -> None:
    """Finding 5: a symlink in the cache's own structure is refused (exit 15), and
    nothing at all is written where it points."""
    source = layout_with(tmp_path, program)
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    link = cache / planted
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError) as err:
        convert(source, cache, tmp_path / "out.uni")
    assert err.value.exit_code == 15 and "symlink" in err.value.message
    assert tree_files(outside) == []


@pytest.mark.parametrize("planted", ["", "files", "files/sha256", "layers", "build"])
def test_a_file_where_a_cache_directory_belongs_is_exit_15(
    tmp_path: Path, program: bytes, planted: str
) -> None:
    """Finding 8: the cache path, or its files/ or build/ entry, being a regular file."""
    source = layout_with(tmp_path, program)
    cache = tmp_path / "cache"
    spot = cache / planted if planted else cache
    spot.parent.mkdir(parents=True, exist_ok=True)
    spot.write_bytes(b"not a directory")
    with pytest.raises(OutputError) as err:
        convert(source, cache, tmp_path / "out.uni")
    assert err.value.exit_code == 15


def loose_big(cache: Path) -> Path:
    path = cache / "files" / "sha256" / BIG_HEX[:2] / BIG_HEX
    assert path.is_file() and not path.is_symlink()
    return path


@pytest.mark.parametrize("damage", ["flip", "truncate", "symlink-same-size", "symlink-other"])
def test_a_damaged_loose_file_never_reaches_the_image(
    tmp_path: Path, program: bytes, damage: str
) -> None:
    """Finding 6: a corrupted loose file, or one replaced by a symlink to a host file,
    is detected, removed and read again from the image; the .uni holds the real bytes."""
    source = layout_with(tmp_path, program)
    cache = tmp_path / "cache"
    first = convert(source, cache, tmp_path / "first.uni")
    assert BIG in first
    entry = loose_big(cache)
    host = tmp_path / "host-secret"
    if damage == "flip":
        raw = bytearray(entry.read_bytes())
        raw[len(raw) // 2 : len(raw) // 2 + len(b"FLIPPED")] = b"FLIPPED"
        entry.write_bytes(bytes(raw))
        planted = b"FLIPPED"
    elif damage == "truncate":
        entry.write_bytes(BIG[: len(BIG) // 2])
        planted = b"FLIPPED"  # nothing new to look for: the size check catches it
    else:
        host.write_bytes(PLANTED if damage == "symlink-same-size" else b"host /etc/shadow")
        entry.unlink()
        entry.symlink_to(host)
        planted = host.read_bytes()[:64]
    second = convert(source, cache, tmp_path / "second.uni")
    assert BIG in second
    assert planted not in second
    assert loose_big(cache).read_bytes() == BIG  # put back by the unpack
    if host.exists():
        assert host.read_bytes()[:16] in (PLANTED[:16], b"host /etc/shadow")  # untouched


def test_a_damaged_pack_is_read_again(tmp_path: Path, program: bytes) -> None:
    """Finding 6: a pack whose bytes were changed; the damaged pack is dropped."""
    source = layout_with(tmp_path, program)
    cache = tmp_path / "cache"
    convert(source, cache, tmp_path / "first.uni")
    (pack,) = (cache / "files" / "packs").glob("*.pack")
    raw = pack.read_bytes()
    pack.write_bytes(raw.replace(b"root:x:0:0", b"EVIL:x:0:0"))
    second = convert(source, cache, tmp_path / "second.uni")
    assert PASSWD in second and b"EVIL:x:0:0" not in second


def test_a_planted_changeset_cannot_name_host_paths_or_break_the_loader(
    tmp_path: Path, program: bytes
) -> None:
    """Finding 8: changeset records with 1e999, deep nesting or garbage are a miss."""
    source = layout_with(tmp_path, program)
    cache = tmp_path / "cache"
    convert(source, cache, tmp_path / "first.uni")
    (changeset,) = (cache / "layers").glob("*.jsonl")
    header, *rows, trailer = changeset.read_text().splitlines()
    bad_trailers = [
        '{"compression":"gzip","uncompressed_size":1e999,"entries":1,"changes":5}',
        "[" * 100_000 + "]" * 100_000,
        '{"compression":"gzip","uncompressed_size":-5,"entries":true,"changes":5}',
        "\udcff not json",
    ]
    for bad in bad_trailers:
        changeset.write_text("\n".join([header, *rows, bad]) + "\n", errors="surrogateescape")
        assert BIG in convert(source, cache, tmp_path / "again.uni")
    nested = "\n".join([header, "[" * 50_000 + "]" * 50_000, trailer]) + "\n"
    changeset.write_text(nested)
    assert BIG in convert(source, cache, tmp_path / "again.uni")


def test_changeset_load_refuses_malformed_records(tmp_path: Path) -> None:
    """LayerCache.load: every malformed record is None (a recomputation), never a raise."""
    (tmp_path / "layers").mkdir()
    cache = LayerCache(tmp_path / "layers")
    digest, diff_id = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    head = json.dumps(cache._header(digest, diff_id))
    row = ["file", "x", 0o644, 0, 0, 0, 1, "sha256:" + "c" * 64, "", 0, 0, {}]
    good_trailer = '{"compression":"gzip","uncompressed_size":1,"entries":1,"changes":1}'
    path = cache.path(digest, diff_id)
    path.write_text("\n".join([head, json.dumps([row]), good_trailer]))
    assert cache.load(digest, diff_id) is not None
    bad_rows = [
        [["file", "x", 2**40, 0, 0, 0, 1, "sha256:" + "c" * 64, "", 0, 0, {}]],
        [["file", "\ud800", 0o644, 0, 0, 0, 1, "sha256:" + "c" * 64, "", 0, 0, {}]],
        [[["file"], "x", 0o644, 0, 0, 0, 1, "sha256:" + "c" * 64, "", 0, 0, {}]],
        {"not": "a list"},
    ]
    for bad in bad_rows:
        path.write_text("\n".join([head, json.dumps(bad), good_trailer]))
        assert cache.load(digest, diff_id) is None
    path.unlink()
    os.mkfifo(path)  # a FIFO would block a plain open() forever
    assert cache.load(digest, diff_id) is None


@pytest.mark.parametrize("name", ['quo"te', "back\\slash", "new\nline"])
def test_a_cache_path_with_quotes_or_newlines_links(
    tmp_path: Path, program: bytes, name: str
) -> None:
    """Finding 9: the rootfs is included by a relative name, not the cache path."""
    source = layout_with(tmp_path, program)
    assert BIG in convert(source, tmp_path / name, tmp_path / "out.uni")


@pytest.mark.parametrize("planted", ["blobs", "blobs/sha256"])
def test_the_blob_cache_refuses_planted_symlinks(tmp_path: Path, planted: str) -> None:
    """Finding 5 for the registry's blob cache: a symlinked blobs/ is exit 15, no write."""
    data = b"a registry blob"
    desc = Descriptor(
        media_type="application/octet-stream",
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    (cache / planted).parent.mkdir(parents=True, exist_ok=True)
    (cache / planted).symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError):
        BlobCache(cache / "blobs").store(desc, io.BytesIO(data), what="blob")
    assert tree_files(outside) == []
    os.unlink(cache / planted)
    assert BlobCache(cache / "blobs").store(desc, io.BytesIO(data), what="blob").is_file()
    loose = cache / "blobs" / "sha256" / desc.digest.split(":")[1]
    loose.unlink()
    os.mkfifo(loose)  # a FIFO where a blob belongs: treated as absent, never opened
    assert BlobCache(cache / "blobs").read(desc, what="blob") is None


def test_a_content_gone_from_the_store_is_an_output_error(tmp_path: Path) -> None:
    """A loose content removed after a replay found it: DamagedStoreError (15), which the
    pipeline answers by reading the image again, never a FileNotFoundError traceback."""
    store = ContentStore(tmp_path / "files")
    digest = store.put(io.BytesIO(BIG), len(BIG))
    store.path(digest).unlink()
    with pytest.raises(DamagedStoreError) as err:
        store.read(digest)
    assert err.value.exit_code == 15 and "missing" in err.value.message


def test_run_and_probe_directories_refuse_a_planted_symlink(tmp_path: Path, program: bytes) -> None:
    """`dock2uni run SOURCE`'s conversions (run/) and the accelerator probe's files
    (probe/) live under the same checked cache structure: a symlink there is exit 15 and
    nothing is written where it points."""
    from dock2uni.accel import verdict_path
    from dock2uni.runsource import cached_uni

    source = layout_with(tmp_path, program)
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    cache.mkdir()
    for planted in ("run", "probe"):
        (cache / planted).symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError) as err:
        cached_uni(source, AcquireOptions(), ctx_for(cache))
    assert err.value.exit_code == 15 and "symlink" in err.value.message
    with pytest.raises(OutputError) as err:
        verdict_path(ctx_for(cache), "0" * 64)
    assert err.value.exit_code == 15 and "symlink" in err.value.message
    assert tree_files(outside) == []
