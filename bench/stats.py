"""Repetition, medians and ratios: every figure the suite reports goes through here.

Peers are measured interleaved: repetition i runs them in the order rotated by i
(A B C, B C A, C A B, ...), so slow drifts of a shared machine (another job, a
warm page cache) spread over all of them instead of favouring one.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Metrics = dict[str, float | None]  # one measurement: metric name -> value (None: not seen)


@dataclass
class Samples:
    """Every repetition of one peer: the metrics of each run, and the errors."""

    runs: list[Metrics] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def values(self, metric: str) -> list[float]:
        return [v for run in self.runs if (v := run.get(metric)) is not None]

    def median(self, metric: str) -> float | None:
        values = self.values(metric)
        return statistics.median(values) if values else None

    def spread(self, metric: str) -> tuple[float, float] | None:
        values = self.values(metric)
        return (min(values), max(values)) if values else None

    def to_json(self) -> dict[str, object]:
        return {"runs": self.runs, "errors": self.errors}


def interleaved(
    peers: Mapping[str, Callable[[], Metrics]], repeat: int, *, label: str = ""
) -> dict[str, Samples]:
    """Run every peer ``repeat`` times in rotating order; a failing run is recorded, not fatal."""
    names = list(peers)
    samples = {name: Samples() for name in names}
    for i in range(repeat):
        order = names[i % len(names) :] + names[: i % len(names)] if names else []
        for name in order:
            try:
                samples[name].runs.append(peers[name]())
            except Exception as exc:  # a broken peer must not stop the others
                samples[name].errors.append(f"{type(exc).__name__}: {exc}")
        progress = " ".join(
            f"{n}={len(samples[n].runs)}/{len(samples[n].errors)}err" for n in names
        )
        print(f"bench: {label} repetition {i + 1}/{repeat}: {progress}", file=sys.stderr)
    return samples


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def fmt_seconds(value: float | None) -> str:
    """Seconds as ms below 1 s, else as s; a dash when not measured."""
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def fmt_spread(samples: Samples, metric: str, fmt: Callable[[float | None], str]) -> str:
    """``median (min-max, n=N)`` of one metric."""
    med = samples.median(metric)
    spread = samples.spread(metric)
    if med is None or spread is None:
        return "-"
    n = len(samples.values(metric))
    return f"{fmt(med)} ({fmt(spread[0])}-{fmt(spread[1])}, n={n})"


def verdict(ok: bool, *involved: Samples) -> str:
    """A goal's verdict: "met" only if ``ok`` and no run of the samples it rests on failed.

    A median of the survivors says nothing of the runs that did not survive: one good run
    in ten must not pass a goal. The reason follows in brackets when runs failed.
    """
    failed = sum(len(s.errors) for s in involved)
    if failed:
        runs = failed + sum(len(s.runs) for s in involved)
        first = next(s.errors[0] for s in involved if s.errors)
        return f"not met: {failed} of {runs} runs failed ({first[:120]})"
    return "met" if ok else "not met"


def first_error(samples: Samples) -> str:
    return samples.errors[0] if samples.errors else ""
