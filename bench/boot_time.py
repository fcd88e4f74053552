"""Boot to main() and boot to exit of a static hello (issue 4): unikernel vs Linux, Docker, floor.

Peers, measured interleaved in one run, all on the same QEMU binary and accelerator:
  * dock2uni: the fixture converted by ``dock2uni convert``, booted with run.qemu_argv;
  * Linux microVM: Debian's cloud kernel (as shipped, and as its PVH vmlinux) with the
    same static binary as /init of an initramfs (bench/peers/linux_microvm.py);
  * Docker: ``docker run --rm --network none`` of the same image (bench/peers/docker.py);
  * floor: QEMU booting a kernel that prints one byte and exits (bench/floor/floor.S).
"Main" is the arrival of the program's first output line ("hello from dock2uni",
printed first thing in main) or of the floor's byte; "exit" is the process exit.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from fixtures.dockersave import read_layout_file

from bench import unikernel
from bench.config import Config
from bench.paths import BENCH, fixture_layout
from bench.peers import docker, floor, linux_microvm
from bench.qemu import (
    GuestTiming,
    accelerator,
    accelerator_note,
    floor_exit,
    linux_exit,
    time_guest,
    unikernel_exit,
)
from bench.report import Result, Table
from bench.stats import (
    Metrics,
    Samples,
    fmt_ratio,
    fmt_seconds,
    fmt_spread,
    interleaved,
    ratio,
    verdict,
)

NAME = "boot_time"
FIXTURES = ("hello-static-glibc", "hello-static-musl")
MARKER = b"hello from dock2uni"
BINARY = "usr/local/bin/hello"
UNIKERNEL = "dock2uni unikernel"
LINUX = "Linux microVM (bzImage)"
LINUX_PVH = "Linux microVM (PVH vmlinux)"
DOCKER = "docker run --rm"
FLOOR = "floor (QEMU + exit-at-once kernel)"
GOAL_LINUX = 20.0
GOAL_FLOOR = 2.0


def qemu_runner(
    make_argv: Callable[[Path], list[str]],
    marker: bytes,
    exited: Callable[[GuestTiming], str | None],
) -> Callable[[], Metrics]:
    """One timed boot; a sample only if the marker came and the guest's program exited 0."""

    def run() -> Metrics:
        timing = time_guest(make_argv, marker=marker, timeout=180)
        if timing.marker is None:
            raise RuntimeError(f"no {marker!r} on COM1: {timing.output[-200:]!r}")
        if (why := exited(timing)) is not None:
            raise RuntimeError(f"not a clean exit: {why}")
        return {"main": timing.marker, "exit": timing.exit, "enter": timing.enter}

    return run


@contextmanager
def docker_peer(skipped: dict[str, str]) -> Iterator[docker.DockerPeer | None]:
    if (why := docker.unavailable_reason()) is not None:
        skipped[DOCKER] = why
        yield None
        return
    with ExitStack() as stack:
        peer: docker.DockerPeer | None
        try:
            peer = stack.enter_context(docker.docker())
        except RuntimeError as exc:  # the daemon did not start
            skipped[DOCKER] = str(exc).splitlines()[0]
            peer = None
        yield peer


def run(config: Config) -> Result:
    accel = accelerator()
    mem = config.guest_mem
    result = Result(name=NAME)
    result.conditions = {
        "accelerator": f"{accel} ({accelerator_note()})",
        "guest memory": f"{mem >> 20} MiB for every QEMU guest",
        "repetitions": f"{config.repeat}, interleaved",
    }
    vmlinuz = linux_microvm.kernel()
    result.conditions["Linux kernel"] = vmlinuz.name
    skipped: dict[str, str] = {}
    pvh_kernel: Path | None
    try:
        pvh_kernel = linux_microvm.vmlinux(vmlinuz)
    except RuntimeError as exc:
        pvh_kernel = None
        skipped[LINUX_PVH] = str(exc)
    floor_kernel = floor.build()
    with docker_peer(skipped) as docker_daemon:
        if docker_daemon is not None:
            result.conditions["docker"] = f"dockerd {docker_daemon.version} (private daemon)"
        for fixture in FIXTURES:
            layout = fixture_layout(fixture)
            skipped_here = dict(skipped)
            peers: dict[str, Callable[[], Metrics]] = {}
            try:
                image = unikernel.convert(f"oci:{layout}:latest", f"boot-{fixture}")
                why = unikernel.boots(image, accel=accel, marker=MARKER)
                if why is None:
                    peers[UNIKERNEL] = qemu_runner(
                        unikernel.argv_for(image, accel=accel, mem=mem), MARKER, unikernel_exit
                    )
                else:
                    skipped_here[UNIKERNEL] = f"the unikernel does not boot the hello yet: {why}"
            except RuntimeError as exc:
                skipped_here[UNIKERNEL] = str(exc)
            init = read_layout_file(layout, BINARY)
            initrd = linux_microvm.initramfs(init, BENCH / "initramfs" / f"{fixture}.cpio")
            peers[LINUX] = qemu_runner(
                linux_microvm.argv_for(vmlinuz, initrd, accel=accel, mem=mem), MARKER, linux_exit
            )
            if pvh_kernel is not None:
                peers[LINUX_PVH] = qemu_runner(
                    linux_microvm.argv_for(pvh_kernel, initrd, accel=accel, mem=mem),
                    MARKER,
                    linux_exit,
                )
            if docker_daemon is not None:
                try:
                    tag = docker_daemon.load(layout, f"d2u-bench/{fixture}:latest")
                    peers[DOCKER] = docker_daemon.runner(tag, marker=MARKER)
                except subprocess.CalledProcessError as exc:
                    skipped_here[DOCKER] = f"loading the image failed: {exc.stderr!r:.200}"
            peers[FLOOR] = qemu_runner(
                floor.argv_for(floor_kernel, accel=accel, mem=mem), floor.MARKER, floor_exit
            )
            samples = interleaved(peers, config.repeat, label=f"{NAME} {fixture}")
            result.raw[fixture] = {
                "samples": {name: s.to_json() for name, s in samples.items()},
                "skipped": skipped_here,
            }
            result.tables.append(_table(fixture, accel, samples, skipped_here))
            result.goals += _goals(fixture, samples, skipped_here)
    return result


def _table(fixture: str, accel: str, samples: dict[str, Samples], skipped: dict[str, str]) -> Table:
    uni = samples.get(UNIKERNEL)
    table = Table(
        title=f"Boot time, {fixture} ({accel}): median (min-max, n)",
        columns=[
            "peer",
            "boot to main()",
            "boot to exit",
            "/ unikernel (main)",
            "/ unikernel (exit)",
        ],
    )
    for name in (UNIKERNEL, LINUX, LINUX_PVH, DOCKER, FLOOR):
        if name in skipped:
            table.rows.append([name, f"not measured: {skipped[name]}", "-", "-", "-"])
            continue
        if name not in samples:
            continue
        s = samples[name]
        row = [
            name,
            fmt_spread(s, "main", fmt_seconds),
            fmt_spread(s, "exit", fmt_seconds),
            fmt_ratio(ratio(s.median("main"), uni.median("main") if uni else None)),
            fmt_ratio(ratio(s.median("exit"), uni.median("exit") if uni else None)),
        ]
        if s.errors:
            row[0] += f" ({len(s.errors)} failed runs: {s.errors[0][:120]})"
        table.rows.append(row)
    if uni is not None and (enter := uni.median("enter")) is not None:
        table.notes.append(
            f"dock2uni: the kernel's D2U:ENTER marker (about to enter the app) came at "
            f"{fmt_seconds(enter)} (median) on COM2."
        )
    table.notes.append(
        "main = first pipe read holding the program's first line (the floor: its one byte); "
        "exit = the QEMU or docker process exited; times from the spawn of that process."
    )
    return table


def _goals(
    fixture: str, samples: dict[str, Samples], skipped: dict[str, str]
) -> list[tuple[str, str]]:
    uni = samples.get(UNIKERNEL)
    if uni is None:
        why = skipped.get(UNIKERNEL, "no unikernel samples")
        return [
            (
                f"{fixture}: boot >= {GOAL_LINUX:.0f}x faster than the Linux microVM",
                f"not measured: {why}",
            ),
            (f"{fixture}: boot within {GOAL_FLOOR:.0f}x of the floor", f"not measured: {why}"),
        ]
    goals = []
    for metric in ("main", "exit"):
        r = ratio(samples[LINUX].median(metric), uni.median(metric))
        judged = verdict(r is not None and r >= GOAL_LINUX, samples[LINUX], uni)
        goals.append(
            (
                f"{fixture}: boot to {metric}: Linux microVM / unikernel >= {GOAL_LINUX:.0f}x",
                f"{judged} ({fmt_ratio(r)})",
            )
        )
    for metric in ("main", "exit"):
        r = ratio(uni.median(metric), samples[FLOOR].median(metric))
        judged = verdict(r is not None and r <= GOAL_FLOOR, uni, samples[FLOOR])
        goals.append(
            (
                f"{fixture}: boot to {metric}: unikernel / floor <= {GOAL_FLOOR:.0f}x",
                f"{judged} ({fmt_ratio(r)})",
            )
        )
    return goals
