"""Build the guest test programs (tests/guest) and pack them into an OCI image for boot tests.

The programs are compiled by libos/scripts/guest-build.sh (static, glibc and musl),
the same script developers use, into ROOT/guest/<libc>/<name>; the image holds
ROOT as one layer, so /guest/<libc>/<name> in the image is the binary that ran natively.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fixtures.ocibuild import Image, Layer, write_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.link import LinkResult
from dock2uni.pipeline import convert_image
from dock2uni.runspec import Overrides

REPO = Path(__file__).resolve().parents[2]
GUEST_BUILD = REPO / "libos" / "scripts" / "guest-build.sh"
# Guest programs compared natively and booted: one per shim family, plus fswrite (the
# writable filesystem: fs, io and mm calls together), cpus (the one-CPU view of
# sysconf, /proc/cpuinfo and /sys) and fork (processes: fork, wait, copy-on-write, groups).
FAMILIES = (
    "io",
    "fs",
    "fswrite",
    "mm",
    "proc",
    "thread",
    "signal",
    "time",
    "misc",
    "event",
    "cpus",
    "pipe",
    "xattr",
    "exec",
    "fork",
    "fifo",
    "procfs",
    "unix",
    "inet",
    "compat",
)
LIBCS = ("glibc", "musl")
# Issue 9's acceptance programs (threads, signals, their fd objects), compared natively
# and booted as the families are, each with the exit status it must end with.
ACCEPTANCE: dict[str, int] = {
    "threads_stress": 0,
    "signals_rt": 0,
    "signal_fds": 0,
    "thread_exit_group": 42,  # _exit(42) from a thread that is not the main one
    "thread_main_exit": 0,  # the last thread's exit after main's pthread_exit
}


def build_guests(root: Path) -> Path:
    """Compile every tests/guest program under root/guest; return root."""
    subprocess.run([str(GUEST_BUILD), str(root / "guest")], check=True, capture_output=True)
    return root


def guest_layout(root: Path, dest: Path) -> str:
    """An OCI layout (ref latest) whose single layer is ``root``; returns the SOURCE string."""
    layer = Layer.from_directory(root)
    for entry in layer.entries:  # keep real mtimes: the fs test stats its fixture tree
        entry.mtime = int(os.lstat(root / entry.path).st_mtime)
    image = Image(layers=[layer], config={"Env": ["PATH=/bin"]})
    write_layout(dest, {"latest": image})
    return f"oci:{dest}:latest"


def convert_guest(
    source: str,
    program: str,
    output: Path,
    ctx: Context,
    *,
    cmd: tuple[str, ...] = (),
    compress: bool | None = None,
    separate_initrd: bool = False,
) -> LinkResult:
    """Convert the guest image with ``program`` (a path in the image) as its entrypoint."""
    _, _, linked = convert_image(
        source,
        output,
        AcquireOptions(),
        ctx,
        overrides=Overrides(entrypoint=(program,), cmd=cmd),
        compress=compress,
        separate_initrd=separate_initrd,
    )
    return linked
