"""Image size and the smallest guest memory that still runs, per rootfs policy (issue 14).

For each fixture: ``dock2uni convert`` with the default policy, ``--rootfs closure``
and ``--slim`` (traced and verified, with the workload below); the .uni file size,
the rootfs, the recommended memory, and the smallest ``--mem`` (MiB, bisected) at
which the image still prints exactly what the default image prints at its own
recommendation. Compared with the container image's size on a real, private dockerd
(``docker image inspect``) and the published Unikraft figures
(../shared/reference/anchors.md, B2 and B3). Reproduce:
``.venv/bin/python -m bench.slim_sizes`` (writes build/bench/results-slim_sizes.{json,md}).
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from bench import machine
from bench.paths import BENCH, fixture_layout
from bench.peers import docker
from bench.report import Result, Table
from bench.stats import fmt_bytes
from bench.unikernel import convert
from dock2uni.accel import requested
from dock2uni.context import Context
from dock2uni.run import RunOptions, run_image, select_accel
from dock2uni.uni import read_metadata

NAME = "slim_sizes"
POLICIES = ("default", "closure", "slim")
PYTHON = "import base64, collections, re; print(base64.b64encode(b'hi').decode(), collections.Counter('aab').most_common(1), re.sub('a+', '-', 'baaad'))"  # noqa: E501
SQL = "create table t(x); insert into t values (6*7); select x, sqlite_version() from t;"
# fixture -> the workload (None: the image's own command), as the tests run them.
WORKLOADS: dict[str, tuple[str, ...] | None] = {
    "hello-static-musl": None,
    "hello-dynamic-glibc": None,
    "busybox": ("sh", "-c", 'echo $((6*7)); cd /etc && pwd; read x < /etc/passwd; echo "$x"'),
    "coreutils": None,  # ls -l /
    "jq": None,
    "sqlite": ("sqlite3", ":memory:", SQL),
    "python": ("python3", "-c", PYTHON),
}
UNIKRAFT = {  # anchors.md B2 (image) and B3 (minimum RAM), Unikraft default build
    "hello-static-musl": "208 KiB, 2 MB",
    "hello-dynamic-glibc": "208 KiB, 2 MB",
    "sqlite": "1.52 MiB, 4 MB",
}
MEM_LOW = 16  # MiB: dock2uni run's floor (run.qemu_argv never gives QEMU less)
TIMEOUT = 300.0


def _convert(fixture: str, policy: str) -> Path:
    cmd = WORKLOADS[fixture]
    extra: list[str] = []
    if cmd is not None:
        extra += ["--cmd", json.dumps(list(cmd))]
    if policy == "closure":
        extra += ["--rootfs", "closure"]
    elif policy == "slim":
        extra += ["--slim", "--slim-cmd", shlex.join(cmd) if cmd else ""]
    return convert(f"oci:{fixture_layout(fixture)}:latest", f"slim-{policy}-{fixture}", *extra)


def _run(image: Path, mem_mib: int, ctx: Context, accel: str) -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    result = run_image(
        image,
        RunOptions(mem=mem_mib << 20, accel=accel, timeout=TIMEOUT, echo_log=False),
        ctx,
        stdout=out,
        stderr=io.StringIO(),
        guest_stderr=err,
    )
    return result.exit_code, out.getvalue(), err.getvalue()


def smallest_mem(
    image: Path, want: tuple[int, bytes, bytes], ctx: Context, accel: str
) -> int | None:
    """The smallest MiB (>= MEM_LOW) at which ``image`` prints ``want``; None if even its
    recommendation does not."""
    high = int(read_metadata(image)["recommended_mem"]) >> 20
    if _run(image, high, ctx, accel) != want:
        return None
    low = MEM_LOW
    if _run(image, low, ctx, accel) == want:
        return low
    while high - low > 1:  # low fails, high passes
        mid = (low + high) // 2
        if _run(image, mid, ctx, accel) == want:
            high = mid
        else:
            low = mid
    return high


def _mem_text(least: int | None) -> str:
    if least is None:
        return "fails"
    return f"<= {least} MiB" if least == MEM_LOW else f"{least} MiB"


def _docker_sizes(skipped: list[str]) -> dict[str, int]:
    """Each fixture's size as the real daemon reports it (docker image inspect .Size)."""
    if (why := docker.unavailable_reason()) is not None:
        skipped.append(f"docker: {why}")
        return {}
    sizes: dict[str, int] = {}
    with ExitStack() as stack:
        try:
            peer = stack.enter_context(docker.docker())
        except RuntimeError as exc:
            skipped.append(f"docker: {str(exc).splitlines()[0]}")
            return {}
        for fixture in WORKLOADS:
            tag = peer.load(fixture_layout(fixture), f"d2u-bench/{fixture}:latest")
            proc = subprocess.run(
                ["docker", "image", "inspect", "--format", "{{.Size}}", tag],
                env=peer.env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            sizes[fixture] = int(proc.stdout.strip())
    return sizes


def run() -> Result:
    result = Result(name=NAME)
    ctx = Context(cache_dir=BENCH / "cache" / "slim-sizes", quiet=True)
    accel = select_accel(requested(None)[0], ctx)
    result.conditions = {"accelerator": accel, "memory search": f"bisection in MiB from {MEM_LOW}"}
    skipped: list[str] = []
    docker_sizes = _docker_sizes(skipped)
    table = Table(
        title="Image size and memory by rootfs policy",
        columns=["image (workload)", "container image", "policy", ".uni file", "rootfs entries",
                 "recommended --mem", "smallest --mem that passes", "Unikraft (image, RAM)"],
    )  # fmt: skip
    for fixture, cmd in WORKLOADS.items():
        reference: tuple[int, bytes, bytes] | None = None
        for policy in POLICIES:
            image = _convert(fixture, policy)
            meta = read_metadata(image)
            if reference is None:
                reference = _run(image, meta["recommended_mem"] >> 20, ctx, accel)
            least = smallest_mem(image, reference, ctx, accel)
            result.raw[f"{fixture}/{policy}"] = {
                "file": image.stat().st_size, "rootfs": meta["sizes"]["rootfs"],
                "entries": meta["rootfs"]["entries"], "recommended_mem": meta["recommended_mem"],
                "smallest_mem_mib": least, "docker_size": docker_sizes.get(fixture),
            }  # fmt: skip
            label = fixture + (f" (`{shlex.join(cmd)[:40]}`)" if cmd else "")
            table.rows.append([
                label if policy == "default" else "",
                fmt_bytes(docker_sizes.get(fixture)) if policy == "default" else "",
                policy,
                fmt_bytes(image.stat().st_size),
                str(meta["rootfs"]["entries"]),
                f"{meta['recommended_mem'] >> 20} MiB",
                _mem_text(least),
                UNIKRAFT.get(fixture, "-") if policy == "default" else "",
            ])  # fmt: skip
            print(f"bench: {fixture} {policy}: {table.rows[-1][3:7]}", file=sys.stderr, flush=True)
    table.notes += [
        "smallest --mem: the least guest memory at which the image prints exactly what the "
        f"default image prints at its recommendation; {MEM_LOW} MiB is the floor dock2uni run "
        "gives QEMU, so `<= 16 MiB` means it passed there.",
        "container image: `docker image inspect --format {{.Size}}` on a private dockerd.",
        "Unikraft: anchors.md B2/B3 (hello world and sqlite of the Unikraft paper's artifact).",
        *skipped,
    ]
    result.tables.append(table)
    return result


def main() -> int:
    started = time.monotonic()
    host = machine.describe()
    result = run()
    result.conditions["wall time of this benchmark"] = f"{time.monotonic() - started:.0f} s"
    out = result.write_json(BENCH, host)
    text = result.markdown()
    out.with_suffix(".md").write_text(f"## Machine\n\n{machine.markdown(host)}\n{text}")
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
