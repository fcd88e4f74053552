"""Boot one QEMU guest and time it: first bytes of a marker on COM1, and QEMU's exit.

Every QEMU guest of the suite (the unikernel, the Linux microVM, the floor) is
timed by this one function, so their figures differ only by the guest. Time zero
is just before QEMU is spawned; "marker" is when the pipe read holding the first
byte of the marker arrived on COM1 (bench/timing.py); "exit" is when QEMU exited.
COM2 (the library OS log) goes to a Unix socket we drain; the time of its
``D2U:ENTER`` line (the kernel is about to enter the application) is kept too.
"""

from __future__ import annotations

import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench.timing import spawn_and_wait
from dock2uni.context import Context
from dock2uni.run import classify


@dataclass(frozen=True)
class GuestTiming:
    """How one boot went, in seconds from the spawn of QEMU."""

    marker: float | None  # first byte of the marker on COM1
    exit: float  # QEMU exited
    enter: float | None  # D2U:ENTER on COM2 (dock2uni guests only)
    status: int | None  # QEMU's exit status
    output: bytes  # everything on COM1
    log: bytes  # everything on COM2


class _LogDrain(threading.Thread):
    """Accepts QEMU's COM2 connection and keeps what arrives, noting D2U:ENTER's time."""

    def __init__(self, server: socket.socket, t0: float) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.t0 = t0
        self.data = b""
        self.enter: float | None = None

    def run(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            while chunk := conn.recv(65536):
                self.data += chunk
                if self.enter is None and b"D2U:ENTER" in self.data:
                    self.enter = time.monotonic() - self.t0


@contextmanager
def log_socket() -> Iterator[tuple[Path, socket.socket]]:
    """A listening Unix socket for QEMU's COM2 chardev (QEMU connects as a client)."""
    with tempfile.TemporaryDirectory(prefix="d2u-bench-") as tmp:
        path = Path(tmp) / "com2.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(path))
            server.listen(1)
            yield path, server


def time_guest(
    make_argv: Callable[[Path], list[str]], *, marker: bytes, timeout: float
) -> GuestTiming:
    """Spawn ``make_argv(com2_socket_path)`` and time it (see the module docstring)."""
    with log_socket() as (sock_path, server):
        argv = make_argv(sock_path)
        t0 = time.monotonic()
        drain = _LogDrain(server, t0)
        drain.start()
        run = spawn_and_wait(argv, marker=marker, t0=t0, timeout=timeout)
        with suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)  # unblocks accept() if QEMU never connected
        drain.join(timeout=5)
    if run.timed_out:
        raise TimeoutError(f"guest still running after {timeout:.0f}s: {run.output[-300:]!r}")
    if run.status not in (0, 1, 3) and run.marker is None:
        detail = run.stderr.decode(errors="replace")[-400:]
        raise RuntimeError(f"QEMU failed ({run.status}): {detail}")
    return GuestTiming(
        marker=run.marker,
        exit=run.exit,
        enter=drain.enter,
        status=run.status,
        output=run.output,
        log=drain.data,
    )


_LINUX_INIT_EXIT = re.compile(rb"Attempted to kill init! exitcode=0x([0-9a-fA-F]+)")


def unikernel_exit(timing: GuestTiming) -> str | None:
    """None if the dock2uni guest's program exited 0 (D2U:EXIT code=0), else what happened.

    Read the way `dock2uni run` reads it (run.classify over the COM2 log), so a guest that
    prints its marker and then crashes or panics is a failed sample, not a boot time.
    """
    lines = timing.log.decode(errors="replace").splitlines()
    code, status, cause = classify(lines, timing.status, False)
    return None if (code, status) == (0, "exit") else f"guest {status}, exit {code}: {cause}"


def linux_exit(timing: GuestTiming) -> str | None:
    """None if the Linux microVM's /init exited 0: the panic it causes names its exit code."""
    found = _LINUX_INIT_EXIT.search(timing.output)
    if found is None:
        return f"no init exit code on the console: {timing.output[-200:]!r}"
    code = int(found.group(1), 16)
    return None if code == 0 else f"/init exited with status word {code:#x}"


def floor_exit(timing: GuestTiming) -> str | None:
    """None if the floor left through isa-debug-exit with 0, QEMU's status (0 << 1) | 1."""
    return None if timing.status == 1 else f"QEMU exited {timing.status}, not 1"


_ACCEL: dict[str, str] = {}


def accelerator() -> str:
    """kvm or tcg, once per run, as `dock2uni run` chooses with no flag: DOCK2UNI_ACCEL,
    else dock2uni's own probe (``select_accel("auto")``)."""
    if "accel" not in _ACCEL:
        from dock2uni.accel import AccelUsageError, choose, requested
        from dock2uni.errors import Dock2UniError

        try:
            request, source = requested(None)
        except AccelUsageError as exc:
            raise SystemExit(f"bench: {exc.source}: {exc}") from None
        try:
            choice = choose(request, Context(quiet=True))
            _ACCEL["accel"] = choice.accel
            _ACCEL["how"] = f"{request} from {source}: {choice.reason}"
        except Dock2UniError as exc:
            # The probe needs the library OS; without it nothing can use KVM safely.
            _ACCEL["accel"] = "tcg"
            _ACCEL["how"] = f"tcg: dock2uni's KVM probe could not run ({exc})"
    return _ACCEL["accel"]


def accelerator_note() -> str:
    accelerator()
    return _ACCEL["how"]
