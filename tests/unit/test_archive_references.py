"""docker-archive layer references (issue 15, finding 7): bounded, checked cheaply, hashed once."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures import dockersave
from fixtures.ocibuild import Image, Layer, canonical_json, write_layout

from dock2uni.acquire import AcquireOptions, acquire, archive
from dock2uni.context import Context, Limits
from dock2uni.errors import InvalidImageError, LimitExceededError
from dock2uni.oci.sources import parse_source
from tests.nowrite import expect


def _archive(tmp_path: Path, layer: Layer, copies: int, references: int) -> Path:
    """A legacy `docker save` tar whose manifest.json names its first layer ``references``
    times (the image itself has ``copies`` identical layers, so diff_ids fit when equal)."""
    layout = tmp_path / "layout"
    write_layout(layout, {"latest": Image(layers=[layer] * copies, config={"Cmd": ["/x"]})})
    members = dockersave.legacy_members(layout, "latest", "app:1")
    data = members["manifest.json"]
    assert isinstance(data, bytes)
    doc: list[dict[str, Any]] = json.loads(data)
    doc[0]["Layers"] = [doc[0]["Layers"][0]] * references
    members["manifest.json"] = canonical_json(doc)
    return dockersave.write_tar(tmp_path / "save.tar", members)


def big_layer(size: int) -> Layer:
    return Layer().file("blob", bytes(size))


def test_thousands_of_references_are_refused_before_hashing(tmp_path: Path, ctx: Context) -> None:
    """2,000 references to one 8 MiB layer: LimitExceededError (12) at once, not a hang."""
    tar = _archive(tmp_path, big_layer(8 << 20), copies=1, references=2000)
    start = time.monotonic()
    expect(
        LimitExceededError,
        12,
        lambda: acquire(parse_source(f"docker-archive:{tar}"), AcquireOptions(), ctx),
        tmp_path,
    )
    assert time.monotonic() - start < 5  # the old code hashed 16 GB here


def test_a_member_referenced_several_times_is_hashed_once(
    tmp_path: Path, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three references to one member (three identical layers): one hash, three layers."""
    tar = _archive(tmp_path, big_layer(1 << 20), copies=3, references=3)
    hashed: list[str] = []
    real = archive._hash_member

    def counting(index: Any, member: Any, bar: Any) -> str:
        hashed.append(member.name)
        return real(index, member, bar)

    monkeypatch.setattr(archive, "_hash_member", counting)
    image = acquire(parse_source(f"docker-archive:{tar}"), AcquireOptions(), ctx)
    assert len(image.layers) == 3 and len(set(hashed)) == len(hashed) == 1
    assert len({layer.descriptor.digest for layer in image.layers}) == 1


def test_the_layer_limit_is_a_setting(tmp_path: Path) -> None:
    """Limits.max_layers bounds every source (here 2 of 3), and mismatched diff_ids stay
    an InvalidImageError when under it."""
    tar = _archive(tmp_path, big_layer(1024), copies=1, references=3)
    small = Context(cache_dir=tmp_path / "c", limits=Limits(max_layers=2), quiet=True)
    source = parse_source(f"docker-archive:{tar}")
    with pytest.raises(LimitExceededError):
        acquire(source, AcquireOptions(), small)
    roomy = Context(cache_dir=tmp_path / "c", limits=Limits(), quiet=True)
    with pytest.raises(InvalidImageError, match="diff_ids"):
        acquire(source, AcquireOptions(), roomy)
    layout = tmp_path / "many"
    write_layout(layout, {"latest": Image(layers=[Layer().file("a", b"a")] * 3)})
    with pytest.raises(LimitExceededError):
        acquire(parse_source(f"oci:{layout}"), AcquireOptions(), small)
