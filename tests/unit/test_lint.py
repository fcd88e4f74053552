"""The test run enforces the project's lint and type-check configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_ruff_clean() -> None:
    """ruff finds nothing in the converter, tests, fixtures and benchmarks."""
    paths = [p for p in ("converter", "tests", "fixtures", "bench") if (REPO / p).exists()]
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", *paths], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_clean() -> None:
    """mypy --strict (configured in pyproject.toml) passes on the dock2uni package."""
    proc = subprocess.run([str(BIN / "mypy")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
