"""`dock2uni run` forwards the signals it receives to the guest, like `docker run`'s proxy
(issue 9 part 5): the application's handler runs and its exit code comes back; a second
SIGINT or --stop-timeout kills the guest (137); even SIGKILL leaves no QEMU and no
temporary directory behind (issue 17: SIGTERM used to orphan a busy QEMU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.build import fixture_layout
from fixtures.ocibuild import Image, Layer, write_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.uni import read_metadata

pytestmark = pytest.mark.boot
SRC = Path(__file__).resolve().parent / "src" / "sigwait.c"


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


@pytest.fixture(scope="module")
def sigwait(tmp_path_factory: pytest.TempPathFactory, boot_ctx: Context, accel: str) -> Path:
    """tests/boot/src/sigwait.c, static glibc, as an image whose StopSignal is SIGHUP (a
    signal that is no stop request by itself)."""
    work = tmp_path_factory.mktemp("sigwait")
    binary = work / "sigwait"
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-Werror", "-static", "-o", str(binary), str(SRC)], check=True
    )
    layer = Layer().file("sigwait", binary.read_bytes(), mode=0o755)
    config = {"Cmd": ["/sigwait"], "StopSignal": "SIGHUP"}
    write_layout(work / "oci", {"latest": Image(layers=[layer], config=config)})
    uni = work / "sigwait.uni"
    convert_image(f"oci:{work / 'oci'}:latest", uni, AcquireOptions(), boot_ctx)
    return uni


@dataclass
class Running:
    """A `dock2uni run` in progress: its process, its QEMU and what it printed so far."""

    proc: subprocess.Popen[bytes]
    qemu: int
    tmpdir: Path

    def line(self) -> bytes:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def send(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float) -> tuple[int, bytes, str]:
        """Exit code, the rest of stdout, stderr; QEMU must be gone and TMPDIR empty.
        stdin stays open until the run ends: communicate() closes it at once, and that EOF
        could reach the guest before the signal just sent (a shell's `read` then returns
        and it exits 1, as CI saw once on a loaded machine). The outputs are small."""
        self.proc.wait(timeout=timeout)
        out, err = self.proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while alive(self.qemu) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(self.qemu), f"QEMU {self.qemu} survived"
        assert list(self.tmpdir.iterdir()) == []
        return self.proc.returncode, out, err.decode(errors="replace")


@contextmanager
def running(
    image: Path, tmp_path: Path, boot_ctx: Context, accel: str, *args: str
) -> Iterator[Running]:
    """`dock2uni run IMAGE ARGS` with its stdio on pipes; yields once it printed ready."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    argv = [sys.executable, "-m", "dock2uni", "run", str(image), "--accel", accel]
    argv += ["--cache-dir", str(boot_ctx.cache_dir), *args]
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if first != b"ready\n":
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the guest did not start: {first!r} {err.decode(errors='replace')}")
        qemus = children(proc.pid)
        assert len(qemus) == 1, qemus
        yield Running(proc=proc, qemu=qemus[0], tmpdir=tmpdir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe:
                pipe.close()


@pytest.mark.parametrize(("stdio", "mode"), [("-i", "handler"), ("-t", "handler"), ("-i", "busy")])
def test_sigterm_runs_the_handler_and_its_exit_code_comes_back(
    stdio: str,
    mode: str,
    sigwait: Path,
    tmp_path: Path,
    boot_ctx: Context,
    accel: str,
    boot_timeout: float,
) -> None:
    """kill -TERM of `dock2uni run` runs the application's SIGTERM handler, which sees a
    kill from outside its pid namespace (SI_USER, pid 0, uid 0, as under docker's proxy),
    and exits 42: so does `dock2uni run`. The same with a terminal (-t), and when the
    application computes in ring 3 instead of waiting in pause() (busy)."""
    with running(sigwait, tmp_path, boot_ctx, accel, stdio, "--", "/sigwait", mode) as run:
        run.send(signal.SIGTERM)
        code, out, err = run.finish(boot_timeout)
    assert code == 42, err
    assert out.replace(b"\r", b"") == b"got SIGTERM code=0 pid=0 uid=0\n", err
    assert "dock2uni: error" not in err
    # Waiting in pause() for the host's signal is idle, not the "stuck" of a guest that
    # nothing can wake any more.
    assert "stuck" not in err


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT"])
def test_without_a_handler_the_default_action_ends_it_as_docker_reports(
    sig: str, sigwait: Path, tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """No handler: the forwarded signal's default action ends the application, and the
    exit code is 128 + S (143 for SIGTERM), with no error: the application's own end."""
    with running(sigwait, tmp_path, boot_ctx, accel, "--", "/sigwait", "default") as run:
        run.send(getattr(signal, sig))
        code, _, err = run.finish(boot_timeout)
    assert code == 128 + getattr(signal, sig), err
    assert "dock2uni: error" not in err, err


def test_sigusr1_is_forwarded_each_time(
    sigwait: Path, tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """Three SIGUSR1, each counted by the handler (the next is sent once the guest said it
    saw this one), then SIGUSR2 ends the program with the count."""
    with running(sigwait, tmp_path, boot_ctx, accel, "--", "/sigwait", "count") as run:
        for n in (1, 2, 3):
            run.send(signal.SIGUSR1)
            assert run.line() == f"usr1={n}\n".encode()
        run.send(signal.SIGUSR2)
        code, out, err = run.finish(boot_timeout)
    assert (code, out) == (3, b"usr2 after usr1=3\n"), err


def test_stop_timeout_kills_an_application_that_ignores_sigterm(
    sigwait: Path, tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """SIGTERM ignored: --stop-timeout 2 seconds later the guest is killed, exit 137."""
    args = ("--stop-timeout", "2", "--", "/sigwait", "ignore")
    with running(sigwait, tmp_path, boot_ctx, accel, *args) as run:
        sent = time.monotonic()
        run.send(signal.SIGTERM)
        code, _, err = run.finish(boot_timeout)
        took = time.monotonic() - sent
    assert code == 137, err
    assert 2.0 <= took < 2.0 + 15, took
    assert "--stop-timeout" in err and "SIGTERM" in err


def test_the_images_stop_signal_arms_the_stop_timeout(
    sigwait: Path, tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """The image's StopSignal (SIGHUP here) is kept in the .uni, shown by inspect, and
    counts as a stop request: forwarded unchanged, then --stop-timeout kills (137)."""
    assert read_metadata(sigwait)["stop_signal"] == "SIGHUP"
    inspect = subprocess.run(
        [sys.executable, "-m", "dock2uni", "inspect", str(sigwait)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Stop signal: SIGHUP" in inspect.stdout
    args = ("--stop-timeout", "1", "--", "/sigwait", "ignore")
    with running(sigwait, tmp_path, boot_ctx, accel, *args) as run:
        run.send(signal.SIGHUP)
        code, _, err = run.finish(boot_timeout)
    assert code == 137, err
    assert "SIGHUP" in err


def test_a_second_sigint_kills_at_once(
    sigwait: Path, tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """SIGINT ignored by the application; a second SIGINT within 2 s stops QEMU: 137,
    long before the default 10 s stop timeout."""
    with running(sigwait, tmp_path, boot_ctx, accel, "--", "/sigwait", "ignore") as run:
        sent = time.monotonic()
        run.send(signal.SIGINT)
        time.sleep(0.3)
        run.send(signal.SIGINT)
        code, _, err = run.finish(boot_timeout)
        took = time.monotonic() - sent
    assert code == 137, err
    assert took < 8, took
    assert "second SIGINT" in err


def test_sigkill_of_run_leaves_no_qemu_and_no_directory(
    tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """A guest that waits forever (it reads a stdin that never ends); SIGKILL of `dock2uni
    run` cannot be forwarded, but QEMU dies with it (PR_SET_PDEATHSIG) and TMPDIR is empty."""
    uni = tmp_path / "bb.uni"
    convert_image(f"oci:{fixture_layout('busybox')}:latest", uni, AcquireOptions(), boot_ctx)
    args = ("-i", "--", "sh", "-c", "echo ready; read x")
    with running(uni, tmp_path, boot_ctx, accel, *args) as run:
        run.send(signal.SIGKILL)
        run.finish(boot_timeout)


def test_a_shell_waiting_on_stdin_ends_with_the_forwarded_sigterm(
    tmp_path: Path, boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """busybox sh blocked in a console read (no handler): SIGTERM ends it, 143, at once."""
    uni = tmp_path / "bb.uni"
    convert_image(f"oci:{fixture_layout('busybox')}:latest", uni, AcquireOptions(), boot_ctx)
    args = ("-i", "--", "sh", "-c", "echo ready; read x")
    with running(uni, tmp_path, boot_ctx, accel, *args) as run:
        run.send(signal.SIGTERM)
        code, _, err = run.finish(boot_timeout)
    assert code == 143, err
