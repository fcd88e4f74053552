"""Guest test programs run natively first (the Linux ground truth), then booted: same output.

Natively stdout is a real pty, as the booted console is a tty, and fswrite runs as root, as
the guest does: no case takes a branch of its own on one side only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import FAMILIES, LIBCS, convert_guest
from tests.conftest import need
from tests.infra.terminal import run_on_pty

pytestmark = pytest.mark.boot
# Cases that give files away (chown), chroot or change ids need a root native run.
ROOT_FAMILIES = {"fswrite", "compat"}


@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("family", FAMILIES)
def test_guest_family_matches_native(
    family: str,
    libc: str,
    guest_root: Path,
    guest_source: str,
    boot_ctx: Context,
    boot: object,
    tmp_path: Path,
) -> None:
    """tests/guest/<family>.c prints the same PASS lines and exit code natively and booted."""
    bindir = guest_root / "guest" / libc
    if family in ROOT_FAMILIES and os.geteuid() != 0:
        need("root", f"{family}'s privileged cases run natively as root, as in the unikernel")
    native = run_on_pty([f"./{family}"], cwd=bindir, timeout=60)  # the console is a tty
    assert native.returncode == 0, (
        f"fails natively:\n{native.stdout.decode()}{native.stderr.decode()}"
    )
    assert native.stdout.rstrip().endswith(b" 0 failed")

    uni = tmp_path / f"{family}-{libc}.uni"
    convert_guest(guest_source, f"/guest/{libc}/{family}", uni, boot_ctx)
    booted: Booted = boot(uni, tty=True)  # type: ignore[operator]  # as the native pty
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout == native.stdout, booted.describe()
    assert booted.result.exit_code == 0, booted.describe()
    unsupported = [line for line in booted.result.log if "unsupported syscall" in line]
    assert not unsupported, booted.describe()
