"""oci: and oci-archive: sources on layouts written by fixtures.ocibuild, good and malformed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from fixtures import dockersave
from fixtures.ocibuild import Image, Layer, canonical_json, write_layout

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.context import Context
from dock2uni.errors import (
    ImageNotFoundError,
    IntegrityError,
    InvalidImageError,
    InvalidReferenceError,
    UnsafeLayerError,
)
from dock2uni.model import AcquiredImage, Platform
from dock2uni.oci.sources import parse_source
from tests.nowrite import expect


def small_image(text: str = "hello", **kw: object) -> Image:
    layer = Layer().dir("etc").file("etc/greeting", f"{text}\n").file("bin/app", "x", mode=0o755)
    return Image(layers=[layer], config={"Cmd": ["/bin/app"], "Env": ["A=1"]}, **kw)  # type: ignore[arg-type]


def make_layout(tmp_path: Path, images: dict[str, Image | list[Image]] | None = None) -> Path:
    dest = tmp_path / "layout"
    write_layout(dest, images or {"latest": small_image()})
    return dest


def get(source: str, ctx: Context, platform: Platform | None = None) -> AcquiredImage:
    options = AcquireOptions(platform=platform) if platform else AcquireOptions()
    return acquire(parse_source(source), options, ctx)


def read_all(image: AcquiredImage) -> list[bytes]:
    out = []
    for layer in image.layers:
        with layer.open() as f:
            out.append(f.read())
    return out


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


def index_of(layout: Path) -> dict[str, object]:
    return json.loads((layout / "index.json").read_text())  # type: ignore[no-any-return]


def manifest_of(layout: Path) -> dict[str, object]:
    desc = index_of(layout)["manifests"][0]  # type: ignore[index]
    return json.loads(blob_path(layout, desc["digest"]).read_text())  # type: ignore[no-any-return]


def tar_of(members: list[tuple[str, bytes]], dest: Path) -> Path:
    """A tar of regular files, in order, duplicates allowed (write_tar takes a dict)."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


# ------------------------------------------------------------------ good layouts


def test_layout_acquires_with_verified_layers(tmp_path: Path, ctx: Context) -> None:
    """oci:DIR returns manifest, config and layers whose bytes verify against their digests."""
    layout = make_layout(tmp_path)
    image = get(f"oci:{layout}", ctx)
    assert image.transport == "oci"
    assert image.reference == "latest"
    assert image.config["config"]["Cmd"] == ["/bin/app"]
    assert image.platform == Platform(os="linux", architecture="amd64")
    (data,) = read_all(image)
    assert "sha256:" + hashlib.sha256(data).hexdigest() == image.layers[0].descriptor.digest
    assert image.manifest_digest == "sha256:" + hashlib.sha256(image.manifest_bytes).hexdigest()
    assert not any(ctx.cache_dir.iterdir())


def test_layout_selects_ref_and_platform(tmp_path: Path, ctx: Context) -> None:
    """REF picks an index.json entry; a multi-platform entry resolves by platform."""
    layout = make_layout(
        tmp_path,
        {
            "one": small_image("one"),
            "multi": [small_image("arm", architecture="arm64", variant="v8"), small_image("x86")],
        },
    )
    one = get(f"oci:{layout}:one", ctx)
    multi = get(f"oci:{layout}:multi", ctx)
    arm = get(f"oci:{layout}:multi", ctx, Platform(os="linux", architecture="arm64"))
    assert one.reference == "one"
    assert multi.platform.architecture == "amd64" and multi.index_digest is not None
    assert arm.platform == Platform(os="linux", architecture="arm64", variant="v8")
    assert len({one.config_digest, multi.config_digest, arm.config_digest}) == 3


def test_oci_archive_matches_the_layout(tmp_path: Path, ctx: Context) -> None:
    """oci-archive: reads the same image as oci: from a tar, also with ./-prefixed names."""
    layout = make_layout(tmp_path)
    plain = dockersave.write_tar(tmp_path / "img.tar", dockersave.oci_archive_members(layout))
    dotted = tmp_path / "dotted.tar"
    with tarfile.open(dotted, "w") as tar:
        tar.add(layout, arcname=".")
    from_dir = get(f"oci:{layout}", ctx)
    for archive in (plain, dotted):
        image = get(f"oci-archive:{archive}", ctx)
        assert image.transport == "oci-archive"
        assert image.manifest_digest == from_dir.manifest_digest
        assert read_all(image) == read_all(from_dir)


def test_archive_ignores_members_it_does_not_use(tmp_path: Path, ctx: Context) -> None:
    """Members such as ../escape, /abs or a symlink elsewhere are never used nor written."""
    layout = make_layout(tmp_path)
    members = dockersave.oci_archive_members(layout)
    members.update({"../escape": b"x", "/abs/path": b"y", "etc": dockersave.Link("/etc")})
    archive = dockersave.write_tar(tmp_path / "junk.tar", members)
    assert get(f"oci-archive:{archive}", ctx).config["config"]["Cmd"] == ["/bin/app"]
    assert not (tmp_path.parent / "escape").exists()


def test_layer_tampered_after_acquire_fails_on_read(tmp_path: Path, ctx: Context) -> None:
    """Layer.open verifies while streaming: a blob changed after acquire raises IntegrityError."""
    layout = make_layout(tmp_path)
    image = get(f"oci:{layout}", ctx)
    path = blob_path(layout, image.layers[0].descriptor.digest)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError), image.layers[0].open() as f:
        f.read()


# ------------------------------------------------------------------ bad layouts


def test_missing_oci_layout_file(tmp_path: Path, ctx: Context) -> None:
    """A directory without oci-layout is not an OCI layout."""
    layout = make_layout(tmp_path)
    (layout / "oci-layout").unlink()
    err = expect(InvalidImageError, 10, lambda: get(f"oci:{layout}", ctx), tmp_path)
    assert "oci-layout" in err.message


def test_wrong_layout_version(tmp_path: Path, ctx: Context) -> None:
    """imageLayoutVersion other than 1.0.0 is refused."""
    layout = make_layout(tmp_path)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    err = expect(InvalidImageError, 10, lambda: get(f"oci:{layout}", ctx), tmp_path)
    assert "2.0.0" in err.message


def test_index_json_not_json(tmp_path: Path, ctx: Context) -> None:
    """A corrupt index.json is a malformed image."""
    layout = make_layout(tmp_path)
    (layout / "index.json").write_text("{not json")
    expect(InvalidImageError, 10, lambda: get(f"oci:{layout}", ctx), tmp_path)


def test_ref_not_found_lists_refs(tmp_path: Path, ctx: Context) -> None:
    """An unknown REF is 'image not found' and the message lists what exists."""
    layout = make_layout(tmp_path, {"v1": small_image("1"), "v2": small_image("2")})
    err = expect(ImageNotFoundError, 3, lambda: get(f"oci:{layout}:v3", ctx), tmp_path)
    assert "v1" in err.message and "v2" in err.message


def test_several_refs_without_selection(tmp_path: Path, ctx: Context) -> None:
    """Several named images and no REF is ambiguous; the message lists the refs."""
    layout = make_layout(tmp_path, {"v1": small_image("1"), "v2": small_image("2")})
    err = expect(InvalidReferenceError, 9, lambda: get(f"oci:{layout}", ctx), tmp_path)
    assert "v1" in err.message and "v2" in err.message


def test_missing_blob(tmp_path: Path, ctx: Context) -> None:
    """A layout missing the config blob is incomplete (InvalidImageError)."""
    layout = make_layout(tmp_path)
    blob_path(layout, manifest_of(layout)["config"]["digest"]).unlink()  # type: ignore[index]
    err = expect(InvalidImageError, 10, lambda: get(f"oci:{layout}", ctx), tmp_path)
    assert "missing" in err.message


def test_blob_bytes_do_not_match_digest(tmp_path: Path, ctx: Context) -> None:
    """A config blob of the right size but other content fails the digest check."""
    layout = make_layout(tmp_path)
    path = blob_path(layout, manifest_of(layout)["config"]["digest"])  # type: ignore[index]
    data = path.read_bytes()
    path.write_bytes(data.replace(b"/bin/app", b"/bin/bad"))
    expect(IntegrityError, 5, lambda: get(f"oci:{layout}", ctx), tmp_path)


def test_blob_size_differs_from_descriptor(tmp_path: Path, ctx: Context) -> None:
    """A layer blob longer than its descriptor says fails when streamed."""
    layout = make_layout(tmp_path)
    image = get(f"oci:{layout}", ctx)
    with blob_path(layout, image.layers[0].descriptor.digest).open("ab") as f:
        f.write(b"\0")
    with pytest.raises(IntegrityError) as info, image.layers[0].open() as stream:
        stream.read()
    assert info.value.exit_code == 5


def test_blob_is_a_symlink(tmp_path: Path, ctx: Context) -> None:
    """A blob that is a symlink (here to a file outside the layout) is refused, not followed."""
    layout = make_layout(tmp_path)
    path = blob_path(layout, manifest_of(layout)["config"]["digest"])  # type: ignore[index]
    outside = tmp_path / "outside.json"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    expect(UnsafeLayerError, 6, lambda: get(f"oci:{layout}", ctx), tmp_path)


def test_blobs_directory_is_a_symlink(tmp_path: Path, ctx: Context) -> None:
    """blobs/ itself pointing elsewhere is refused too."""
    layout = make_layout(tmp_path)
    (layout / "blobs").rename(tmp_path / "elsewhere")
    (layout / "blobs").symlink_to(tmp_path / "elsewhere")
    expect(UnsafeLayerError, 6, lambda: get(f"oci:{layout}", ctx), tmp_path)


def test_blob_is_a_fifo(tmp_path: Path, ctx: Context) -> None:
    """A FIFO in place of a blob is refused without blocking on it."""
    layout = make_layout(tmp_path)
    path = blob_path(layout, manifest_of(layout)["config"]["digest"])  # type: ignore[index]
    path.unlink()
    os.mkfifo(path)
    expect(InvalidImageError, 10, lambda: get(f"oci:{layout}", ctx), tmp_path)


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:" + "A" * 64,  # upper-case hex
        "sha256:../../../../etc/passwd",  # path traversal
        "sha256:" + "a" * 63,  # too short
        "md5:" + "a" * 32,  # unknown algorithm
    ],
)
def test_malformed_digest_in_index(tmp_path: Path, ctx: Context, digest: str) -> None:
    """A digest whose grammar is wrong never becomes a path."""
    layout = make_layout(tmp_path)
    index = index_of(layout)
    index["manifests"][0]["digest"] = digest  # type: ignore[index]
    (layout / "index.json").write_bytes(canonical_json(index))
    expect(InvalidImageError, 10, lambda: get(f"oci:{layout}", ctx), tmp_path)


def test_archive_blob_member_is_a_symlink(tmp_path: Path, ctx: Context) -> None:
    """A symlink member at blobs/sha256/<hex> inside an oci-archive is refused."""
    layout = make_layout(tmp_path)
    members = dockersave.oci_archive_members(layout)
    config = manifest_of(layout)["config"]["digest"].split(":")[1]  # type: ignore[index]
    members[f"blobs/sha256/{config}"] = dockersave.Link("/etc/passwd")
    archive = dockersave.write_tar(tmp_path / "img.tar", members)
    expect(UnsafeLayerError, 6, lambda: get(f"oci-archive:{archive}", ctx), tmp_path)


def test_archive_duplicate_member(tmp_path: Path, ctx: Context) -> None:
    """Two index.json members make the archive ambiguous."""
    layout = make_layout(tmp_path)
    members = [(n, d) for n, d in dockersave.oci_archive_members(layout).items()]
    members.append(("index.json", b'{"schemaVersion": 2, "manifests": []}'))
    archive = tar_of(members, tmp_path / "dup.tar")  # type: ignore[arg-type]
    expect(InvalidImageError, 10, lambda: get(f"oci-archive:{archive}", ctx), tmp_path)


def test_archive_compressed_or_truncated(tmp_path: Path, ctx: Context) -> None:
    """A gzip-compressed or truncated oci-archive is refused with a clear message."""
    import gzip

    layout = make_layout(tmp_path)
    archive = dockersave.write_tar(tmp_path / "img.tar", dockersave.oci_archive_members(layout))
    packed = tmp_path / "img.tar.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes()))
    err = expect(InvalidImageError, 10, lambda: get(f"oci-archive:{packed}", ctx), tmp_path)
    assert "gzip" in err.message
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[:5000])
    expect(InvalidImageError, 10, lambda: get(f"oci-archive:{cut}", ctx), tmp_path)


def test_archive_pax_record_of_length_zero(tmp_path: Path, ctx: Context) -> None:
    """A PAX header whose record length is 0 (CVE-2019-20907) fails instead of looping."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    payload = b"0 path=x\n"
    header.size = len(payload)
    raw = header.tobuf(format=tarfile.USTAR_FORMAT) + payload.ljust(512, b"\0") + bytes(1024)
    archive = tmp_path / "pax.tar"
    archive.write_bytes(raw)
    expect(InvalidImageError, 10, lambda: get(f"oci-archive:{archive}", ctx), tmp_path)


def test_path_must_exist(tmp_path: Path) -> None:
    """oci: naming a directory that does not exist is 'not found' (exit 3)."""
    expect(ImageNotFoundError, 3, lambda: parse_source(f"oci:{tmp_path}/nope"), tmp_path)
