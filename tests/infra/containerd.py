"""A private containerd for integration tests, driven with `ctr`: started on demand, torn down.

Interface:
  * ``unavailable_reason() -> str | None``: why no private containerd can run here.
  * ``private_containerd(env=...) -> Iterator[Containerd]``: starts ``containerd`` with
    its own root, state, socket and config (CRI off), ``env`` added to its environment
    (its runc shims pass it on to the runtime they run), waits until ``ctr version``
    answers; on exit stops it and its shims, unmounts and removes its directory.
  * ``Containerd.ctr(*args)``: runs ctr against it.
Paths live under a short /tmp directory: socket paths are limited to 108 bytes.
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
from dataclasses import dataclass
from pathlib import Path

from tests.infra.dockerd import _mounts_below

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Containerd:
    root: Path
    address: str
    pid: int

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``ctr ARGS`` against this daemon, whatever its exit status."""
        return subprocess.run(
            ["ctr", "--address", self.address, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ctr(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``ctr ARGS``; raise with its output on failure."""
        proc = self.run(*args, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc


def unavailable_reason() -> str | None:
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install containerd)"
    if os.geteuid() != 0:
        return "starting a private containerd needs root"
    return None


def _config(root: Path, address: str) -> str:
    return f"""version = 2
root = "{root / "root"}"
state = "{root / "state"}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{address}"

[ttrpc]
  address = "{address}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{root / "opt"}"
"""


def _shims_of(root: Path) -> list[int]:
    """Shim processes serving this daemon (they leave its process group on purpose)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "containerd-shim" in cmd and str(root) in cmd:
                found.append(int(entry.name))
    return found


@contextmanager
def private_containerd(env: Mapping[str, str] | None = None) -> Iterator[Containerd]:
    root = Path(tempfile.mkdtemp(prefix="d2u-ctrd-", dir="/tmp"))
    address = str(root / "c.sock")
    (root / "config.toml").write_text(_config(root, address))
    log = root / "containerd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["containerd", "--config", str(root / "config.toml")],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    daemon = Containerd(root=root, address=address, pid=proc.pid)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while daemon.run("version", timeout=20).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"containerd did not start:\n{tail}")
            time.sleep(0.3)
        yield daemon
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _shims_of(root):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for point in _mounts_below(root):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
