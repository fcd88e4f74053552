"""Fuzz: a layer blob through decompression, the tar reader, the name checks and the applier."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from fixtures.ocibuild import Layer, compress

from dock2uni.context import Limits
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import Tree
from dock2uni.unpack import tarstream
from dock2uni.unpack.apply import Applier
from dock2uni.unpack.changes import change_from_entry
from dock2uni.unpack.decompress import ImageBudget, LayerStream
from tests.fuzzing import byte_mutants, fuzz

pytestmark = pytest.mark.fuzz

LIMITS = Limits(max_layer_bytes=8 << 20, max_image_bytes=16 << 20, max_entries=10_000)


def seed_layers() -> list[bytes]:
    """Small layers with every entry kind, long names, pax records, whiteouts."""
    tars = [layer.tar_bytes() for layer in every_kind_layers()]
    return [*tars, compress(tars[0], "gzip"), compress(tars[1], "zstd")]


def every_kind_layers() -> tuple[Layer, Layer]:
    """A layer with every entry kind, a long name and pax records, and one on top of it
    with a whiteout, an opaque directory and a file: seeds for the layer and changeset
    targets."""
    long = "d/" + "n" * 120 + "/" + "f" * 130
    rich = (
        Layer()
        .dir("etc")
        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
        .file("bin/app", b"\x7fELF" + bytes(60), mode=0o755)
        .symlink("bin/sh", "app")
        .hardlink("bin/ash", "bin/app")
        .device("dev/null", major=1, minor=3)
        .fifo("run/fifo")
        .file(long, "long name")
        .file("etc/pax", "p", pax={"path": "etc/paxed", "SCHILY.xattr.user.k": "v"})
    )
    top = Layer().whiteout("bin/ash").opaque("etc").file("etc/new", "x" * 700)
    return rich, top


def unpack_blob(blob: bytes, store: ContentStore) -> None:
    """What the unpack stage does with one cold layer, minus the cache."""
    diff_id = "sha256:" + hashlib.sha256(blob).hexdigest()  # wrong unless plain: fine
    stream = LayerStream(
        io.BytesIO(blob), limits=LIMITS, budget=ImageBudget(LIMITS), diff_id=diff_id, what="fuzz"
    )
    reader = tarstream.TarReader(
        io.BufferedReader(stream, 1 << 16),
        max_entry_bytes=LIMITS.max_layer_bytes,
        max_path_bytes=LIMITS.max_path_bytes,
    )
    applier = Applier(Tree(), LIMITS)
    applier.begin_layer()
    for count, entry in enumerate(reader):
        assert count < LIMITS.max_entries
        change = change_from_entry(entry, LIMITS)
        if change is None:
            continue
        if change.kind == tarstream.FILE:
            change.digest = store.put_bytes(reader.read_data(change.size))
        applier.apply(change)
    applier.end_layer()
    stream.finish()


def test_fuzz_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ContentStore(tmp_path / "store")
    fuzz("layers", byte_mutants(seed_layers()), lambda b: unpack_blob(b, store), capsys=capsys)
