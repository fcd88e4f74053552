"""docker-archive: on `docker save` tars in both formats (written by fixtures.dockersave)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    UnsupportedImageError,
)
from dock2uni.model import AcquiredImage
from dock2uni.oci import mediatypes as mt
from dock2uni.oci.sources import parse_source
from tests.nowrite import expect


def two_layer_image(text: str = "one", architecture: str = "amd64") -> Image:
    base = Layer().dir("bin").file("bin/app", "#!/bin/sh\n", mode=0o755)
    top = Layer().dir("etc").file("etc/name", f"{text}\n").whiteout("bin/gone")
    return Image(
        layers=[base, top],
        config={"Entrypoint": ["/bin/app"], "Cmd": [text]},
        architecture=architecture,
    )


def make_layout(tmp_path: Path, name: str = "layout", **images: Image) -> Path:
    dest = tmp_path / name
    write_layout(dest, images or {"latest": two_layer_image()})  # type: ignore[arg-type]
    return dest


def get(source: str, ctx: Context) -> AcquiredImage:
    return acquire(parse_source(source), AcquireOptions(), ctx)


def legacy(tmp_path: Path, members: dockersave.Members, name: str = "save.tar") -> Path:
    return dockersave.write_tar(tmp_path / name, members)


def manifest_json(members: dockersave.Members) -> list[dict[str, Any]]:
    data = members["manifest.json"]
    assert isinstance(data, bytes)
    return json.loads(data)  # type: ignore[no-any-return]


def read_layers(image: AcquiredImage) -> list[bytes]:
    out = []
    for layer in image.layers:
        with layer.open() as f:
            out.append(f.read())
    return out


# ------------------------------------------------------------------ good archives


def test_legacy_archive_synthesises_a_manifest(tmp_path: Path, ctx: Context) -> None:
    """Legacy format: config digest as in the layout, layer digests hashed from the members."""
    layout = make_layout(tmp_path)
    members = dockersave.legacy_members(layout, "latest", "app:1")
    image = get(f"docker-archive:{legacy(tmp_path, members)}", ctx)
    from_layout = acquire(parse_source(f"oci:{layout}"), AcquireOptions(), ctx)
    assert image.transport == "docker-archive"
    assert image.reference == "docker.io/library/app:1"
    assert image.config_digest == from_layout.config_digest
    assert image.manifest["config"]["digest"] == image.config_digest
    assert image.manifest_digest == "sha256:" + hashlib.sha256(image.manifest_bytes).hexdigest()
    tars = read_layers(image)
    for layer, data, diff_id in zip(
        image.layers, tars, from_layout.config["rootfs"]["diff_ids"], strict=True
    ):
        assert layer.descriptor.media_type == mt.OCI_LAYER_TAR
        assert layer.descriptor.digest == "sha256:" + hashlib.sha256(data).hexdigest()
        assert layer.diff_id == diff_id == layer.descriptor.digest  # uncompressed
    assert not any(ctx.cache_dir.iterdir())


def test_docker25_archive_goes_through_the_oci_layout(tmp_path: Path, ctx: Context) -> None:
    """Docker >= 25 format (index.json present): same config, REF matched by image name."""
    layout = make_layout(tmp_path)
    archive = legacy(tmp_path, dockersave.docker25_members(layout, "latest", "app:1"))
    from_layout = acquire(parse_source(f"oci:{layout}"), AcquireOptions(), ctx)
    for source in (
        f"docker-archive:{archive}",
        f"docker-archive:{archive}:app:1",
        f"docker-archive:{archive}:docker.io/library/app:1",
    ):
        image = get(source, ctx)
        assert image.config_digest == from_layout.config_digest
        assert image.reference == "docker.io/library/app:1"
        assert [x.descriptor.media_type for x in image.layers] == [mt.OCI_LAYER_TAR] * 2


def test_gzip_layers_under_blobs_sha256(tmp_path: Path, ctx: Context) -> None:
    """containerd-store saves keep gzip layers in blobs/sha256/: read as they are, verified."""
    layout = make_layout(tmp_path)
    archive = legacy(
        tmp_path, dockersave.docker25_members(layout, "latest", "app:1", keep_compression=True)
    )
    image = get(f"docker-archive:{archive}", ctx)
    assert [x.descriptor.media_type for x in image.layers] == [mt.OCI_LAYER_GZIP] * 2
    assert all(data[:2] == b"\x1f\x8b" for data in read_layers(image))


def test_gzip_layer_tar_in_a_legacy_archive(tmp_path: Path, ctx: Context) -> None:
    """A gzip <id>/layer.tar keeps its bytes and digest; the label is plain tar (unpack sniffs)."""
    layout = make_layout(tmp_path)
    archive = legacy(
        tmp_path, dockersave.legacy_members(layout, "latest", "app:1", gzip_layers=True)
    )
    image = get(f"docker-archive:{archive}", ctx)
    for layer, data in zip(image.layers, read_layers(image), strict=True):
        assert data[:2] == b"\x1f\x8b"
        assert layer.descriptor.media_type == mt.OCI_LAYER_TAR
        assert layer.descriptor.digest != layer.diff_id
        assert layer.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest()


def test_ref_selects_among_several_images(tmp_path: Path, ctx: Context) -> None:
    """REF is compared with RepoTags after normalisation (implicit :latest, docker.io/library)."""
    one = dockersave.legacy_members(make_layout(tmp_path, "a"), "latest", "one:latest")
    two = dockersave.legacy_members(
        make_layout(tmp_path, "b", latest=two_layer_image("two")), "latest", "example.com/two:2"
    )
    merged = {**one, **two}
    merged["manifest.json"] = canonical_json(manifest_json(one) + manifest_json(two))
    archive = legacy(tmp_path, merged)
    assert get(f"docker-archive:{archive}:one", ctx).config["config"]["Cmd"] == ["one"]
    picked = get(f"docker-archive:{archive}:example.com/two:2", ctx)
    assert picked.config["config"]["Cmd"] == ["two"]
    assert picked.reference == "example.com/two:2"


def test_path_containing_colons(tmp_path: Path, ctx: Context) -> None:
    """The longest existing prefix is the path: 'a:b.tar' works with and without a REF."""
    layout = make_layout(tmp_path)
    archive = legacy(tmp_path, dockersave.legacy_members(layout, "latest", "app:1"), "my:img.tar")
    whole = parse_source(f"docker-archive:{archive}")
    assert whole.path == archive and whole.ref is None
    with_ref = parse_source(f"docker-archive:{archive}:app:1")
    assert with_ref.path == archive and with_ref.ref == "app:1"
    assert get(f"docker-archive:{archive}:app:1", ctx).reference == "docker.io/library/app:1"


# ------------------------------------------------------------------ bad archives


def _two_images(tmp_path: Path) -> Path:
    one = dockersave.legacy_members(make_layout(tmp_path, "a"), "latest", "one:1")
    two = dockersave.legacy_members(
        make_layout(tmp_path, "b", latest=two_layer_image("two")), "latest", "two:2"
    )
    merged = {**one, **two}
    merged["manifest.json"] = canonical_json(manifest_json(one) + manifest_json(two))
    return legacy(tmp_path, merged)


def test_several_images_without_selection(tmp_path: Path, ctx: Context) -> None:
    """Several images and no REF: an error that lists the tags to choose from."""
    archive = _two_images(tmp_path)
    err = expect(InvalidReferenceError, 9, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)
    assert "one:1" in err.message and "two:2" in err.message


def test_source_index_picks_by_position(tmp_path: Path, ctx: Context) -> None:
    """skopeo's docker-archive:PATH:@N is the Nth entry of manifest.json (from 0)."""
    archive = _two_images(tmp_path)
    assert get(f"docker-archive:{archive}:@0", ctx).config["config"]["Cmd"] == ["one"]
    second = get(f"docker-archive:{archive}:@1", ctx)
    assert second.config["config"]["Cmd"] == ["two"]
    assert second.reference == "docker.io/library/two:2"
    err = expect(ImageNotFoundError, 3, lambda: get(f"docker-archive:{archive}:@2", ctx), tmp_path)
    assert "lists 2" in err.message


def test_source_index_in_a_docker25_archive(tmp_path: Path, ctx: Context) -> None:
    """Docker >= 25 archives carry manifest.json beside index.json: @0 reads it."""
    layout = make_layout(tmp_path)
    archive = legacy(tmp_path, dockersave.docker25_members(layout, "latest", "app:1"))
    assert get(f"docker-archive:{archive}:@0", ctx).config["config"]["Cmd"] == ["one"]


def test_tag_and_source_index_give_the_same_digest(tmp_path: Path, ctx: Context) -> None:
    """The same image picked by its tag or by @0 is the same manifest, so the same digest
    (with gzip layer blobs, as containerd writes them, the synthesised one differed)."""
    layout = make_layout(tmp_path)
    members = dockersave.docker25_members(layout, "latest", "app:1", keep_compression=True)
    archive = legacy(tmp_path, members)
    by_tag = get(f"docker-archive:{archive}:app:1", ctx)
    by_index = get(f"docker-archive:{archive}:@0", ctx)
    assert by_index.manifest_digest == by_tag.manifest_digest


def test_ref_not_in_archive(tmp_path: Path, ctx: Context) -> None:
    """A REF no RepoTag matches is 'image not found', listing the tags."""
    archive = _two_images(tmp_path)
    err = expect(
        ImageNotFoundError, 3, lambda: get(f"docker-archive:{archive}:three:3", ctx), tmp_path
    )
    assert "one:1" in err.message


def test_malformed_ref(tmp_path: Path, ctx: Context) -> None:
    """An upper-case repository is not a valid reference."""
    archive = _two_images(tmp_path)
    expect(InvalidReferenceError, 9, lambda: get(f"docker-archive:{archive}:One:1", ctx), tmp_path)


def _with_manifest(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    members = dockersave.legacy_members(make_layout(tmp_path), "latest", "app:1")
    doc = manifest_json(members)
    change(doc[0])
    members["manifest.json"] = canonical_json(doc)
    return legacy(tmp_path, members)


@pytest.mark.parametrize(
    "bad_name", ["../../etc/passwd", "/etc/passwd", "a/../../b/layer.tar", "x/./../layer.tar"]
)
def test_layer_path_escapes(tmp_path: Path, ctx: Context, bad_name: str) -> None:
    """Layers entries must be plain member names: '..' or absolute paths are unsafe."""
    archive = _with_manifest(tmp_path, lambda m: m["Layers"].__setitem__(0, bad_name))
    expect(UnsafeLayerError, 6, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)


def test_config_missing_from_manifest_json(tmp_path: Path, ctx: Context) -> None:
    """An entry without Config cannot be read."""
    archive = _with_manifest(tmp_path, lambda m: m.pop("Config"))
    err = expect(InvalidImageError, 10, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)
    assert "Config" in err.message


def test_config_member_absent(tmp_path: Path, ctx: Context) -> None:
    """A Config naming a member the archive does not have."""
    archive = _with_manifest(tmp_path, lambda m: m.__setitem__("Config", "f" * 64 + ".json"))
    expect(InvalidImageError, 10, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)


def test_config_bytes_do_not_match_name(tmp_path: Path, ctx: Context) -> None:
    """<hex>.json whose content hashes to something else fails the integrity check."""
    members = dockersave.legacy_members(make_layout(tmp_path), "latest", "app:1")
    config_name = manifest_json(members)[0]["Config"]
    data = members[config_name]
    assert isinstance(data, bytes)
    members[config_name] = data.replace(b'"one"', b'"evil"')
    archive = legacy(tmp_path, members)
    expect(IntegrityError, 5, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)


def test_blob_bytes_do_not_match_name(tmp_path: Path, ctx: Context) -> None:
    """Docker 25 format: a layer blob whose bytes differ from its name (and descriptor)."""
    members = dockersave.docker25_members(make_layout(tmp_path), "latest", "app:1")
    layer_name = manifest_json(members)[0]["Layers"][0]
    data = members[layer_name]
    assert isinstance(data, bytes)
    members[layer_name] = data[:-1] + b"\x01"
    archive = legacy(tmp_path, members)
    image = get(f"docker-archive:{archive}", ctx)  # the OCI path verifies when streaming
    with pytest.raises(IntegrityError) as info, image.layers[0].open() as f:
        f.read()
    assert info.value.exit_code == 5


def test_layer_member_is_a_symlink(tmp_path: Path, ctx: Context) -> None:
    """A layer.tar that is a symlink member is refused, never followed."""
    members = dockersave.legacy_members(make_layout(tmp_path), "latest", "app:1")
    layer_name = manifest_json(members)[0]["Layers"][0]
    members[layer_name] = dockersave.Link("/etc/shadow")
    archive = legacy(tmp_path, members)
    expect(UnsafeLayerError, 6, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)


def test_manifest_json_not_json(tmp_path: Path, ctx: Context) -> None:
    """A corrupt manifest.json is a malformed archive."""
    members = dockersave.legacy_members(make_layout(tmp_path), "latest", "app:1")
    members["manifest.json"] = b"[{"
    archive = legacy(tmp_path, members)
    expect(InvalidImageError, 10, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)


def test_not_a_docker_save_archive(tmp_path: Path, ctx: Context) -> None:
    """A tar with neither manifest.json nor index.json."""
    archive = legacy(tmp_path, {"hello.txt": b"hi"})
    err = expect(InvalidImageError, 10, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)
    assert "manifest.json" in err.message


def test_docker25_several_images_without_selection(tmp_path: Path, ctx: Context) -> None:
    """Docker 25 index.json with two named images and no REF lists both names."""
    one = dockersave.docker25_members(make_layout(tmp_path, "a"), "latest", "one:1")
    two = dockersave.docker25_members(
        make_layout(tmp_path, "b", latest=two_layer_image("two")), "latest", "two:2"
    )
    index = json.loads(one["index.json"])  # type: ignore[arg-type]
    index["manifests"] += json.loads(two["index.json"])["manifests"]  # type: ignore[arg-type]
    merged = {**one, **two, "index.json": canonical_json(index)}
    archive = legacy(tmp_path, merged)
    err = expect(InvalidReferenceError, 9, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)
    assert "one:1" in err.message and "two:2" in err.message
    assert get(f"docker-archive:{archive}:two:2", ctx).config["config"]["Cmd"] == ["two"]


def test_wrong_architecture(tmp_path: Path, ctx: Context) -> None:
    """A legacy archive of an arm64 image is refused for linux/amd64."""
    layout = make_layout(tmp_path, latest=two_layer_image(architecture="arm64"))
    archive = legacy(tmp_path, dockersave.legacy_members(layout, "latest", "app:1"))
    expect(UnsupportedImageError, 11, lambda: get(f"docker-archive:{archive}", ctx), tmp_path)


def test_layer_tampered_after_acquire(tmp_path: Path, ctx: Context) -> None:
    """Legacy digests are computed at acquire time; later changes fail when streamed."""
    layout = make_layout(tmp_path)
    archive = legacy(tmp_path, dockersave.legacy_members(layout, "latest", "app:1"))
    image = get(f"docker-archive:{archive}", ctx)
    raw = bytearray(archive.read_bytes())
    member = raw.find(b"etc/name")  # inside the second layer's tar
    assert member > 0
    raw[member] ^= 0x20
    archive.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError), image.layers[1].open() as f:
        f.read()


def test_legacy_config_larger_than_the_document_limit_is_refused_unread(
    tmp_path: Path, ctx: Context
) -> None:
    """A config member over max_json_bytes is refused from its size, before it is read."""
    import dataclasses

    layout = make_layout(tmp_path)
    members = dockersave.legacy_members(layout, "latest", "app:1")
    archive = legacy(tmp_path, members)
    limit = len(members["manifest.json"]) + 1  # manifest.json fits, the bigger config not
    small = dataclasses.replace(ctx, limits=dataclasses.replace(ctx.limits, max_json_bytes=limit))
    err = expect(InvalidImageError, 10, lambda: get(f"docker-archive:{archive}", small), tmp_path)
    assert str(err).endswith(f".json is larger than the {limit} byte limit")
