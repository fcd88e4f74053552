"""The closure policy through the CLI: --explain, the report in convert and inspect, JSON keys,
and the default policy's suggestion to use it (docs/slim.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

D2U = [sys.executable, "-m", "dock2uni"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*D2U, *args], capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def source() -> str:
    return f"oci:{fixture_layout('python')}:latest"


def test_convert_closure_explain_and_inspect(source: str, tmp_path: Path) -> None:
    out = tmp_path / "py.uni"
    cache = str(tmp_path / "cache")
    args = ["convert", source, "-o", str(out), "--cache-dir", cache, "--rootfs", "closure"]
    made = cli(*args, "--explain", "--cmd", '["python3", "-c", "import heapq"]')
    assert made.returncode == 0, made.stderr
    text = made.stdout
    assert "(closure policy, embedded)" in text
    assert "Kept by reason:" in text and "  python-module: " in text
    assert "Dropped by directory" in text and "dropped outside the closure:" in text
    assert "Sizes:      kernel " in text and "binaries" in text and "libraries" in text
    lines = dict(line.split("  ", 1) for line in text.splitlines() if line.startswith("/"))
    assert lines["/usr/bin/python3.11"].startswith("program: ")
    assert (
        lines["/usr/lib/python3.11/heapq.py"]
        == "python-module: module heapq, imported by the -c code"
    )
    assert lines["/usr/bin/python3"].startswith("symlink: ")
    assert "Slimmer:" not in text  # already the closure

    meta = json.loads(cli("inspect", str(out), "--format", "json").stdout)
    assert next(iter(meta)) == "schema_version"
    rootfs = meta["rootfs"]
    assert set(rootfs) >= {"kept", "kept_by_reason", "kept_by_directory", "dropped_by_directory"}
    assert rootfs["kept"]["/usr/lib/python3.11/heapq.py"].startswith("python-module: ")
    assert sum(d["entries"] for d in rootfs["kept_by_reason"].values()) == rootfs["entries"]
    assert set(meta["sizes"]["breakdown"]) == {
        "kernel", "binaries", "libraries", "other", "archive_overhead"
    }  # fmt: skip
    shown = cli("inspect", str(out), "--explain").stdout
    assert "/usr/lib/python3.11/heapq.py  python-module: module heapq" in shown
    assert "Kept by reason:" in shown


def test_default_policy_suggests_the_closure(source: str, tmp_path: Path) -> None:
    out = tmp_path / "py.uni"
    args = ["convert", source, "-o", str(out), "--cache-dir", str(tmp_path / "cache")]
    made = cli(*args, "--format", "json")
    assert made.returncode == 0, made.stderr
    meta = json.loads(made.stdout)["metadata"]
    estimate = meta["rootfs"]["closure_estimate"]
    assert 0 < estimate["bytes"] < meta["sizes"]["rootfs"] // 4
    assert "kept" not in meta["rootfs"]  # the default policy records no per-path reasons
    text = cli("inspect", str(out)).stdout
    assert "Slimmer:    --rootfs closure would give a " in text and "docs/slim.md" in text
    assert "only the closure" not in text
    explained = cli("inspect", str(out), "--explain").stdout
    assert "--rootfs closure records a reason per file" in explained


def test_add_file_needs_the_closure_policy(source: str, tmp_path: Path) -> None:
    made = cli("convert", source, "-o", str(tmp_path / "x.uni"), "--add-file", "/etc/hosts")
    assert made.returncode == 2
    assert made.stderr.startswith("dock2uni: error: ") and "--add-file" in made.stderr
    assert not (tmp_path / "x.uni").exists()
