"""`dock2uni run` exit codes: the app's own, crashes with their cause, timeouts, absent programs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dock2uni.context import Context
from dock2uni.run import PROBE_EXEC, probe_image
from dock2uni.uni import loaded_sizes
from tests.boot.guest_images import convert_guest

pytestmark = pytest.mark.boot


@pytest.fixture(scope="module")
def images(
    guest_source: str, boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """probe_exit, probe_null and probe_loop (glibc) as .uni files."""
    out = tmp_path_factory.mktemp("probes")
    made = {}
    for name in ("probe_exit", "probe_null", "probe_loop"):
        made[name] = out / f"{name}.uni"
        convert_guest(guest_source, f"/guest/glibc/{name}", made[name], boot_ctx)
    return made


def dock2uni_run(
    image: Path, *args: str, accel: str, cache: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "dock2uni",
        "run",
        str(image),
        "--accel",
        accel,
        "--cache-dir",
        str(cache),
        "--timeout",
        str(timeout),
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60, check=False)


@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_exit_code_comes_back(
    code: int, images: dict[str, Path], accel: str, boot_ctx: Context, boot_timeout: float
) -> None:
    """exit(N) in the guest is `dock2uni run`'s exit status N (trailing args replace Cmd)."""
    proc = dock2uni_run(
        images["probe_exit"],
        "--",
        str(code),
        accel=accel,
        cache=boot_ctx.cache_dir,
        timeout=boot_timeout,
    )
    assert proc.returncode == code, proc.stderr
    assert "crash" not in proc.stderr


def test_null_dereference_is_a_crash_with_the_address(
    images: dict[str, Path], accel: str, boot_ctx: Context, boot_timeout: float
) -> None:
    """A NULL read is reported as SIGSEGV (139) with the faulting address, never as success."""
    proc = dock2uni_run(
        images["probe_null"], accel=accel, cache=boot_ctx.cache_dir, timeout=boot_timeout
    )
    assert proc.returncode == 139, proc.stderr
    assert "probe_null: about to read address 0" in proc.stdout
    assert "signal 11" in proc.stderr and "addr=0x0" in proc.stderr, proc.stderr


def test_program_running_forever_is_stopped_at_the_timeout(
    images: dict[str, Path], accel: str, boot_ctx: Context
) -> None:
    """--timeout stops a guest that never exits, with exit code 124 and a one-line cause.

    The guest must have booted and reached its loop first (its line on stdout): a guest
    that never started would also be stopped at the timeout, and prove nothing.
    """
    seconds = 5 if accel == "kvm" else 30  # TCG boots in seconds, not instantly
    proc = dock2uni_run(
        images["probe_loop"], accel=accel, cache=boot_ctx.cache_dir, timeout=seconds
    )
    assert proc.returncode == 124, proc.stderr
    assert "probe_loop: spinning forever\n" in proc.stdout, proc.stdout + proc.stderr
    assert "timeout" in proc.stderr


def test_missing_program_is_127(accel: str, boot_ctx: Context, boot_timeout: float) -> None:
    """A program that is not in the image exits 127 with its path in the cause (the
    image of run.probe_image is built exactly so: its program is absent on purpose)."""
    proc = dock2uni_run(
        probe_image(boot_ctx), accel=accel, cache=boot_ctx.cache_dir, timeout=boot_timeout
    )
    assert proc.returncode == 127, proc.stderr
    assert "not found" in proc.stderr and PROBE_EXEC in proc.stderr


def test_memory_too_small_for_the_image_is_refused_before_booting(
    images: dict[str, Path], accel: str, boot_ctx: Context, boot_timeout: float
) -> None:
    """Less --mem than the image's loaded bytes used to triple-fault before the first log
    line ("a library OS bug"); run refuses first, with the size to give (125)."""
    image = images["probe_exit"]
    loaded = sum(loaded_sizes(image)) + (1 << 20)
    assert loaded > 16 << 20  # the guest image carries every test program
    too_small = f"{(loaded >> 20) - 1}M"
    proc = dock2uni_run(
        image, "--mem", too_small, accel=accel, cache=boot_ctx.cache_dir, timeout=boot_timeout
    )
    assert proc.returncode == 125, proc.stderr
    assert f"--mem {(loaded >> 20) - 1} MiB is too small for this image" in proc.stderr
    assert "hint: Give it at least" in proc.stderr and "triple fault" not in proc.stderr
    enough = dock2uni_run(
        image,
        "--mem",
        f"{(loaded >> 20) + 8}M",
        "--",
        "3",
        accel=accel,
        cache=boot_ctx.cache_dir,
        timeout=boot_timeout,
    )
    assert enough.returncode == 3, enough.stderr
