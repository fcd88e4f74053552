"""Complexity bounds that do not depend on the machine's speed: how time grows with input size.

A test of "linear, not quadratic" times the same work at two sizes, n and k*n, and bounds
the ratio: linear work grows about k times, quadratic k*k times. The bound sits between
(k**1.5 by default), so a shared, slow or busy CPU changes both timings alike and the
verdict not at all; the fastest of a few repetitions of each size keeps one hiccup out.
Absolute timings belong in bench/, not in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``work``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def assert_subquadratic(
    make: Callable[[int], Callable[[], object]], small: int, factor: int, repeat: int = 2
) -> float:
    """Time ``make(n)()`` at n = small and small * factor; fail if it grew by factor**1.5."""
    t_small = best_seconds(make(small), repeat)
    t_large = best_seconds(make(small * factor), repeat)
    ratio = t_large / max(t_small, 1e-4)
    bound = factor**1.5
    assert ratio < bound, (
        f"{factor}x the input took {ratio:.1f}x the time (linear ~{factor}x, quadratic "
        f"~{factor * factor}x, bound {bound:.0f}x): {t_small:.3f}s -> {t_large:.3f}s"
    )
    return ratio
