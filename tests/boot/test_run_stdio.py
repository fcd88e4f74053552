"""`dock2uni run` stdio as `docker run` has it: stdin at end of file without -i, pipes
without -t (stdout and stderr apart, binary-safe), a terminal with -t."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image

pytestmark = pytest.mark.boot


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory, boot_ctx: Context) -> dict[str, Path]:
    """name -> .uni, converted once (on first use)."""
    return {"_dir": tmp_path_factory.mktemp("stdio")}


def uni(images: dict[str, Path], name: str, boot_ctx: Context) -> Path:
    if name not in images:
        out = images["_dir"] / f"{name}.uni"
        convert_image(f"oci:{fixture_layout(name)}:latest", out, AcquireOptions(), boot_ctx)
        images[name] = out
    return images[name]


def run(
    image: Path, boot_ctx: Context, accel: str, timeout: float, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    argv = [sys.executable, "-m", "dock2uni", "run", str(image), "--accel", accel]
    argv += ["--timeout", str(timeout), "--cache-dir", str(boot_ctx.cache_dir), *args]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout + 60, check=False)


def test_without_i_stdin_is_at_end_of_file(
    images: dict[str, Path], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """`cat` without -i ends at once (it waited until --timeout, exit 124, before), even
    with data on the host's stdin, which is not forwarded."""
    bb = uni(images, "busybox", boot_ctx)
    proc = run(bb, boot_ctx, accel, boot_timeout, "--", "cat", stdin=b"not forwarded\n")
    assert (proc.returncode, proc.stdout) == (0, b""), proc.stderr


def test_stdout_and_stderr_are_separate_pipes(
    images: dict[str, Path], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """Without -t, fd 2 reaches dock2uni's stderr and fd 1 its stdout; neither is a tty."""
    bb = uni(images, "busybox", boot_ctx)
    script = "echo out; echo err >&2; [ -t 0 ] || echo no-tty0; [ -t 1 ] || echo no-tty1 >&2"
    proc = run(bb, boot_ctx, accel, boot_timeout, "--", "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"out\nno-tty0\n"
    # The library OS may log a line of its own there too (e.g. which CPU protections TCG lacks).
    assert b"err\nno-tty1\n" in proc.stderr and b"out" not in proc.stderr.splitlines()


def test_i_forwards_any_byte_both_ways(
    images: dict[str, Path], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """-i without -t: every byte value (0xff, ^D, NUL, CR) passes stdin and stdout unchanged."""
    bb = uni(images, "busybox", boot_ctx)
    data = bytes(range(256)) * 64 + os.urandom(20000) + b"\xff"
    proc = run(bb, boot_ctx, accel, boot_timeout, "-i", "--", "cat", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data


def test_t_gives_a_terminal(
    images: dict[str, Path], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """-t: fds 0-2 are one tty, so stderr arrives on stdout as with `docker run -t`."""
    bb = uni(images, "busybox", boot_ctx)
    script = "[ -t 0 ] && echo tty0; [ -t 1 ] && echo tty1; [ -t 2 ] && echo tty2 >&2; read x"
    proc = run(bb, boot_ctx, accel, boot_timeout, "-it", "--", "sh", "-c", script, stdin=b"x\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"tty0\ntty1\ntty2\n"


def test_dev_tty_needs_t_and_dev_stderr_is_fd_2(
    images: dict[str, Path], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """As `docker run`: without -t there is no controlling terminal, so /dev/tty is ENXIO,
    and /dev/stdout and /dev/stderr are links to fds 1 and 2 (pipes here), so what a
    program writes there (an nginx log linked to /dev/stderr) reaches the right stream.
    With -t /dev/tty is the terminal."""
    bb = uni(images, "busybox", boot_ctx)
    script = "echo t >/dev/tty || echo no-tty; echo log >/dev/stderr; echo out >/dev/stdout"
    proc = run(bb, boot_ctx, accel, boot_timeout, "--", "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"no-tty\nout\n"
    assert b"log\n" in proc.stderr and b"/dev/tty: No such device or address" in proc.stderr
    proc = run(bb, boot_ctx, accel, boot_timeout, "-t", "--", "sh", "-c", "echo t >/dev/tty")
    assert (proc.returncode, proc.stdout) == (0, b"t\n"), proc.stderr


def test_python_with_i_and_without_t_prints_no_prompt(
    images: dict[str, Path], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """python3 reading a script from a piped stdin: no banner, no >>> (isatty(0) is false)."""
    py = uni(images, "python", boot_ctx)
    script = b"import sys\nprint(6 * 7, sys.stdin.isatty(), sys.stdout.isatty())\n"
    proc = run(py, boot_ctx, accel, boot_timeout, "-i", stdin=script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"42 False False\n"
    assert b">>>" not in proc.stderr and b"Python 3" not in proc.stderr


def test_a_closed_stdout_stops_the_guest_like_sigpipe(
    images: dict[str, Path], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """`dock2uni run ... | head -1`: when the reader goes away the guest is stopped and run
    exits 141 (128+SIGPIPE) without a traceback, as a native program killed by SIGPIPE."""
    bb = uni(images, "busybox", boot_ctx)
    argv = [sys.executable, "-m", "dock2uni", "run", str(bb), "--accel", accel]
    argv += ["--timeout", str(boot_timeout), "--cache-dir", str(boot_ctx.cache_dir)]
    argv += ["--", "sh", "-c", "while :; do echo line; done"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"line\n"
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141
    err = proc.stderr.read()
    proc.stderr.close()
    assert b"Traceback" not in err and b"internal error" not in err
