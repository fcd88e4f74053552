"""The OCI runtime against runc under one private dockerd, and convert time (issue 12, part 4).

Reproduce (from a checkout after `make setup`, as root, fixtures built):

    .venv/bin/python -m bench.runtime_start [--repeat N]     # prints markdown, writes
                                                            # build/bench/results-runtime_start.json
    DOCK2UNI_ACCEL=tcg .venv/bin/python -m bench.runtime_start --repeat 5   # as measured

What is measured, each peer interleaved with the others (bench/stats.py):
  * create-to-exit of the hello fixture (hello-static-glibc, `hello`): the wall time of
    `docker run --rm IMAGE hello` with runc and with `--runtime dock2uni`, warm cache
    (the runtime's conversion of that rootfs is cached before the first sample); the
    whole engine path: dockerd, containerd, the runc shim, create, start, exit, delete;
  * the runtime's cold start of the same image (its cache emptied before each sample);
  * `docker run -d` returning (create + start) for the nginx fixture, cold and warm
    runtime cache: the container's conversion is part of create;
  * `dock2uni convert` of the nginx fixture (oci layout), cold (an empty cache each
    time: unpack, analysis, link) and warm (the same cache again), against part 4's
    goal (cold <= 10 s, warm <= 2 s).
Create-to-first-response of nginx needs guest networking (issue 11), which this branch
lacks: that row says so instead of a figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fixtures.dockersave import legacy_members, write_tar
from tests.infra.dockerd import Dockerd, private_dockerd

from bench import machine
from bench.config import Config
from bench.paths import BENCH, dock2uni_cli, fixture_layout
from bench.qemu import accelerator, accelerator_note
from bench.report import Result, Table
from bench.stats import Metrics, Samples, fmt_seconds, interleaved

NAME = "runtime_start"
HELLO = "d2u-bench/hello:glibc"
NGINX = "d2u-bench/nginx:latest"
RUNTIME = Path(dock2uni_cli()).with_name("dock2uni-runtime")
COLD_REPEAT = 3  # cold conversions take seconds each: fewer repetitions
GOAL_COLD, GOAL_WARM = 10.0, 2.0


def _timed(argv: list[str], env: dict[str, str] | None = None, expect: str = "") -> Metrics:
    t0 = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    seconds = time.monotonic() - t0
    if proc.returncode != 0 or expect not in proc.stdout:
        raise RuntimeError(f"{' '.join(argv[:4])}... exit {proc.returncode}: {proc.stderr[-300:]}")
    return {"seconds": seconds}


@contextmanager
def _daemon(cache: Path) -> Iterator[Dockerd]:
    env = {"DOCK2UNI_CACHE": str(cache)}
    with private_dockerd(runtimes={"dock2uni": str(RUNTIME)}, env=env) as daemon:
        yield daemon


def _docker_run(d: Dockerd, runtime: str | None, image: str, *args: str) -> Callable[[], Metrics]:
    extra = ["--runtime", runtime] if runtime else []

    def once() -> Metrics:
        return _timed(["docker", "run", "--rm", *extra, image, *args], d.env(), "hello")

    return once


def _detached(d: Dockerd, cache: Path, *, cold: bool) -> Callable[[], Metrics]:
    def once() -> Metrics:
        if cold:
            shutil.rmtree(cache / "runtime", ignore_errors=True)
        t0 = time.monotonic()
        run = subprocess.run(
            ["docker", "run", "-d", "--runtime", "dock2uni", NGINX],
            env=d.env(), capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - t0
        rm = ["docker", "rm", "-f", run.stdout.strip()]
        subprocess.run(rm, env=d.env(), capture_output=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-300:])
        return {"seconds": seconds}

    return once


def _convert(cache: Path, out: Path, *, cold: bool) -> Callable[[], Metrics]:
    source = f"oci:{fixture_layout('nginx')}:latest"

    def once() -> Metrics:
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        argv = [dock2uni_cli(), "convert", source, "-o", str(out), "-q", "--cache-dir", str(cache)]
        return _timed(argv)

    return once


def _row(label: str, s: Samples) -> list[str]:
    spread = s.spread("seconds")
    low_high = f"{fmt_seconds(spread[0])}-{fmt_seconds(spread[1])}" if spread else "-"
    errors = f"{len(s.errors)} failed: {s.errors[0][:80]}" if s.errors else ""
    return [label, fmt_seconds(s.median("seconds")), low_high, str(len(s.runs)), errors]


COLUMNS = ["measurement", "median", "min-max", "runs", "errors"]


def run(config: Config) -> Result:
    result = Result(name=NAME)
    accel = accelerator()
    result.conditions = {
        "accelerator": f"{accel} ({accelerator_note()})",
        "repetitions": f"{config.repeat} (cold conversions: {min(config.repeat, COLD_REPEAT)})",
    }
    load_before = os.getloadavg()[0]
    BENCH.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="runtime-start-", dir=BENCH))
    try:
        cache = scratch / "runtime-cache"
        with _daemon(cache) as d:
            for fixture, tag in (("hello-static-glibc", HELLO), ("nginx", NGINX)):
                tar = write_tar(
                    scratch / f"{fixture}.tar",
                    legacy_members(fixture_layout(fixture), "latest", tag),
                )
                d.docker("load", "-i", str(tar))
            version = d.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
            result.conditions["docker"] = (
                f"dockerd {version} (private daemon), runc and dock2uni-runtime"
            )
            _docker_run(d, "dock2uni", HELLO, "hello")()  # warms the runtime's cache
            warm = interleaved(
                {
                    "runc": _docker_run(d, None, HELLO, "hello"),
                    "dock2uni": _docker_run(d, "dock2uni", HELLO, "hello"),
                },
                config.repeat,
                label=f"{NAME} hello",
            )

            def cold_hello() -> Metrics:
                shutil.rmtree(cache / "runtime", ignore_errors=True)
                return _docker_run(d, "dock2uni", HELLO, "hello")()

            cold_repeat = min(config.repeat, COLD_REPEAT)
            cold = interleaved({"dock2uni cold": cold_hello}, cold_repeat, label=f"{NAME} cold")
            nginx_cold = interleaved(
                {"nginx cold": _detached(d, cache, cold=True)}, cold_repeat, label=f"{NAME} nginx"
            )
            _detached(d, cache, cold=False)()
            nginx_warm = interleaved(
                {"nginx warm": _detached(d, cache, cold=False)},
                config.repeat,
                label=f"{NAME} nginx",
            )
        out = scratch / "nginx.uni"
        conv_cache = scratch / "convert-cache"
        conv_cold = interleaved(
            {"cold": _convert(conv_cache, out, cold=True)}, cold_repeat, label=f"{NAME} convert"
        )
        conv_warm = interleaved(
            {"warm": _convert(conv_cache, out, cold=False)}, config.repeat, label=f"{NAME} convert"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # Other jobs on the machine slow Python start-up and QEMU alike: say how busy it was.
    result.conditions["load average (1 min) before/after"] = (
        f"{load_before:.1f}/{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    samples = {
        "hello: docker run (runc)": warm["runc"],
        "hello: docker run --runtime dock2uni, warm cache": warm["dock2uni"],
        "hello: docker run --runtime dock2uni, cold cache": cold["dock2uni cold"],
        "nginx: docker run -d --runtime dock2uni returns, cold cache": nginx_cold["nginx cold"],
        "nginx: docker run -d --runtime dock2uni returns, warm cache": nginx_warm["nginx warm"],
        "nginx: dock2uni convert, cold": conv_cold["cold"],
        "nginx: dock2uni convert, warm": conv_warm["warm"],
    }
    table = Table(title="Start through Docker, and convert time", columns=COLUMNS)
    table.rows = [_row(label, s) for label, s in samples.items()]
    table.rows.append(
        ["nginx: create to first response", "-", "-", "0", "needs guest networking (issue 11)"]
    )
    table.notes = [
        "docker run times are the CLI's wall time: dockerd, containerd, the runc shim, the "
        "runtime's create and start, the program, delete.",
        "warm cache: the runtime found the rootfs's conversion in its cache (a stat walk of "
        "the rootfs); cold: the cache was emptied before each sample.",
    ]
    result.tables.append(table)
    for label, goal in (("cold", GOAL_COLD), ("warm", GOAL_WARM)):
        median = samples[f"nginx: dock2uni convert, {label}"].median("seconds")
        met = median is not None and median <= goal
        verdict = f"{'met' if met else 'not met'}: {fmt_seconds(median)}"
        result.goals.append((f"dock2uni convert nginx {label} <= {goal:g} s", verdict))
    result.raw = {label: s.to_json() for label, s in samples.items()}
    return result


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
