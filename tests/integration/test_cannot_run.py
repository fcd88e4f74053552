"""Images whose entrypoint cannot start: Linux, `convert` and the audit refuse them alike.

The `unrunnable` fixture (fixtures/unrunnable.py) has one tag per reason. Each is first run
natively in a chroot of its own layer (the ground truth: execve or the loader fails, exit
126 or 127 as `docker run` reports), then given to both commands.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from fixtures.build import fixture_layout
from fixtures.dockersave import read_layout_image, uncompressed
from fixtures.unrunnable import CASES

from dock2uni.errors import AuditBrokenError, ElfError
from tests.conftest import need

D2U = [sys.executable, "-m", "dock2uni"]

# What each refusal must name, beside its finding id.
NAMES = {
    "entrypoint-missing": "/app/nosuch",
    "not-executable": "mode 0644",
    "not-a-program": "neither an ELF binary nor a #! script",
    "interpreter-missing": "/bin/nosuch-shell",
    "env-interpreter-missing": "nosuch-python",
    "truncated-elf": "truncated",
    "relocatable-elf": "ELF REL",
    "wrong-architecture": "aarch64",
    "loader-missing": "/lib64/ld-linux-x86-64.so.2",
    "library-missing": "libgreet.so.1",
}


@pytest.fixture(scope="module")
def layout() -> Path:
    return fixture_layout("unrunnable")


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*D2U, *args, "--cache-dir", str(cache)], capture_output=True, text=True, check=False
    )


def test_every_case_has_a_name_to_check() -> None:
    assert set(NAMES) == set(CASES)


@pytest.mark.parametrize("tag", sorted(CASES))
def test_linux_refuses_it_too(tag: str, layout: Path, tmp_path: Path) -> None:
    """The ground truth: in a chroot of the image, the entrypoint exits 126 or 127."""
    if os.geteuid() != 0 or shutil.which("chroot") is None:
        need("chroot", "running the image natively needs root and chroot(8)")
    root = tmp_path / "root"
    root.mkdir()
    image = read_layout_image(layout, tag)
    for _desc, blob in image.layers:
        with tarfile.open(fileobj=io.BytesIO(uncompressed(blob))) as tar:
            tar.extractall(root, filter="tar")  # our own fixture: trusted
    entry = json.loads(image.config)["config"]["Entrypoint"]
    proc = subprocess.run(
        ["chroot", str(root), *entry], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode in (126, 127), (proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("tag", sorted(CASES))
def test_convert_refuses_it(tag: str, layout: Path, tmp_path: Path) -> None:
    out = tmp_path / "app.uni"
    proc = _cli("convert", f"oci:{layout}:{tag}", "-o", str(out), cache=tmp_path / "cache")
    assert proc.returncode == ElfError.exit_code, proc.stderr
    first, hint = proc.stderr.splitlines()[:2]
    assert first.startswith("dock2uni: error: the image cannot run: "), first
    assert NAMES[tag] in first
    assert hint.startswith("dock2uni: hint: ")
    assert not out.exists()


@pytest.mark.parametrize("tag", sorted(CASES))
def test_audit_calls_it_broken(tag: str, layout: Path, tmp_path: Path) -> None:
    """Whatever --fail-on says: broken is exit 21, and the finding says why."""
    proc = _cli(
        "audit",
        f"oci:{layout}:{tag}",
        "--format",
        "json",
        "--fail-on",
        "never",
        cache=tmp_path / "cache",
    )
    assert proc.returncode == AuditBrokenError.exit_code, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == "broken"
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors and errors[0]["id"] == CASES[tag], errors
    assert any(NAMES[tag] in f["message"] for f in errors), errors
    assert "dock2uni: error: the image cannot run: " in proc.stderr


def test_sarif_reports_the_refusal_as_an_error(layout: Path, tmp_path: Path) -> None:
    proc = _cli("audit", f"oci:{layout}:library-missing", "--format", "sarif", cache=tmp_path / "c")
    assert proc.returncode == AuditBrokenError.exit_code, proc.stderr
    results = json.loads(proc.stdout)["runs"][0]["results"]
    missing = [r for r in results if "libgreet.so.1" in r["message"]["text"]]
    assert missing and missing[0]["level"] == "error"
    assert missing[0]["ruleId"] == "D2U004"
