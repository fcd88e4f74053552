"""The Docker peer: `docker run --rm --network none IMAGE` on a private, real dockerd.

The daemon is tests/infra/dockerd.py's (its own data root, socket and containerd
namespace, torn down afterwards); images go in from the fixture's OCI layout via
``skopeo copy oci:... docker-archive:...`` and ``docker load``.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.stats import Metrics
from bench.timing import time_process


@dataclass(frozen=True)
class DockerPeer:
    """A running private daemon and what it was given."""

    env: dict[str, str]
    version: str

    def load(self, layout: Path, tag: str) -> str:
        """Load the image of an OCI layout (ref latest) as ``tag``; returns the tag."""
        with tempfile.TemporaryDirectory(prefix="d2u-bench-docker-") as tmp:
            archive = Path(tmp) / "image.tar"
            subprocess.run(
                ["skopeo", "copy", "-q", f"oci:{layout}:latest", f"docker-archive:{archive}:{tag}"],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                ["docker", "load", "-q", "-i", str(archive)],
                env=self.env,
                check=True,
                capture_output=True,
            )
        return tag

    def runner(self, tag: str, *, marker: bytes, timeout: float = 120) -> Callable[[], Metrics]:
        """One timed `docker run --rm --network none TAG`: marker and exit, seconds."""

        def run() -> Metrics:
            timing = time_process(
                ["docker", "run", "--rm", "--network", "none", tag],
                marker=marker,
                timeout=timeout,
                env=self.env,
            )
            if timing.marker is None:
                raise RuntimeError(f"no {marker!r} in docker's output {timing.output[-200:]!r}")
            return {"main": timing.marker, "exit": timing.exit}

        return run


def unavailable_reason() -> str | None:
    from tests.infra.dockerd import unavailable_reason as why

    return why()


@contextmanager
def docker() -> Iterator[DockerPeer]:
    """A private dockerd for the duration of the block."""
    from tests.infra.dockerd import private_dockerd

    with private_dockerd() as daemon:
        version = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            env=daemon.env(),
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        yield DockerPeer(env=daemon.env(), version=version)
