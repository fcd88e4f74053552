"""Put init (and so QEMU, its later child) in the container's cgroup, ``linux.cgroupsPath``.

The engine reads a container's statistics from the cgroup of the pid `create` reported
(`docker stats`, the shim's OOM events), so without this it would show the shim's own
cgroup. Only the cgroupfs form of the path (``/docker/<id>``, ``/default/<id>``) is
handled, on cgroup v2 (one hierarchy) and v1 (every mounted hierarchy); systemd's
``slice:prefix:name`` form needs a transient unit from systemd and is left alone. No
limit is written: the memory limit is the guest's RAM, and QEMU needs some more than that.
Failures are logged, never fatal: statistics are not worth refusing a container for.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from dock2uni.runtime.log import RuntimeLog

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _hierarchies() -> list[Path]:
    if (CGROUP_ROOT / "cgroup.controllers").exists():  # v2: one unified hierarchy
        return [CGROUP_ROOT]
    found = []
    with contextlib.suppress(OSError):
        for entry in sorted(CGROUP_ROOT.iterdir()):
            if entry.is_dir() and not entry.is_symlink() and (entry / "cgroup.procs").exists():
                found.append(entry)
    return found


def _relative(cgroups_path: str) -> str | None:
    """The path below each hierarchy, or None for systemd's form or a hostile path."""
    if not cgroups_path.startswith("/") or ":" in cgroups_path:
        return None
    parts = [p for p in cgroups_path.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    return "/".join(parts)


def _inherit_cpuset(hierarchy: Path, relative: str) -> None:
    """cgroup v1's cpuset refuses tasks (ENOSPC) in a group whose cpus or mems are empty:
    give each new level its parent's, as runc does."""
    parent = hierarchy
    for part in relative.split("/"):
        child = parent / part
        for name in ("cpuset.cpus", "cpuset.mems"):
            if not (child / name).read_text().strip():
                (child / name).write_text((parent / name).read_text())
        parent = child


def join(cgroups_path: str | None, pid: int, log: RuntimeLog) -> list[str]:
    """Move ``pid`` into ``cgroups_path`` in every hierarchy; the directories it created."""
    if not cgroups_path:
        return []
    relative = _relative(cgroups_path)
    if relative is None:
        log.info(f"cgroup: {cgroups_path!r} left alone (systemd's form, or not absolute)")
        return []
    made = []
    for hierarchy in _hierarchies():
        target = hierarchy / relative
        try:
            existed = target.is_dir()
            target.mkdir(parents=True, exist_ok=True)
            if not existed:
                made.append(str(target))
            if (hierarchy / "cpuset.cpus").exists() and hierarchy != CGROUP_ROOT:
                _inherit_cpuset(hierarchy, relative)
            (target / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            log.warning(f"cgroup: cannot put init in {target}: {exc.strerror}")
    return made


def remove(made: list[str]) -> None:
    """Remove the directories ``join`` created (empty once init and QEMU are gone)."""
    for path in made:
        with contextlib.suppress(OSError):
            os.rmdir(path)
