"""Time and peak memory of `dock2uni inspect` (issue 3) against `skopeo copy` + `umoci raw unpack`.

For each fixture, interleaved in one run:
  * dock2uni cold: ``dock2uni inspect oci:LAYOUT:latest --cache-dir NEW`` (empty cache);
  * dock2uni warm: the same command with a cache filled by one earlier (uncounted) run;
  * skopeo + umoci: ``skopeo copy oci:LAYOUT:latest oci:NEW:latest`` then
    ``umoci raw unpack --rootless --image NEW:latest ROOTFS``, both cold every time
    (the pair's time is the sum, its peak memory the larger of the two).
Wall time is measured around each process; peak memory is GNU time's maximum
resident set size (``/usr/bin/time -f %M``). Fixtures of different sizes show
whether peak memory follows image size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.config import Config
from bench.paths import BENCH, dock2uni_cli, fixture_layout
from bench.report import Result, Table
from bench.stats import (
    Metrics,
    Samples,
    fmt_bytes,
    fmt_ratio,
    fmt_seconds,
    fmt_spread,
    interleaved,
    ratio,
    verdict,
)

NAME = "inspect_time"
FIXTURES = ("nginx", "coreutils", "busybox")  # the ~150 MB image, then smaller ones
MAIN = "nginx"
COLD = "dock2uni inspect, cold cache"
WARM = "dock2uni inspect, warm cache"
PEER = "skopeo copy + umoci raw unpack"
GNU_TIME = "/usr/bin/time"


def timed(argv: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes) of one process; raises on failure."""
    with tempfile.NamedTemporaryFile(prefix="d2u-bench-time-", suffix=".txt") as report:
        t0 = time.monotonic()
        proc = subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", report.name, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            detail = proc.stderr.decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"{' '.join(argv[:3])} failed ({proc.returncode}): {detail}")
        peak_kib = int(Path(report.name).read_text().split()[-1])
    return wall, peak_kib * 1024


def _scratch() -> Path:
    root = BENCH / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="inspect-", dir=root))


def inspect_argv(layout: Path, cache: Path) -> list[str]:
    return [
        dock2uni_cli(),
        "inspect",
        f"oci:{layout}:latest",
        "--cache-dir",
        str(cache),
        "--format",
        "json",
        "--quiet",
    ]


def cold_runner(layout: Path) -> Callable[[], Metrics]:
    def run() -> Metrics:
        work = _scratch()
        try:
            wall, peak = timed(inspect_argv(layout, work / "cache"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return {"seconds": wall, "peak_rss": float(peak)}

    return run


def warm_runner(layout: Path, cache: Path) -> Callable[[], Metrics]:
    def run() -> Metrics:
        wall, peak = timed(inspect_argv(layout, cache))
        return {"seconds": wall, "peak_rss": float(peak)}

    return run


def peer_runner(layout: Path) -> Callable[[], Metrics]:
    def run() -> Metrics:
        work = _scratch()
        try:
            copy_s, copy_peak = timed(
                ["skopeo", "copy", "-q", f"oci:{layout}:latest", f"oci:{work / 'copy'}:latest"]
            )
            unpack_s, unpack_peak = timed(
                [
                    "umoci",
                    "raw",
                    "unpack",
                    "--rootless",
                    "--image",
                    f"{work / 'copy'}:latest",
                    str(work / "rootfs"),
                ]
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return {
            "seconds": copy_s + unpack_s,
            "peak_rss": float(max(copy_peak, unpack_peak)),
            "skopeo_seconds": copy_s,
            "umoci_seconds": unpack_s,
            "skopeo_peak_rss": float(copy_peak),
            "umoci_peak_rss": float(unpack_peak),
        }

    return run


def image_size(layout: Path) -> tuple[int, int]:
    """(uncompressed bytes of all layers, regular-file bytes) as dock2uni inspect reports."""
    work = _scratch()
    try:
        out = subprocess.run(
            inspect_argv(layout, work / "cache"), capture_output=True, text=True, check=True
        ).stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    doc = json.loads(out)
    layers = sum(int(layer.get("uncompressed_size") or 0) for layer in doc["layers"])
    return layers, int(doc["total_size"])


def run(config: Config) -> Result:
    result = Result(name=NAME)
    result.conditions = {
        "repetitions": f"{config.repeat}, interleaved (cold, warm, pair in rotating order)",
        "caches": "cold = a new --cache-dir per run; the layout's blobs are in the page cache "
        "for every contender (the fixture was read before)",
    }
    table = Table(
        title="dock2uni inspect vs skopeo copy + umoci raw unpack: median (min-max, n)",
        columns=["image (layers uncompressed)", "contender", "time", "peak RSS", "time / pair"],
    )
    sizes = Table(
        title="Peak memory against image size (medians)",
        columns=[
            "image",
            "layers uncompressed",
            "dock2uni cold",
            "dock2uni warm",
            "skopeo",
            "umoci",
        ],
    )
    scaling: dict[str, tuple[int, float | None]] = {}  # fixture -> (size, cold peak RSS)
    for fixture in FIXTURES:
        layout = fixture_layout(fixture)
        layers_bytes, files_bytes = image_size(layout)
        warm_cache = _scratch()
        try:
            warm = warm_runner(layout, warm_cache / "cache")
            warm()  # fills the cache; not counted
            samples = interleaved(
                {COLD: cold_runner(layout), WARM: warm, PEER: peer_runner(layout)},
                config.repeat,
                label=f"{NAME} {fixture}",
            )
        finally:
            shutil.rmtree(warm_cache, ignore_errors=True)
        result.raw[fixture] = {
            "layers_uncompressed": layers_bytes,
            "file_bytes": files_bytes,
            "samples": {n: s.to_json() for n, s in samples.items()},
        }
        # A fixture with a failed cold run has no peak: the memory goal is then not met.
        cold_ok = not samples[COLD].errors
        scaling[fixture] = (layers_bytes, samples[COLD].median("peak_rss") if cold_ok else None)
        pair = samples[PEER].median("seconds")
        label = f"{fixture} ({fmt_bytes(layers_bytes)})"
        for name in (COLD, WARM, PEER):
            s = samples[name]
            table.rows.append(
                [
                    label,
                    name + (f" ({len(s.errors)} failed: {s.errors[0][:100]})" if s.errors else ""),
                    fmt_spread(s, "seconds", fmt_seconds),
                    fmt_spread(s, "peak_rss", fmt_bytes),
                    fmt_ratio(ratio(s.median("seconds"), pair)),
                ]
            )
        sizes.rows.append(
            [
                fixture,
                fmt_bytes(layers_bytes),
                fmt_bytes(samples[COLD].median("peak_rss")),
                fmt_bytes(samples[WARM].median("peak_rss")),
                fmt_bytes(samples[PEER].median("skopeo_peak_rss")),
                fmt_bytes(samples[PEER].median("umoci_peak_rss")),
            ]
        )
        if fixture == MAIN:
            result.goals += _goals(samples)
    result.tables += [table, sizes]
    result.goals.append(_memory_goal(scaling))
    return result


def _goals(samples: dict[str, Samples]) -> list[tuple[str, str]]:
    pair = samples[PEER].median("seconds")
    goals = []
    for name in (COLD, WARM):
        r = ratio(samples[name].median("seconds"), pair)
        judged = verdict(r is not None and r < 1, samples[name], samples[PEER])
        goals.append((f"{MAIN}: {name} faster than {PEER}", f"{judged} ({fmt_ratio(r)} the time)"))
    return goals


def _memory_goal(scaling: dict[str, tuple[int, float | None]]) -> tuple[str, str]:
    """Peak memory should not follow image size: the largest fixture against the smallest."""
    (big, (big_size, big_peak)), (small, (small_size, small_peak)) = (
        max(scaling.items(), key=lambda kv: kv[1][0]),
        min(scaling.items(), key=lambda kv: kv[1][0]),
    )
    goal = "dock2uni inspect's peak memory not proportional to image size"
    mem_ratio = ratio(big_peak, small_peak)
    if mem_ratio is None:
        return goal, f"not met: failed cold runs of {big} or {small}"
    size_ratio = big_size / max(small_size, 1)
    judged = "met" if mem_ratio < size_ratio / 4 else "not met"
    return goal, (
        f"{judged} ({big} is {size_ratio:.0f}x {small}'s uncompressed size, its cold peak RSS "
        f"{mem_ratio:.2f}x)"
    )
