"""`dock2uni run` owns its QEMU: SIGTERM, SIGHUP, SIGINT and even SIGKILL leave no QEMU and
no temporary directory behind (issue 17: SIGTERM used to orphan a busy QEMU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image

pytestmark = pytest.mark.boot


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL"])
def test_a_signal_to_run_stops_qemu_and_cleans_up(
    sig: str, tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """A guest that waits forever (it reads a stdin that never ends); the signal arrives
    while it runs; QEMU must be gone at once and TMPDIR empty. SIGTERM, SIGHUP and SIGINT
    exit 128+S, as a shell reports a command killed by that signal."""
    uni = tmp_path / "bb.uni"
    convert_image(f"oci:{fixture_layout('busybox')}:latest", uni, AcquireOptions(), boot_ctx)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    argv = [sys.executable, "-m", "dock2uni", "run", str(uni), "-i", "--accel", accel]
    argv += ["--cache-dir", str(boot_ctx.cache_dir), "--", "sh", "-c", "echo ready; read x"]
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"  # the guest runs
        qemus = children(proc.pid)
        assert len(qemus) == 1, qemus
        proc.send_signal(getattr(signal, sig))
        code = proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while alive(qemus[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(qemus[0]), f"QEMU {qemus[0]} survived {sig}"
        if sig != "SIGKILL":
            assert code == 128 + getattr(signal, sig), proc.stderr.read() if proc.stderr else ""
        assert list(tmpdir.iterdir()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe:
                pipe.close()
