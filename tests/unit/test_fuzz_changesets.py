"""Fuzz: cached layer changesets (unpack/cache.py records) as the unpack stage replays them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.ocibuild import Image, write_layout
from hypothesis import strategies as st

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.context import Context, Limits
from dock2uni.oci.sources import parse_source
from dock2uni.unpack import unpack
from tests.fuzzing import byte_mutants, fuzz, json_mutants
from tests.unit.test_fuzz_layers import every_kind_layers

pytestmark = pytest.mark.fuzz


@st.composite
def record_mutants(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """One JSON line of a seed (header, a batch of rows, the trailer) mutated structurally."""
    lines = draw(st.sampled_from(seeds)).splitlines()
    at = draw(st.integers(0, len(lines) - 1))
    lines[at] = draw(json_mutants([lines[at]])).replace(b"\n", b" ")
    return b"\n".join(lines) + b"\n"


def test_fuzz_changesets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer, top = every_kind_layers()
    write_layout(tmp_path / "layout", {"latest": Image(layers=[layer, top])})
    ctx = Context(cache_dir=tmp_path / "cache", limits=Limits(), quiet=True)
    image = acquire(parse_source(f"oci:{tmp_path / 'layout'}"), AcquireOptions(), ctx)
    unpack(image, ctx)  # writes the two changesets: the seeds
    paths = sorted((tmp_path / "cache" / "layers").glob("*.jsonl"))
    assert len(paths) == 2
    seeds = [p.read_bytes() for p in paths]

    def replay(data: bytes) -> None:
        for path in paths:
            path.write_bytes(data)  # either layer's record, under both names
        unpack(image, ctx)

    strategy = st.one_of(record_mutants(seeds), byte_mutants(seeds))
    fuzz("changesets", strategy, replay, capsys=capsys)
