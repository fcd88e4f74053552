"""Thread, futex, signal and context-switch costs (issue 9): unikernel, Linux microVM, Docker.

bench/guest/threadcost.c (static glibc) times four operations in one run and prints
nanoseconds per operation: thread create+join, a futex ping-pong round trip between
two threads, a signal delivery round trip (tgkill to itself -> handler ->
rt_sigreturn) and a context switch (two threads alternating with sched_yield), all
pinned to one CPU. The same binary runs as the unikernel's program (``dock2uni
convert`` of a FROM-scratch image holding it), as /init of the Linux microVM on the
same QEMU and accelerator, and in a container on a private, real dockerd (``docker
run --rm --network none``: the host's kernel, no emulation: a reference for what the
operations cost natively, not a peer on equal terms under TCG). Interleaved, medians.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from bench import guests, unikernel
from bench.boot_time import docker_peer
from bench.config import Config
from bench.paths import BENCH
from bench.peers import docker, linux_microvm
from bench.qemu import GuestTiming, accelerator, accelerator_note, time_guest
from bench.report import Result, Table
from bench.stats import Metrics, Samples, fmt_ratio, interleaved, ratio, verdict
from bench.timing import spawn_and_wait
from dock2uni.run import classify

NAME = "thread_cost"
PROGRAM = "threadcost"
UNIKERNEL = "dock2uni unikernel"
LINUX = "Linux microVM (bzImage)"
DOCKER = "docker run --rm (host kernel)"
OPS = {
    "create": "thread create + join",
    "futex": "futex ping-pong, one round trip",
    "signal": "signal round trip (tgkill -> handler -> return)",
    "switch": "context switch (sched_yield between two threads)",
}
# Goals of issue 9: at least as fast as the Linux microVM; the futex round trip 2x.
GOAL_FACTOR = {"create": 1.0, "futex": 2.0, "signal": 1.0, "switch": 1.0}
PARTIAL = 3  # threadcost's exit when some modes failed
_LINUX_INIT_EXIT = re.compile(rb"Attempted to kill init! exitcode=0x([0-9a-fA-F]+)")
_LINE = re.compile(rb"^(create|futex|signal|switch) (\d+(?:\.\d+)?)\s*$", re.MULTILINE)


def parse(output: bytes, code: int) -> Metrics:
    """The ns-per-operation figures threadcost printed, among other console output. Exit
    3 means some modes printed "MODE failed: ..." instead (a kernel without threads):
    their figure is missing (None) and the others count; any other exit is a failed run."""
    text = output.replace(b"\r", b"")
    found = {op.decode(): float(ns) for op, ns in _LINE.findall(text)}
    if code not in (0, PARTIAL) or not found or (code == 0 and len(found) < len(OPS)):
        raise RuntimeError(f"threadcost exited {code}: {output[-300:]!r}")
    return {op: found.get(op) for op in OPS}


def unikernel_code(timing: GuestTiming) -> int:
    """The program's exit code, read as `dock2uni run` reads it; raises on any other end."""
    lines = timing.log.decode(errors="replace").splitlines()
    code, status, cause = classify(lines, timing.status, False)
    if status != "exit":
        raise RuntimeError(f"guest {status}, exit {code}: {cause}; COM1 {timing.output[-200:]!r}")
    return code


def linux_code(timing: GuestTiming) -> int:
    """/init's exit code from the panic its exit causes (the status word's high byte)."""
    found = _LINUX_INIT_EXIT.search(timing.output)
    if found is None:
        raise RuntimeError(f"no init exit code on the console: {timing.output[-200:]!r}")
    word = int(found.group(1), 16)
    if word & 0x7F:  # killed by a signal, not an exit
        raise RuntimeError(f"/init was killed by signal {word & 0x7F}")
    return word >> 8


def qemu_runner(
    make_argv: Callable[[Path], list[str]], exit_code: Callable[[GuestTiming], int]
) -> Callable[[], Metrics]:
    """One boot running `threadcost all`."""

    def run() -> Metrics:
        # A marker: time_guest takes an unusual QEMU status (the exit 3 of a partial run)
        # as a QEMU failure unless the program printed something.
        timing = time_guest(make_argv, marker=b"create", timeout=900)
        return parse(timing.output, exit_code(timing))

    return run


def docker_runner(peer: docker.DockerPeer, tag: str) -> Callable[[], Metrics]:
    """One `docker run --rm --network none TAG threadcost all`."""

    def run() -> Metrics:
        argv = ["docker", "run", "--rm", "--network", "none", tag, guests.GUEST_PATH + PROGRAM]
        done = spawn_and_wait(
            [*argv, "all"], marker=b"", t0=time.monotonic(), timeout=600, env=peer.env
        )
        if done.timed_out:
            raise TimeoutError("docker run still running after 600 s")
        return parse(done.output, done.status)

    return run


def run(config: Config) -> Result:
    accel = accelerator()
    mem = config.guest_mem
    result = Result(name=NAME)
    result.conditions = {
        "accelerator": f"{accel} ({accelerator_note()})",
        "guest memory": f"{mem >> 20} MiB for both QEMU guests",
        "program": f"bench/guest/{PROGRAM}.c, static glibc, `{PROGRAM} all`, pinned to CPU 0",
        "repetitions": f"{config.repeat}, interleaved (one boot or container per repetition)",
    }
    binary = guests.compile_static(PROGRAM)
    layout = guests.image(PROGRAM)
    skipped: dict[str, str] = {}
    peers: dict[str, Callable[[], Metrics]] = {}
    try:
        image = unikernel.convert(f"oci:{layout}:latest", PROGRAM)
        peers[UNIKERNEL] = qemu_runner(
            unikernel.argv_for(
                image, accel=accel, mem=mem, cmd=[guests.GUEST_PATH + PROGRAM, "all"]
            ),
            unikernel_code,
        )
        peers[UNIKERNEL]()  # a failing first boot means "not measured yet", with its reason
    except (RuntimeError, TimeoutError) as exc:
        peers.pop(UNIKERNEL, None)
        skipped[UNIKERNEL] = f"the unikernel does not run {PROGRAM} yet: {str(exc)[:300]}"
    vmlinuz = linux_microvm.kernel()
    result.conditions["Linux kernel"] = vmlinuz.name
    initrd = linux_microvm.initramfs(binary.read_bytes(), BENCH / "initramfs" / f"{PROGRAM}.cpio")
    peers[LINUX] = qemu_runner(
        linux_microvm.argv_for(vmlinuz, initrd, accel=accel, mem=mem, init_args=["all"]),
        linux_code,
    )
    with docker_peer(skipped) as daemon:
        if daemon is not None:
            result.conditions["docker"] = f"dockerd {daemon.version} (private daemon)"
            try:
                tag = daemon.load(layout, f"d2u-bench/{PROGRAM}:latest")
                peers[DOCKER] = docker_runner(daemon, tag)
            except Exception as exc:  # a broken daemon must not stop the guests' figures
                skipped[DOCKER] = f"docker load failed: {str(exc)[:200]}"
        samples = interleaved(peers, config.repeat, label=NAME)
    result.raw = {
        "samples": {n: s.to_json() for n, s in samples.items()},
        "skipped": skipped,
    }
    result.tables.append(_table(accel, samples, skipped))
    result.goals += _goals(samples, skipped)
    return result


def _cell(s: Samples, op: str) -> str:
    med, spread = s.median(op), s.spread(op)
    if med is None or spread is None:
        return "-"
    cell = f"{_fmt_ns(med)} ({_fmt_ns(spread[0])}-{_fmt_ns(spread[1])}, n={len(s.values(op))})"
    if op == "futex":
        cell += f", {1e9 / med:,.0f} round trips/s"
    return cell


def _fmt_ns(value: float) -> str:
    return f"{value / 1000:,.2f} µs" if value >= 10_000 else f"{value:,.0f} ns"


def _table(accel: str, samples: dict[str, Samples], skipped: dict[str, str]) -> Table:
    names = (UNIKERNEL, LINUX, DOCKER)
    table = Table(
        title=f"Cost per operation ({accel} for the QEMU guests): median (min-max, n)",
        columns=["operation", *names, "Linux microVM / unikernel", "docker / unikernel"],
    )
    for op, label in OPS.items():
        row = [label]
        for name in names:
            if name in skipped:
                row.append("not measured (below)")
                continue
            s = samples[name]
            failed = f" ({len(s.errors)} failed: {s.errors[0][:100]})" if s.errors else ""
            row.append(_cell(s, op) + failed)
        uni = samples.get(UNIKERNEL)
        uni_med = uni.median(op) if uni else None
        for name in (LINUX, DOCKER):
            other = samples.get(name)
            row.append(fmt_ratio(ratio(other.median(op) if other else None, uni_med)))
        table.rows.append(row)
    table.notes += [f"{name} not measured: {why}" for name, why in skipped.items()]
    table.notes += [
        "A missing figure in a measured column: that operation failed in every run "
        "(threadcost printed `MODE failed: ...`), e.g. thread creation on a kernel without it.",
        "A ratio above 1.00x means the unikernel is faster (the other takes longer).",
        "The QEMU guests run every instruction emulated under TCG; the container runs on the "
        "host's own kernel without emulation, so its column is a native reference, not a peer "
        "on equal terms (on KVM it would be the fair comparison for the guests' figures).",
        "Every figure comes from one process pinned to CPU 0: the guests have one vCPU, and "
        "two threads on two host CPUs would measure cross-CPU wake-ups instead.",
    ]
    return table


def _goals(samples: dict[str, Samples], skipped: dict[str, str]) -> list[tuple[str, str]]:
    goals = []
    for op, factor in GOAL_FACTOR.items():
        what = f"{OPS[op]}: unikernel at least {factor:g}x as fast as the Linux microVM"
        if UNIKERNEL in skipped or LINUX in skipped:
            why = skipped.get(UNIKERNEL) or skipped.get(LINUX) or ""
            goals.append((what, f"not measured: {why[:160]}"))
            continue
        uni, linux = samples[UNIKERNEL], samples[LINUX]
        r = ratio(linux.median(op), uni.median(op))
        ok = r is not None and r >= factor
        goals.append((what, f"{verdict(ok, uni, linux)} ({fmt_ratio(r)})"))
    return goals
