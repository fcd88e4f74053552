"""Peak memory of a workload under `docker run`: the high-water mark of a cgroup made for it.

`docker run --cgroup-parent=/NAME` puts the container's cgroup below NAME (dockerd's
cgroupfs driver, as the private daemon uses). NAME's high-water mark (cgroup v1
``memory.max_usage_in_bytes``, v2 ``memory.peak``) counts everything the container charged,
anonymous memory and the page cache of the files it read (as the runtime bench's cgroup
figure does, and as a guest's --mem holds its files), and it outlives the container, so a
command that exits within a millisecond is measured as well as a server. The figure to set
against a unikernel's smallest --mem.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

from bench.peers.docker import DockerPeer
from dock2uni.slim.workload import ask, parse_probe

CGROUP_ROOT = Path("/sys/fs/cgroup")
NETWORK = "d2u-bench-mem"  # a user network: the private daemon runs with --bridge=none
SERVER_TIMEOUT = 120.0


def _peak_file(parent: str) -> Path:
    v1 = CGROUP_ROOT / "memory" / parent / "memory.max_usage_in_bytes"
    return v1 if (CGROUP_ROOT / "memory").is_dir() else CGROUP_ROOT / parent / "memory.peak"


def _remove(parent: str) -> None:
    for d in [CGROUP_ROOT / parent, *CGROUP_ROOT.glob(f"*/{parent}")]:
        with contextlib.suppress(OSError):  # gone already, or not made in this hierarchy
            d.rmdir()


def docker_cli(
    peer: DockerPeer, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`docker ARGS` against the private daemon, its output captured."""
    env = peer.env
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, check=check)


def peak_memory(peer: DockerPeer, tag: str, cmd: tuple[str, ...] | None, probe: str | None) -> int:
    """Bytes: the most the container of ``tag`` charged while it ran ``cmd`` (None: the
    image's own command) to its end, or, with ``probe`` (a --slim-probe URL), while it
    served until the probe was answered."""
    parent = f"d2u-bench-mem-{os.getpid()}-{time.monotonic_ns()}"
    name = parent
    argv = ["run", "--name", name, f"--cgroup-parent=/{parent}"]
    try:
        if probe is None:
            done = docker_cli(peer, *argv, "--network", "none", tag, *(cmd or ()), check=False)
            if done.returncode != 0:
                why = f"exit {done.returncode}: {done.stderr[-300:]}"
                raise RuntimeError(f"docker run {tag}: {why}")
        else:
            p = parse_probe(probe)
            docker_cli(peer, "network", "create", NETWORK, check=False)
            docker_cli(peer, *argv, "-d", "--network", NETWORK, "-p", f"127.0.0.1::{p.port}", tag,
                    *(cmd or ()))  # fmt: skip
            port = int(docker_cli(peer, "port", name, f"{p.port}/tcp").stdout.split(":")[-1])

            def running() -> bool:
                out = docker_cli(peer, "inspect", "-f", "{{.State.Running}}", name, check=False)
                return out.stdout.strip() == "true"

            status, _body = ask(p, port, time.monotonic() + SERVER_TIMEOUT, running)
            if status < 0:
                raise RuntimeError(f"docker run {tag}: no answer to {probe}")
        return int(_peak_file(parent).read_text())
    finally:
        docker_cli(peer, "rm", "-f", name, check=False)
        _remove(parent)
