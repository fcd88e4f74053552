"""The prebuilt library OS a link needs (``make libos``), built on demand: light to import,
so commands that only stamp or find it (the OCI runtime's warm create) skip link.py's."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dock2uni import paths
from dock2uni.context import Context
from dock2uni.errors import BuildError

LIBOS_ARTIFACTS = ("entry.o", "libos.a", "shims.a", "link.ld", "image-cflags.txt")


def run_tool(cmd: list[str], *, what: str, cwd: Path) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BuildError(f"{what}: {cmd[0]} is not installed") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise BuildError(f"{what} failed: {' '.join(cmd)}\n{tail}")


def ensure_libos(ctx: Context) -> Path:
    """The prebuilt library OS directory, building it first if needed."""
    build = paths.LIBOS_BUILD
    if all((build / a).exists() for a in LIBOS_ARTIFACTS):
        return build
    if not (paths.LIBOS / "Makefile").exists():
        raise BuildError(f"the library OS is not built ({build}) and its sources are missing")
    ctx.note("dock2uni: building the library OS (make -C libos)")
    run_tool(
        ["make", "-s", "-C", str(paths.LIBOS), f"BUILD={build}"],
        what="building libos",
        cwd=paths.REPO,
    )
    return build
