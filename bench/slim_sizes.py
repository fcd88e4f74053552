"""Image size and the smallest guest memory that still runs, per rootfs policy (issue 14).

For each fixture: ``dock2uni convert`` with the default policy, ``--rootfs closure``
and ``--slim`` (traced and verified, with the workload below); the .uni file size,
the rootfs, the recommended memory, and the smallest ``--mem`` (MiB, bisected) at
which the image still prints exactly what the default image prints at its own
recommendation; for the servers (nginx, redis, lighttpd, the official shapes), at which
it still answers its probe (``convert --slim``'s ``--slim-probe``, over the guest
network) exactly as the default image answers it. Compared with the container image's
size on a real, private dockerd (``docker image inspect``), the memory the same workload
charges under ``docker run`` there (bench/container_mem.py) and the published Unikraft
figures
(../shared/reference/anchors.md, B2 and B3). Reproduce:
``.venv/bin/python -m bench.slim_sizes [FIXTURE...]`` (default: every fixture below;
writes build/bench/results-slim_sizes.{json,md}).
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

from bench import container_mem, machine
from bench.paths import BENCH, fixture_layout
from bench.peers import docker
from bench.report import Result, Table
from bench.stats import fmt_bytes
from bench.unikernel import convert
from dock2uni.accel import requested
from dock2uni.context import Context
from dock2uni.errors import RunError
from dock2uni.run import RunOptions, check_memory_fits, run_image, select_accel
from dock2uni.slim.workload import run_workload, workloads
from dock2uni.uni import read_metadata

NAME = "slim_sizes"
# closure and slim store the rootfs files LZ4-compressed by default; "closure raw" is the
# same closure with --no-compress (docs/rootfs-compression.md).
POLICIES = ("default", "closure", "closure raw", "slim")
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
    "nginx": None,  # served: SERVERS
    "redis": None,
    # Images whose entrypoint script or configuration runs more programs (docs/slim.md).
    "entrypoint-script": None,
    "nginx-official": None,
    "lighttpd": None,
    "python-official": None,
    "redis-official": None,
}
# Servers: fixture -> the --slim-probe it is traced with and measured by (it answers, then
# it is stopped). redis gets inline commands and QUIT, so it closes after its answers.
SERVERS: dict[str, str] = {
    "nginx": "http://:80/",
    "redis": "tcp://:6379/SET%20greeting%20hello%0D%0AGET%20greeting%0D%0AQUIT%0D%0A",
    "nginx-official": "http://:80/",
    "lighttpd": "http://:80/",
    "python-official": "http://:8000/",
    "redis-official": "tcp://:6379/SET%20greeting%20hello%0D%0AGET%20greeting%0D%0AQUIT%0D%0A",
}
UNIKRAFT = {  # anchors.md B2 (image) and B3 (minimum RAM), Unikraft default build
    "hello-static-musl": "208 KiB, 2 MB",
    "hello-dynamic-glibc": "208 KiB, 2 MB",
    "sqlite": "1.52 MiB, 4 MB",
}
MEM_LOW = 16  # MiB: dock2uni run's floor (run.qemu_argv never gives QEMU less)
TIMEOUT = 300.0
SERVER_TIMEOUT = 120.0  # a server that has not answered by then (too little memory) fails


def _convert(fixture: str, policy: str) -> Path:
    cmd = WORKLOADS[fixture]
    extra: list[str] = []
    if cmd is not None:
        extra += ["--cmd", json.dumps(list(cmd))]
    if policy.startswith("closure"):
        extra += ["--rootfs", "closure"]
        if policy == "closure raw":
            extra += ["--no-compress"]
    elif policy == "slim" and fixture in SERVERS:
        extra += ["--slim", "--slim-probe", SERVERS[fixture]]
    elif policy == "slim":
        extra += ["--slim", "--slim-cmd", shlex.join(cmd) if cmd else ""]
    name = f"slim-{policy.replace(' ', '-')}-{fixture}"
    return convert(f"oci:{fixture_layout(fixture)}:latest", name, *extra)


def _run(image: Path, mem_mib: int, ctx: Context, accel: str, fixture: str) -> object:
    """What the image did at ``mem_mib``: (exit code, stdout, stderr), or for a server how
    it ended and its probe's answer (its output is an access log with times); "refused"
    below what the image's loaded bytes need (run.check_memory_fits)."""
    try:
        check_memory_fits(image, RunOptions(mem=mem_mib << 20), read_metadata(image))
    except RunError:
        return "refused"
    if fixture in SERVERS:
        (work,) = workloads([], [SERVERS[fixture]])
        got = run_workload(image, work, ctx, accel=accel, timeout=SERVER_TIMEOUT,
                           fstrace=False, mem=mem_mib << 20)  # fmt: skip
        return got.exit_code, got.status, got.probes
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


def smallest_mem(image: Path, want: object, ctx: Context, accel: str, fixture: str) -> int | None:
    """The smallest MiB (>= MEM_LOW) at which ``image`` does ``want`` (_run); None if even
    its recommendation does not."""
    high = int(read_metadata(image)["recommended_mem"]) >> 20
    if _run(image, high, ctx, accel, fixture) != want:
        return None
    low = MEM_LOW
    if _run(image, low, ctx, accel, fixture) == want:
        return low
    while high - low > 1:  # low fails, high passes
        mid = (low + high) // 2
        if _run(image, mid, ctx, accel, fixture) == want:
            high = mid
        else:
            low = mid
    return high


def _check_reference(fixture: str, reference: object) -> None:
    """A server must have answered on the default image, else nothing is measured."""
    if fixture in SERVERS:
        _code, _status, answers = reference  # type: ignore[misc]
        if any(status < 0 for status, _ in answers):
            raise RuntimeError(f"{fixture}: the default image did not answer {SERVERS[fixture]}")


def _mem_text(least: int | None) -> str:
    if least is None:
        return "fails"
    return f"<= {least} MiB" if least == MEM_LOW else f"{least} MiB"


def _stored_text(meta: dict[str, object]) -> str:
    sizes = meta["sizes"]
    assert isinstance(sizes, dict)
    stored, raw = sizes["rootfs"], sizes.get("rootfs_uncompressed", sizes["rootfs"])
    return fmt_bytes(stored) + (f" ({fmt_bytes(raw)})" if raw != stored else "")


def _docker_figures(
    fixtures: tuple[str, ...], skipped: list[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Each fixture's size as the real daemon reports it (docker image inspect .Size), and
    the median over three runs of the memory its workload charges under docker run."""
    if (why := docker.unavailable_reason()) is not None:
        skipped.append(f"docker: {why}")
        return {}, {}
    sizes: dict[str, int] = {}
    memory: dict[str, int] = {}
    with ExitStack() as stack:
        try:
            peer = stack.enter_context(docker.docker())
        except RuntimeError as exc:
            skipped.append(f"docker: {str(exc).splitlines()[0]}")
            return {}, {}
        for fixture in fixtures:
            tag = peer.load(fixture_layout(fixture), f"d2u-bench/{fixture}:latest")
            proc = subprocess.run(
                ["docker", "image", "inspect", "--format", "{{.Size}}", tag],
                env=peer.env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            sizes[fixture] = int(proc.stdout.strip())
            runs = [
                container_mem.peak_memory(peer, tag, WORKLOADS[fixture], SERVERS.get(fixture))
                for _ in range(3)
            ]
            memory[fixture] = sorted(runs)[1]
    return sizes, memory


def run(fixtures: tuple[str, ...] = tuple(WORKLOADS)) -> Result:
    result = Result(name=NAME)
    ctx = Context(cache_dir=BENCH / "cache" / "slim-sizes", quiet=True)
    accel = select_accel(requested(None)[0], ctx)
    result.conditions = {
        "accelerator": accel,
        "memory search": f"bisection in MiB from {MEM_LOW}",
        "fixtures": ", ".join(fixtures),
    }
    skipped: list[str] = []
    docker_sizes, docker_memory = _docker_figures(fixtures, skipped)
    table = Table(
        title="Image size and memory by rootfs policy",
        columns=["image (workload)", "container image", "container memory", "policy", ".uni file",
                 "rootfs entries", "rootfs stored (uncompressed)", "recommended --mem",
                 "smallest --mem that passes", "Unikraft (image, RAM)"],
    )  # fmt: skip
    for fixture in fixtures:
        cmd = WORKLOADS[fixture]
        reference: object = None
        for policy in POLICIES:
            image = _convert(fixture, policy)
            meta = read_metadata(image)
            if reference is None:
                reference = _run(image, meta["recommended_mem"] >> 20, ctx, accel, fixture)
                _check_reference(fixture, reference)
            least = smallest_mem(image, reference, ctx, accel, fixture)
            result.raw[f"{fixture}/{policy}"] = {
                "file": image.stat().st_size, "rootfs": meta["sizes"]["rootfs"],
                "rootfs_uncompressed": meta["sizes"].get("rootfs_uncompressed"),
                "compressed": meta["rootfs"].get("compressed", False),
                "entries": meta["rootfs"]["entries"], "recommended_mem": meta["recommended_mem"],
                "smallest_mem_mib": least, "docker_size": docker_sizes.get(fixture),
                "docker_memory": docker_memory.get(fixture),
            }  # fmt: skip
            label = fixture + (f" (`{shlex.join(cmd)[:40]}`)" if cmd else "")
            if fixture in SERVERS:
                label = f"{fixture} (probe `{SERVERS[fixture][:40]}`)"
            table.rows.append([
                label if policy == "default" else "",
                fmt_bytes(docker_sizes.get(fixture)) if policy == "default" else "",
                fmt_bytes(docker_memory.get(fixture)) if policy == "default" else "",
                policy,
                fmt_bytes(image.stat().st_size),
                str(meta["rootfs"]["entries"]),
                _stored_text(meta),
                f"{meta['recommended_mem'] >> 20} MiB",
                _mem_text(least),
                UNIKRAFT.get(fixture, "-") if policy == "default" else "",
            ])  # fmt: skip
            print(f"bench: {fixture} {policy}: {table.rows[-1][4:9]}", file=sys.stderr, flush=True)
    table.notes += [
        "smallest --mem: the least guest memory at which the image prints exactly what the "
        f"default image prints at its recommendation; {MEM_LOW} MiB is the floor dock2uni run "
        "gives QEMU, so `<= 16 MiB` means it passed there. Servers (nginx, redis, lighttpd, "
        "the official shapes): the least memory at which the server, booted with its port "
        "published, answers its probe "
        "(the status and body of a GET, redis's replies to SET, GET, QUIT) byte for byte as "
        "the default image answers it at its recommendation.",
        "container image: `docker image inspect --format {{.Size}}` on a private dockerd.",
        "container memory: the median of 3 runs of the same workload (servers: until the "
        "probe is answered) under `docker run` on that dockerd, as the high-water mark of a "
        "cgroup made its `--cgroup-parent` (bench/container_mem.py): anonymous memory, "
        "kernel memory and the page cache the container brought in, runc's own init included "
        "(about 4 MiB: a static hello charges that much). Files already in the host's page "
        "cache (the image's binaries and libraries, read by the earlier runs) are not "
        "charged again: a container shares them with its neighbours, a guest holds its own.",
        "Unikraft: anchors.md B2/B3 (hello world and sqlite of the Unikraft paper's artifact).",
        *skipped,
    ]
    result.tables.append(table)
    return result


def main(argv: list[str] | None = None) -> int:
    names = tuple(sys.argv[1:] if argv is None else argv) or tuple(WORKLOADS)
    if unknown := [n for n in names if n not in WORKLOADS]:
        print(f"bench.slim_sizes: unknown fixture(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    host = machine.describe()
    result = run(names)
    result.conditions["wall time of this benchmark"] = f"{time.monotonic() - started:.0f} s"
    out = result.write_json(BENCH, host)
    text = result.markdown()
    out.with_suffix(".md").write_text(f"## Machine\n\n{machine.markdown(host)}\n{text}")
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
