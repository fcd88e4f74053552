"""Forged signal frames (tests/guest/attack_sigreturn.c): rt_sigreturn kills the program only.

One .uni holds the probe program; each case boots it once with the case name as its
argument (the killed program ends the VM). Natively first: Linux's verdict, same output.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.attack_cases import SIGRETURN_CASES
from tests.boot.conftest import Booted
from tests.boot.guest_images import convert_guest

pytestmark = pytest.mark.boot


@pytest.fixture(scope="module")
def sigreturn_uni(
    guest_source: str, boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    uni = tmp_path_factory.mktemp("attack") / "attack_sigreturn.uni"
    convert_guest(guest_source, "/guest/glibc/attack_sigreturn", uni, boot_ctx)
    return uni


def test_every_sigreturn_probe_has_a_verdict(guest_root: Path) -> None:
    """The program's case list and the verdict table agree (no probe runs unjudged)."""
    out = subprocess.run(
        ["./attack_sigreturn"],
        cwd=guest_root / "guest" / "glibc",
        capture_output=True,
        check=True,
    )
    assert sorted(out.stdout.decode().split()) == sorted(SIGRETURN_CASES)


@pytest.mark.parametrize("case", list(SIGRETURN_CASES))
def test_sigreturn_probe(case: str, guest_root: Path, sigreturn_uni: Path, boot: object) -> None:
    verdict = SIGRETURN_CASES[case]
    native = subprocess.run(
        ["./attack_sigreturn", case],
        cwd=guest_root / "guest" / "glibc",
        capture_output=True,
        timeout=60,
    )
    assert native.returncode == -verdict.native, native.stdout.decode()  # type: ignore[operator]

    booted: Booted = boot(sigreturn_uni, cmd=(case,))  # type: ignore[operator]
    log = "\n".join(booted.result.log)
    assert "D2U:PANIC" not in log and "kernel " not in log, booted.describe()
    assert booted.result.status == "crash", booted.describe()
    assert booted.result.exit_code - 128 in verdict.guest, booted.describe()
    assert "D2U:CRASH" in log, booted.describe()
    assert booted.stdout == native.stdout, booted.describe()
