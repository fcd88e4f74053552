"""A private Docker daemon for integration tests: started on demand, always torn down.

Interface:
  * ``unavailable_reason() -> str | None``: why no private dockerd can run here.
  * ``private_dockerd() -> Iterator[Dockerd]``: a context manager that starts
    ``dockerd`` with its own --data-root, --exec-root, socket, pidfile and config
    (overlay2, no iptables, no bridge), waits until it answers, and on exit stops it
    (SIGTERM, then SIGKILL of its process group), unmounts what it left mounted and
    deletes its directory, even when the tests failed.
  * ``Dockerd.docker(*args)``: runs the docker CLI against that daemon.
  * ``private_dockerd(runtimes={"dock2uni": PATH}, env={...})`` registers extra OCI
    runtimes (``--add-runtime``) and adds variables to the daemon's environment, which
    containerd and its shims pass on to the runtime; ``restart(daemon)`` stops the
    daemon and starts it again on the same directories (the old one is still torn down
    with the context).
Paths live under a short /tmp directory because unix socket paths are limited to
108 bytes (dockerd's containerd puts its sockets below --exec-root).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 90.0


@dataclass(frozen=True)
class Dockerd:
    """A running private daemon."""

    root: Path
    host: str  # unix://<root>/docker.sock, for DOCKER_HOST
    pid: int
    cmd: tuple[str, ...] = ()
    daemon_env: Mapping[str, str] = field(default_factory=dict, compare=False)
    # Every dockerd started for this root (restart adds one): all are stopped at the end.
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list, compare=False)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env["DOCKER_BUILDKIT"] = "0"  # the classic builder: BuildKit needs a newer CLI plugin
        env["DOCKER_CONFIG"] = str(self.root / "client")  # no credentials or contexts from ~
        return env

    def docker(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``docker ARGS`` against this daemon; raise with its output on failure."""
        proc = subprocess.run(
            ["docker", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc


def unavailable_reason() -> str | None:
    """None if a private dockerd can be started, else why not."""
    for tool in ("dockerd", "docker"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install docker.io)"
    if os.geteuid() != 0:
        return "starting a private dockerd needs root"
    return None


def _mounts_below(root: Path) -> list[str]:
    prefix = str(root) + "/"
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def _log_tail(log: Path) -> str:
    with suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    return ""


def _answers(host: str, env: dict[str, str]) -> bool:
    proc = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        env={**env, "DOCKER_HOST": host},
        capture_output=True,
        timeout=20,
        check=False,
    )
    return proc.returncode == 0


def _launch(root: Path, cmd: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    with (root / "dockerd.log").open("ab") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=dict(env)
        )


def _wait_answering(daemon: Dockerd, proc: subprocess.Popen[bytes]) -> None:
    log = daemon.root / "dockerd.log"
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(daemon.host, daemon.env()):
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.returncode}:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"dockerd did not answer in {START_TIMEOUT:.0f}s:\n{_log_tail(log)}")
        time.sleep(0.5)


def restart(daemon: Dockerd) -> Dockerd:
    """Stop ``daemon`` (SIGTERM: it stops its containers as on a host shutdown) and start
    the same command again; the new daemon answers when this returns."""
    _stop(daemon.procs[-1])
    proc = _launch(daemon.root, list(daemon.cmd), daemon.daemon_env)
    daemon.procs.append(proc)
    new = Dockerd(
        root=daemon.root,
        host=daemon.host,
        pid=proc.pid,
        cmd=daemon.cmd,
        daemon_env=daemon.daemon_env,
        procs=daemon.procs,
    )
    _wait_answering(new, proc)
    return new


@contextmanager
def private_dockerd(
    runtimes: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
) -> Iterator[Dockerd]:
    """Start a private dockerd; stop it and remove everything it made on exit."""
    root = Path(tempfile.mkdtemp(prefix="d2u-dockerd-", dir="/tmp"))
    # containerd namespaces allow letters and digits only between separators: mkdtemp's
    # random part may hold "_", which made the daemon refuse every container.
    tag = "".join(c if c.isalnum() else "x" for c in root.name.rsplit("-", 1)[-1])
    (root / "daemon.json").write_text("{}\n")  # ignore the host's /etc/docker/daemon.json
    (root / "client").mkdir()
    log = root / "dockerd.log"
    host = f"unix://{root}/docker.sock"
    cmd = [
        "dockerd",
        f"--config-file={root / 'daemon.json'}",
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'docker.pid'}",
        "-H",
        host,
        "--storage-driver=overlay2",
        "--iptables=false",
        "--bridge=none",
        f"--containerd-namespace=d2u-{tag}",
        f"--containerd-plugins-namespace=d2u-{tag}-plugins",
    ]
    cmd += [f"--add-runtime={name}={path}" for name, path in (runtimes or {}).items()]
    daemon_env = {**os.environ, **(env or {})}
    log.write_bytes(b"")
    proc = _launch(root, cmd, daemon_env)
    daemon = Dockerd(
        root=root, host=host, pid=proc.pid, cmd=tuple(cmd), daemon_env=daemon_env, procs=[proc]
    )
    try:
        _wait_answering(daemon, proc)
        yield daemon
    finally:
        bridges = _bridges(daemon)
        for started in daemon.procs:
            _stop(started)
        for bridge in bridges:  # dockerd keeps a network's bridge after it stops
            subprocess.run(["ip", "link", "delete", bridge], capture_output=True, check=False)
        for point in _mounts_below(root):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _bridges(daemon: Dockerd) -> list[str]:
    """The kernel bridges of the daemon's user-defined networks (`br-` + 12 hex of the id).
    They outlive dockerd, so every private daemon leaked one per `docker network create`
    until the default address pools ran out ("could not find an available,
    non-overlapping IPv4 address pool")."""
    try:
        listed = daemon.docker(
            "network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge", timeout=30
        )
    except (RuntimeError, subprocess.SubprocessError):
        return []
    return [f"br-{net[:12]}" for net in listed.stdout.split()]


def _group_members(pgid: int) -> list[int]:
    """Processes still in the process group (and session) we created for dockerd."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and int(fields[3]) == pgid:
                members.append(int(entry.name))
    return members


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the daemon (it stops its containerd), then SIGKILL what is left of its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    if proc.poll() is None:
        proc.kill()
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    for pid in _group_members(proc.pid):  # containerd and shims dockerd started
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
