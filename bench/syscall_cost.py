"""Null-syscall cost (issue 4): getppid() in a loop, in the unikernel and in a Linux microVM.

bench/guest/nullsys.c (static glibc) times N getppid() calls with
CLOCK_MONOTONIC and prints nanoseconds per call. The same binary runs as the
unikernel's program (``dock2uni convert`` of a FROM-scratch image holding it)
and as /init of the Linux microVM, on the same QEMU and accelerator,
interleaved; natively on the host it runs for reference only (a different
environment: no emulation, the host's own kernel). A clock cross-check follows: the
unikernel booted with two call counts, its printed cost against the host's wall clock.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

from bench import guests, unikernel
from bench.config import Config
from bench.paths import BENCH
from bench.peers import linux_microvm
from bench.qemu import (
    GuestTiming,
    accelerator,
    accelerator_note,
    linux_exit,
    time_guest,
    unikernel_exit,
)
from bench.report import Result, Table
from bench.stats import Metrics, Samples, fmt_ratio, interleaved, ratio

NAME = "syscall_cost"
CHECK_FACTOR = 4  # the clock cross-check boots with calls and CHECK_FACTOR x calls
CHECK_RUNS = 3
UNIKERNEL = "dock2uni unikernel"
LINUX = "Linux microVM (bzImage)"
NATIVE = "host, native (reference only: not the same environment)"
CALLS = {"kvm": 1_000_000, "tcg": 1_000_000}  # a run stays under a second of loop in each
_NUMBER = re.compile(rb"^\s*(\d+(?:\.\d+)?)\s*$", re.MULTILINE)


def parse_ns(output: bytes) -> float:
    """The number nullsys printed, among whatever else came on the console."""
    found = _NUMBER.findall(output.replace(b"\r", b""))
    if not found:
        raise RuntimeError(f"nullsys printed no number: {output[-200:]!r}")
    return float(found[-1])


def qemu_runner(
    make_argv: Callable[[Path], list[str]], exited: Callable[[GuestTiming], str | None]
) -> Callable[[], Metrics]:
    """One boot of nullsys; a sample only if the guest's program exited 0."""

    def run() -> Metrics:
        timing = time_guest(make_argv, marker=b"", timeout=600)
        if (why := exited(timing)) is not None:
            raise RuntimeError(f"not a clean exit: {why}")
        return {"ns": parse_ns(timing.output), "wall": timing.exit}

    return run


def native_runner(binary: Path, calls: int) -> Callable[[], Metrics]:
    def run() -> Metrics:
        out = subprocess.run([str(binary), str(calls)], capture_output=True, check=True).stdout
        return {"ns": parse_ns(out)}

    return run


def run(config: Config) -> Result:
    accel = accelerator()
    calls = CALLS.get(accel, CALLS["tcg"])
    mem = config.guest_mem
    result = Result(name=NAME)
    result.conditions = {
        "accelerator": f"{accel} ({accelerator_note()})",
        "calls per run": f"{calls:,} getppid() after {calls // 10 + 1:,} warm-up calls",
        "guest memory": f"{mem >> 20} MiB",
        "repetitions": f"{config.repeat}, interleaved",
    }
    binary = guests.compile_static("nullsys")
    layout = guests.image("nullsys")
    skipped: dict[str, str] = {}
    peers: dict[str, Callable[[], Metrics]] = {}
    try:
        image = unikernel.convert(f"oci:{layout}:latest", "nullsys")
        peers[UNIKERNEL] = qemu_runner(
            unikernel.argv_for(
                image, accel=accel, mem=mem, cmd=[guests.GUEST_PATH + "nullsys", str(calls)]
            ),
            unikernel_exit,
        )
        peers[UNIKERNEL]()  # a failing first boot means "not measured yet", with its reason
    except (RuntimeError, TimeoutError) as exc:
        peers.pop(UNIKERNEL, None)
        skipped[UNIKERNEL] = f"the unikernel does not run nullsys yet: {str(exc)[:200]}"
    vmlinuz = linux_microvm.kernel()
    initrd = linux_microvm.initramfs(binary.read_bytes(), BENCH / "initramfs" / "nullsys.cpio")
    peers[LINUX] = qemu_runner(
        linux_microvm.argv_for(vmlinuz, initrd, accel=accel, mem=mem, init_args=[str(calls)]),
        linux_exit,
    )
    peers[NATIVE] = native_runner(binary, calls)
    samples = interleaved(peers, config.repeat, label=NAME)
    result.raw = {
        "calls": calls,
        "samples": {n: s.to_json() for n, s in samples.items()},
        "skipped": skipped,
    }
    result.tables.append(_table(accel, samples, skipped))
    if UNIKERNEL in peers:
        make = unikernel.argv_for  # the guest's clock against the host's, below
        result.tables.append(
            _clock_check(lambda n: make(image, accel=accel, mem=mem, cmd=_cmd(n)), calls, result)
        )
    return result


def _cmd(calls: int) -> list[str]:
    return [guests.GUEST_PATH + "nullsys", str(calls)]


def _clock_check(
    argv_for: Callable[[int], Callable[[Path], list[str]]], calls: int, result: Result
) -> Table:
    """Is the guest's CLOCK_MONOTONIC the host's? The unikernel's own ns per call, against
    the host's wall clock: boots with CHECK_FACTOR times more calls take longer by about
    (extra calls, warm-up included) x (ns per call), if both clocks agree.
    """
    small, large = calls, calls * CHECK_FACTOR
    walls: dict[int, list[float]] = {small: [], large: []}
    printed: list[float] = []
    for _ in range(CHECK_RUNS):
        for n in (small, large):
            timing = time_guest(argv_for(n), marker=b"", timeout=900)
            if (why := unikernel_exit(timing)) is not None:
                raise RuntimeError(f"clock cross-check: not a clean exit: {why}")
            walls[n].append(timing.exit)
            if n == large:
                printed.append(parse_ns(timing.output))
    extra = (large - small) * 1.1  # nullsys warms up with n / 10 more calls
    host_ns = (statistics.median(walls[large]) - statistics.median(walls[small])) / extra * 1e9
    guest_ns = statistics.median(printed)
    result.raw["clock_check"] = {"walls": walls, "printed_ns": printed, "calls": [small, large]}
    table = Table(
        title="Clock cross-check: the unikernel's printed ns per call vs the host's wall clock",
        columns=["calls", "printed by the guest (median)", "from host wall time", "host / guest"],
    )
    table.rows.append(
        [
            f"{small:,} vs {large:,} ({CHECK_RUNS} boots each)",
            _fmt_ns(guest_ns),
            _fmt_ns(host_ns),
            fmt_ratio(ratio(host_ns, guest_ns)),
        ]
    )
    table.notes.append(
        "host figure = (median QEMU wall time with the larger count - with the smaller) / "
        "(1.1 x the extra calls); near 1.00x means the guest's clock runs at the host's rate"
    )
    return table


def _fmt_ns(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ns"


def _table(accel: str, samples: dict[str, Samples], skipped: dict[str, str]) -> Table:
    table = Table(
        title=f"getppid() cost, ns per call ({accel} for the guests): median (min-max, n)",
        columns=["where", "ns per call", "/ unikernel"],
    )
    uni = samples.get(UNIKERNEL)
    for name in (UNIKERNEL, LINUX, NATIVE):
        if name in skipped:
            table.rows.append([name, f"not measured: {skipped[name]}", "-"])
            continue
        s = samples[name]
        spread = s.spread("ns")
        cell = (
            "-"
            if spread is None
            else (
                f"{_fmt_ns(s.median('ns'))} ({_fmt_ns(spread[0])}-{_fmt_ns(spread[1])}, "
                f"n={len(s.values('ns'))})"
            )
        )
        label = name if not s.errors else f"{name} ({len(s.errors)} failed: {s.errors[0][:100]})"
        r = ratio(s.median("ns"), uni.median("ns") if uni else None)
        table.rows.append([label, cell, fmt_ratio(r)])
    table.notes.append(
        "Under TCG every guest instruction is emulated, so these are costs of the emulated "
        "syscall path (SYSCALL/SYSRET, page-table switches), useful as a ratio between the "
        "two kernels on the same emulator, not comparable with KVM or native figures."
    )
    return table
