"""`dock2uni audit --trace`: run the entrypoint natively under `strace -f` and compare.

The image tree is materialised into a temporary directory (``materialise.py``); the
program runs chrooted there, for a bounded time, under ``strace -f``, in fresh mount, PID,
network, UTS and IPC namespaces (``unshare``): it sees only its own processes (a fresh
/proc), only a loopback interface (brought up by the launcher), and whatever it signals
or binds stays inside, so a workload's ``killall`` or fixed port can never reach the host.
The launcher is the namespace's init: it forks the program, forwards stop signals to it,
reaps orphans and exits with the program's status; when it dies the kernel kills
everything left in the namespace, which is how a run is stopped. Only the program's own
calls count: the launcher's (unshare, mount, chroot, and the final execve that starts the
program) are dropped by following the process tree from the first execve after
``chroot`` (fork results are read in strace's PID namespace, ``--pidns-translation``).
``restart_syscall`` is the kernel's, not the program's, and is dropped too.
Observed-but-not-predicted syscalls are analysis misses and are reported loudly.
Needs root and strace; otherwise the outcome says why it was skipped.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dock2uni.analyse.model import Analysis
from dock2uni.audit.materialise import materialise
from dock2uni.context import Context
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import Tree
from dock2uni.runspec import RunSpec

_LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z_][a-z0-9_]*)(\(| resumed>)")
_RESULT = re.compile(r"=\s+(-?\d+)(?: /\* (\d+) in strace's PID NS \*/)?(?:\s|$)")
_FORKS = {"clone", "clone3", "fork", "vfork"}
NOT_THE_PROGRAMS = {"restart_syscall"}
_CLONE_NEWNET = 0x40000000

_LAUNCHER = r"""
import fcntl, json, os, signal, socket, struct, subprocess, sys
root, cwd, prog = sys.argv[1], sys.argv[2], sys.argv[3]
argv = sys.argv[4:]
env = dict(e.split("=", 1) for e in json.loads(os.environ.get("D2U_ENV", "[]")) if "=" in e)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # loopback up: SIOC[GS]IFFLAGS
    flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, struct.pack("16sH14x", b"lo", 0)))[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))
proc = os.path.join(root, "proc")
if os.path.isdir(proc) and not os.path.islink(proc):
    subprocess.run(["mount", "-t", "proc", "proc", proc], check=False)
child = os.fork()
if child == 0:
    try:
        os.chroot(root)
        try:
            os.chdir(cwd)
        except OSError:
            os.chdir("/")
        os.execve(prog, argv, env)
    finally:
        os._exit(127)
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
    signal.signal(sig, lambda n, _f: os.kill(child, n))
while True:
    pid, status = os.wait()
    if pid == child:
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
"""


@dataclass
class TraceRun:
    """Raw result of one traced run."""

    counts: dict[str, int]  # syscall name -> calls made by the program's processes
    exit_status: int | None  # the program's (128 + signal if a signal ended it)
    timed_out: bool
    log_tail: str = ""
    stdout: str = ""
    stderr: str = ""
    during_error: str = ""  # what went wrong in the ``during`` callback, if anything


@dataclass
class TraceOutcome:
    """Observed vs static, for the report."""

    observed: list[str] = field(default_factory=list)
    static: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    recall: float | None = None
    ratio: float | None = None  # static / observed
    seconds: float = 0.0
    exit_status: int | None = None
    timed_out: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "observed": self.observed,
            "static_count": len(self.static),
            "missed": self.missed,
            "recall": self.recall,
            "ratio": self.ratio,
            "seconds": self.seconds,
            "exit_status": self.exit_status,
            "timed_out": self.timed_out,
            "note": self.note,
        }


def can_trace() -> str | None:
    """None if tracing is possible here, else why not."""
    if os.geteuid() != 0:
        return "needs root (chroot and a private mount namespace)"
    for tool in ("strace", "unshare", "mount"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


def parse_strace(lines: Sequence[str]) -> dict[str, int]:
    """Syscall counts of the program's processes in an `strace -f` log (see module doc)."""
    parent: dict[int, int] = {}
    forked_at: dict[int, int] = {}  # child pid -> index of the fork in ``parsed``
    chrooted: set[int] = set()
    root: int | None = None
    root_line = -1
    parsed: list[tuple[int, str, str]] = []
    for _i, line in enumerate(lines):
        m = _LINE.match(line)
        if not m:
            continue
        pid, name = int(m.group(1)), m.group(2)
        parsed.append((pid, name, line))
        result = _RESULT.search(line[m.end() :]) if "=" in line else None
        # A fork inside the PID namespace returns the child's namespaced pid; strace's
        # translation names the pid its lines carry.
        value = int(result.group(2) or result.group(1)) if result else None
        if name in _FORKS and value is not None and value > 0:
            parent[value] = pid
            forked_at[value] = len(parsed) - 1
        if name == "chroot" and value == 0:
            chrooted.add(pid)
        if name == "execve" and value == 0 and pid in chrooted and root is None:
            root, root_line = pid, len(parsed) - 1

    def is_target(pid: int) -> bool:
        """Descends from the program: forked by it after its execve (not by the launcher)."""
        seen = 0
        while pid in parent and seen < 10000:
            up = parent[pid]
            if up == root:
                return forked_at.get(pid, -1) > root_line
            pid = up
            seen += 1
        return False

    counts: dict[str, int] = {}
    if root is None:
        return counts
    for j, (pid, name, _line) in enumerate(parsed):
        if pid == root:
            if j <= root_line:
                continue
        elif not is_target(pid):
            continue
        if name in NOT_THE_PROGRAMS:
            continue
        counts[name] = counts.get(name, 0) + 1
    return counts


def trace_program(
    root: Path,
    argv: Sequence[str],
    *,
    program: str,
    env: Sequence[str] = (),
    cwd: str = "/",
    seconds: float = 10.0,
    during: Callable[[], None] | None = None,
    stop_signal: int | None = None,
    log_dir: Path | None = None,
) -> TraceRun:
    """Run ``program`` chrooted in ``root`` under strace for at most ``seconds``.

    ``during`` runs meanwhile in the program's network namespace (a client for a server);
    ``stop_signal``, if given, is sent to the program when ``during`` is done, so a server
    can shut down cleanly and report its own exit status.
    """
    log_dir = log_dir or root.parent
    log = log_dir / "strace.log"
    cmd = [
        "strace",
        "-f",
        "-qq",
        "--pidns-translation",
        "-o",
        str(log),
        "--",
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--fork",
        "--net",
        "--uts",
        "--ipc",
        "--",
        sys.executable,
        "-I",
        "-c",
        _LAUNCHER,
        str(root),
        cwd,
        program,
        *argv,
    ]
    environ = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "D2U_ENV": json.dumps(list(env))}
    out_path, err_path = log_dir / "stdout", log_dir / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=environ,
            start_new_session=True,
        )
    deadline = time.monotonic() + seconds
    timed_out = False
    during_error = ""
    init: int | None = None
    try:
        init = _namespace_init(proc, deadline)
        if during is not None:
            during_error = _in_netns(init, during, deadline) if init else "no namespace"
            if stop_signal is not None and init is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(init, stop_signal)  # the init forwards it to the program
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        if proc.poll() is None:
            _stop(proc, init)
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return TraceRun(
        counts=parse_strace(lines),
        exit_status=proc.returncode,
        timed_out=timed_out,
        log_tail="\n".join(lines[-20:]),
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        during_error=during_error,
    )


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for tid in tasks:
        with contextlib.suppress(OSError):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    return found


def _namespace_init(proc: subprocess.Popen[bytes], deadline: float) -> int | None:
    """The host pid of the launcher, init of the new namespaces (strace -> unshare -> it)."""
    ours = os.readlink("/proc/self/ns/pid")
    while time.monotonic() < deadline and proc.poll() is None:
        for unshare in _children(proc.pid):
            for init in _children(unshare):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{init}/ns/pid") != ours:
                        return init
        time.sleep(0.01)
    return None


def _in_netns(init: int, during: Callable[[], None], deadline: float) -> str:
    """Run ``during`` in a child that joined ``init``'s network namespace; its error or ""."""
    ns = os.open(f"/proc/{init}/ns/net", os.O_RDONLY)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        code = 1
        try:
            os.close(r)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(ns, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            during()
            code = 0
        except BaseException:  # everything goes back to the parent as text
            os.write(w, traceback.format_exc().encode(errors="replace"))
        finally:
            os._exit(code)
    os.close(w)
    os.close(ns)
    with os.fdopen(r, "rb") as reader:
        error = reader.read().decode(errors="replace")
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0 and not error:
        error = f"the client exited with status {os.waitstatus_to_exitcode(status)}"
    if time.monotonic() > deadline and not error:
        error = "the client finished after the time limit"
    return error


def _stop(proc: subprocess.Popen[bytes], init: int | None) -> None:
    """Kill the namespace's init (the kernel then kills everything inside), then strace.

    Nothing is signalled by a pid read from the log: pids are recycled, and the program's
    processes all live in the PID namespace that dies with its init.
    """
    if init is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(init, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
            return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
            return


def compare(observed: Mapping[str, int], static: Sequence[str]) -> TraceOutcome:
    obs = sorted(observed)
    st = sorted(set(static))
    missed = sorted(set(obs) - set(st))
    recall = round((len(obs) - len(missed)) / len(obs), 4) if obs else None
    ratio = round(len(st) / len(obs), 2) if obs else None
    return TraceOutcome(observed=obs, static=st, missed=missed, recall=recall, ratio=ratio)


def trace_entrypoint(
    tree: Tree,
    store: ContentStore,
    spec: RunSpec,
    analysis: Analysis,
    ctx: Context,
    *,
    seconds: float = 10.0,
    during: Callable[[], None] | None = None,
) -> TraceOutcome:
    """The --trace mode: run the image's entrypoint natively and compare with ``analysis``."""
    why = can_trace()
    if why is not None:
        return TraceOutcome(static=list(analysis.syscall_names()), note=f"trace skipped: {why}")
    if spec.exec_path is None:
        return TraceOutcome(note="trace skipped: the entrypoint is not in the image")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dock2uni-trace-") as tmp:
        root = materialise(tree, store, Path(tmp) / "root")
        ctx.log_debug(f"trace: materialised the image in {root}")
        run = trace_program(
            root,
            spec.argv,
            program=spec.exec_path,
            env=spec.env,
            cwd=spec.workdir,
            seconds=seconds,
            during=during,
            log_dir=Path(tmp),
        )
    outcome = compare(run.counts, analysis.syscall_names())
    outcome.seconds = round(time.monotonic() - started, 2)
    outcome.exit_status = run.exit_status
    outcome.timed_out = run.timed_out
    if not run.counts:
        outcome.note = "the program made no syscalls that could be attributed to it"
    elif run.timed_out:
        outcome.note = f"stopped after {seconds:.0f} s"
    return outcome
