"""Issue 9's acceptance programs (tests/guest): threads, signals and fd objects, native then booted.

Each program runs natively first (the Linux ground truth, stdout on a pty as the booted
console is a tty) and must exit with the status ``ACCEPTANCE`` gives it there (not 0 for
the programs that end with exit_group from a thread); booted it must print the same bytes
and exit with the same status.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import ACCEPTANCE, LIBCS, convert_guest
from tests.infra.terminal import run_on_pty

pytestmark = pytest.mark.boot


@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("program", sorted(ACCEPTANCE))
def test_acceptance_program_matches_native(
    program: str,
    libc: str,
    guest_root: Path,
    guest_source: str,
    boot_ctx: Context,
    boot: object,
    tmp_path: Path,
) -> None:
    """tests/guest/<program>.c prints the same PASS lines and exit status natively and booted."""
    expected = ACCEPTANCE[program]
    native = run_on_pty([f"./{program}"], cwd=guest_root / "guest" / libc, timeout=60)
    assert native.returncode == expected, (
        f"ends with {native.returncode} natively, not {expected}:\n"
        f"{native.stdout.decode()}{native.stderr.decode()}"
    )
    assert native.stdout.rstrip().endswith(b" 0 failed"), native.stdout.decode()

    uni = tmp_path / f"{program}-{libc}.uni"
    convert_guest(guest_source, f"/guest/{libc}/{program}", uni, boot_ctx)
    booted: Booted = boot(uni, tty=True)  # type: ignore[operator]  # as the native pty
    assert booted.result.status == "exit", booted.describe()
    assert booted.result.exit_code == expected, booted.describe()
    assert booted.stdout == native.stdout, booted.describe()
    unsupported = [line for line in booted.result.log if "unsupported syscall" in line]
    assert not unsupported, booted.describe()
