"""The whole-image analysis cache: an exact JSON round trip, and keys that miss on any change."""

from __future__ import annotations

import dataclasses

from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.analyse import analyse, persist
from dock2uni.analyse.model import Analysis
from dock2uni.context import Context
from dock2uni.pipeline import inspect_image
from dock2uni.runspec import Overrides


def test_round_trip_is_exact_and_second_analysis_is_a_cache_hit(ctx: Context) -> None:
    """A real analysis survives to_jsonable/from_jsonable unchanged; the second run loads it."""
    inspected = inspect_image(f"oci:{fixture_layout('hello-static-musl')}", AcquireOptions(), ctx)
    first = analyse(inspected.unpacked, inspected.spec, ctx)
    assert first.syscalls and first.closure.entries
    assert persist.from_jsonable(Analysis, persist.to_jsonable(first)) == first
    second = analyse(inspected.unpacked, inspected.spec, ctx)
    assert second.timings.get("cached") == 1.0
    assert dataclasses.replace(second, timings=first.timings) == first


def test_a_different_spec_misses(ctx: Context) -> None:
    """Another entrypoint is another key: never the other program's answer."""
    source = f"oci:{fixture_layout('hello-static-musl')}"
    hello = inspect_image(source, AcquireOptions(), ctx)
    args = inspect_image(source, AcquireOptions(), ctx, Overrides(entrypoint=("args",)))
    a = analyse(hello.unpacked, hello.spec, ctx)
    b = analyse(args.unpacked, args.spec, ctx)
    assert "cached" not in b.timings and a.programs != b.programs


def test_damaged_cache_files_are_ignored(ctx: Context) -> None:
    """A truncated or foreign cache file is a miss, not an error."""
    key = "0" * 64
    folder = ctx.cache_dir / "analysis" / "images"
    folder.mkdir(parents=True)
    for body in ('{"argv": [', '{"argv": 5}', "[]"):
        (folder / f"{key}.json").write_text(body)
        assert persist.load(ctx.cache_dir, key) is None
