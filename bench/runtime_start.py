"""The OCI runtime against runc under one private dockerd (issue 12, "Measured").

Reproduce (from a checkout after `make setup` and `make libos`, as root, fixtures built):

    DOCK2UNI_ACCEL=tcg .venv/bin/python -m bench.run runtime_start --repeat 7
    # prints markdown, writes build/bench/results-runtime_start.json

What is measured, the peers of each table interleaved (bench/stats.py), on one private
dockerd (tests/infra/dockerd.py) with runc and dock2uni-runtime side by side:
  * create-to-first-response of the nginx-shaped fixture (nginx-official): from the spawn
    of `docker run -d --network NET -p 127.0.0.1:PORT:80 IMAGE` (a user-defined bridge)
    until the first complete `GET /` answered through the published port, with runc and
    with `--runtime dock2uni` (warm: the runtime's conversion of that rootfs is cached
    before the first sample; cold: its cache emptied before each sample, so create
    converts). `docker run -d` returning (create + start) is recorded too;
  * memory of the running service, after the first response and 20 more requests: the
    container's cgroup charge (v2 `memory.current`, v1 `memory.usage_in_bytes`: what the
    engine accounts, init and QEMU included for dock2uni, dock2uni-runtime joining the
    container's cgroup) and, for dock2uni, QEMU's resident set (VmRSS);
  * create-to-exit of the hello fixture (hello-static-glibc, `hello`): `docker run --rm`
    with runc and with `--runtime dock2uni` (warm and cold cache): the whole engine path,
    dockerd, containerd, the runc shim, create, start, exit, delete.
The guest runs on the accelerator dock2uni picks (DOCK2UNI_ACCEL, else the probe): named
in the conditions. Convert time alone is bench/convert_speed.py's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fixtures.dockersave import legacy_members, write_tar
from tests.infra.dockerd import Dockerd, private_dockerd

from bench import machine, procmem
from bench.config import Config
from bench.paths import BENCH, dock2uni_cli, fixture_layout
from bench.qemu import accelerator, accelerator_note
from bench.report import Result, Table
from bench.stats import (
    Metrics,
    Samples,
    fmt_bytes,
    fmt_ratio,
    fmt_seconds,
    fmt_spread,
    interleaved,
    ratio,
)

NAME = "runtime_start"
HELLO = "d2u-bench/hello:glibc"
NGINX = "d2u-bench/nginx:official"
NETWORK = "d2u-bench"
RUNTIME = Path(dock2uni_cli()).with_name("dock2uni-runtime")
COLD_REPEAT = 3  # a cold create converts: seconds each, fewer repetitions
SERVE_TIMEOUT = 300.0
EXTRA_REQUESTS = 20
WELCOME = b"Welcome to nginx!"


def _timed(argv: list[str], env: dict[str, str], expect: str = "") -> Metrics:
    t0 = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    seconds = time.monotonic() - t0
    if proc.returncode != 0 or expect not in proc.stdout:
        raise RuntimeError(f"{' '.join(argv[:4])}... exit {proc.returncode}: {proc.stderr[-300:]}")
    return {"seconds": seconds}


@contextmanager
def _daemon(cache: Path) -> Iterator[Dockerd]:
    # The runtime's Python caches its bytecode, as an installed one does (the daemon
    # inherits this session's environment, which may set PYTHONDONTWRITEBYTECODE=1).
    env = {"DOCK2UNI_CACHE": str(cache), "PYTHONDONTWRITEBYTECODE": ""}
    if accel := os.environ.get("DOCK2UNI_ACCEL"):
        env["DOCK2UNI_ACCEL"] = accel
    with private_dockerd(runtimes={"dock2uni": str(RUNTIME)}, env=env) as daemon:
        yield daemon


def _hello(d: Dockerd, runtime: str | None, cache: Path | None = None) -> Callable[[], Metrics]:
    extra = ["--runtime", runtime] if runtime else []

    def once() -> Metrics:
        if cache is not None:
            shutil.rmtree(cache / "runtime", ignore_errors=True)
        return _timed(["docker", "run", "--rm", *extra, HELLO, "hello"], d.env(), "hello")

    return once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        return bytes(response.read())


def _memory(d: Dockerd, cid: str) -> Metrics:
    """The container's cgroup charge and, under dock2uni, QEMU's resident set."""
    pid = int(d.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout.strip())
    qemu = [c for c in procmem.children(pid) if "qemu-system" in procmem.command(c)]
    return {
        "cgroup_bytes": procmem.cgroup_memory(pid),
        "processes_rss": procmem.cgroup_rss(pid),
        "qemu_rss": procmem.rss(qemu[0]) if qemu else None,
    }


def _serve(d: Dockerd, runtime: str | None, cache: Path | None = None) -> Callable[[], Metrics]:
    """One nginx container: create-to-first-response, then its memory; always removed."""
    extra = ["--runtime", runtime] if runtime else []

    def once() -> Metrics:
        if cache is not None:
            shutil.rmtree(cache / "runtime", ignore_errors=True)
        port = _free_port()
        argv = ["docker", "run", "-d", "--network", NETWORK, "-p", f"127.0.0.1:{port}:80"]
        t0 = time.monotonic()
        run = subprocess.run(
            [*argv, *extra, NGINX], env=d.env(), capture_output=True, text=True, timeout=600,
            check=False,
        )  # fmt: skip
        created = time.monotonic() - t0
        cid = run.stdout.strip()
        try:
            if run.returncode != 0:
                raise RuntimeError(f"docker run exit {run.returncode}: {run.stderr[-300:]}")
            while True:
                try:
                    body = _get(port)
                    break
                except OSError as exc:
                    if time.monotonic() - t0 > SERVE_TIMEOUT:
                        raise RuntimeError(f"no response in {SERVE_TIMEOUT:.0f} s: {exc}") from None
                    time.sleep(0.02)
            first = time.monotonic() - t0
            if WELCOME not in body:
                raise RuntimeError(f"unexpected page: {body[:100]!r}")
            for _ in range(EXTRA_REQUESTS):
                _get(port)
            return {"create": created, "first_response": first, **_memory(d, cid)}
        finally:
            if cid:
                rm = ["docker", "rm", "-f", cid]
                subprocess.run(rm, env=d.env(), capture_output=True, check=False)

    return once


def _load_images(d: Dockerd, scratch: Path) -> None:
    for fixture, tag in (("hello-static-glibc", HELLO), ("nginx-official", NGINX)):
        tar = write_tar(
            scratch / f"{fixture}.tar", legacy_members(fixture_layout(fixture), "latest", tag)
        )
        d.docker("load", "-i", str(tar))
    d.docker("network", "create", NETWORK)


def run(config: Config) -> Result:
    result = Result(name=NAME)
    accel = accelerator()
    cold_repeat = min(config.repeat, COLD_REPEAT)
    result.conditions = {
        "accelerator": f"{accel} ({accelerator_note()})",
        "repetitions": f"{config.repeat} (cold caches: {cold_repeat})",
    }
    load_before = os.getloadavg()[0]
    BENCH.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="runtime-start-", dir=BENCH))
    try:
        cache = scratch / "runtime-cache"
        with _daemon(cache) as d:
            _load_images(d, scratch)
            version = d.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
            result.conditions["docker"] = (
                f"dockerd {version} (private daemon, user-defined bridge network, "
                "docker-proxy for -p), runc and dock2uni-runtime"
            )
            _serve(d, "dock2uni")()  # converts nginx: the warm samples find it cached
            _hello(d, "dock2uni")()
            serve = interleaved(
                {"runc": _serve(d, None), "dock2uni": _serve(d, "dock2uni")},
                config.repeat,
                label=f"{NAME} nginx",
            )
            serve_cold = interleaved(
                {"dock2uni cold": _serve(d, "dock2uni", cache)}, cold_repeat, label=f"{NAME} cold"
            )
            hello = interleaved(
                {"runc": _hello(d, None), "dock2uni": _hello(d, "dock2uni")},
                config.repeat,
                label=f"{NAME} hello",
            )
            hello_cold = interleaved(
                {"dock2uni cold": _hello(d, "dock2uni", cache)}, cold_repeat, label=f"{NAME} cold"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.conditions["load average (1 min) before/after"] = (
        f"{load_before:.1f}/{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    result.tables += [
        _serve_table(serve["runc"], serve["dock2uni"], serve_cold["dock2uni cold"]),
        _memory_table(serve["runc"], serve["dock2uni"]),
        _hello_table(hello["runc"], hello["dock2uni"], hello_cold["dock2uni cold"]),
    ]
    result.raw = {
        "nginx": {k: s.to_json() for k, s in {**serve, **serve_cold}.items()},
        "hello": {k: s.to_json() for k, s in {**hello, **hello_cold}.items()},
    }
    return result


def _errors(s: Samples) -> str:
    return f"{len(s.errors)} failed: {s.errors[0][:100]}" if s.errors else ""


def _serve_table(runc: Samples, uni: Samples, cold: Samples) -> Table:
    table = Table(
        title="nginx-official: docker run -d -p, create to first response",
        columns=["runtime", "first response", "docker run -d returned", "vs runc", "errors"],
    )
    base = runc.median("first_response")
    for label, s in (("runc", runc), ("dock2uni, warm cache", uni), ("dock2uni, cold", cold)):
        table.rows.append([
            label,
            fmt_spread(s, "first_response", fmt_seconds),
            fmt_spread(s, "create", fmt_seconds),
            fmt_ratio(ratio(s.median("first_response"), base)),
            _errors(s),
        ])  # fmt: skip
    table.notes = [
        "time zero: the spawn of `docker run -d`; first response: the first complete "
        "`GET /` through the published port (polled every 20 ms); median (min-max, n).",
        "dock2uni boots the unikernel under QEMU in the container's network namespace; the "
        "guest owns the container's address through a tap device (docs/oci-runtime.md).",
    ]
    return table


def _memory_table(runc: Samples, uni: Samples) -> Table:
    table = Table(
        title="nginx-official serving: memory",
        columns=["runtime", "container cgroup", "its processes' RSS", "QEMU RSS", "cgroup vs runc"],
    )
    base = runc.median("cgroup_bytes")
    for label, s in (("runc", runc), ("dock2uni", uni)):
        table.rows.append([
            label,
            fmt_spread(s, "cgroup_bytes", fmt_bytes),
            fmt_spread(s, "processes_rss", fmt_bytes),
            fmt_spread(s, "qemu_rss", fmt_bytes),
            fmt_ratio(ratio(s.median("cgroup_bytes"), base)),
        ])  # fmt: skip
    table.notes = [
        f"read after the first response and {EXTRA_REQUESTS} more `GET /`; the cgroup "
        "charge includes page cache (overlayfs reads for runc, QEMU's for dock2uni).",
        "dock2uni's guest RAM is the image's recommendation (`-m`), of which QEMU's RSS "
        "is what the guest touched: its rootfs lives in that RAM.",
    ]
    return table


def _hello_table(runc: Samples, uni: Samples, cold: Samples) -> Table:
    table = Table(
        title="hello-static-glibc: docker run --rm, create to exit",
        columns=["runtime", "wall time", "vs runc", "errors"],
    )
    base = runc.median("seconds")
    for label, s in (("runc", runc), ("dock2uni, warm cache", uni), ("dock2uni, cold", cold)):
        table.rows.append([
            label,
            fmt_spread(s, "seconds", fmt_seconds),
            fmt_ratio(ratio(s.median("seconds"), base)),
            _errors(s),
        ])  # fmt: skip
    table.notes = [
        "the docker CLI's wall time: dockerd, containerd, the runc shim, the runtime's "
        "create and start, the program, delete."
    ]
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_start", description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    result = run(Config(repeat=args.repeat))
    host = machine.describe()
    print(f"## Machine\n\n{machine.markdown(host)}\n{result.markdown()}")
    result.write_json(BENCH, host)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
