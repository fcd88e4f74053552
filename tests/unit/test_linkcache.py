"""The linked-image cache (linkcache.py): a hit gives the bytes a fresh link gives, any
change of a link input misses, and a damaged or forged-looking entry is relinked.

Each test converts a real small image (the hello-static-musl fixture's program) with a
private cache, through the pipeline as `dock2uni convert` runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.ocibuild import Image, Layer, write_layout

from dock2uni import linkcache
from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context, Limits
from dock2uni.convert_report import metadata_text
from dock2uni.errors import OutputError
from dock2uni.fs.tree import FileNode
from dock2uni.pipeline import convert_image, inspect_image
from dock2uni.runspec import Overrides

REPO = Path(__file__).resolve().parents[2]
MUSL = REPO / "build" / "fixtures" / "oci" / "hello-static-musl"


def ctx_for(cache: Path) -> Context:
    return Context(cache_dir=cache, limits=Limits(), quiet=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An OCI layout holding the fixture's static hello program and a data file."""
    tmp = tmp_path_factory.mktemp("linkcache-image")
    inspected = inspect_image(f"oci:{MUSL}", AcquireOptions(), ctx_for(tmp / "c"))
    path = inspected.spec.exec_path
    assert path is not None
    node = inspected.unpacked.tree.lookup(path)
    assert isinstance(node, FileNode)
    program = inspected.unpacked.store.read(node.digest)
    layer = Layer().dir("etc").file("hello", program, mode=0o755).file("data", b"x" * 5000)
    write_layout(tmp / "layout", {"latest": Image(layers=[layer], config={"Cmd": ["/hello"]})})
    return f"oci:{tmp / 'layout'}:latest"


def convert(source: str, cache: Path, out: Path, **kw: object) -> dict[str, object]:
    _, _, linked = convert_image(source, out, AcquireOptions(), ctx_for(cache), **kw)  # type: ignore[arg-type]
    return dict(linked.metadata)


def entries(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "linked").iterdir())


def test_a_hit_is_byte_identical_to_a_fresh_link(source: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = convert(source, cache, tmp_path / "a.uni")
    (record,) = (cache / "linked").glob("*.json")
    stamp = record.stat().st_mtime_ns
    second = convert(source, cache, tmp_path / "b.uni")
    fresh = convert(source, tmp_path / "other-cache", tmp_path / "c.uni")
    assert (tmp_path / "a.uni").read_bytes() == (tmp_path / "b.uni").read_bytes()
    assert (tmp_path / "b.uni").read_bytes() == (tmp_path / "c.uni").read_bytes()
    assert first == second == fresh  # the metadata link_image returns, sizes included
    assert len(entries(cache)) == 2  # one .uni and its record: the second run linked nothing
    assert record.stat().st_mtime_ns >= stamp
    assert (tmp_path / "b.uni").stat().st_mode & 0o777 == 0o755


def test_every_link_input_is_in_the_key(source: str, tmp_path: Path) -> None:
    """A different environment (the generated C), rootfs policy (the cpio entries),
    --initrd (the rootfs assembly) or --compress (the archive's encoding) is another
    entry, never the first one's bytes."""
    cache = tmp_path / "cache"
    convert(source, cache, tmp_path / "a.uni")
    convert(source, cache, tmp_path / "b.uni", overrides=Overrides(env=("X=1",)))
    convert(source, cache, tmp_path / "c.uni", rootfs_policy="full")
    convert(source, cache, tmp_path / "d.uni", separate_initrd=True)
    packed = convert(source, cache, tmp_path / "f.uni", compress=True)
    assert packed["rootfs"]["compressed"] is True  # type: ignore[index]
    assert packed["sizes"]["rootfs"] < packed["sizes"]["rootfs_uncompressed"]  # type: ignore[index]
    shown = metadata_text(packed)
    assert "Compression: LZ4, " in shown and " uncompressed (" in shown
    assert "Compression: none" in metadata_text(convert(source, cache, tmp_path / "a.uni"))
    outputs = [(tmp_path / f"{n}.uni").read_bytes() for n in "abcdf"]
    assert len(set(outputs)) == 5
    assert len([n for n in entries(cache) if n.endswith(".json")]) == 5
    # --initrd again: a hit that writes the cpio beside the image, as a link does
    cpio = (tmp_path / "d.uni.cpio").read_bytes()
    (tmp_path / "d.uni.cpio").unlink()
    convert(source, cache, tmp_path / "e.uni", separate_initrd=True)
    assert (tmp_path / "e.uni.cpio").read_bytes() == cpio
    assert (tmp_path / "e.uni").read_bytes() == outputs[3]


@pytest.mark.parametrize("damage", ["flip", "truncate", "record", "missing"])
def test_a_damaged_entry_is_relinked(source: str, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    convert(source, cache, tmp_path / "a.uni")
    good = (tmp_path / "a.uni").read_bytes()
    (uni,) = (cache / "linked").glob("*.uni")
    (record,) = (cache / "linked").glob("*.json")
    if damage == "flip":
        raw = bytearray(uni.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        uni.write_bytes(bytes(raw))
    elif damage == "truncate":
        uni.write_bytes(uni.read_bytes()[:1000])
    elif damage == "record":
        data = json.loads(record.read_text())
        record.write_text(json.dumps({**data, "kernel": "1e999"}))
    else:
        uni.unlink()
    convert(source, cache, tmp_path / "b.uni")
    assert (tmp_path / "b.uni").read_bytes() == good
    assert uni.read_bytes() == good  # the entry was linked and stored again


def test_a_symlink_for_the_entry_is_never_followed(source: str, tmp_path: Path) -> None:
    """A cached image replaced by a symlink to a host file is not copied into the output."""
    cache = tmp_path / "cache"
    convert(source, cache, tmp_path / "a.uni")
    good = (tmp_path / "a.uni").read_bytes()
    (uni,) = (cache / "linked").glob("*.uni")
    host = tmp_path / "host-file"
    host.write_bytes(good)  # even the right bytes: a symlink is not an entry
    uni.unlink()
    uni.symlink_to(host)
    convert(source, cache, tmp_path / "b.uni")
    assert (tmp_path / "b.uni").read_bytes() == good
    assert not uni.is_symlink() and host.read_bytes() == good


def test_a_planted_symlink_for_the_folder_is_exit_15(source: str, tmp_path: Path) -> None:
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    cache.mkdir()
    (cache / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError) as err:
        convert(source, cache, tmp_path / "a.uni")
    assert err.value.exit_code == 15 and "symlink" in err.value.message
    assert list(outside.iterdir()) == []


def test_the_least_recently_used_entries_are_evicted(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linkcache, "KEEP", 2)
    cache = tmp_path / "cache"
    for i in range(3):
        convert(source, cache, tmp_path / f"{i}.uni", overrides=Overrides(env=(f"N={i}",)))
    assert len(entries(cache)) == 4  # two images and their records
    # the first one was evicted: converting it again links it (a new, identical entry)
    before = (tmp_path / "0.uni").read_bytes()
    convert(source, cache, tmp_path / "again.uni", overrides=Overrides(env=("N=0",)))
    assert (tmp_path / "again.uni").read_bytes() == before
    assert len(entries(cache)) == 4
