"""Signal default actions and forced faults (tests/guest/probe_signal.c): how the program ends.

Natively first (Linux's verdict), then booted: terminate is a normal exit with Docker's
status 128 + signal and one log line, core is the crash report (D2U:CRASH), and a fault
whose handler cannot run (blocked, ignored, no room for the frame) still kills.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import convert_guest

pytestmark = pytest.mark.boot

SIGABRT, SIGUSR1, SIGSEGV, SIGTERM, SIGRT2 = 6, 10, 11, 15, 36  # glibc's SIGRTMIN is 34

# case: (signal, "terminate" or "core")
CASES: dict[str, tuple[int, str]] = {
    "term": (SIGTERM, "terminate"),
    "usr1": (SIGUSR1, "terminate"),
    "rt": (SIGRT2, "terminate"),
    "abort": (SIGABRT, "core"),
    "segv_blocked": (SIGSEGV, "core"),
    "segv_ignored": (SIGSEGV, "core"),
    "overflow_no_altstack": (SIGSEGV, "core"),
}


@pytest.fixture(scope="module")
def probe_uni(
    guest_source: str, boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    uni = tmp_path_factory.mktemp("sigprobe") / "probe_signal.uni"
    convert_guest(guest_source, "/guest/glibc/probe_signal", uni, boot_ctx)
    return uni


def _native(guest_root: Path, case: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["./probe_signal", case],
        cwd=guest_root / "guest" / "glibc",
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize("case", list(CASES))
def test_default_action(case: str, guest_root: Path, probe_uni: Path, boot: object) -> None:
    sig, action = CASES[case]
    native = _native(guest_root, case)
    assert native.returncode == -sig, native.stdout.decode()

    booted: Booted = boot(probe_uni, cmd=(case,))  # type: ignore[operator]
    log = "\n".join(booted.result.log)
    assert "D2U:PANIC" not in log, booted.describe()
    assert booted.result.exit_code == 128 + sig, booted.describe()
    assert booted.stdout == native.stdout, booted.describe()
    if action == "terminate":
        assert booted.result.status == "exit", booted.describe()
        assert f"terminated by signal {sig} (" in log, booted.describe()
    else:
        assert booted.result.status == "crash", booted.describe()


def test_a_returning_handler_lets_the_program_go_on(
    guest_root: Path, probe_uni: Path, boot: object
) -> None:
    native = _native(guest_root, "handler_returns")
    booted: Booted = boot(probe_uni, cmd=("handler_returns",))  # type: ignore[operator]
    assert native.returncode == 0 and booted.result.exit_code == 0, booted.describe()
    assert booted.stdout == native.stdout, booted.describe()


def test_a_stop_signal_is_ignored_with_a_log_line(probe_uni: Path, boot: object) -> None:
    """Linux would stop the process (no native run: it would stop the test); with no job
    control the unikernel ignores SIGTSTP and says so (docs/signals.md)."""
    booted: Booted = boot(probe_uni, cmd=("tstp",))  # type: ignore[operator]
    assert booted.result.exit_code == 0, booted.describe()
    assert booted.stdout == b"probe tstp\nSURVIVED tstp\n", booted.describe()
    assert any("there is no job control" in line for line in booted.result.log), booted.describe()


def test_a_sleep_a_stop_signal_interrupts_goes_on(probe_uni: Path, boot: object) -> None:
    """SIGTSTP (ignored, no handler) interrupts nanosleep: restart_syscall finishes the
    sleep, which returns 0 after its whole time (Linux does the same after SIGCONT)."""
    booted: Booted = boot(probe_uni, cmd=("tstp_sleep",))  # type: ignore[operator]
    assert booted.result.exit_code == 0, booted.describe()
    assert booted.stdout == (
        b"probe tstp_sleep\nnanosleep 0, slept the whole time: yes\nSURVIVED tstp_sleep\n"
    ), booted.describe()
    assert any("there is no job control" in line for line in booted.result.log), booted.describe()
