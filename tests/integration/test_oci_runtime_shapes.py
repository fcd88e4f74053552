"""The distroless-shaped fixture under `docker run --runtime dock2uni` and under runc, on
a real private dockerd (issue 12 parts 1 and 3): USER 65532:65532 with no /etc/passwd
reaches the guest through config.json's process.user, the server's stdout is what
`docker logs` shows, and `docker stop` (SIGTERM: the image declares no StopSignal) ends
it gracefully with exit code 0, the same lines and code as runc's container. The
runtime's guest has no NIC yet (test_oci_runtime_docker.test_networks), so the pages are
compared through `dock2uni run -p` and `docker run -p` in tests/boot/test_official_shapes.py.
redis-official's VOLUME /data as a named Docker volume keeps the unikernel's dump for the
next container, runc's or the unikernel's.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.infra.dockerd import Dockerd, private_dockerd, unavailable_reason
from tests.integration.runtime_engines import (
    RUNTIME,
    kill_leftovers,
    runtime_env,
    save_fixture,
    wait_no_leftovers,
)

pytestmark = [pytest.mark.docker, pytest.mark.boot, pytest.mark.fixtures, pytest.mark.slow]

DISTROLESS = "d2u/distroless:latest"
REDIS = "d2u/redis-official:latest"
# The official entrypoint (chown of /data, gosu to redis) starts a daemonized server on a
# unix socket (no port to publish or wait for); redis-cli then talks to it.
REDIS_UP = (
    "docker-entrypoint.sh redis-server --daemonize yes --port 0 --unixsocket /tmp/r.sock "
    "--save '' --appendonly no && i=0; until redis-cli -s /tmp/r.sock ping >/dev/null 2>&1; "
    "do i=$((i+1)); [ $i -lt 600 ] || exit 3; sleep 0.1; done; "
)
REDIS_WRITE = REDIS_UP + "redis-cli -s /tmp/r.sock set survivor 42 && redis-cli -s /tmp/r.sock save"
REDIS_READ = REDIS_UP + "redis-cli -s /tmp/r.sock get survivor"
LINES = [
    "listening on :8080 as uid 65532",
    "received terminated, shutting down",
    "stopped",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime-shapes-cache")


@pytest.fixture(scope="module")
def daemon(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    if reason := unavailable_reason():
        need("docker", reason)
    if not RUNTIME.exists():
        need("docker", f"{RUNTIME} is not installed (make setup)")
    tars = tmp_path_factory.mktemp("runtime-shapes-images")
    with private_dockerd(runtimes={"dock2uni": str(RUNTIME)}, env=runtime_env(cache)) as d:
        try:
            tar = save_fixture("distroless-shaped", DISTROLESS, tars / "distroless.tar")
            d.docker("load", "-i", str(tar))
            tar = save_fixture("redis-official", REDIS, tars / "redis.tar")
            d.docker("load", "-i", str(tar))
            yield d
        finally:
            for marker in (str(cache), str(d.root)):
                kill_leftovers(marker)


def _run(d: Dockerd, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], env=d.env(), capture_output=True, text=True, timeout=timeout
    )


def _serve_then_stop(d: Dockerd, runtime: list[str]) -> tuple[str, str, str]:
    """`docker run -d`, until its first line, `docker stop`: (exit code, stdout, stderr)."""
    run = _run(d, "run", "-d", *runtime, DISTROLESS)
    cid = run.stdout.strip()
    assert cid, run.stderr
    try:
        deadline = time.monotonic() + 300
        while LINES[0] not in _run(d, "logs", cid).stdout:
            assert time.monotonic() < deadline, _run(d, "logs", cid).stderr
            time.sleep(0.5)
        top = _run(d, "top", cid)
        assert top.returncode == 0, top.stderr
        # the unikernel's QEMU is the container's process; runc runs the server itself
        assert ("qemu-system" in top.stdout) == bool(runtime), top.stdout
        stop = _run(d, "stop", "-t", "60", cid)
        assert stop.returncode == 0, stop.stderr
        code = _run(d, "inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip()
        logs = _run(d, "logs", cid)
        return code, logs.stdout, logs.stderr
    finally:
        _run(d, "rm", "-f", cid)


def test_distroless_runs_and_stops_like_runc(daemon: Dockerd, cache: Path) -> None:
    runc = _serve_then_stop(daemon, [])
    assert runc == ("0", "\n".join(LINES) + "\n", ""), runc
    uni = _serve_then_stop(daemon, ["--runtime", "dock2uni"])
    assert uni == runc
    assert wait_no_leftovers(str(cache)) == [], "QEMU left running"


def test_redis_official_keeps_its_dump_in_a_docker_volume(daemon: Dockerd, cache: Path) -> None:
    """The image's VOLUME /data as a named Docker volume (Docker fills it from the image and
    binds it): the unikernel's redis writes its dump there through the entrypoint's chown
    and gosu; a runc container and a second unikernel load it."""
    runs = [("dock2uni", REDIS_WRITE, ["OK", "OK"]), ("runc", REDIS_READ, ["42"]),
            ("dock2uni", REDIS_READ, ["42"])]  # fmt: skip
    try:
        for runtime, script, expected in runs:
            proc = _run(daemon, "run", "--rm", "--runtime", runtime, "-v", "redisdata:/data",
                        "--entrypoint", "sh", REDIS, "-c", script)  # fmt: skip
            assert (proc.returncode, proc.stdout.split()) == (0, expected), proc.stderr
        owner = _run(daemon, "run", "--rm", "-v", "redisdata:/data", "--entrypoint", "stat",
                     REDIS, "-c", "%U", "/data/dump.rdb")  # fmt: skip
        assert owner.stdout == "redis\n"
    finally:
        _run(daemon, "volume", "rm", "-f", "redisdata")
    assert wait_no_leftovers(str(cache)) == [], "QEMU left running"
