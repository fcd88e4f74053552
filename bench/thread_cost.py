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

from pathlib import Path

from bench import guests
from bench.config import Config
from bench.cost_runs import DOCKER, LINUX, UNIKERNEL, CostProgram, measure
from bench.paths import BENCH
from bench.peers import linux_microvm
from bench.qemu import accelerator, accelerator_note
from bench.report import Result, Table
from bench.stats import Samples, fmt_ratio, ratio, verdict

NAME = "thread_cost"
PROGRAM = "threadcost"
OPS = {
    "create": "thread create + join",
    "futex": "futex ping-pong, one round trip",
    "signal": "signal round trip (tgkill -> handler -> return)",
    "switch": "context switch (sched_yield between two threads)",
}
# Goals of issue 9: at least as fast as the Linux microVM; the futex round trip 2x.
GOAL_FACTOR = {"create": 1.0, "futex": 2.0, "signal": 1.0, "switch": 1.0}
PROGRAM_RUNS = CostProgram(name=PROGRAM, ops=OPS, marker=b"create")


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

    def initrd() -> Path:
        return linux_microvm.initramfs(binary.read_bytes(), BENCH / "initramfs" / f"{PROGRAM}.cpio")

    samples, skipped = measure(
        PROGRAM_RUNS, config, result, accel=accel, layout=guests.image(PROGRAM), initrd=initrd
    )
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
