"""dock2uni-runtime under a real private containerd, through the stock runc v2 shim pointed at
it (`ctr run --runc-binary`, the shim's BinaryName option, which a Kubernetes RuntimeClass
uses: docs/kubernetes.md): output and exit code reach ctr; a detached task is listed and
deleted with nothing left behind; the official-image-shaped fixtures run through it exactly
as through containerd's own runc (ctr's arguments replace the whole process, so the
entrypoint scripts are named)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.infra.containerd import Containerd, private_containerd, unavailable_reason
from tests.integration.runtime_engines import (
    RUNTIME,
    kill_leftovers,
    runtime_env,
    save_fixture,
    wait_no_leftovers,
)

pytestmark = [pytest.mark.docker, pytest.mark.boot, pytest.mark.fixtures, pytest.mark.slow]

HELLO = "docker.io/d2u/hello:glibc"
SHIM = "io.containerd.runc.v2"
# Each shape with a command that ends: through its entrypoint where it has one.
SHAPES = {
    "nginx-official": (
        "docker.io/d2u/nginx-official:latest",
        ["/docker-entrypoint.sh", "nginx", "-t"],
    ),
    "redis-official": (
        "docker.io/d2u/redis-official:latest",
        ["docker-entrypoint.sh", "sh", "-c", "id; umask; redis-server --version"],
    ),
    "python-official": (
        "docker.io/d2u/python-official:latest",
        ["python3", "-c", "import os; print(os.getuid(), os.getcwd(), sorted(os.listdir()))"],
    ),
    "alpine-shaped": ("docker.io/d2u/alpine-shaped:latest", ["/bin/sh", "-c", "echo $((6*7)); id"]),
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime-cache")


@pytest.fixture(scope="module")
def containerd(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    reason = unavailable_reason()
    if reason:
        need("docker", f"containerd tests: {reason}")
    if not RUNTIME.exists():
        need("docker", f"{RUNTIME} is not installed (make setup)")
    tars = tmp_path_factory.mktemp("img")
    images = [("hello-static-glibc", "d2u/hello:glibc")]
    images += [(name, ref.removeprefix("docker.io/")) for name, (ref, _) in SHAPES.items()]
    try:
        with private_containerd(env=runtime_env(cache)) as daemon:
            try:
                for name, tag in images:
                    tar = save_fixture(name, tag, tars / f"{name}.tar")
                    daemon.ctr("images", "import", str(tar))
                yield daemon
            finally:
                for marker in (str(cache), str(daemon.root)):
                    kill_leftovers(marker)
    except RuntimeError as exc:
        if "containerd did not start" not in str(exc):
            raise
        need("docker", f"cannot start a private containerd: {exc}")


def _run_args(daemon: Containerd, *extra: str) -> list[str]:
    root = daemon.root / "runc"
    return [
        "run",
        "--runtime",
        SHIM,
        "--runc-binary",
        str(RUNTIME),
        "--runc-root",
        str(root),
        *extra,
    ]


@pytest.mark.parametrize(
    ("args", "out", "code"),
    [
        (["hello"], "hello from dock2uni\n", 0),
        (["exitcode", "7"], "", 7),
    ],
)
def test_ctr_run_output_and_exit_code(
    containerd: Containerd, args: list[str], out: str, code: int
) -> None:
    name = f"c-{args[0]}"
    proc = containerd.run(*_run_args(containerd, "--rm"), HELLO, name, *args)
    assert (proc.returncode, proc.stdout.replace("\r\n", "\n")) == (code, out), proc.stderr
    assert not (containerd.root / "runc" / "default" / name).exists()


def test_ctr_detached_task_delete(containerd: Containerd, cache: Path) -> None:
    name = "c-detached"
    containerd.ctr(*_run_args(containerd, "-d"), HELLO, name, "args", "x")
    try:
        deadline = time.monotonic() + 120
        while "STOPPED" not in containerd.ctr("task", "ls").stdout:
            assert time.monotonic() < deadline, containerd.ctr("task", "ls").stdout
            time.sleep(0.3)
        containerd.ctr("task", "delete", name)
    finally:
        containerd.run("task", "delete", "-f", name)
        containerd.run("container", "rm", name)
    assert wait_no_leftovers(str(cache)) == []
    assert wait_no_leftovers(str(containerd.root)) == []
    assert not (containerd.root / "runc" / "default" / name).exists()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shapes_run_as_under_runc(containerd: Containerd, shape: str) -> None:
    """The same image and arguments under containerd's runc and under dock2uni-runtime:
    the same stdout, stderr and exit code."""
    ref, argv = SHAPES[shape]
    runc = containerd.run("run", "--rm", ref, f"runc-{shape}", *argv)
    ours = containerd.run(*_run_args(containerd, "--rm"), ref, f"d2u-{shape}", *argv)
    assert runc.returncode == 0, runc.stderr
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        runc.returncode,
        runc.stdout,
        runc.stderr,
    )
