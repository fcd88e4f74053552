"""Wall time and peak memory of `dock2uni audit` on the python and nginx fixtures (issue 5).

The whole command a user runs is timed, ``dock2uni audit oci:LAYOUT:latest --format json
--fail-on never --cache-dir DIR`` (start-up, reading and unpacking the image, analysis,
rendering), interleaved in one run:
  * cold: a new, empty --cache-dir every repetition (the issue's "cold cache");
  * analysis cold: a cache that holds the unpacked image but whose ``analysis`` folder is
    deleted before every repetition (deletion not timed): the share of the cold time that
    is syscall analysis rather than unpacking;
  * warm: the same cache again, filled by one earlier, uncounted run;
  * for reference, ``dock2uni inspect ... --format json --quiet`` on the warm cache: the
    start-up and image reading that a warm audit shares, without analysis or report.
Wall time is measured around the process; peak memory is GNU time's maximum resident
set size (``/usr/bin/time -f %M``), which Linux reports as the largest single process
among dock2uni and the children it waited for (LIEF sandbox, analysis workers), not their
sum; CPU time is user + system of the command and those children. Every run's JSON
report is checked: all contenders must report the same syscall list.
"""

from __future__ import annotations

import hashlib
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
    fmt_seconds,
    fmt_spread,
    interleaved,
    verdict,
)

NAME = "audit_time"
FIXTURES = ("python", "nginx")
COLD = "cold cache (new --cache-dir)"
ANALYSIS_COLD = "image cached, analysis cache empty"
WARM = "warm cache"
INSPECT = "reference: dock2uni inspect, warm cache"
CONTENDERS = (COLD, ANALYSIS_COLD, WARM, INSPECT)
GOALS = {COLD: 10.0, WARM: 1.0}  # seconds, issue 5
MIN_REPEAT = 5  # the issue asks for a median of at least 5
GNU_TIME = "/usr/bin/time"


def audit_argv(layout: Path, cache: Path) -> list[str]:
    return [
        dock2uni_cli(),
        "audit",
        f"oci:{layout}:latest",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--cache-dir",
        str(cache),
    ]


def inspect_argv(layout: Path, cache: Path) -> list[str]:
    return [
        dock2uni_cli(),
        "inspect",
        f"oci:{layout}:latest",
        "--format",
        "json",
        "--quiet",
        "--cache-dir",
        str(cache),
    ]


def timed(argv: list[str]) -> tuple[Metrics, bytes]:
    """Wall seconds, peak RSS and CPU seconds of one command, and its standard output."""
    with (
        tempfile.NamedTemporaryFile(prefix="d2u-bench-time-", suffix=".txt") as report,
        tempfile.TemporaryFile(prefix="d2u-bench-out-") as out,
    ):
        t0 = time.monotonic()
        proc = subprocess.run(
            [GNU_TIME, "-f", "%M %U %S", "-o", report.name, *argv],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            detail = proc.stderr.decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"{' '.join(argv[1:3])} failed ({proc.returncode}): {detail}")
        peak_kib, user, system = Path(report.name).read_text().split()[-3:]
        out.seek(0)
        stdout = out.read()
    metrics: Metrics = {
        "seconds": wall,
        "peak_rss": float(int(peak_kib) * 1024),
        "cpu_seconds": float(user) + float(system),
    }
    return metrics, stdout


def _scratch() -> Path:
    root = BENCH / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="audit-", dir=root))


class Runners:
    """The contenders for one fixture, and the syscall lists their audits reported."""

    def __init__(self, layout: Path, work: Path) -> None:
        self.layout = layout
        self.work = work
        self.reported: dict[str, set[str]] = {}  # digest of a syscall list -> contenders

    def _run(self, name: str, cache: Path) -> Metrics:
        metrics, stdout = timed(audit_argv(self.layout, cache))
        syscalls = list(json.loads(stdout)["syscalls"])
        digest = hashlib.sha256("\n".join(syscalls).encode()).hexdigest()[:16]
        self.reported.setdefault(digest, set()).add(name)
        metrics["syscalls"] = float(len(syscalls))
        return metrics

    def cold(self) -> Metrics:
        cache = Path(tempfile.mkdtemp(prefix="cold-", dir=self.work))
        try:
            return self._run(COLD, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def analysis_cold(self) -> Metrics:
        cache = self.work / "image-only"
        shutil.rmtree(cache / "analysis", ignore_errors=True)
        return self._run(ANALYSIS_COLD, cache)

    def warm(self) -> Metrics:
        return self._run(WARM, self.work / "warm")

    def inspect(self) -> Metrics:
        return timed(inspect_argv(self.layout, self.work / "warm"))[0]

    def peers(self) -> dict[str, Callable[[], Metrics]]:
        return {
            COLD: self.cold,
            ANALYSIS_COLD: self.analysis_cold,
            WARM: self.warm,
            INSPECT: self.inspect,
        }

    def prime(self) -> None:
        """Fill the warm and the image-only caches with one uncounted run each."""
        self.warm()
        self.analysis_cold()
        self.reported.clear()


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(config: Config) -> Result:
    repeat = max(config.repeat, MIN_REPEAT)
    result = Result(name=NAME)
    result.conditions = {
        "repetitions": f"{repeat}, interleaved (the four rows of a fixture in rotating order)",
        "command": "dock2uni audit oci:build/fixtures/oci/NAME:latest --format json "
        "--fail-on never --cache-dir DIR",
        "page cache": "the layout's blobs are in the page cache for every contender",
    }
    table = Table(
        title="dock2uni audit: median (min-max, n)",
        columns=["image", "contender", "wall time", "CPU time (user+sys)", "peak RSS", "syscalls"],
    )
    for fixture in FIXTURES:
        layout = fixture_layout(fixture)
        work = _scratch()
        load_before = _loadavg()
        try:
            runners = Runners(layout, work)
            runners.prime()
            samples = interleaved(runners.peers(), repeat, label=f"{NAME} {fixture}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        load_after = _loadavg()
        result.raw[fixture] = {
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "distinct_syscall_lists": {d: sorted(n) for d, n in runners.reported.items()},
            "samples": {n: s.to_json() for n, s in samples.items()},
        }
        for name in CONTENDERS:
            s = samples[name]
            count = s.median("syscalls")
            table.rows.append(
                [
                    fixture,
                    name + (f" ({len(s.errors)} failed: {s.errors[0][:100]})" if s.errors else ""),
                    fmt_spread(s, "seconds", fmt_seconds),
                    fmt_spread(s, "cpu_seconds", fmt_seconds),
                    fmt_spread(s, "peak_rss", fmt_bytes),
                    "-" if count is None else f"{count:.0f}",
                ]
            )
        table.notes.append(
            f"{fixture}: load average {load_before} before, {load_after} after; "
            + (
                "every run reported the same syscall list"
                if len(runners.reported) == 1
                else f"runs reported {len(runners.reported)} different syscall lists (see JSON)"
            )
        )
        result.goals += _goals(fixture, samples)
    result.tables.append(table)
    return result


def _goals(fixture: str, samples: dict[str, Samples]) -> list[tuple[str, str]]:
    goals = []
    for name, limit in GOALS.items():
        median = samples[name].median("seconds")
        goal = f"{fixture}: audit with {name} under {fmt_seconds(limit)}"
        if median is None:
            goals.append((goal, "not measured: no successful run"))
            continue
        judged = verdict(median < limit, samples[name])
        goals.append((goal, f"{judged} (median {fmt_seconds(median)})"))
    return goals
