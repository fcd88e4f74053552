"""`dock2uni convert` of the nginx-shaped fixture: cold and warm wall time (issue 12, part 4).

Reproduce (from a checkout after `make setup` and `make libos`):

    .venv/bin/python -m bench.run convert_speed [--repeat N]
    # prints markdown, writes build/bench/results-convert_speed.json

What is measured, the three interleaved (bench/stats.py), each the CLI's whole wall time
(Python start-up included) of
``dock2uni convert oci:build/fixtures/oci/nginx-official:latest -o OUT -q --cache-dir C``:
  * cold: ``C`` emptied before each sample (acquire, unpack, LIEF and the disassembly of
    every program and library the entrypoint reaches, plan, link, write);
  * warm: ``C`` already holds this conversion (layer changesets, the image's analysis,
    the linked image): what a second convert of the same image costs;
  * warm, relinked: the same but ``C/linked`` emptied first, i.e. everything cached but
    the link (what a warm convert cost before linkcache.py).
No guest runs: the accelerator (TCG or KVM) plays no part, only the host's CPU and disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.config import Config
from bench.paths import BENCH, dock2uni_cli, fixture_layout
from bench.report import Result, Table
from bench.stats import Metrics, Samples, fmt_seconds, interleaved, verdict

NAME = "convert_speed"
FIXTURE = "nginx-official"
GOAL_COLD, GOAL_WARM = 10.0, 2.0
# Python caches its bytecode as an installed dock2uni does; the session that ran these
# benchmarks had PYTHONDONTWRITEBYTECODE=1, which recompiles every module of every start.
BYTECODE_ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}


def convert_once(cache: Path, out: Path, *, empty: tuple[Path, ...] = ()) -> Metrics:
    """One `dock2uni convert` of the fixture into ``out`` with ``cache``; ``empty`` are
    removed first. Raises on a failed convert (recorded by interleaved as an error)."""
    for path in empty:
        shutil.rmtree(path, ignore_errors=True)
    argv = [
        dock2uni_cli(), "convert", f"oci:{fixture_layout(FIXTURE)}:latest",
        "-o", str(out), "-q", "--cache-dir", str(cache),
    ]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.run(
        argv, env=BYTECODE_ENV, capture_output=True, text=True, timeout=600, check=False
    )
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"convert exit {proc.returncode}: {proc.stderr[-300:]}")
    return {"seconds": seconds}


def _peer(cache: Path, out: Path, empty: tuple[Path, ...]) -> Callable[[], Metrics]:
    return lambda: convert_once(cache, out, empty=empty)


def _row(label: str, s: Samples) -> list[str]:
    spread = s.spread("seconds")
    low_high = f"{fmt_seconds(spread[0])}-{fmt_seconds(spread[1])}" if spread else "-"
    errors = f"{len(s.errors)} failed: {s.errors[0][:80]}" if s.errors else ""
    return [label, fmt_seconds(s.median("seconds")), low_high, str(len(s.runs)), errors]


def run(config: Config) -> Result:
    result = Result(name=NAME)
    result.conditions = {
        "image": f"oci:build/fixtures/oci/{FIXTURE}:latest (79 MiB rootfs, 3 layers)",
        "repetitions": str(config.repeat),
        "accelerator": "none: convert boots nothing (TCG or KVM is irrelevant)",
        "Python": "bytecode cached (PYTHONDONTWRITEBYTECODE unset), as after an install",
    }
    load_before = os.getloadavg()[0]
    BENCH.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="convert-speed-", dir=BENCH))
    try:
        cold, warm, relink = (scratch / n for n in ("cold", "warm", "relink"))
        out = scratch / "nginx.uni"
        for cache in (warm, relink):
            convert_once(cache, out)  # fills the warm caches
        samples = interleaved(
            {
                "cold": _peer(cold, out, (cold,)),
                "warm": _peer(warm, out, ()),
                "warm, relinked": _peer(relink, out, (relink / "linked",)),
            },
            config.repeat,
            label=NAME,
        )
        result.conditions["image size"] = f"{out.stat().st_size:,} B"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.conditions["load average (1 min) before/after"] = (
        f"{load_before:.1f}/{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    table = Table(
        title="dock2uni convert of nginx-official",
        columns=["cache", "median", "min-max", "runs", "errors"],
    )
    table.rows = [_row(label, s) for label, s in samples.items()]
    table.notes = [
        "wall time of the CLI process, Python start-up included; the machine is shared "
        "(2 CPUs, other jobs running): medians, with min-max beside them.",
        "cold: empty cache; warm: the same cache again; warm, relinked: the same cache "
        "without its linked images (the cost of the link itself).",
    ]
    result.tables.append(table)
    for label, goal in (("cold", GOAL_COLD), ("warm", GOAL_WARM)):
        median = samples[label].median("seconds")
        ok = median is not None and median <= goal
        result.goals.append(
            (f"convert nginx {label} <= {goal:g} s", f"{verdict(ok, samples[label])}: "
             f"{fmt_seconds(median)}")
        )  # fmt: skip
    result.raw = {label: s.to_json() for label, s in samples.items()}
    return result
