"""Process costs (issue 10): fork, exec, posix_spawn, pipes, a shell script; unikernel, Linux
microVM, Docker.

bench/guest/proccost.c (static glibc) times five things in one run: fork+wait of a child
that _exit(0)s, fork+exec+wait of /bin/true, vfork+exec+wait of /bin/true (posix_spawn:
glibc's clone(CLONE_VM|CLONE_VFORK)), pipe throughput (64 MiB from a forked child to its
parent, MB/s) and ``/bin/sh -c`` running /bin/true 100 times in a loop (ms for the
whole script). /bin/sh and /bin/true are applets of Debian's static busybox
(/bin/busybox, busybox-static, as bench/peers/linux_serve.py uses), symlinked as the
busybox fixture does. The same files are the unikernel's image (``dock2uni convert``
of a FROM-scratch image holding proccost as its command and the busybox), the Linux
microVM's initramfs (proccost as /init, the busybox beside it, same QEMU and
accelerator), and a container on a private, real dockerd (``docker run --rm --network
none``: the host's kernel, no emulation, a native reference rather than a peer on
equal terms under TCG). Interleaved, medians.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fixtures import ocibuild, scratch

from bench import guests
from bench.config import Config
from bench.cost_runs import DOCKER, LINUX, UNIKERNEL, CostProgram, measure
from bench.paths import BENCH
from bench.peers import linux_microvm
from bench.peers.linux_serve import BUSYBOX
from bench.qemu import accelerator, accelerator_note
from bench.report import Result, Table
from bench.stats import Samples, fmt_ratio, ratio, verdict

NAME = "process_cost"
PROGRAM = "proccost"
OPS = {
    "fork": "fork + wait (child _exit(0))",
    "exec": "fork + exec + wait (/bin/true)",
    "spawn": "vfork + exec + wait (posix_spawn /bin/true)",
    "pipe": "pipe throughput (64 MiB, child -> parent)",
    "script": "shell script, 100 external commands (sh -c, /bin/true x100)",
}
RATE = {"pipe"}  # higher is better (MB/s); the others are times (lower is better)
# Goals of issue 10 against the Linux microVM: fork+exec+wait and the 100-command
# script faster, pipe throughput at least equal. fork and spawn are reported, no goal.
GOALS = {
    "exec": ("faster than the Linux microVM", 1.0),
    "script": ("faster than the Linux microVM", 1.0),
    "pipe": ("at least equal to the Linux microVM", 1.0),
}
BUSYBOX_APPLETS = ("/bin/sh", "/bin/true")
PROGRAM_RUNS = CostProgram(name=PROGRAM, ops=OPS, marker=b"fork")


def image() -> Path:
    """An OCI layout (ref latest) FROM scratch: /usr/local/bin/proccost as its Cmd, and
    /bin/busybox with /bin/sh and /bin/true as absolute symlinks to it."""
    binary = guests.compile_static(PROGRAM)
    dest = BENCH / "oci" / f"{PROGRAM}-busybox"
    newest = max(binary.stat().st_mtime, BUSYBOX.stat().st_mtime)
    if dest.exists() and dest.stat().st_mtime > newest:
        return dest
    layer = ocibuild.Layer().dir("bin").dir("usr").dir("usr/local").dir("usr/local/bin")
    layer.file("bin/busybox", BUSYBOX.read_bytes(), mode=0o755)
    for applet in BUSYBOX_APPLETS:
        layer.symlink(applet.lstrip("/"), "/bin/busybox")
    layer.file(guests.GUEST_PATH.lstrip("/") + PROGRAM, binary.read_bytes(), mode=0o755)
    config = {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": [guests.GUEST_PATH + PROGRAM]}
    shutil.rmtree(dest, ignore_errors=True)
    ocibuild.write_layout(dest, {"latest": ocibuild.Image([scratch.scratch_etc(layer)], config)})
    return dest


def run(config: Config) -> Result:
    accel = accelerator()
    mem = config.guest_mem
    result = Result(name=NAME)
    result.conditions = {
        "accelerator": f"{accel} ({accelerator_note()})",
        "guest memory": f"{mem >> 20} MiB for both QEMU guests",
        "program": f"bench/guest/{PROGRAM}.c, static glibc, `{PROGRAM} all`, pinned to CPU 0",
        "exec'd programs": f"{BUSYBOX} (static) as /bin/busybox; /bin/sh, /bin/true applets",
        "repetitions": f"{config.repeat}, interleaved (one boot or container per repetition)",
    }
    binary = guests.compile_static(PROGRAM)

    def initrd() -> Path:
        return linux_microvm.initramfs(
            binary.read_bytes(),
            BENCH / "initramfs" / f"{PROGRAM}.cpio",
            files={"/bin/busybox": BUSYBOX.read_bytes()},
            symlinks={applet: "/bin/busybox" for applet in BUSYBOX_APPLETS},
        )

    samples, skipped = measure(
        PROGRAM_RUNS, config, result, accel=accel, layout=image(), initrd=initrd
    )
    result.tables.append(_table(accel, samples, skipped))
    result.goals += _goals(samples, skipped)
    return result


def _fmt(op: str, value: float) -> str:
    if op == "pipe":
        return f"{value:,.0f} MB/s"
    if op == "script":
        return f"{value:,.1f} ms"
    return f"{value / 1000:,.1f} µs"


def _cell(s: Samples, op: str) -> str:
    med, spread = s.median(op), s.spread(op)
    if med is None or spread is None:
        return "-"
    low, high = (_fmt(op, v) for v in spread)
    return f"{_fmt(op, med)} ({low}-{high}, n={len(s.values(op))})"


def speedup(op: str, other: float | None, uni: float | None) -> float | None:
    """How many times faster the unikernel is than ``other`` (above 1: the unikernel wins):
    a ratio of times, or for a throughput the inverse ratio."""
    return ratio(uni, other) if op in RATE else ratio(other, uni)


def _table(accel: str, samples: dict[str, Samples], skipped: dict[str, str]) -> Table:
    names = (UNIKERNEL, LINUX, DOCKER)
    table = Table(
        title=f"Process costs ({accel} for the QEMU guests): median (min-max, n)",
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
            row.append(fmt_ratio(speedup(op, other.median(op) if other else None, uni_med)))
        table.rows.append(row)
    table.notes += [f"{name} not measured: {why}" for name, why in skipped.items()]
    table.notes += [
        "A missing figure in a measured column: that operation failed in every run "
        "(proccost printed `MODE failed: ...`).",
        "A ratio above 1.00x means the unikernel is faster: the other's time divided by the "
        "unikernel's, and for the pipe the unikernel's MB/s divided by the other's.",
        "MB/s is 10^6 bytes per second, fork of the writer and its wait included. The script "
        "figure is one `sh -c` of a 100-iteration while loop, shell start and wait included.",
        "The QEMU guests run every instruction emulated under TCG; the container runs on the "
        "host's own kernel without emulation, so its column is a native reference, not a peer "
        "on equal terms (on KVM it would be the fair comparison for the guests' figures).",
        "Every figure comes from one process pinned to CPU 0 (its children inherit it): the "
        "guests have one vCPU.",
    ]
    return table


def _goals(samples: dict[str, Samples], skipped: dict[str, str]) -> list[tuple[str, str]]:
    goals = []
    for op, (wording, factor) in GOALS.items():
        what = f"{OPS[op]}: unikernel {wording}"
        if UNIKERNEL in skipped or LINUX in skipped:
            why = skipped.get(UNIKERNEL) or skipped.get(LINUX) or ""
            goals.append((what, f"not measured: {why[:160]}"))
            continue
        uni, linux = samples[UNIKERNEL], samples[LINUX]
        r = speedup(op, linux.median(op), uni.median(op))
        ok = r is not None and (r > factor if op not in RATE else r >= factor)
        goals.append((what, f"{verdict(ok, uni, linux)} ({fmt_ratio(r)})"))
    return goals
