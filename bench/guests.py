"""The benchmarks' own guests (bench/guest/*.c): compiled static, packed as OCI images."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fixtures import ocibuild, scratch

from bench.paths import BENCH, GUEST_SRC

COMPILERS = {"glibc": "gcc", "musl": "musl-gcc"}
GUEST_PATH = "/usr/local/bin/"  # where image() puts the program


def compile_static(program: str, libc: str = "glibc") -> Path:
    """bench/guest/PROGRAM.c as a static binary (rebuilt when the source changes)."""
    source = GUEST_SRC / f"{program}.c"
    out = BENCH / "guest" / f"{program}-{libc}"
    if out.exists() and out.stat().st_mtime > source.stat().st_mtime:
        return out
    compiler = COMPILERS[libc]
    if shutil.which(compiler) is None:
        raise RuntimeError(f"{compiler} is not installed (run `make setup`)")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [compiler, "-O2", "-Wall", "-Werror", "-static", "-o", str(out), str(source)], check=True
    )
    return out


def image(program: str, libc: str = "glibc") -> Path:
    """An OCI layout (ref latest) FROM scratch holding /usr/local/bin/PROGRAM as its Cmd."""
    binary = compile_static(program, libc)
    dest = BENCH / "oci" / f"{program}-{libc}"
    if dest.exists() and dest.stat().st_mtime > binary.stat().st_mtime:
        return dest
    layer = ocibuild.Layer().dir("usr").dir("usr/local").dir("usr/local/bin")
    layer.file(GUEST_PATH.lstrip("/") + program, binary.read_bytes(), mode=0o755)
    config = {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": [GUEST_PATH + program]}
    shutil.rmtree(dest, ignore_errors=True)
    ocibuild.write_layout(dest, {"latest": ocibuild.Image([scratch.scratch_etc(layer)], config)})
    return dest
