"""Issue 17: audit verdicts that match what runs. `dock2uni audit --fail-on unsupported`
passes (exit 0) for every fixture image that boots and runs its command: each syscall its
programs can reach either works (FULL, PARTIAL, STUB) or fails the way its callers expect
(a .def audit line: a documented fallback, or a call a Docker container refuses too).

GATED is every layout fixture but the few in LEFT_OUT, each with why. A fixture added to
fixtures/build.py is gated unless it is left out here, with a reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.build import FIXTURES, fixture_layout

pytestmark = [pytest.mark.fixtures, pytest.mark.slow]
D2U = [sys.executable, "-m", "dock2uni"]

LEFT_OUT = {
    # The image cannot start: /bin/tool's #! interpreter is not in the image (the audit's
    # `broken` verdict, exit 21, is the point of the fixture).
    "multilayer": "cannot start: its #! interpreter /bin/sh is missing",
    # Deliberately broken images (one per cannot-start reason).
    "unrunnable": "cannot start by design",
}
GATED = sorted(n for n, f in FIXTURES.items() if f.is_layout and n not in LEFT_OUT)


def _audit(name: str, cache: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`dock2uni audit --format json --fail-on unsupported` of a fixture: process, report."""
    source = f"oci:{fixture_layout(name)}:latest"
    gate = ["--format", "json", "--fail-on", "unsupported"]
    proc = subprocess.run(
        [*D2U, "audit", source, "--cache-dir", str(cache), *gate],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, json.loads(proc.stdout)


def test_left_out_fixtures_exist() -> None:
    """Every fixture left out is a real one: the list cannot go stale silently."""
    assert set(LEFT_OUT) <= set(FIXTURES)


@pytest.mark.parametrize("name", GATED)
def test_audit_gate_passes(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """--fail-on unsupported exits 0; the report's unsupported list is empty (or dlopen-only)."""
    cache = tmp_path_factory.getbasetemp() / "audit-gate-cache"  # shared: analyses are cached
    proc, report = _audit(name, cache)
    blocking = [s["name"] for s in report["unsupported"] if not s["only_via_dlopen"]]
    assert (proc.returncode, blocking) == (0, []), proc.stderr[-2000:]
