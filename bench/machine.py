"""A description of the host a run measured on, recorded with every result."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any


def _first_line(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    out = (proc.stdout or proc.stderr).strip().splitlines()
    return out[0] if out else "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    return "?"


def _debian() -> str:
    try:
        return "Debian " + Path("/etc/debian_version").read_text().strip()
    except OSError:
        return platform.platform()


def host_tsc_khz() -> int | None:
    """The host's TSC rate as the kernel reports it (cpu MHz), for guests under TCG."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return round(float(line.split(":", 1)[1]) * 1000)
    except (OSError, ValueError):
        pass
    return None


def _checkout() -> str:
    """The commit measured, and whether the work tree had uncommitted changes."""
    repo = str(Path(__file__).resolve().parent.parent)
    head = _first_line(["git", "-C", repo, "rev-parse", "--short", "HEAD"])
    status = subprocess.run(
        ["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return f"{head} (uncommitted changes)" if status.strip() else head


def describe() -> dict[str, Any]:
    """CPU, cores, memory, OS, kernel, tool versions, date and load: what a reader must know."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory": _mem_total(),
        "os": _debian(),
        "kernel": platform.release(),
        "qemu": _first_line(["qemu-system-x86_64", "--version"]),
        "docker": _first_line(["dockerd", "--version"]),
        "skopeo": _first_line(["skopeo", "--version"]),
        "umoci": _first_line(["umoci", "--version"]),
        "python": platform.python_version(),
        "dock2uni checkout": _checkout(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def markdown(info: dict[str, Any]) -> str:
    return "\n".join(f"* {k}: {v}" for k, v in info.items()) + "\n"
