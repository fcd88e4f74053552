"""Memory of a running service: a process's resident set and its cgroup's charge (v1 or v2)."""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def rss(pid: int) -> int | None:
    """VmRSS of ``pid`` in bytes (None: gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's children file)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _memory_cgroup(pid: int) -> tuple[Path, str] | None:
    """(directory of ``pid``'s memory cgroup, its usage file name) on cgroup v2 or v1."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _hier, controllers, path = line.split(":", 2)
        if controllers == "":
            where = (CGROUP_ROOT / path.lstrip("/"), "memory.current")
        elif "memory" in controllers.split(","):
            where = (CGROUP_ROOT / "memory" / path.lstrip("/"), "memory.usage_in_bytes")
        else:
            continue
        if (where[0] / where[1]).exists():
            return where
    return None


def cgroup_memory(pid: int) -> int | None:
    """Bytes charged to ``pid``'s memory cgroup: ``memory.current`` on cgroup v2, else v1's
    ``memory.usage_in_bytes`` (both count page cache as well as anonymous memory)."""
    found = _memory_cgroup(pid)
    if found is None:
        return None
    try:
        return int((found[0] / found[1]).read_text())
    except (OSError, ValueError):
        return None


def cgroup_rss(pid: int) -> int | None:
    """The sum of VmRSS over the processes of ``pid``'s memory cgroup (shared pages are
    counted once per process that maps them)."""
    found = _memory_cgroup(pid)
    if found is None:
        return None
    try:
        pids = [int(p) for p in (found[0] / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return None
    return sum(r for p in pids if (r := rss(p)) is not None)
