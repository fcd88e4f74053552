"""`dock2uni run SOURCE` as `docker run IMAGE`: converted on first use, cached by digest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

pytestmark = pytest.mark.boot


def test_run_of_an_oci_source_converts_once_then_boots(
    tmp_path: Path, accel: str, boot_timeout: float
) -> None:
    """The first run converts (and says so), the second boots the cached image at once."""
    cache = tmp_path / "cache"
    argv = [sys.executable, "-m", "dock2uni", "run", f"oci:{fixture_layout('busybox')}"]
    argv += ["--accel", accel, "--timeout", str(boot_timeout), "--cache-dir", str(cache)]
    argv += ["--", "sh", "-c", "echo $((6*7)); exit 5"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert (first.returncode, first.stdout) == (5, "42\n"), first.stderr
    assert "for its first run" in first.stderr
    cached = list((cache / "run").glob("*.uni"))
    assert len(cached) == 1
    second = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert (second.returncode, second.stdout) == (5, "42\n"), second.stderr
    assert "for its first run" not in second.stderr
    assert list((cache / "run").glob("*.uni")) == cached
