"""The trap-path probes (tests/guest/attack_trap.c): each kills the program, never the kernel.

One .uni holds the probe program; each case boots it once with the case name as its
argument (a killed program ends the VM, so cases cannot share a boot). Natively
first, where Linux gives the verdict: same signal, same output.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.attack_cases import SURVIVES, TRAP_CASES
from tests.boot.conftest import Booted
from tests.boot.guest_images import convert_guest

pytestmark = pytest.mark.boot


@pytest.fixture(scope="module")
def attack_uni(
    guest_source: str, boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    uni = tmp_path_factory.mktemp("attack") / "attack_trap.uni"
    convert_guest(guest_source, "/guest/glibc/attack_trap", uni, boot_ctx)
    return uni


def test_every_probe_has_a_verdict(guest_root: Path) -> None:
    """The program's case list and the verdict table agree (no probe runs unjudged)."""
    out = subprocess.run(
        ["./attack_trap"], cwd=guest_root / "guest" / "glibc", capture_output=True, check=True
    )
    assert sorted(out.stdout.decode().split()) == sorted(TRAP_CASES)


@pytest.mark.parametrize("case", list(TRAP_CASES))
def test_trap_probe(case: str, guest_root: Path, attack_uni: Path, boot: object) -> None:
    verdict = TRAP_CASES[case]
    native = None
    if verdict.native is not None:
        native = subprocess.run(
            ["./attack_trap", case],
            cwd=guest_root / "guest" / "glibc",
            capture_output=True,
            timeout=60,
        )
        assert native.returncode == -verdict.native, native.stdout.decode()

    booted: Booted = boot(attack_uni, cmd=(case,))  # type: ignore[operator]
    log = "\n".join(booted.result.log)
    assert "D2U:PANIC" not in log and "kernel " not in log.split("application fault")[0], (
        booted.describe()
    )
    if verdict.umip and re.search(r"cpu: without[A-Z ]* UMIP", log):
        # This CPU has no UMIP (the kernel said so on its log): descriptor-table reads
        # cannot be refused, so the program reads them and goes on, as on Linux there.
        assert booted.stdout == f"probe {case}\nSURVIVED {case}\n".encode(), booted.describe()
        return
    if SURVIVES in verdict.guest and booted.result.status == "exit":
        assert booted.stdout == f"probe {case}\nSURVIVED {case}\n".encode(), booted.describe()
        return
    assert booted.result.status == "crash", booted.describe()
    assert booted.result.exit_code - 128 in verdict.guest, booted.describe()
    assert b"SURVIVED" not in booted.stdout, booted.describe()
    if native is not None:
        assert booted.stdout == native.stdout, booted.describe()
    if case == "fill_ram_then_split":
        assert b"fill: No space left on device\nsplit: Cannot allocate memory\n" in booted.stdout, (
            booted.describe()
        )
