"""The floor: QEMU with dock2uni's flags booting a PVH kernel that exits at once (floor.S)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bench.paths import BENCH, FLOOR_SRC
from dock2uni.run import qemu_argv

MARKER = b"!"  # the one byte floor.S writes on COM1 before it exits


def build() -> Path:
    """Assemble and link floor.S (32-bit, at 1 MiB); rebuilt when its sources change."""
    out = BENCH / "floor" / "floor.elf"
    sources = [FLOOR_SRC / "floor.S", FLOOR_SRC / "floor.ld"]
    if out.exists() and all(s.stat().st_mtime < out.stat().st_mtime for s in sources):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    obj = out.with_suffix(".o")
    subprocess.run(["gcc", "-m32", "-c", str(sources[0]), "-o", str(obj)], check=True)
    subprocess.run(
        ["ld", "-m", "elf_i386", "-T", str(sources[1]), "-o", str(out), str(obj)], check=True
    )
    return out


def argv_for(kernel: Path, *, accel: str, mem: int) -> Callable[[Path], list[str]]:
    """dock2uni run's QEMU command line with the floor kernel in place of the unikernel."""

    def make(sock: Path) -> list[str]:
        return qemu_argv(kernel, accel=accel, mem=mem, log_socket=sock, cmdline="", initrd=None)

    return make
