"""Unit tests of the unpack stage: OCI layer semantics (whiteouts, opaque dirs, hardlinks,
symlinked parents, type changes), content storage, layer stats and the changeset cache.

Also home of the helpers the other unpack tests share: AcquiredImage values built straight
from fixtures/ocibuild layers (or raw blobs), with in-memory openers wrapped in
``oci.digest.verifying`` exactly as a real image source wraps its blobs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fixtures import ocibuild as ob
from fixtures.ocibuild import Entry

from dock2uni.context import Context, Limits
from dock2uni.fs.tree import DeviceNode, DirNode, FifoNode, FileNode, Node, SymlinkNode, Tree
from dock2uni.model import DEFAULT_PLATFORM, AcquiredImage, Descriptor, Layer
from dock2uni.oci.digest import verifying
from dock2uni.unpack import UnpackedImage, unpack

# -- helpers shared with test_unpack_bad_inputs.py -------------------------------------


def blob_layer(
    blob: bytes,
    diff_id: str,
    *,
    media_type: str = ob.LAYER_TYPES["gzip"],
    digest: str | None = None,
    reads: list[int] | None = None,
) -> Layer:
    """A Layer whose opener serves ``blob`` through a digest-and-size-checking reader.
    ``reads`` (if given) collects how many compressed bytes each open consumed."""
    desc = Descriptor(media_type=media_type, digest=digest or ob.sha256(blob), size=len(blob))

    def opener() -> Any:
        raw = io.BytesIO(blob)
        if reads is not None:
            reads.append(0)
            counting = _Counting(raw, reads)
            return verifying(counting, digest=desc.digest, size=desc.size, what="test layer")  # type: ignore[arg-type]
        return verifying(raw, digest=desc.digest, size=desc.size, what="test layer")

    return Layer(descriptor=desc, diff_id=diff_id, open=opener)


class _Counting(io.RawIOBase):
    def __init__(self, raw: io.BytesIO, reads: list[int]) -> None:
        super().__init__()
        self._raw = raw
        self._reads = reads

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._reads[-1] += len(data)
        return len(data)


def tar_layer(tar: bytes, compression: str = "gzip", *, label: str | None = None) -> Layer:
    """A Layer from an uncompressed tar, compressed as ``compression``, labelled ``label``."""
    blob = ob.compress(tar, compression)
    return blob_layer(blob, ob.sha256(tar), media_type=ob.LAYER_TYPES[label or compression])


def acquired(layers: Sequence[Layer]) -> AcquiredImage:
    """An AcquiredImage around ready-made layers (manifest and config are not used by unpack)."""
    empty = ob.sha256(b"{}")
    return AcquiredImage(
        source="test",
        transport="oci",
        reference=None,
        manifest_digest=empty,
        manifest_media_type=ob.OCI_MANIFEST,
        manifest={},
        manifest_bytes=b"{}",
        config_digest=empty,
        config={},
        config_bytes=b"{}",
        layers=tuple(layers),
        platform=DEFAULT_PLATFORM,
    )


def image_of(*layers: ob.Layer, compression: str = "gzip") -> AcquiredImage:
    """An AcquiredImage from ocibuild layers."""
    return acquired([tar_layer(layer.tar_bytes(), compression) for layer in layers])


def unpack_layers(ctx: Context, *layers: ob.Layer, compression: str = "gzip") -> UnpackedImage:
    return unpack(image_of(*layers, compression=compression), ctx)


def listing(tree: Tree) -> dict[str, str]:
    """{path: kind[:target]} for every entry, for compact assertions."""
    out = {}
    for path, node in tree.walk():
        text = node.kind
        if isinstance(node, SymlinkNode):
            text += f":{node.target}"
        out[path] = text
    return out


def node(result: UnpackedImage, path: str) -> Node:
    found = result.tree.lookup(path, follow=False)
    assert found is not None, f"{path} missing"
    return found


def content(result: UnpackedImage, path: str) -> bytes:
    found = node(result, path)
    assert isinstance(found, FileNode)
    return result.store.read(found.digest)


# -- basic content and metadata ---------------------------------------------------------


@pytest.mark.parametrize("compression", ["gzip", "zstd", "tar"])
def test_files_dirs_links_and_metadata(ctx: Context, compression: str) -> None:
    """Every entry kind lands in the tree with its metadata; bytes go to the store by hash."""
    big = bytes(range(256)) * 8192  # 2 MiB: streamed to the store, not read whole
    layer = (
        ob.Layer()
        .dir("usr", mode=0o755)
        .dir("usr/bin", mode=0o755)
        .file("usr/bin/tool", b"#!/bin/sh\n", mode=0o4755, uid=0, gid=50)
        .file("usr/bin/big", big, mode=0o755)
        .dir("tmp", mode=0o1777)
        .dir("srv", mode=0o2775, uid=1000, gid=1000)
        .symlink("bin", "usr/bin")
        .symlink("sh", "/usr/bin/tool")
        .device("dev/null", major=1, minor=3)
        .device("dev/sda", block=True, major=8, minor=0)
        .fifo("run/ctl")
        .add(Entry("xattr", "file", data=b"x", pax={"SCHILY.xattr.user.note": "hi"}))
    )
    result = unpack_layers(ctx, layer, compression=compression)
    assert listing(result.tree) == {
        "/": "dir",
        "/bin": "symlink:usr/bin",
        "/dev": "dir",
        "/dev/null": "char",
        "/dev/sda": "block",
        "/run": "dir",
        "/run/ctl": "fifo",
        "/sh": "symlink:/usr/bin/tool",
        "/srv": "dir",
        "/tmp": "dir",
        "/usr": "dir",
        "/usr/bin": "dir",
        "/usr/bin/big": "file",
        "/usr/bin/tool": "file",
        "/xattr": "file",
    }
    tool = node(result, "/usr/bin/tool")
    assert (tool.mode, tool.uid, tool.gid) == (0o4755, 0, 50)
    assert node(result, "/tmp").mode == 0o1777
    srv = node(result, "/srv")
    assert (srv.mode, srv.uid, srv.gid) == (0o2775, 1000, 1000)
    assert content(result, "/usr/bin/tool") == b"#!/bin/sh\n"
    assert content(result, "/usr/bin/big") == big
    null = node(result, "/dev/null")
    assert isinstance(null, DeviceNode)
    assert (null.block, null.major, null.minor) == (False, 1, 3)
    assert isinstance(node(result, "/dev/sda"), DeviceNode)
    assert isinstance(node(result, "/run/ctl"), FifoNode)
    assert node(result, "/xattr").xattrs == {"user.note": b"hi"}
    assert node(result, "/dev").mode == 0o755  # created implicitly
    # the store is content-addressed and lives in the cache
    digest = node(result, "/usr/bin/big")
    assert isinstance(digest, FileNode)
    assert result.store.path(digest.digest).is_relative_to(ctx.cache_dir / "files")
    assert digest.size == len(big)


def test_names_are_normalised_inside_the_root(ctx: Context) -> None:
    """Leading '/' and './', '.' parts, doubled slashes and inner '..' are cleaned lexically."""
    layer = (
        ob.Layer()
        .file("/abs/file", "a")
        .file("./dot/./file", "b")
        .file("dbl//slash///file", "c")
        .file("in/../side", "d")
    )
    result = unpack_layers(ctx, layer)
    for path, data in (
        ("/abs/file", b"a"),
        ("/dot/file", b"b"),
        ("/dbl/slash/file", b"c"),
        ("/side", b"d"),
    ):
        assert content(result, path) == data
    assert "/in" not in listing(result.tree)  # cleaned lexically, as Go's filepath.Clean


def test_root_entry_sets_root_metadata(ctx: Context) -> None:
    """A directory entry for './' (or '/') only updates the root's metadata."""
    result = unpack_layers(ctx, ob.Layer().dir(".", mode=0o700).file("f", "x"))
    assert result.tree.root.mode == 0o700
    assert content(result, "/f") == b"x"


def test_duplicate_entries_last_one_wins(ctx: Context) -> None:
    """Two entries of the same name in one layer: the later replaces the earlier."""
    layer = ob.Layer().file("f", "first").file("f", "second", mode=0o600).symlink("l", "a")
    layer.file("l", "now a file").dir("d", mode=0o700).dir("d", mode=0o750)
    result = unpack_layers(ctx, layer)
    assert content(result, "/f") == b"second"
    assert node(result, "/f").mode == 0o600
    assert content(result, "/l") == b"now a file"
    assert node(result, "/d").mode == 0o750


# -- whiteouts --------------------------------------------------------------------------


def test_whiteout_removes_lower_file_and_subtree(ctx: Context) -> None:
    """'.wh.name' deletes a lower file, or a lower directory with everything in it."""
    lower = ob.Layer().file("etc/keep", "k").file("etc/gone", "g").file("opt/a/b/c", "c")
    upper = ob.Layer().whiteout("etc/gone").whiteout("opt/a")
    result = unpack_layers(ctx, lower, upper)
    assert listing(result.tree) == {"/": "dir", "/etc": "dir", "/etc/keep": "file", "/opt": "dir"}


def test_whiteout_never_hides_same_layer_entries(ctx: Context) -> None:
    """A whiteout after (or before) a same-layer entry of that name leaves the new entry."""
    lower = ob.Layer().file("a", "old").file("b", "old")
    upper = ob.Layer().file("a", "new").whiteout("a").whiteout("b").file("b", "new")
    result = unpack_layers(ctx, lower, upper)
    assert content(result, "/a") == b"new"
    assert content(result, "/b") == b"new"


def test_whiteout_of_touched_directory_keeps_only_new_children(ctx: Context) -> None:
    """Whiting out a directory this layer also writes into hides only the lower children."""
    lower = ob.Layer().file("d/old1", "1").file("d/sub/old2", "2")
    upper = ob.Layer().file("d/new", "n").file("d/sub/new2", "n2").whiteout("d")
    result = unpack_layers(ctx, lower, upper)
    assert set(listing(result.tree)) == {"/", "/d", "/d/new", "/d/sub", "/d/sub/new2"}


def test_whiteout_of_missing_paths_is_a_no_op(ctx: Context) -> None:
    """Whiteouts of absent names, or inside absent or non-directory parents, change nothing."""
    lower = ob.Layer().file("file", "f")
    upper = ob.Layer().whiteout("nothing").whiteout("no/such/dir/x").whiteout("file/child")
    result = unpack_layers(ctx, lower, upper)
    assert listing(result.tree) == {"/": "dir", "/file": "file"}


def test_whiteout_through_symlinked_parent(ctx: Context) -> None:
    """The whiteout's parent is resolved inside the tree, following symlinks."""
    lower = ob.Layer().file("usr/lib/libx.so", "x").symlink("lib", "/usr/lib")
    upper = ob.Layer().whiteout("lib/libx.so")
    result = unpack_layers(ctx, lower, upper)
    assert listing(result.tree) == {
        "/": "dir",
        "/lib": "symlink:/usr/lib",
        "/usr": "dir",
        "/usr/lib": "dir",
    }


def test_whiteout_removes_the_symlink_not_its_target(ctx: Context) -> None:
    """A whiteout names a path: a symlink there is removed, its target stays."""
    lower = ob.Layer().file("real/f", "x").symlink("link", "real")
    result = unpack_layers(ctx, lower, ob.Layer().whiteout("link"))
    assert set(listing(result.tree)) == {"/", "/real", "/real/f"}


@pytest.mark.parametrize("marker_first", [True, False])
def test_opaque_hides_lower_children_wherever_it_appears(ctx: Context, marker_first: bool) -> None:
    """'.wh..wh..opq' applies first regardless of its position in the archive."""
    lower = ob.Layer().file("d/lower1", "1").file("d/sub/lower2", "2").file("other", "o")
    upper = ob.Layer()
    if marker_first:
        upper.opaque("d")
    upper.file("d/new", "n").file("d/sub/new2", "n2")
    if not marker_first:
        upper.opaque("d")
    result = unpack_layers(ctx, lower, upper)
    assert set(listing(result.tree)) == {"/", "/d", "/d/new", "/d/sub", "/d/sub/new2", "/other"}


def test_opaque_keeps_directory_and_its_new_metadata(ctx: Context) -> None:
    """An opaque directory keeps the mode its own entry gives it and loses lower content."""
    lower = ob.Layer().dir("d", mode=0o755).file("d/x", "x")
    upper = ob.Layer().dir("d", mode=0o700).opaque("d")
    result = unpack_layers(ctx, lower, upper)
    assert listing(result.tree) == {"/": "dir", "/d": "dir"}
    assert node(result, "/d").mode == 0o700


def test_opaque_at_root_hides_every_lower_entry(ctx: Context) -> None:
    """An opaque marker at the root leaves only the upper layer's entries."""
    lower = ob.Layer().file("a", "a").file("b/c", "c")
    upper = ob.Layer().file(".wh..wh..opq", b"").file("z", "z")
    result = unpack_layers(ctx, lower, upper)
    assert listing(result.tree) == {"/": "dir", "/z": "file"}


def test_opaque_does_not_reach_lower_than_the_layer_below(ctx: Context) -> None:
    """A layer's opaque marker hides lower layers, not layers applied after it."""
    base = ob.Layer().file("d/base", "b")
    middle = ob.Layer().opaque("d").file("d/middle", "m")
    top = ob.Layer().file("d/top", "t")
    result = unpack_layers(ctx, base, middle, top)
    assert set(listing(result.tree)) == {"/", "/d", "/d/middle", "/d/top"}


def test_whiteout_files_and_aufs_metadata_never_appear(ctx: Context) -> None:
    """Whiteout markers and AUFS '.wh..wh.*' bookkeeping are not part of the tree."""
    layer = (
        ob.Layer()
        .file("keep", "k")
        .whiteout("ghost")
        .opaque("dir")
        .dir(".wh..wh.plnk")
        .file(".wh..wh.plnk/123.456", "aufs link target")
        .file(".wh..wh.aufs", "")
    )
    result = unpack_layers(ctx, layer)
    assert listing(result.tree) == {"/": "dir", "/keep": "file"}


# -- hardlinks --------------------------------------------------------------------------


def test_hardlink_is_the_same_node(ctx: Context) -> None:
    """A hardlink shares its target's node object (one inode, two names)."""
    layer = ob.Layer().file("bin/busybox", "bb", mode=0o755).hardlink("bin/sh", "bin/busybox")
    result = unpack_layers(ctx, layer)
    assert node(result, "/bin/sh") is node(result, "/bin/busybox")


def test_hardlink_to_lower_layer_file_and_to_symlink(ctx: Context) -> None:
    """Hardlinks may target lower-layer files and symlinks (the link itself, not followed)."""
    lower = ob.Layer().file("data/f", "f").symlink("data/s", "f")
    upper = ob.Layer().hardlink("h1", "data/f").hardlink("h2", "/data/s")
    result = unpack_layers(ctx, lower, upper)
    assert node(result, "/h1") is node(result, "/data/f")
    assert node(result, "/h2") is node(result, "/data/s")
    assert isinstance(node(result, "/h2"), SymlinkNode)


def test_hardlink_target_parent_resolved_through_symlinks(ctx: Context) -> None:
    """The target's parents are followed inside the tree (usr-merge layouts)."""
    layer = ob.Layer().file("usr/bin/x", "x").symlink("bin", "usr/bin").hardlink("y", "bin/x")
    result = unpack_layers(ctx, layer)
    assert node(result, "/y") is node(result, "/usr/bin/x")


def test_replacing_a_hardlinked_name_leaves_the_other_name(ctx: Context) -> None:
    """Writing a file over one name of a hardlink pair unlinks it; the target keeps its bytes."""
    same_layer = ob.Layer().file("x", "original").hardlink("h", "x").file("h", "replacement")
    result = unpack_layers(ctx, same_layer)
    assert content(result, "/x") == b"original"
    assert content(result, "/h") == b"replacement"
    lower = ob.Layer().file("x", "original").hardlink("h", "x")
    upper = ob.Layer().file("x", "changed")
    result = unpack_layers(ctx, lower, upper)
    assert content(result, "/h") == b"original"
    assert content(result, "/x") == b"changed"


def test_whiteout_of_hardlink_name_keeps_the_lower_target(ctx: Context) -> None:
    """A same-layer hardlink to a lower file does not shield that file from a whiteout."""
    lower = ob.Layer().file("x", "lower")
    upper = ob.Layer().hardlink("h", "x").whiteout("x")
    result = unpack_layers(ctx, lower, upper)
    assert listing(result.tree) == {"/": "dir", "/h": "file"}
    assert content(result, "/h") == b"lower"


# -- symlinks and type changes ---------------------------------------------------------


def test_parents_are_resolved_through_symlinks(ctx: Context) -> None:
    """Entries below a symlinked directory land in its target, absolute links at the root."""
    lower = ob.Layer().dir("usr/lib").symlink("lib", "/usr/lib").symlink("bin", "usr/bin")
    upper = ob.Layer().file("lib/libc.so", "c").file("bin/ls", "ls")
    result = unpack_layers(ctx, lower, upper)
    assert content(result, "/usr/lib/libc.so") == b"c"
    assert content(result, "/usr/bin/ls") == b"ls"  # missing target dir created
    assert node(result, "/lib").kind == "symlink"


def test_final_component_is_never_followed(ctx: Context) -> None:
    """A file entry over a symlink replaces the symlink instead of writing through it."""
    lower = ob.Layer().file("target", "safe").symlink("link", "target")
    upper = ob.Layer().file("link", "new")
    result = unpack_layers(ctx, lower, upper)
    assert content(result, "/target") == b"safe"
    assert content(result, "/link") == b"new"


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (ob.Layer().file("p/x", "x"), ob.Layer().file("p", "file"), {"/p": "file"}),
        (ob.Layer().file("p", "file"), ob.Layer().file("p/x", "x"), None),
        (ob.Layer().file("p", "file"), ob.Layer().dir("p").file("p/x", "x"), {"/p/x": "file"}),
        (
            ob.Layer().dir("real").file("real/f", "f").symlink("p", "real"),
            ob.Layer().dir("p", mode=0o700),
            {"/p": "dir", "/real/f": "file"},
        ),
        (ob.Layer().dir("p").file("p/x", "x"), ob.Layer().symlink("p", "/"), {"/p": "symlink:/"}),
    ],
    ids=["dir->file", "file-then-child", "file->dir", "dirlink->dir", "dir->symlink"],
)
def test_type_changes_across_layers(
    ctx: Context, first: ob.Layer, second: ob.Layer, expected: dict[str, str] | None
) -> None:
    """Anything but dir-over-dir is unlink + recreate; a dir over a dir symlink replaces it."""
    if expected is None:
        from dock2uni.errors import UnsafeLayerError

        with pytest.raises(UnsafeLayerError, match="not a directory"):
            unpack_layers(ctx, first, second)
        return
    got = listing(unpack_layers(ctx, first, second).tree)
    for path, kind in expected.items():
        assert got[path] == kind
    assert "/p/x" not in got or expected.get("/p/x")


def test_dir_over_dir_keeps_children_and_updates_metadata(ctx: Context) -> None:
    """Directory metadata is replaced; its lower content stays."""
    lower = ob.Layer().dir("d", mode=0o755, uid=1).file("d/x", "x")
    upper = ob.Layer().dir("d", mode=0o700, uid=2)
    result = unpack_layers(ctx, lower, upper)
    d = node(result, "/d")
    assert isinstance(d, DirNode)
    assert (d.mode, d.uid, set(d.children)) == (0o700, 2, {"x"})


# -- stats, labels and the changeset cache ----------------------------------------------


def test_layer_stats_report_detected_compression(ctx: Context) -> None:
    """LayerStats give the sniffed compression even when the label disagrees."""
    tar = ob.Layer().file("a", "a" * 1000).tar_bytes()
    layers = [tar_layer(tar, "zstd", label="gzip"), tar_layer(tar, "tar", label="zstd")]
    result = unpack(acquired(layers), ctx)
    assert [(s.compression, s.media_type.rsplit(".", 1)[-1]) for s in result.layers] == [
        ("zstd", "tar+gzip"),
        ("tar", "tar+zstd"),
    ]
    first = result.layers[0]
    assert (first.entries, first.uncompressed_size) == (1, len(tar))
    assert first.compressed_size == layers[0].descriptor.size


def _cold_and_warm(ctx: Context, image: AcquiredImage) -> tuple[UnpackedImage, UnpackedImage]:
    return unpack(image, ctx), unpack(image, ctx)


def _snapshot(tree: Tree) -> list[tuple[str, str, int, str]]:
    out = []
    for path, n in tree.walk():
        digest = n.digest if isinstance(n, FileNode) else ""
        target = n.target if isinstance(n, SymlinkNode) else ""
        out.append((path, n.kind, n.mode, digest + target))
    return out


def test_warm_unpack_replays_cached_changesets(ctx: Context) -> None:
    """A second unpack replays every layer from the cache and builds the same tree."""
    lower = ob.Layer().file("a", "a").hardlink("h", "a").symlink("s", "/a").file("d/x", "x")
    upper = (
        ob.Layer()
        .whiteout("d")
        .file("b", "b")
        .add(Entry("cap", "file", data=b"\x7fELF", pax={"SCHILY.xattr.user.k": "v"}))
    )
    image = image_of(lower, upper)
    cold, warm = _cold_and_warm(ctx, image)
    assert [s.cached for s in cold.layers] == [False, False]
    assert [s.cached for s in warm.layers] == [True, True]
    assert _snapshot(cold.tree) == _snapshot(warm.tree)
    assert [(s.entries, s.uncompressed_size, s.compression) for s in cold.layers] == [
        (s.entries, s.uncompressed_size, s.compression) for s in warm.layers
    ]
    assert node(warm, "/h") is node(warm, "/a")
    assert node(warm, "/cap").xattrs == {"user.k": b"v"}


def test_warm_unpack_never_opens_the_blob(ctx: Context) -> None:
    """With a valid cached changeset the compressed blob is not read at all."""
    tar = ob.Layer().file("a", "a").tar_bytes()
    reads: list[int] = []
    layer = blob_layer(ob.compress(tar, "gzip"), ob.sha256(tar), reads=reads)
    unpack(acquired([layer]), ctx)
    unpack(acquired([layer]), ctx)
    assert len(reads) == 1


def test_cache_falls_back_when_content_or_changeset_is_damaged(ctx: Context) -> None:
    """Missing store content or a corrupt changeset file means a full cold read."""
    image = image_of(ob.Layer().file("a", "payload"))
    first = unpack(image, ctx)
    digest = node(first, "/a")
    assert isinstance(digest, FileNode)
    for pack in (ctx.cache_dir / "files" / "packs").iterdir():  # small files live in packs
        pack.unlink()
    again = unpack(image, ctx)
    assert not again.layers[0].cached
    assert content(again, "/a") == b"payload"
    (changeset,) = (ctx.cache_dir / "layers").iterdir()
    changeset.write_text(changeset.read_text().replace('"file"', '"bogus"'))
    third = unpack(image, ctx)
    assert not third.layers[0].cached
    assert content(third, "/a") == b"payload"
    assert unpack(image, ctx).layers[0].cached  # rewritten by the cold read


def test_cache_is_keyed_by_digest_and_diff_id(ctx: Context) -> None:
    """The same blob with a different (wrong) diff_id is verified cold, never replayed."""
    from dock2uni.errors import IntegrityError

    tar = ob.Layer().file("a", "a").tar_bytes()
    blob = ob.compress(tar, "gzip")
    unpack(acquired([blob_layer(blob, ob.sha256(tar))]), ctx)
    with pytest.raises(IntegrityError, match="diff_id"):
        unpack(acquired([blob_layer(blob, ob.sha256(b"other"))]), ctx)


def test_failed_layer_leaves_no_changeset(ctx: Context) -> None:
    """A layer that fails verification is never cached."""
    from dock2uni.errors import IntegrityError

    tar = ob.Layer().file("a", "a").tar_bytes()
    with pytest.raises(IntegrityError):
        unpack(acquired([blob_layer(ob.compress(tar, "gzip"), ob.sha256(b"x"))]), ctx)
    assert list((ctx.cache_dir / "layers").iterdir()) == []


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_per_layer_on_a_terminal(cache_dir: Path) -> None:
    """On a terminal each layer gets a progress bar on stderr."""
    stderr = _Tty()
    ctx = Context(cache_dir=cache_dir, limits=Limits(), stderr=stderr)
    unpack_layers(ctx, ob.Layer().file("a", "a"), ob.Layer().file("b", "b"))
    assert "layer 1/2" in stderr.getvalue()
    assert "layer 2/2" in stderr.getvalue()


def test_empty_layers_are_fine(ctx: Context) -> None:
    """An empty tar (or an empty blob) is a valid layer that changes nothing."""
    empty_tar = ob.Layer().tar_bytes()
    layers = [tar_layer(empty_tar, "gzip"), blob_layer(b"", ob.sha256(b""))]
    result = unpack(acquired(layers), ctx)
    assert listing(result.tree) == {"/": "dir"}
    assert [s.entries for s in result.layers] == [0, 0]


@pytest.mark.parametrize(
    "damage",
    [
        lambda lines: lines[:-1],  # summary line missing (cut short)
        lambda lines: [lines[0].replace('"version": 1', '"version": 999'), *lines[1:]],
        lambda lines: [lines[0], lines[1].replace('"sha256:', '"', 1), *lines[2:]],
        lambda lines: [lines[0], lines[1].replace(",0,0,", ",true,0,", 1), *lines[2:]],
        lambda lines: [lines[0], "{not json", *lines[2:]],
    ],
    ids=["truncated", "other-version", "bad-digest", "bool-as-int", "not-json"],
)
def test_malformed_changesets_are_ignored(ctx: Context, damage: Any) -> None:
    """Any damage to a cached changeset makes the layer load cold, never crash or mislead."""
    image = image_of(ob.Layer().file("a", "payload").dir("d"))
    unpack(image, ctx)
    (changeset,) = (ctx.cache_dir / "layers").iterdir()
    changeset.write_text("\n".join(damage(changeset.read_text().splitlines())) + "\n")
    result = unpack(image, ctx)
    assert not result.layers[0].cached
    assert content(result, "/a") == b"payload"
