"""A warm `dock2uni convert` of the nginx-shaped fixture stays fast (issue 12, part 4).

The figures are bench/convert_speed.py's (docs/benchmarks.md); this test only catches a
bad regression, with a bound of twice the 2 s goal so a busy shared machine does not
make it flaky. It also checks why a warm convert is fast: it reuses the linked image
(linkcache.py) and produces the same bytes as the cold one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fixtures.build import fixture_layout

GOAL_WARM = 2.0  # seconds, issue 12 part 4


def convert(source: str, out: Path, cache: Path) -> float:
    argv = [sys.executable, "-m", "dock2uni", "convert", source, "-o", str(out), "-q"]
    t0 = time.monotonic()
    proc = subprocess.run(
        [*argv, "--cache-dir", str(cache)], capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    return seconds


def test_a_warm_convert_of_nginx_reuses_everything(tmp_path: Path) -> None:
    source = f"oci:{fixture_layout('nginx-official')}:latest"
    cache = tmp_path / "cache"
    convert(source, tmp_path / "cold.uni", cache)
    warm = min(convert(source, tmp_path / "warm.uni", cache) for _ in range(2))
    assert (tmp_path / "warm.uni").read_bytes() == (tmp_path / "cold.uni").read_bytes()
    assert len(list((cache / "linked").glob("*.json"))) == 1  # linked once, then reused
    assert list((cache / "build").iterdir()) == []  # no work directory left behind
    assert warm < 2 * GOAL_WARM, f"warm convert took {warm:.2f} s (goal {GOAL_WARM} s)"
