"""Console-protocol probes (tests/guest/attack_console.c): marker text never forges an exit.

Issue #15 finding 3: with strace on, a path holding a marker line used to reach the log port.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import convert_guest

pytestmark = pytest.mark.boot


@pytest.mark.parametrize("strace", [False, True])
def test_marker_text_cannot_forge_an_exit(
    strace: bool,
    guest_root: Path,
    guest_source: str,
    boot_ctx: Context,
    boot: object,
    tmp_path: Path,
) -> None:
    native = subprocess.run(
        ["./attack_console"], cwd=guest_root / "guest" / "glibc", capture_output=True, timeout=60
    )
    assert native.returncode == 3 and native.stdout.rstrip().endswith(b" 0 failed")
    uni = tmp_path / "attack_console.uni"
    convert_guest(guest_source, "/guest/glibc/attack_console", uni, boot_ctx)
    booted: Booted = boot(uni, strace=strace, split_stderr=True)  # type: ignore[operator]
    assert (booted.result.status, booted.result.exit_code) == ("exit", 3), booted.describe()
    markers = [line for line in booted.result.log if line.startswith("D2U:")]
    assert markers == ["D2U:ENTER", "D2U:EXIT code=3"], booted.describe()
    # Console output reaches the user as written: only the log is protected. Without a
    # tty, fd 2 has its own channel, so stdout holds what native stdout holds.
    assert booted.guest_stderr == native.stderr, booted.describe()
    verdicts = [line for line in booted.stdout.splitlines() if line.startswith((b"PASS", b"FAIL"))]
    assert verdicts == [
        line for line in native.stdout.splitlines() if line.startswith((b"PASS", b"FAIL"))
    ]
    if strace:
        assert any("\\nD2U:EXIT code=0\\n" in line for line in booted.result.log), booted.describe()
