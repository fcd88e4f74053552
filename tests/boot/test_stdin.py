"""`dock2uni run -i`: the host's stdin reaches the program's tty, from its very first byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image

pytestmark = pytest.mark.boot


def run_busybox(
    tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float, stdin: str, *argv: str
) -> subprocess.CompletedProcess[str]:
    """`dock2uni run -i` of the busybox fixture with ``stdin`` piped in, as a user runs it."""
    uni = tmp_path / "bb.uni"
    convert_image(f"oci:{fixture_layout('busybox')}:latest", uni, AcquireOptions(), boot_ctx)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "dock2uni",
            "run",
            str(uni),
            "-i",
            "--accel",
            accel,
            "--timeout",
            str(boot_timeout),
            "--cache-dir",
            str(boot_ctx.cache_dir),
            "--",
            *argv,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=boot_timeout + 60,
        check=False,
    )


def test_piped_stdin_arrives_whole(
    tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """Input piped before boot is delivered without losing the bytes that precede the app."""
    script = 'read -r a; read -r b; echo "got [$a] [$b]"'
    proc = run_busybox(
        tmp_path, boot_ctx, accel, boot_timeout, "line one\nline two\n", "sh", "-c", script
    )
    assert (proc.returncode, proc.stdout) == (0, "got [line one] [line two]\n"), proc.stderr


def test_end_of_stdin_is_end_of_file(
    tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """`cat` sees end of file where the host's stdin ends, even without a final newline."""
    proc = run_busybox(
        tmp_path, boot_ctx, accel, boot_timeout, "first\nno newline at the end", "cat"
    )
    # Without the end of file, cat would wait until --timeout (exit 124).
    assert (proc.returncode, proc.stdout) == (0, "first\nno newline at the end"), proc.stderr
