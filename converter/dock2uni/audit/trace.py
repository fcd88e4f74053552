"""`dock2uni audit --trace`: run the entrypoint natively under `strace -f` and compare.

The image tree is materialised into a temporary directory (``materialise.py``); the
program runs chrooted there in a private mount namespace (``unshare --mount``, with a
fresh /proc), for a bounded time, under ``strace -f``. Only the program's own calls
count: the launcher's (unshare, mount, chroot, and the final execve that starts the
program) are dropped by following the process tree from the first execve after
``chroot``. ``restart_syscall`` is the kernel's, not the program's, and is dropped too.
Observed-but-not-predicted syscalls are analysis misses and are reported loudly.
Needs root and strace; otherwise the outcome says why it was skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
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
_RESULT = re.compile(r"=\s+(-?\d+)(?:\s|$)")
_FORKS = {"clone", "clone3", "fork", "vfork"}
NOT_THE_PROGRAMS = {"restart_syscall"}

_LAUNCHER = r"""
import json, os, subprocess, sys
root, cwd, prog = sys.argv[1], sys.argv[2], sys.argv[3]
argv = sys.argv[4:]
env = dict(e.split("=", 1) for e in json.loads(os.environ.get("D2U_ENV", "[]")) if "=" in e)
proc = os.path.join(root, "proc")
if os.path.isdir(proc) and not os.path.islink(proc):
    subprocess.run(["mount", "-t", "proc", "proc", proc], check=False)
os.chroot(root)
try:
    os.chdir(cwd)
except OSError:
    os.chdir("/")
os.execve(prog, argv, env)
"""


@dataclass
class TraceRun:
    """Raw result of one traced run."""

    counts: dict[str, int]  # syscall name -> calls made by the program's processes
    exit_status: int | None
    timed_out: bool
    log_tail: str = ""


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
        value = int(result.group(1)) if result else None
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
    log_dir: Path | None = None,
) -> TraceRun:
    """Run ``program`` chrooted in ``root`` under strace for at most ``seconds``."""
    log_dir = log_dir or root.parent
    log = log_dir / "strace.log"
    cmd = [
        "strace",
        "-f",
        "-qq",
        "-o",
        str(log),
        "--",
        "unshare",
        "--mount",
        "--propagation",
        "private",
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
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environ,
        start_new_session=True,
    )
    timed_out = False
    try:
        if during is not None:
            during()
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        if proc.poll() is None:
            _stop(proc, log)
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return TraceRun(
        counts=parse_strace(lines),
        exit_status=proc.returncode,
        timed_out=timed_out,
        log_tail="\n".join(lines[-20:]),
    )


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Stop the traced processes we started: the session first, then stragglers by pid."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        # Daemons call setsid and leave our session: signal every pid strace saw, by id.
        if log.exists():
            for line in log.read_text(errors="replace").splitlines():
                m = _LINE.match(line)
                if m and int(m.group(1)) != proc.pid:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(int(m.group(1)), sig)
        try:
            proc.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue


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
