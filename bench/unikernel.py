"""The dock2uni side of the benchmarks: convert an image, and boot it as `dock2uni run` does."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.paths import BENCH, dock2uni_cli
from dock2uni.run import RunOptions, image_mem, kernel_cmdline, qemu_argv
from dock2uni.uni import read_metadata

IMAGES = BENCH / "images"


def convert(source: str, name: str, *extra: str) -> Path:
    """``dock2uni convert SOURCE -o build/bench/images/NAME.uni``; raises with its output."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    out = IMAGES / f"{name}.uni"
    proc = subprocess.run(
        [dock2uni_cli(), "convert", source, "-o", str(out), "--quiet", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"dock2uni convert {source} failed ({proc.returncode}): {tail}")
    return out


def inspect_json(image: Path) -> dict[str, Any]:
    """``dock2uni inspect IMAGE.uni --format json``."""
    proc = subprocess.run(
        [dock2uni_cli(), "inspect", str(image), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def recommended_mem(image: Path) -> int:
    return image_mem(read_metadata(image))


def argv_for(
    image: Path, *, accel: str, mem: int, cmd: Sequence[str] | None = None
) -> Callable[[Path], list[str]]:
    """The exact QEMU command line `dock2uni run` uses (run.qemu_argv), for one COM2 socket."""

    def make(sock: Path) -> list[str]:
        options = RunOptions(mem=mem, accel=accel, cmd=tuple(cmd) if cmd is not None else None)
        return qemu_argv(
            image,
            accel=accel,
            mem=mem,
            log_socket=sock,
            cmdline=kernel_cmdline(options),
            initrd=None,
        )

    return make


def boots(image: Path, *, accel: str, marker: bytes, timeout: float = 120) -> str | None:
    """None if the image boots and prints the marker, else why not (for "not measured yet")."""
    from bench.qemu import time_guest, unikernel_exit

    try:
        timing = time_guest(
            argv_for(image, accel=accel, mem=recommended_mem(image)),
            marker=marker,
            timeout=timeout,
        )
    except (RuntimeError, TimeoutError, OSError) as exc:
        return str(exc)[:300]
    if timing.marker is None:
        log = timing.log.decode(errors="replace").strip().splitlines()[-2:]
        out = timing.output.decode(errors="replace").strip()[-120:]
        return f"the guest did not print {marker!r} (COM1: {out!r}; log: {log})"
    return unikernel_exit(timing)
