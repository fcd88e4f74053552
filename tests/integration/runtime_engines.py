"""Shared by the OCI runtime tests: the runtime's path, fixture images as `docker save` tars,
and what a container may leave behind (init and QEMU processes, state directories)."""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import suppress
from pathlib import Path

from fixtures.build import fixture_layout
from fixtures.dockersave import legacy_members, write_tar

RUNTIME = Path(sys.executable).with_name("dock2uni-runtime")
INIT_MODULE = "dock2uni.runtime.init"


def runtime_env(cache: Path) -> dict[str, str]:
    """What the engine passes on to the runtime: the conversion cache, the accelerator."""
    env = {"DOCK2UNI_CACHE": str(cache)}
    if accel := os.environ.get("DOCK2UNI_ACCEL"):
        env["DOCK2UNI_ACCEL"] = accel
    return env


def save_fixture(name: str, repo_tag: str, dest: Path) -> Path:
    """The OCI fixture ``name`` as a classic `docker save` tar tagged ``repo_tag``."""
    return write_tar(dest, legacy_members(fixture_layout(name), "latest", repo_tag))


def _cmdline(pid: str) -> str:
    with suppress(OSError):
        return (Path("/proc") / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def leftovers(marker: str) -> list[str]:
    """Live processes (not zombies) whose command line names ``marker`` (a state or cache
    directory of this test) and are an init of the runtime or a QEMU."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        cmd = _cmdline(entry.name)
        if marker in cmd and (INIT_MODULE in cmd or "qemu-system" in cmd):
            with suppress(OSError):
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(f"{entry.name}: {cmd[:200]}")
    return found


def wait_no_leftovers(marker: str, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (found := leftovers(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def kill_leftovers(marker: str) -> None:
    """Teardown safety net: the test failed half-way; never leave QEMU running."""
    for line in leftovers(marker):
        with suppress(ProcessLookupError, ValueError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
