"""Time a child process: when a marker first appears on its stdout, and when it exits.

Time zero is taken just before the spawn. The marker's time is the arrival of the
pipe read that holds the marker's first byte, so it is the moment the program's
first line reached us, whatever else (kernel messages) came before it.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from dock2uni.qemu_stderr import watch


@dataclass(frozen=True)
class ProcessTiming:
    """Seconds from the spawn: first byte of the marker, and exit."""

    marker: float | None
    exit: float
    status: int
    output: bytes
    stderr: bytes


def read_until_exit(
    proc: subprocess.Popen[bytes], marker: bytes, deadline: float, t0: float
) -> tuple[bytes, float | None, bool]:
    """The child's stdout, when the marker's first byte arrived, and whether the deadline hit."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    arrivals: list[tuple[int, float]] = []  # (offset just past a chunk, its arrival time)
    marker_at: float | None = None
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0:
            return data, marker_at, True
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        now = time.monotonic() - t0
        if not chunk:
            proc.stdout.close()
            return data, marker_at, False
        data += chunk
        arrivals.append((len(data), now))
        if marker_at is None and marker and (at := data.find(marker)) >= 0:
            marker_at = next(t for end, t in arrivals if end > at)


@dataclass(frozen=True)
class Finished:
    """A child run to its end: stdout, the marker's time, whether it timed out, and more."""

    output: bytes
    marker: float | None
    timed_out: bool
    exit: float
    status: int
    stderr: bytes


def spawn_and_wait(
    argv: list[str],
    *,
    marker: bytes,
    t0: float,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Spawn ``argv``, read its stdout until it exits (killed at ``t0 + timeout``, or at
    once when it is QEMU and prints a fatal hypervisor message: dock2uni.qemu_stderr)."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
    )
    watcher = watch(proc)  # the only reader of stderr; a KVM failure ends the sample now
    output, marker_at, timed_out = read_until_exit(proc, marker, t0 + timeout, t0)
    if timed_out:
        proc.kill()
    proc.wait()
    exited = time.monotonic() - t0
    err = watcher.finish()
    if proc.stderr:
        proc.stderr.close()
    return Finished(
        output=output,
        marker=marker_at,
        timed_out=timed_out,
        exit=exited,
        status=proc.returncode,
        stderr=err,
    )


def time_process(
    argv: list[str], *, marker: bytes, timeout: float, env: Mapping[str, str] | None = None
) -> ProcessTiming:
    """Run ``argv`` to completion and time it; raises on a timeout or a failure."""
    run = spawn_and_wait(argv, marker=marker, t0=time.monotonic(), timeout=timeout, env=env)
    if run.timed_out:
        raise TimeoutError(f"{argv[0]} still running after {timeout:.0f}s")
    if run.status != 0:
        detail = run.stderr.decode(errors="replace")[-300:]
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({run.status}): {detail}")
    return ProcessTiming(
        marker=run.marker, exit=run.exit, status=run.status, output=run.output, stderr=run.stderr
    )
