"""Where the benchmarks read their inputs and write their outputs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("DOCK2UNI_BUILD", str(REPO / "build")))
BENCH = BUILD / "bench"  # results-<name>.json, converted images, guests
CACHE = BENCH / "cache"  # downloads kept between runs (the Linux kernel .deb)
FIXTURE_OCI = BUILD / "fixtures" / "oci"
GUEST_SRC = REPO / "bench" / "guest"
FLOOR_SRC = REPO / "bench" / "floor"


def dock2uni_cli() -> str:
    """The dock2uni CLI of this checkout's .venv (or the one on PATH)."""
    local = Path(sys.executable).parent / "dock2uni"
    if local.exists():
        return str(local)
    found = shutil.which("dock2uni")
    if found is None:
        raise RuntimeError("dock2uni is not installed: run `make setup`")
    return found


def fixture_layout(name: str) -> Path:
    """The fixture's OCI layout (ref latest), built through fixtures.build if missing."""
    from fixtures.build import fixture_layout as build_layout

    return build_layout(name)
