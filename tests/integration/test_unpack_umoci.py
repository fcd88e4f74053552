"""Differential test: dock2uni's merged tree equals `umoci raw unpack --rootless` of the same image.

Runs over synthetic multi-layer images (whiteouts, opaque dirs, hardlinks, symlinks, type
changes, special modes, devices) that are always built here, and over every fixture image
found under build/fixtures/oci/<name> (ref "latest").

Compared per path: type, permission bits, symlink target, file sha256, and which paths
are hardlinks of each other. Normalisation, because rootless umoci cannot reproduce
everything a root-owned tree holds:
  * owners (uid/gid) and xattrs are not compared: rootless umoci never chowns and keeps
    owners in a ``user.rootlesscontainers`` xattr instead;
  * a char/block device is compared as an empty regular file with the device's mode
    (rootless umoci creates exactly that in its place);
  * symlink modes and all timestamps are not compared (Linux has no symlink modes;
    umoci substitutes "now" for zero mtimes).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures import ocibuild as ob
from fixtures.build import layout_refs

from dock2uni.context import Context, Limits
from dock2uni.fs.tree import DeviceNode, FileNode, SymlinkNode
from dock2uni.model import DEFAULT_PLATFORM, AcquiredImage, Descriptor, Layer
from dock2uni.oci.digest import verifying
from dock2uni.paths import BUILD
from dock2uni.unpack import UnpackedImage, unpack
from tests.conftest import need

EMPTY_SHA = hashlib.sha256(b"").hexdigest()
FIXTURE_LAYOUTS = BUILD / "fixtures" / "oci"
REF_ANNOTATION = "org.opencontainers.image.ref.name"

# (kind, permission bits or None, symlink target or content sha256)
Entry = tuple[str, int | None, str]


# -- a minimal OCI layout reader (the acquire stage has its own; this keeps the test
#    independent of it) -------------------------------------------------------------------


def _blob(layout: Path, digest: str) -> Path:
    alg, hexpart = digest.split(":", 1)
    return layout / "blobs" / alg / hexpart


def _json_blob(layout: Path, digest: str) -> Any:
    data = _blob(layout, digest).read_bytes()
    assert ob.sha256(data) == digest
    return json.loads(data)


def image_from_layout(layout: Path, ref: str = "latest") -> AcquiredImage:
    """The linux/amd64 image named ``ref`` in an OCI layout, as an AcquiredImage."""
    index = json.loads((layout / "index.json").read_text())
    descs = [m for m in index["manifests"] if m.get("annotations", {}).get(REF_ANNOTATION) == ref]
    assert descs, f"no ref {ref!r} in {layout}"
    desc = descs[0]
    doc = _json_blob(layout, desc["digest"])
    while "manifests" in doc:  # an index: pick linux/amd64
        desc = next(
            m
            for m in doc["manifests"]
            if m.get("platform", {}).get("os") == "linux"
            and m.get("platform", {}).get("architecture") == "amd64"
        )
        doc = _json_blob(layout, desc["digest"])
    config = _json_blob(layout, doc["config"]["digest"])
    diff_ids = config["rootfs"]["diff_ids"]
    layers = []
    for layer_desc, diff_id in zip(doc["layers"], diff_ids, strict=True):
        descriptor = Descriptor(
            media_type=layer_desc["mediaType"], digest=layer_desc["digest"], size=layer_desc["size"]
        )
        path = _blob(layout, descriptor.digest)

        def opener(path: Path = path, d: Descriptor = descriptor) -> Any:
            return verifying(path.open("rb"), digest=d.digest, size=d.size, what=str(path))

        layers.append(Layer(descriptor=descriptor, diff_id=diff_id, open=opener))
    return AcquiredImage(
        source=f"oci:{layout}:{ref}",
        transport="oci",
        reference=ref,
        manifest_digest=desc["digest"],
        manifest_media_type=doc.get("mediaType", ob.OCI_MANIFEST),
        manifest=doc,
        manifest_bytes=_blob(layout, desc["digest"]).read_bytes(),
        config_digest=doc["config"]["digest"],
        config=config,
        config_bytes=_blob(layout, doc["config"]["digest"]).read_bytes(),
        layers=tuple(layers),
        platform=DEFAULT_PLATFORM,
    )


# -- the two views -----------------------------------------------------------------------


def tree_view(result: UnpackedImage) -> tuple[dict[str, Entry], set[frozenset[str]]]:
    """{path: entry} and the hardlink groups of dock2uni's tree."""
    view: dict[str, Entry] = {}
    groups: dict[int, set[str]] = {}
    for path, node in result.tree.walk():
        if isinstance(node, SymlinkNode):
            view[path] = ("symlink", None, node.target)
            continue
        if isinstance(node, DeviceNode):
            view[path] = ("file", node.mode, EMPTY_SHA)  # what rootless umoci makes of it
        elif isinstance(node, FileNode):
            view[path] = ("file", node.mode, node.digest.split(":", 1)[1])
        else:
            view[path] = (node.kind, node.mode, "")
        if node.kind != "dir":
            groups.setdefault(id(node), set()).add(path)
    return view, {frozenset(g) for g in groups.values() if len(g) > 1}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def host_view(rootfs: Path) -> tuple[dict[str, Entry], set[frozenset[str]]]:
    """The same view of a directory umoci unpacked."""
    view: dict[str, Entry] = {"/": ("dir", stat.S_IMODE(rootfs.lstat().st_mode), "")}
    inodes: dict[tuple[int, int], set[str]] = {}
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            path = "/" + str(full.relative_to(rootfs))
            st = full.lstat()
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                view[path] = ("symlink", None, os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                view[path] = ("dir", mode, "")
            elif stat.S_ISREG(st.st_mode):
                view[path] = ("file", mode, _sha256_file(full))
            elif stat.S_ISFIFO(st.st_mode):
                view[path] = ("fifo", mode, "")
            else:
                view[path] = ("other", mode, "")
            if not stat.S_ISDIR(st.st_mode):
                inodes.setdefault((st.st_dev, st.st_ino), set()).add(path)
    return view, {frozenset(g) for g in inodes.values() if len(g) > 1}


def single_image_layout(layout: Path, ref: str, dest: Path) -> Path:
    """umoci 0.4.7 cannot pick a platform from a nested index: give it a layout whose
    ref names the linux/amd64 manifest directly (blobs shared through a symlink)."""
    index = json.loads((layout / "index.json").read_text())
    desc = next(
        m for m in index["manifests"] if m.get("annotations", {}).get(REF_ANNOTATION) == ref
    )
    if "manifests" not in _json_blob(layout, desc["digest"]):
        return layout
    chosen = image_from_layout(layout, ref)
    dest.mkdir(parents=True)
    (dest / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (dest / "blobs").symlink_to(layout.resolve() / "blobs")
    manifest = {
        "mediaType": chosen.manifest_media_type,
        "digest": chosen.manifest_digest,
        "size": len(chosen.manifest_bytes),
        "annotations": {REF_ANNOTATION: ref},
    }
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest]}))
    return dest


def umoci_unpack(layout: Path, ref: str, dest: Path) -> Path:
    if shutil.which("umoci") is None:
        need("registry", "umoci is not installed (`make setup` installs it with skopeo)")
    dest.mkdir(parents=True, exist_ok=True)
    layout = single_image_layout(layout, ref, dest / "layout")
    rootfs = dest / "rootfs"
    proc = subprocess.run(
        ["umoci", "raw", "unpack", "--rootless", "--image", f"{layout}:{ref}", str(rootfs)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return rootfs


def compare(layout: Path, ref: str, tmp_path: Path) -> UnpackedImage:
    """Unpack with both tools and assert the views are equal."""
    ctx = Context(cache_dir=tmp_path / "cache", limits=Limits(), quiet=True)
    ours = unpack(image_from_layout(layout, ref), ctx)
    theirs = host_view(umoci_unpack(layout, ref, tmp_path / "umoci"))
    mine = tree_view(ours)
    only_ours = sorted(set(mine[0]) - set(theirs[0]))
    only_theirs = sorted(set(theirs[0]) - set(mine[0]))
    assert not only_ours and not only_theirs, (only_ours[:20], only_theirs[:20])
    differing = {p: (mine[0][p], theirs[0][p]) for p in mine[0] if mine[0][p] != theirs[0][p]}
    assert not differing, dict(list(differing.items())[:20])
    assert mine[1] == theirs[1], "hardlink groups differ"
    return ours


# -- synthetic images ----------------------------------------------------------------------


def _base() -> ob.Layer:
    return (
        ob.Layer()
        .dir("bin")
        .dir("etc", mode=0o755)
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        .file("etc/shadow", "root:*:1::::::\n", mode=0o640)
        .dir("usr/bin")
        .file("usr/bin/busybox", b"\x7fELF" + bytes(3000), mode=0o755)
        .hardlink("usr/bin/sh", "usr/bin/busybox")
        .hardlink("usr/bin/ls", "usr/bin/busybox")
        .file("usr/bin/su", b"su", mode=0o4755)
        .file("usr/bin/wall", b"wall", mode=0o2755)
        .dir("tmp", mode=0o1777)
        .dir("var/lib/app/data", mode=0o700)
        .file("var/lib/app/data/db", os.urandom(70_000))
        .file("var/lib/app/cfg", "a=1")
        .symlink("lib", "usr/lib")
        .dir("usr/lib")
        .file("usr/lib/libc.so.6", b"libc" * 1000)
        .symlink("usr/lib/libc.so", "/usr/lib/libc.so.6")
        .symlink("dangling", "/nonexistent/target")
        .device("dev/null", major=1, minor=3)
        .fifo("run/initctl")
        .dir("ro", mode=0o555)
        .file("ro/secret", "s", mode=0o400)
    )


SYNTHETIC: dict[str, Callable[[], list[ob.Layer]]] = {
    "single-layer": lambda: [_base()],
    "whiteouts": lambda: [
        _base(),
        ob.Layer()
        .whiteout("etc/shadow")
        .whiteout("var/lib/app")
        .file("etc/hostname", "box\n")
        .whiteout("usr/bin/ls")  # one name of a hardlink group
        .whiteout("does/not/exist"),
    ],
    "opaque": lambda: [
        _base(),
        ob.Layer().file("usr/lib/new.so", "n").opaque("usr/lib").opaque("etc").dir("etc", 0o750),
        ob.Layer().file("etc/late", "after the opaque layer"),
    ],
    "same-layer-whiteout": lambda: [
        _base(),
        ob.Layer()
        .file("etc/passwd", "new passwd\n")
        .whiteout("etc/passwd")  # after a same-layer entry: must not hide it
        .file("var/lib/app/fresh", "f")
        .whiteout("var/lib/app"),  # touched dir: only lower children go
    ],
    "type-changes": lambda: [
        _base(),
        ob.Layer()
        .file("var/lib/app", "dir became a file")
        .dir("etc/passwd")  # file became a dir
        .file("etc/passwd/inner", "x")
        .dir("lib", mode=0o755)  # symlink to dir replaced by a dir
        .file("lib/own", "o")
        .symlink("tmp", "/var/tmp"),  # dir replaced by a symlink
    ],
    "symlinked-parents": lambda: [
        _base(),
        ob.Layer().file("lib/libnew.so", "via /lib -> usr/lib").file("dangling/made", "m"),
    ],
    "hardlinks-across-layers": lambda: [
        _base(),
        ob.Layer()
        .hardlink("bin/sh", "usr/bin/busybox")
        .hardlink("bin/sulink", "/usr/bin/su")
        .file("usr/bin/busybox", "replaced: links keep the old inode"),
        ob.Layer().hardlink("bin/again", "bin/sh").file("bin/sh", "overwrites only bin/sh"),
    ],
    "whiteouts-through-symlinks": lambda: [
        _base(),
        ob.Layer()
        .hardlink("usr/lib/libc-link", "usr/lib/libc.so")  # a hardlink to a symlink
        .whiteout("lib/libc.so.6"),  # parent /lib -> usr/lib is followed
        ob.Layer()
        .file("usr/lib/kept.so", "k")
        .opaque("lib"),  # so is the opaque marker's directory
    ],
    "root-opaque": lambda: [
        _base(),
        ob.Layer().file(".wh..wh..opq", b"").file("etc/only", "o").symlink("bin", "/etc"),
    ],
    "dir-metadata": lambda: [
        _base(),
        ob.Layer().dir("usr", mode=0o700).dir("var/lib/app/data", mode=0o750).dir(".", mode=0o755),
    ],
}


@pytest.mark.parametrize("compression", ["gzip", "tar"])  # umoci 0.4.7 has no zstd
@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_images_match_umoci(tmp_path: Path, name: str, compression: str) -> None:
    """Each synthetic multi-layer image unpacks to the same tree as umoci's."""
    layout = tmp_path / "layout"
    ob.write_layout(layout, {name: ob.Image(SYNTHETIC[name](), compression=compression)})
    result = compare(layout, name, tmp_path)
    assert len(result.layers) == len(SYNTHETIC[name]())


def _fixture_layouts() -> list[Path]:
    if not FIXTURE_LAYOUTS.is_dir():
        return []
    return sorted(p for p in FIXTURE_LAYOUTS.iterdir() if (p / "index.json").is_file())


@pytest.mark.fixtures
@pytest.mark.slow
@pytest.mark.parametrize("layout", _fixture_layouts(), ids=lambda p: p.name)
def test_fixture_images_match_umoci(tmp_path: Path, layout: Path) -> None:
    """Every built fixture image (build/fixtures/oci/<name>, each of its refs) matches umoci."""
    for ref in layout_refs(layout):
        compare(layout, ref, tmp_path / ref)
