"""Serving over the network (issue 11): nginx and redis, unikernel vs Linux microVM vs Docker.

    .venv/bin/python -m bench.run net_serve --repeat 3   # tables, build/bench/results-net_serve.*
    DOCK2UNI_ACCEL=tcg .venv/bin/python -m bench.run net_serve --repeat 1   # the accelerator, named

What is measured, side by side in one run:
* nginx requests per second with ``wrk -d 5s --latency`` (Debian's wrk) for its default
  index page and a 1 MiB file (/1m.bin of the nginx-serve fixture), at 1, 10 and 100
  connections, with p50 and p99 latency;
* redis ``redis-benchmark -q -n 20000 -t set,get``: SET and GET operations per second;
* memory: the smallest guest ``-m`` with which nginx passes ``ab -n 10000 -c 50`` (no
  failed request), unikernel against Linux microVM (a bisection in 4 MiB steps).

The peers:
* the unikernel: ``dock2uni convert --rootfs closure --initrd`` of the fixture image,
  booted with `dock2uni run`'s exact QEMU command line and NIC (run.qemu_argv,
  network.Network: virtio-net on QEMU's user network) and its port publishing
  (publish.py, forward.py: `dock2uni run`'s listener handing connections to a private
  loopback hostfwd; docs/networking-run.md says why);
* the Linux microVM (Debian's cloud kernel) on the same QEMU, machine, memory and netdev,
  serving the same binaries: its initramfs is the unikernel's rootfs .cpio plus an /init
  that loads the virtio modules and configures eth0 (bench/peers/linux_serve.py);
* ``docker run -p 127.0.0.1:PORT:GUEST`` of the same image on a private, real dockerd.
  That daemon runs with ``--bridge=none --iptables=false``, so the container joins a
  user-defined bridge network and the port is published by docker-proxy (the userland
  proxy Docker uses where it has no iptables rules). It runs on the host kernel without
  emulation: a native reference, not a peer on equal terms under TCG.

Peers run one at a time (the host has 2 CPUs; a second guest would steal from the one
measured); each repetition boots each peer once, in rotating order (bench/stats.py);
medians, min-max and the ratio to the unikernel are reported. Both QEMU guests sit
behind the same forwarder and slirp, whose connection rate (not the guest) can bound
both alike when every request opens a connection (ab); wrk keeps its connections open.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench import load, unikernel
from bench.boot_time import docker_peer
from bench.config import Config
from bench.paths import BENCH, fixture_layout
from bench.peers import docker, linux_microvm, linux_serve
from bench.qemu import _LogDrain, accelerator, accelerator_note, log_socket
from bench.report import Result, Table
from bench.stats import Metrics, Samples, fmt_ratio, interleaved, ratio, verdict
from dock2uni.forward import Forwarder
from dock2uni.network import LOOPBACK, Network, PortSpec
from dock2uni.publish import resolve
from dock2uni.run import RunOptions, kernel_cmdline, qemu_argv
from dock2uni.uni import read_metadata

NAME = "net_serve"
UNIKERNEL = "dock2uni unikernel"
LINUX = "Linux microVM (bzImage)"
DOCKER = "docker run -p (host kernel)"
PEERS = (UNIKERNEL, LINUX, DOCKER)
CONNECTIONS = (1, 10, 100)
PAGES = {"index": "/", "1 MiB": "/1m.bin"}
WRK_SECONDS = 5
START_TIMEOUT = 240.0  # a server's boot under TCG on a busy host
MEM_LOW, MEM_HIGH, MEM_STEP = 16 << 20, 256 << 20, 4 << 20  # 16 MiB: qemu_argv's floor
APPS = {"nginx": ("nginx-serve", 80), "redis": ("redis", 6379)}
GOAL_RPS = 1.3  # issue 11: at least 1.3x the Linux microVM's requests per second
GOAL_MEM = 0.5  # and at most half its memory


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(app: str, port: int) -> bool:
    try:
        if app == "nginx":
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                return bool(resp.status == 200)
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "PING"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        return out.stdout.strip() == "PONG"
    except (OSError, subprocess.TimeoutExpired):
        return False


def _wait_ready(app: str, port: int, alive: Callable[[], bool], what: Callable[[], str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(app, port):
        if not alive():
            raise RuntimeError(f"{app} ended before it answered: {what()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{app} did not answer in {START_TIMEOUT:.0f} s: {what()}")
        time.sleep(0.5)


@contextmanager
def qemu_server(
    app: str, make_argv: Callable[[Path, Network], list[str]], guest_port: int
) -> Iterator[int]:
    """A QEMU guest serving ``app`` on a published host port, until the block ends; the port
    is published exactly as `dock2uni run -p 127.0.0.1::PORT` publishes it (publish.py,
    forward.py), for the unikernel and the Linux microVM alike."""
    wanted = Network(
        mode="user", hostname="bench", ports=(PortSpec(LOOPBACK, None, guest_port, "tcp"),)
    )
    network, reservation, _ = resolve(wanted, {})
    with log_socket() as (sock, server), ExitStack() as stack:
        stack.callback(reservation.close)
        console = stack.enter_context(open(BENCH / f"{NAME}-console.log", "wb"))
        argv = make_argv(sock, network)
        reservation.release()  # QEMU binds its private hostfwd port
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console, stderr=console)
        forwarder = Forwarder(reservation.take_routes())
        stack.callback(forwarder.close)
        drain = _LogDrain(server, time.monotonic())  # COM2 must be read, or QEMU blocks
        drain.start()

        def tail() -> str:
            console_tail = (BENCH / f"{NAME}-console.log").read_bytes()[-300:]
            log = drain.data.decode(errors="replace").strip().splitlines()[-4:]
            return f"console {console_tail.decode(errors='replace')!r}; log {log}"

        port = network.published[0].host_port
        try:
            _wait_ready(app, port, lambda: proc.poll() is None, tail)
            yield port
        finally:
            proc.kill()
            proc.wait()


@contextmanager
def docker_server(daemon: docker.DockerPeer, tag: str, app: str, guest_port: int) -> Iterator[int]:
    port = _free_port()
    name = f"d2u-bench-{app}-{port}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--network", "d2u-bench",
         "-p", f"127.0.0.1:{port}:{guest_port}", tag],
        env=daemon.env, check=True, capture_output=True,
    )  # fmt: skip

    def logs() -> str:
        done = subprocess.run(
            ["docker", "logs", name], env=daemon.env, capture_output=True, check=False
        )
        return (done.stdout + done.stderr).decode(errors="replace")[-400:]

    def running() -> bool:
        done = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", name],
            env=daemon.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.stdout.strip() == "true"

    try:
        _wait_ready(app, port, running, logs)
        yield port
    finally:
        subprocess.run(
            ["docker", "rm", "-f", name], env=daemon.env, capture_output=True, check=False
        )


def measure(app: str, port: int) -> Metrics:
    """Every figure of one server: wrk at each page and connection count, or SET/GET."""
    if app == "redis":
        return load.redis_benchmark(port)
    out: Metrics = {}
    for page, path in PAGES.items():
        for conns in CONNECTIONS:
            got = load.wrk(f"http://127.0.0.1:{port}{path}", conns, WRK_SECONDS)
            out.update({f"{page}@{conns}:{k}": v for k, v in got.items()})
    return out


class Images:
    """The converted images (closure rootfs, separate .cpio) and the Linux initramfs."""

    def __init__(self) -> None:
        self.vmlinuz = linux_microvm.kernel()
        self.uni: dict[str, Path] = {}
        self.linux_initrd: dict[str, Path] = {}
        for app, (fixture, _) in APPS.items():
            source = f"oci:{fixture_layout(fixture)}:latest"
            uni = unikernel.convert(source, f"{fixture}-closure", "--rootfs", "closure", "--initrd")
            self.uni[app] = uni
            self.linux_initrd[app] = linux_serve.initramfs(
                Path(f"{uni}.cpio"),
                self.vmlinuz,
                read_metadata(uni),
                BENCH / "initramfs" / f"{fixture}-linux-serve.cpio",
            )

    def unikernel_argv(
        self, app: str, accel: str, mem: int
    ) -> Callable[[Path, Network], list[str]]:
        image = self.uni[app]

        def make(sock: Path, network: Network) -> list[str]:
            options = RunOptions(mem=mem, accel=accel, network=network)
            return qemu_argv(
                image,
                accel=accel,
                mem=mem,
                log_socket=sock,
                cmdline=kernel_cmdline(options),
                initrd=Path(f"{image}.cpio"),
                network_args=network.qemu_args(),
            )

        return make

    def linux_argv(self, app: str, accel: str, mem: int) -> Callable[[Path, Network], list[str]]:
        initrd = self.linux_initrd[app]

        def make(sock: Path, network: Network) -> list[str]:
            argv = linux_serve.argv_for(self.vmlinuz, initrd, accel=accel, mem=mem, network=network)
            return argv(sock)

        return make


def _qemu_runner(
    app: str, make_argv: Callable[[Path, Network], list[str]]
) -> Callable[[], Metrics]:
    def run() -> Metrics:
        with qemu_server(app, make_argv, APPS[app][1]) as port:
            return measure(app, port)

    return run


def _docker_runner(daemon: docker.DockerPeer, tag: str, app: str) -> Callable[[], Metrics]:
    def run() -> Metrics:
        with docker_server(daemon, tag, app, APPS[app][1]) as port:
            return measure(app, port)

    return run


def smallest_mem(
    app: str, argv_at: Callable[[int], Callable[[Path, Network], list[str]]]
) -> tuple[int | None, str]:
    """The smallest -m (MEM_STEP granularity) with which nginx passes ab, and a note that
    says why the next step down failed (the end of the reason: a console's last lines)."""

    def passes(mem: int) -> str | None:
        try:
            with qemu_server(app, argv_at(mem), APPS[app][1]) as port:
                why = load.ab_passes(f"http://127.0.0.1:{port}/")
        except (RuntimeError, TimeoutError) as exc:
            why = str(exc)
        print(
            f"bench: {NAME} memory probe {mem >> 20} MiB: {'passes' if why is None else 'fails'}",
            file=sys.stderr,
            flush=True,
        )
        return None if why is None else " ".join(why.split()).replace("|", "/")[-240:]

    why = passes(MEM_HIGH)
    if why is not None:
        return None, f"fails even with {MEM_HIGH >> 20} MiB: {why}"
    low, high = MEM_LOW - MEM_STEP, MEM_HIGH  # low fails (or is below the floor), high passes
    why_low = passes(MEM_LOW)
    if why_low is None:
        return MEM_LOW, f"passes at QEMU's floor in qemu_argv ({MEM_LOW >> 20} MiB)"
    low = MEM_LOW
    while high - low > MEM_STEP:
        mid = (low + high) // 2 // MEM_STEP * MEM_STEP
        if (why := passes(mid)) is None:
            high = mid
        else:
            low, why_low = mid, why
    return high, f"fails with {low >> 20} MiB: {why_low}"


def run(config: Config) -> Result:
    accel = accelerator()
    mem = config.guest_mem
    result = Result(name=NAME)
    result.conditions = {
        "accelerator": f"{accel} ({accelerator_note()})",
        "guest memory": f"{mem >> 20} MiB for both QEMU guests (the memory probe varies it)",
        "netdev": "QEMU user network (slirp), virtio-net-device on virtio-mmio, the port "
        "published as `dock2uni run -p 127.0.0.1::PORT` does (its forwarder, then a loopback "
        "hostfwd), for both QEMU guests",
        "load": f"wrk -d {WRK_SECONDS}s --latency (-t min(c,2)); redis-benchmark -q -n 20000 "
        "-t set,get; ab -n 10000 -c 50 for the memory probe",
        "repetitions": f"{config.repeat}, interleaved (one boot or container per repetition)",
    }
    images = Images()
    result.conditions["Linux kernel"] = images.vmlinuz.name
    skipped: dict[str, str] = {}
    samples: dict[str, dict[str, Samples]] = {}
    mem_probe: dict[str, tuple[int | None, str]] = {}
    with docker_peer(skipped) as daemon:
        tags: dict[str, str] = {}
        if daemon is not None:
            result.conditions["docker"] = f"dockerd {daemon.version} (private daemon), docker-proxy"
            subprocess.run(
                ["docker", "network", "create", "d2u-bench"],
                env=daemon.env,
                capture_output=True,
                check=False,
            )
            for app, (fixture, _) in APPS.items():
                tags[app] = daemon.load(fixture_layout(fixture), f"d2u-bench/{fixture}:latest")
        for app in APPS:
            peers: dict[str, Callable[[], Metrics]] = {
                UNIKERNEL: _qemu_runner(app, images.unikernel_argv(app, accel, mem)),
                LINUX: _qemu_runner(app, images.linux_argv(app, accel, mem)),
            }
            if daemon is not None:
                peers[DOCKER] = _docker_runner(daemon, tags[app], app)
            try:
                with qemu_server(app, images.unikernel_argv(app, accel, mem), APPS[app][1]):
                    pass  # a unikernel that cannot serve yet is "not measured", with its reason
            except (RuntimeError, TimeoutError) as exc:
                peers.pop(UNIKERNEL)
                skipped.setdefault(
                    UNIKERNEL, f"the unikernel does not serve {app} yet: {str(exc)[:300]}"
                )
            samples[app] = interleaved(peers, config.repeat, label=f"{NAME} {app}")
    for name, argv_at in (
        (UNIKERNEL, lambda m: images.unikernel_argv("nginx", accel, m)),
        (LINUX, lambda m: images.linux_argv("nginx", accel, m)),
    ):
        if name in skipped:
            mem_probe[name] = (None, "not measured (above)")
            continue
        mem_probe[name] = smallest_mem("nginx", argv_at)
    result.raw = {
        "samples": {app: {n: s.to_json() for n, s in per.items()} for app, per in samples.items()},
        "memory": {n: {"bytes": b, "note": note} for n, (b, note) in mem_probe.items()},
        "skipped": skipped,
    }
    result.tables += [
        _nginx_table(samples["nginx"], skipped),
        _redis_table(samples["redis"], skipped),
    ]
    result.tables.append(_memory_table(mem_probe))
    result.goals += _goals(samples["nginx"], mem_probe, skipped)
    return result


def _fmt_rps(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _fmt_lat(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 1000:.2f} ms" if v < 1 else f"{v:.2f} s"


def _cell(s: Samples | None, key: str, fmt: Callable[[float | None], str]) -> str:
    if s is None:
        return "not measured (below)"
    if not s.runs:
        return f"failed: {s.errors[0][:100]}" if s.errors else "-"
    lo, hi = s.spread(key) or (None, None)
    return f"{fmt(s.median(key))} ({fmt(lo)}-{fmt(hi)}, n={len(s.values(key))})"


def _nginx_table(samples: dict[str, Samples], skipped: dict[str, str]) -> Table:
    table = Table(
        title="nginx (nginx-serve fixture): requests/s median (min-max, n); p50 / p99 latency",
        columns=["page @ connections", *PEERS, "Linux microVM / unikernel", "docker / unikernel"],
    )
    uni = samples.get(UNIKERNEL)
    for page in PAGES:
        for conns in CONNECTIONS:
            key = f"{page}@{conns}"
            row = [f"{page} @ {conns}"]
            for name in PEERS:
                s = samples.get(name)
                cell = _cell(s, f"{key}:rps", _fmt_rps)
                if s is not None and s.runs:
                    p50, p99 = s.median(key + ":p50"), s.median(key + ":p99")
                    cell += f"; p50 {_fmt_lat(p50)}, p99 {_fmt_lat(p99)}"
                row.append(cell)
            uni_rps = uni.median(f"{key}:rps") if uni else None
            for name in (LINUX, DOCKER):
                other = samples.get(name)
                # requests per second: higher is better, so unikernel / other
                row.append(fmt_ratio(ratio(uni_rps, other.median(f"{key}:rps") if other else None)))
            table.rows.append(row)
    table.notes += [f"{n} not measured: {why}" for n, why in skipped.items()]
    table.notes += [
        "Ratios are the unikernel's requests/s over the other's: above 1.00x the unikernel "
        "serves more.",
        "The docker column runs on the host's own kernel without emulation (a native reference).",
    ]
    return table


def _redis_table(samples: dict[str, Samples], skipped: dict[str, str]) -> Table:
    table = Table(
        title="redis-benchmark -q -n 20000 -t set,get: operations/s, median (min-max, n)",
        columns=["operation", *PEERS, "Linux microVM / unikernel", "docker / unikernel"],
    )
    uni = samples.get(UNIKERNEL)
    for op in ("set", "get"):
        row = [op.upper()] + [_cell(samples.get(n), op, _fmt_rps) for n in PEERS]
        for name in (LINUX, DOCKER):
            other = samples.get(name)
            row.append(
                fmt_ratio(
                    ratio(uni.median(op) if uni else None, other.median(op) if other else None)
                )
            )
        table.rows.append(row)
    table.notes += [f"{n} not measured: {why}" for n, why in skipped.items()]
    return table


def _memory_table(probe: dict[str, tuple[int | None, str]]) -> Table:
    table = Table(
        title="Smallest guest memory (-m) with which nginx passes ab -n 10000 -c 50",
        columns=["peer", "smallest -m", "note"],
    )
    for name, (mem, note) in probe.items():
        table.rows.append([name, "-" if mem is None else f"{mem >> 20} MiB", note])
    table.notes.append(
        f"Bisection between {MEM_LOW >> 20} and {MEM_HIGH >> 20} MiB in {MEM_STEP >> 20} MiB "
        "steps; both guests hold the same rootfs (the closure .cpio) in memory."
    )
    return table


def _goals(
    samples: dict[str, Samples], probe: dict[str, tuple[int | None, str]], skipped: dict[str, str]
) -> list[tuple[str, str]]:
    goals = []
    for page in PAGES:
        for conns in CONNECTIONS:
            key = f"{page}@{conns}:rps"
            what = f"nginx {page} @ {conns}: at least {GOAL_RPS}x the Linux microVM's requests/s"
            if UNIKERNEL in skipped or LINUX in skipped:
                why = skipped.get(UNIKERNEL) or skipped.get(LINUX) or ""
                goals.append((what, f"not measured: {why[:160]}"))
                continue
            uni, linux = samples[UNIKERNEL], samples[LINUX]
            r = ratio(uni.median(key), linux.median(key))
            goals.append(
                (what, f"{verdict(r is not None and r >= GOAL_RPS, uni, linux)} ({fmt_ratio(r)})")
            )
    uni_mem, linux_mem = probe.get(UNIKERNEL, (None, "")), probe.get(LINUX, (None, ""))
    what = f"memory: at most {GOAL_MEM}x the Linux microVM's smallest -m for ab"
    if uni_mem[0] is None or linux_mem[0] is None:
        goals.append((what, f"not measured: {uni_mem[1] if uni_mem[0] is None else linux_mem[1]}"))
    else:
        r = uni_mem[0] / linux_mem[0]
        goals.append((what, f"{'met' if r <= GOAL_MEM else 'not met'} ({r:.2f}x)"))
    return goals
