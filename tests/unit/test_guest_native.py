"""The native side of the guest comparison sees a terminal: io's tty cases pass on a pty only."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.infra.terminal import run_on_pty

GUEST = Path(__file__).resolve().parent.parent / "guest"
TTY_CASES = ("stdout_is_chardev", "tcgets_stdout", "tiocgwinsz_stdout")


def _build_io(tmp_path: Path) -> Path:
    exe = tmp_path / "io"
    subprocess.run(["gcc", "-O1", "-static", "-o", str(exe), str(GUEST / "io.c")], check=True)
    return exe


def test_io_tty_cases_pass_on_a_pty_and_fail_on_a_pipe(tmp_path: Path) -> None:
    """On a pipe the tty cases fail (so they really compare); on run_on_pty's pty they pass."""
    exe = _build_io(tmp_path)
    piped = subprocess.run([str(exe)], cwd=tmp_path, capture_output=True, timeout=60)
    assert piped.returncode != 0
    failed = {
        line.split()[1].rstrip(":")
        for line in piped.stdout.decode().splitlines()
        if line.startswith("FAIL ")
    }
    assert set(TTY_CASES) <= failed
    on_pty = run_on_pty([str(exe)], cwd=tmp_path)
    out = on_pty.stdout.decode()
    assert on_pty.returncode == 0 and out.rstrip().endswith(" 0 failed"), out
    assert all(f"PASS {case}\n" in out for case in TTY_CASES)
    assert "\r\n" not in out  # raw mode: the bytes compare equal with the console's
