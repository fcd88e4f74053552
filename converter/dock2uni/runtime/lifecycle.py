"""The lifecycle commands: create, start, kill, delete, state, ps, list (runc's semantics).

create converts the bundle (cached), starts init (init.py) in the container's
stdio, waits until it is ready, runs the prestart/createRuntime hooks and writes
the pid file last, digits only; on any failure it undoes all of it. start opens
exec.fifo for reading, which lets init boot the guest. kill signals init: SIGKILL
ends it (and QEMU with it), the signals sigproxy.py forwards reach the guest, other
signals to a running guest are ignored so that a forwarded SIGWINCH never stops a
VM. delete kills what is left and removes the state.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dock2uni.context import Context
from dock2uni.runtime import cgroup, console, state
from dock2uni.runtime import spec as specmod
from dock2uni.runtime.errors import OciError
from dock2uni.runtime.hooks import run_hooks
from dock2uni.runtime.log import RuntimeLog
from dock2uni.sigproxy import FORWARDED

READY_TIMEOUT = 30.0
KILL_WAIT = 10.0


@dataclass(frozen=True)
class Globals:
    root: Path
    log: RuntimeLog
    cache_dir: Path


def _write_pid_file(path: Path, pid: int) -> None:
    """Digits only, no newline (go-runc parses it with Atoi), renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(str(pid))
    os.replace(tmp, path)


def _read_ready(fd: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait for init's "ok" on the sync pipe; its error text otherwise."""
    data = b""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    if data != b"ok":
        text = data.decode(errors="replace") or f"init exited with status {proc.poll()}"
        raise OciError(f"container init failed: {text}")


def create(
    g: Globals, cid: str, bundle: Path, pid_file: Path | None, console_socket: str | None
) -> None:
    from dock2uni.runtime import convert  # the pipeline: only create needs it

    bundle = Path(os.path.abspath(bundle))
    doc = specmod.load(bundle)
    cs = specmod.parse(bundle, doc)
    if cs.terminal and not console_socket:
        raise OciError(
            "process.terminal is true but no --console-socket was given",
            hint="Pass --console-socket, or set terminal to false.",
        )
    ctx = Context(cache_dir=g.cache_dir, quiet=True)
    t0 = time.monotonic()
    if (g.root / cid).exists():
        raise OciError(f"container with id exists: {cid}")
    image, home = convert.cached_uni(cs, ctx)
    env = list(cs.env)
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={home}")
    g.log.info(
        f"create {cid}: {image} (ready in "
        f"{time.monotonic() - t0:.3f} s); ignored mounts: {', '.join(cs.ignored_mounts) or '-'}"
    )
    cdir = state.make_dir(g.root, cid)
    proc: subprocess.Popen[bytes] | None = None
    made: list[str] = []
    slave = -1
    try:
        os.mkfifo(cdir / state.FIFO, 0o600)
        init_conf = {
            "image": str(image),
            "args": list(cs.args),
            "env": env,
            "memory": cs.memory,
            "volumes": [[v.source, v.destination, v.readonly] for v in cs.volumes],
            "tmpfs": list(cs.tmpfs),
            "readonly": cs.readonly,
            "terminal": cs.terminal,
            "hostname": cs.hostname,
            "namespaces": dict(cs.namespaces),
            "cache_dir": str(g.cache_dir),
            "log": g.log.path,
            "log_format": g.log.fmt,
        }
        (cdir / "init.json").write_text(json.dumps(init_conf))
        if cs.terminal and console_socket:
            slave = console.send_master(console_socket)
        sync_r, sync_w = os.pipe()
        stdio = slave if slave >= 0 else None
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dock2uni.runtime.init", str(cdir), str(sync_w)],
                stdin=stdio,
                stdout=stdio,
                stderr=stdio,
                pass_fds=(sync_w,),
                start_new_session=True,
                cwd="/",
            )
        finally:
            os.close(sync_w)
        try:
            _read_ready(sync_r, proc)
        finally:
            os.close(sync_r)
        made = cgroup.join(cs.cgroups_path, proc.pid, g.log)  # before QEMU exists
        found = state.proc_start_time(proc.pid)
        container = state.Container(
            g.root,
            cid,
            {
                "runtime": state.RUNTIME_TAG,
                "pid": proc.pid,
                "starttime": found[1] if found else 0,
                "bundle": str(bundle),
                "rootfs": str(cs.rootfs),
                "created": state.now_rfc3339(),
                "annotations": dict(cs.annotations),
                "image": str(image),
                "cgroups": made,
                "hooks": {
                    stage: [vars(h) for h in hooks]
                    for stage, hooks in cs.hooks.items()
                    if stage in ("poststart", "poststop")
                },
            },
        )
        state.save(container)
        hook_state = {**container.oci_state(), "status": "creating"}
        run_hooks("prestart", cs.hooks, hook_state, g.log)
        run_hooks("createRuntime", cs.hooks, hook_state, g.log)
        if pid_file is not None:
            _write_pid_file(Path(os.path.abspath(pid_file)), proc.pid)
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        cgroup.remove(made)
        state.remove(g.root, cid)
        raise
    finally:
        if slave >= 0:
            os.close(slave)


def _saved_hooks(container: state.Container, stage: str) -> dict[str, tuple[specmod.Hook, ...]]:
    raw = container.doc.get("hooks", {}).get(stage, [])
    return {
        stage: tuple(
            specmod.Hook(h["path"], tuple(h["args"]), tuple(h["env"]), h["timeout"]) for h in raw
        )
    }


def start(g: Globals, cid: str) -> None:
    container = state.load(g.root, cid)
    status = container.status()
    if status == "stopped":
        raise OciError("cannot start a container that has stopped")
    if status != "created":
        raise OciError(f"cannot start an already {status} container")
    fd = os.open(container.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready and os.read(fd, 1):
                break
            if not container.alive():
                raise OciError("container process is already dead")
    finally:
        os.close(fd)
    container.fifo.unlink(missing_ok=True)
    g.log.info(f"start {cid}: init {container.pid} released")
    with contextlib.suppress(OciError):  # poststart failures are logged, not fatal (spec)
        run_hooks("poststart", _saved_hooks(container, "poststart"), container.oci_state(), g.log)


def parse_signal(text: str) -> int:
    """runc's forms: a number, or a name with or without SIG (case-insensitive)."""
    if text.isdigit():
        number = int(text)
        if 1 <= number <= signal.SIGRTMAX:
            return number
    else:
        name = text.upper()
        name = name if name.startswith("SIG") else f"SIG{name}"
        with contextlib.suppress(AttributeError, ValueError, TypeError):
            return int(getattr(signal, name))
    raise OciError(f"invalid signal {text[:40]!r}", hint="Give a number or a name like SIGTERM.")


def kill(g: Globals, cid: str, sig_text: str, *, all_processes: bool) -> None:
    sig = parse_signal(sig_text)
    container = state.load(g.root, cid)
    status = container.status()
    if status == "stopped":
        raise OciError("container not running")
    if sig == signal.SIGKILL or status == "created" or sig in FORWARDED:
        # Before start a signal takes its default action on init, as on runc's init.
        os.kill(container.pid, sig)
        g.log.info(f"kill {cid}: signal {sig} sent to init {container.pid} ({status})")
    else:
        g.log.info(f"kill {cid}: signal {sig} ignored: the guest is not given it (docs)")
    del all_processes  # init is the only process of the container: --all is the same


def _wait_gone(container: state.Container) -> bool:
    deadline = time.monotonic() + KILL_WAIT
    while container.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _wait_gone_cgroups(container: state.Container) -> None:
    """QEMU dies a moment after init (PR_SET_PDEATHSIG): wait until the cgroups it was in
    are empty, so they can be removed (bounded: a leftover directory is harmless)."""
    deadline = time.monotonic() + KILL_WAIT
    for path in container.doc.get("cgroups", []):
        procs = Path(path) / "cgroup.procs"
        while time.monotonic() < deadline:
            try:
                if not procs.read_text().strip():
                    break
            except OSError:
                break
            time.sleep(0.05)


def delete(g: Globals, cid: str, *, force: bool) -> None:
    try:
        container = state.load(g.root, cid)
    except OciError:
        leftover = g.root / cid
        if force:
            # A create that failed half-way may leave a directory without state.json;
            # a directory of runc's (shared root under Docker) is never touched.
            if leftover.is_dir() and not (leftover / state.STATE).exists():
                state.remove(g.root, cid)
            return
        raise
    status = container.status()
    if status == "running" and not force:
        raise OciError(
            f"cannot delete container {cid} that is not stopped: {status}",
            hint="Stop it first (kill), or use delete --force.",
        )
    if status != "stopped":
        os.kill(container.pid, signal.SIGKILL)  # QEMU follows it (PR_SET_PDEATHSIG)
        if not _wait_gone(container):
            raise OciError(f"container {cid} init {container.pid} did not die after SIGKILL")
    with contextlib.suppress(OciError):
        hook_state = {**container.oci_state(), "status": "stopped"}
        run_hooks("poststop", _saved_hooks(container, "poststop"), hook_state, g.log)
    _wait_gone_cgroups(container)
    cgroup.remove(list(container.doc.get("cgroups", [])))
    state.remove(g.root, cid)
    g.log.info(f"delete {cid}: removed")


def show_state(g: Globals, cid: str) -> str:
    return json.dumps(state.load(g.root, cid).oci_state(), indent=2) + "\n"


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(p) for p in f.read().split()]
    return out


def ps(g: Globals, cid: str, fmt: str) -> str:
    """Host pids of the container: init and its descendants (QEMU)."""
    container = state.load(g.root, cid)
    pids: list[int] = []
    if container.alive():
        todo = [container.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo += _children(pid)
    if fmt == "json":
        return json.dumps(pids) + "\n"
    return "PID\n" + "".join(f"{p}\n" for p in pids)


def list_containers(g: Globals, quiet: bool, fmt: str) -> str:
    found: list[dict[str, Any]] = []
    with contextlib.suppress(FileNotFoundError):
        for name in sorted(os.listdir(g.root)):
            with contextlib.suppress(OciError):
                found.append(state.load(g.root, name).oci_state())
    if fmt == "json":
        return json.dumps(found) + "\n"
    if quiet:
        return "".join(f"{c['id']}\n" for c in found)
    lines = ["ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER"]
    for c in found:
        lines.append(f"{c['id']}\t{c['pid']}\t{c['status']}\t{c['bundle']}\t{c['created']}\t")
    return "\n".join(lines) + "\n"
