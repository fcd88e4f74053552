"""The batched probe programs (tests/guest/attack_*.c): natively first, then booted, same verdicts.

Each case is one verdict (Linux's errno, a short count, or "the kernel still works
after it"); many cases share one boot. The trap-path probes, which end the program,
are in test_attack_traps.py, and the console probes in test_attack_console.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import convert_guest

pytestmark = pytest.mark.boot

# Seconds each may take booted under TCG. attack_limits creates 50,000 files in one
# directory: about 12 s with hashed directories, over 120 s with the old list search,
# so its bound also catches a return to quadratic creation.
PROGRAMS = {"attack_mm": 600.0, "attack_syscall": 600.0, "attack_limits": 90.0}


@pytest.mark.parametrize("program", PROGRAMS)
def test_attack_probes_match_linux(
    program: str,
    guest_root: Path,
    guest_source: str,
    boot_ctx: Context,
    boot: object,
    tmp_path: Path,
) -> None:
    libc = "glibc"  # the probes are raw syscalls: one libc is enough (boot time under TCG)
    bindir = guest_root / "guest" / libc
    native = subprocess.run([f"./{program}"], cwd=bindir, capture_output=True, timeout=120)
    assert native.returncode == 0, native.stdout.decode() + native.stderr.decode()
    uni = tmp_path / f"{program}-{libc}.uni"
    convert_guest(guest_source, f"/guest/{libc}/{program}", uni, boot_ctx)
    booted: Booted = boot(uni, timeout=PROGRAMS[program])  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout == native.stdout, booted.describe()
    assert booted.result.exit_code == 0, booted.describe()
