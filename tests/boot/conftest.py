"""Boot-test fixtures: the accelerator (probed once), timeouts, and convert+boot helpers.

Every boot goes through dock2uni's own run stage (converter/dock2uni/run.py), so
tests boot exactly as users do. The accelerator used is reported at the end of
the run; timeouts scale with it.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dock2uni.accel import requested
from dock2uni.context import Context
from dock2uni.errors import BuildError
from dock2uni.link import ensure_libos
from dock2uni.run import RunOptions, RunResult, run_image, select_accel
from tests.boot.guest_images import build_guests, convert_guest, guest_layout
from tests.conftest import need

_ACCEL_SEEN: set[str] = set()


@dataclass
class Booted:
    """One guest run: how it ended, what it printed (COM1) and what the kernel logged."""

    result: RunResult
    stdout: bytes
    stderr: str
    guest_stderr: bytes = b""  # the program's fd 2 when booted with split_stderr=True

    def describe(self) -> str:
        return (
            f"exit={self.result.exit_code} status={self.result.status} "
            f"cause={self.result.cause} accel={self.result.accel}\n"
            f"--- console ---\n{self.stdout.decode(errors='replace')[-3000:]}\n"
            f"--- library OS log ---\n" + "\n".join(self.result.log[-60:])
        )


@pytest.fixture(scope="session")
def boot_ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    """A quiet context with one cache for the whole session (images unpack once)."""
    return Context(cache_dir=tmp_path_factory.mktemp("boot-cache"), quiet=True)


@pytest.fixture(scope="session")
def accel(boot_ctx: Context) -> str:
    """kvm or tcg, as `dock2uni run` would choose with no flag (DOCK2UNI_ACCEL, else the
    auto probe); fails in CI if QEMU or libos is missing."""
    if shutil.which("qemu-system-x86_64") is None:
        need("boot", "qemu-system-x86_64 is not installed")
    try:
        ensure_libos(boot_ctx)
    except BuildError as exc:
        need("boot", f"the library OS does not build: {exc}")
    chosen = select_accel(requested(None)[0], boot_ctx)
    _ACCEL_SEEN.add(chosen)
    return chosen


@pytest.fixture(scope="session")
def boot_timeout(accel: str) -> float:
    """Seconds a small guest may take: generous under TCG on a shared 2-core machine."""
    return 30.0 if accel == "kvm" else 120.0


@pytest.fixture(scope="session")
def boot(boot_ctx: Context, accel: str, boot_timeout: float) -> Iterator[object]:
    """boot(image, cmd=None, timeout=None, **options) -> Booted."""

    def _boot(
        image: Path, cmd: tuple[str, ...] | None = None, *, split_stderr: bool = False, **kw: object
    ) -> Booted:
        out = io.BytesIO()
        err = io.StringIO()
        # Without a tty, fd 2 is its own channel (COM3): by default it joins ``stdout`` as it
        # arrives; split_stderr keeps it apart, as a native run's capture_output does.
        guest_err = io.BytesIO() if split_stderr else None
        opts = RunOptions(accel=accel, timeout=kw.pop("timeout", boot_timeout), cmd=cmd, **kw)  # type: ignore[arg-type]
        result = run_image(image, opts, boot_ctx, stdout=out, stderr=err, guest_stderr=guest_err)
        return Booted(
            result=result,
            stdout=out.getvalue(),
            stderr=err.getvalue(),
            guest_stderr=guest_err.getvalue() if guest_err else b"",
        )

    yield _boot


@pytest.fixture(scope="session")
def guest_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/guest compiled static with glibc and musl under ROOT/guest/<libc>/."""
    return build_guests(tmp_path_factory.mktemp("guest-root"))


@pytest.fixture(scope="session")
def guest_source(guest_root: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The guest programs as an OCI image."""
    return guest_layout(guest_root, tmp_path_factory.mktemp("guest-oci") / "layout")


@pytest.fixture(scope="session")
def volume_uni(
    guest_source: str, boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """tests/guest/volume.c as the entrypoint: the volume tests' image (test_volumes.py,
    test_volume_cache.py)."""
    uni = tmp_path_factory.mktemp("volume") / "volume.uni"
    convert_guest(guest_source, "/guest/glibc/volume", uni, boot_ctx)
    return uni


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _ACCEL_SEEN:
        names = ", ".join(sorted(a.upper() for a in _ACCEL_SEEN))
        terminalreporter.write_line(f"boot tests ran under: {names}")
