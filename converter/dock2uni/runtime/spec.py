"""A bundle's config.json -> ContainerSpec: what the unikernel honours, checked field by field.

Unknown properties are ignored, as the runtime spec requires of every reader
(config.md: "MUST ignore unknown properties"); known ones with a wrong type or a
hostile value (a relative cwd, a root or mount path escaping with ``..``, an
absurd memory limit, empty args) are refused with a message naming the field.
Host-side confinement the VM replaces (seccomp, capabilities, AppArmor, masked
paths, rlimits) is read by nobody: the guest cannot reach the host's kernel.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dock2uni.runtime.errors import OciError
from dock2uni.volmount import MAX_VOLUMES

MAX_CONFIG_BYTES = 4 << 20
MIN_MEMORY = 16 << 20  # the library OS and a small program need this much guest RAM
MAX_ID = 2**32 - 2
# Mounts the library OS provides itself (procfs, devices, sysfs, shm, mqueue), and the
# tmpfs containerd's default spec puts on /run (the guest's whole filesystem already
# lives in its RAM): ignored.
SYSTEM_MOUNTS = frozenset(
    {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/run"}  # noqa: S108
)
# Docker binds these per container; the guest keeps the image's own files (docs).
NETWORK_FILES = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"})
DOCKER_INIT = "/sbin/docker-init"  # `docker run --init`: the kernel reaps, tini is not needed
# Mount options that change nothing for a volume served by QEMU (the guest has no mount
# namespaces to propagate to, and the flags are the guest kernel's business); "ro" and
# "rw" are read, anything else is refused.
BIND_FLAGS = frozenset(
    {"bind", "rbind", "private", "rprivate", "nosuid", "nodev", "noexec", "relatime", "rw",
     "ro", "norelatime", "noatime", "strictatime", "suid", "dev", "exec"}
)  # fmt: skip
TMPFS_FLAGS = BIND_FLAGS - {"bind", "rbind", "ro"}


@dataclass(frozen=True)
class BindVolume:
    """A bind mount of config.json, served to the guest as a volume."""

    source: str  # an absolute host directory
    destination: str
    readonly: bool


@dataclass(frozen=True)
class Hook:
    path: str
    args: tuple[str, ...]
    env: tuple[str, ...]
    timeout: float | None


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    """The parts of config.json a unikernel honours."""

    bundle: Path
    rootfs: Path
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    uid: int
    gid: int
    terminal: bool
    hostname: str | None
    memory: int | None  # bytes (linux.resources.memory.limit)
    annotations: Mapping[str, str]
    namespaces: Mapping[str, str | None]  # type -> path (None: a new one)
    cgroups_path: str | None = None
    hooks: Mapping[str, tuple[Hook, ...]] = field(default_factory=dict)
    ignored_mounts: tuple[str, ...] = ()
    volumes: tuple[BindVolume, ...] = ()  # bind mounts (-v, Docker's named/anonymous volumes)
    tmpfs: tuple[str, ...] = ()  # tmpfs mounts: d2u.tmpfs
    readonly: bool = False  # root.readonly (docker run --read-only): d2u.readonly=1
    # process.user.additionalGids: the supplementary groups as the engine resolved them
    # (Docker lists the primary gid first); () when absent: the gid alone.
    groups: tuple[int, ...] = ()


NGROUPS_KEPT = 64  # the library OS keeps this many supplementary groups (libos/proc.h)


def _err(where: str, what: str, hint: str | None = None) -> OciError:
    return OciError(f"config.json: {where} {what}", hint=hint)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(where, "must be an object")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _err(where, "must be a string")
    if "\0" in value:
        raise _err(where, "holds a NUL byte")
    return value


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _err(where, "must be a list of strings")
    return tuple(_str(v, f"{where}[{i}]") for i, v in enumerate(value))


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(where, "must be an integer")
    if not low <= value <= high:
        raise _err(where, f"is {value}, outside {low}..{high}")
    return value


def clean_absolute(path: str, where: str) -> str:
    """An absolute guest path without ``..``: a path that climbs is refused, not clamped,
    since an engine never writes one and a hand-made one means a mistake or an attack."""
    if not path.startswith("/"):
        raise _err(where, f"{path!r} is not an absolute path")
    if ".." in path.split("/"):
        raise _err(where, f"{path!r} contains '..'")
    return posixpath.normpath(path).replace("//", "/")


def host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 1 << 40


def load(bundle: Path) -> dict[str, Any]:
    """config.json of ``bundle`` as a JSON object."""
    path = bundle / "config.json"
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise OciError(
            f"{path} does not exist", hint="--bundle must name a directory with config.json."
        ) from None
    except OSError as exc:
        raise OciError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise OciError(f"{path} is larger than {MAX_CONFIG_BYTES >> 20} MiB")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise OciError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OciError(f"{path} is not a JSON object")
    return doc


def _readonly(root: dict[str, Any]) -> bool:
    readonly = root.get("readonly", False)
    if not isinstance(readonly, bool):
        raise _err("root.readonly", "must be true or false")
    return readonly


def _rootfs(bundle: Path, root: dict[str, Any]) -> Path:
    text = _str(root.get("path"), "root.path")
    if not text:
        raise _err("root.path", "is empty")
    if not text.startswith("/"):  # relative to the bundle (runtime spec), never above it
        norm = posixpath.normpath(text)
        if norm == ".." or norm.startswith("../"):
            raise _err("root.path", f"{text!r} escapes the bundle")
        path = bundle / norm
    else:
        path = Path(text)
    if not path.is_dir():
        raise OciError(
            f"rootfs {path} does not exist or is not a directory (config.json root.path)",
            hint="The engine mounts the image there before create; check the bundle.",
        )
    return path


@dataclass
class _Mounts:
    ignored: list[str] = field(default_factory=list)
    volumes: list[BindVolume] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)


def _bind(i: int, source: str, dest: str, options: tuple[str, ...]) -> BindVolume:
    """A bind mount as a volume: an existing host directory, given by absolute path."""
    where = f"mounts[{i}].source"
    if not source.startswith("/"):
        raise _err(where, f"{source!r} is not an absolute path")
    if ".." in source.split("/"):
        raise _err(where, f"{source!r} contains '..'")
    path = Path(source)
    if not path.exists():
        raise _err(where, f"{source} does not exist", hint="Create the host directory first.")
    if not path.is_dir():
        raise OciError(
            f"bind mount {source} on {dest}: a single file cannot be shared with the "
            "unikernel yet (9p serves directories)",
            hint="Bind the directory that holds it, or COPY the file into the image.",
        )
    unknown = [o for o in options if o not in BIND_FLAGS]
    if unknown:
        raise OciError(
            f"bind mount {source} on {dest}: option {unknown[0]!r} is not supported by "
            "dock2uni-runtime (the guest has no mount propagation)",
            hint="Use a plain -v HOSTDIR:DEST[:ro].",
        )
    return BindVolume(source=source, destination=dest, readonly="ro" in options)


def _tmpfs(dest: str, options: tuple[str, ...]) -> str:
    unknown = [o for o in options if o not in TMPFS_FLAGS]
    if unknown:
        raise OciError(
            f"tmpfs mount on {dest}: option {unknown[0]!r} is not supported by "
            "dock2uni-runtime (a tmpfs is a directory of the guest's RAM filesystem: no "
            "size, mode or read-only flag)",
            hint="Give just the path: --tmpfs DEST.",
        )
    return dest


def _mounts(raw: Any, args: tuple[str, ...]) -> tuple[_Mounts, tuple[str, ...]]:
    """(the mounts sorted out, args without a `docker run --init` prefix)."""
    out = _Mounts()
    if raw is None:
        return out, args
    if not isinstance(raw, list):
        raise _err("mounts", "must be a list")
    ignored = out.ignored
    seen: set[str] = set()
    for i, item in enumerate(raw):
        m = _obj(item, f"mounts[{i}]")
        where = f"mounts[{i}].destination"
        dest = clean_absolute(_str(m.get("destination"), where), where)
        kind = _str(m.get("type", "bind"), f"mounts[{i}].type")
        options = _strs(m.get("options"), f"mounts[{i}].options")
        source = _str(m.get("source", ""), f"mounts[{i}].source")
        if dest in SYSTEM_MOUNTS or dest in NETWORK_FILES:
            ignored.append(dest)
            continue
        if dest == DOCKER_INIT and args[:2] == (DOCKER_INIT, "--") and len(args) > 2:
            args = args[2:]
            ignored.append(dest)
            continue
        if dest == "/" or any(dest == t or dest.startswith(t + "/") for t in ("/proc", "/sys")):
            raise _err(where, f"{dest} cannot be a mount point of the unikernel")
        if dest in seen:
            raise _err(where, f"{dest} is mounted twice")
        seen.add(dest)
        is_bind = kind == "bind" or "bind" in options or "rbind" in options
        if is_bind:
            out.volumes.append(_bind(i, source, dest, options))
        elif kind == "tmpfs":
            out.tmpfs.append(_tmpfs(dest, options))
        else:
            raise OciError(
                f"{kind} mount on {dest} is not supported by dock2uni-runtime",
                hint="The unikernel takes bind mounts (volumes) and tmpfs mounts.",
            )
    if len(out.volumes) > MAX_VOLUMES:
        raise OciError(
            f"{len(out.volumes)} bind mounts are more than the {MAX_VOLUMES} volumes the "
            "unikernel can mount",
            hint="Share a parent directory with one -v.",
        )
    return out, args


def _memory(linux: dict[str, Any]) -> int | None:
    resources = _obj(linux.get("resources"), "linux.resources")
    memory = _obj(resources.get("memory"), "linux.resources.memory")
    limit = memory.get("limit")
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise _err("linux.resources.memory.limit", "must be an integer")
    if limit == -1:  # runc's "unlimited"
        return None
    total = host_memory()
    if not MIN_MEMORY <= limit <= total:
        raise _err(
            "linux.resources.memory.limit",
            f"is {limit} bytes; the guest RAM must be between {MIN_MEMORY >> 20} MiB and "
            f"the host's {total >> 20} MiB",
            hint="Give a memory limit (-m) the machine can back, e.g. -m 256m.",
        )
    return limit


def _hooks(raw: Any) -> dict[str, tuple[Hook, ...]]:
    out: dict[str, tuple[Hook, ...]] = {}
    for stage, items in _obj(raw, "hooks").items():
        if not isinstance(items, list):
            raise _err(f"hooks.{stage}", "must be a list")
        hooks = []
        for i, item in enumerate(items):
            h = _obj(item, f"hooks.{stage}[{i}]")
            path = _str(h.get("path"), f"hooks.{stage}[{i}].path")
            if not path.startswith("/"):
                raise _err(f"hooks.{stage}[{i}].path", f"{path!r} is not an absolute path")
            timeout = h.get("timeout")
            if timeout is not None:
                timeout = _int(timeout, f"hooks.{stage}[{i}].timeout", 1, 3600)
            hooks.append(
                Hook(
                    path=path,
                    args=_strs(h.get("args"), f"hooks.{stage}[{i}].args") or (path,),
                    env=_strs(h.get("env"), f"hooks.{stage}[{i}].env"),
                    timeout=float(timeout) if timeout is not None else None,
                )
            )
        out[stage] = tuple(hooks)
    return out


def parse(bundle: Path, doc: Mapping[str, Any]) -> ContainerSpec:
    """Check ``doc`` (config.json of ``bundle``) and keep what the unikernel honours."""
    process = _obj(doc.get("process"), "process")
    if not process:
        raise _err("process", "is missing: nothing to run")
    args = _strs(process.get("args"), "process.args")
    if not args or not args[0]:
        raise _err("process.args", "is empty: nothing to run", hint="Give the image a command.")
    env = _strs(process.get("env"), "process.env")
    for i, item in enumerate(env):
        if "=" not in item or item.startswith("="):
            raise _err(f"process.env[{i}]", f"{item[:60]!r} is not KEY=VALUE")
    cwd = clean_absolute(_str(process.get("cwd", "/"), "process.cwd"), "process.cwd")
    user = _obj(process.get("user"), "process.user")
    uid = _int(user.get("uid", 0), "process.user.uid", 0, MAX_ID)
    gid = _int(user.get("gid", 0), "process.user.gid", 0, MAX_ID)
    extra = user.get("additionalGids") or []
    if not isinstance(extra, list):
        raise _err("process.user.additionalGids", "must be a list of integers")
    groups = tuple(
        _int(g, f"process.user.additionalGids[{i}]", 0, MAX_ID) for i, g in enumerate(extra)
    )
    if len(groups) > NGROUPS_KEPT:
        raise _err(
            "process.user.additionalGids", f"has {len(groups)} groups, more than {NGROUPS_KEPT}"
        )
    terminal = process.get("terminal", False)
    if not isinstance(terminal, bool):
        raise _err("process.terminal", "must be true or false")
    hostname = doc.get("hostname")
    if hostname is not None:
        hostname = _str(hostname, "hostname")
        if len(hostname) > 64 or any(c.isspace() for c in hostname):
            raise _err("hostname", f"{hostname[:70]!r} is not a host name")
    annotations = _obj(doc.get("annotations"), "annotations")
    for key, value in annotations.items():
        _str(value, f"annotations[{key!r}]")
    linux = _obj(doc.get("linux"), "linux")
    namespaces: dict[str, str | None] = {}
    for i, ns in enumerate(linux.get("namespaces") or []):
        entry = _obj(ns, f"linux.namespaces[{i}]")
        kind = _str(entry.get("type"), f"linux.namespaces[{i}].type")
        path = entry.get("path")
        if path is not None:
            path = _str(path, f"linux.namespaces[{i}].path")
            if path and not os.path.isabs(path):
                raise _err(f"linux.namespaces[{i}].path", f"{path!r} is not an absolute path")
        namespaces[kind] = path or None
    cgroups_path = linux.get("cgroupsPath")
    if cgroups_path is not None:
        cgroups_path = _str(cgroups_path, "linux.cgroupsPath")
    mounts, args = _mounts(doc.get("mounts"), args)
    root = _obj(doc.get("root"), "root")
    if not root:
        raise _err("root", "is missing", hint="Point root.path at the container's rootfs.")
    return ContainerSpec(
        bundle=bundle,
        rootfs=_rootfs(bundle, root),
        args=args,
        env=env,
        cwd=cwd,
        uid=uid,
        gid=gid,
        groups=groups,
        terminal=terminal,
        hostname=hostname,
        memory=_memory(linux),
        annotations=dict(annotations),
        namespaces=namespaces,
        cgroups_path=cgroups_path,
        hooks=_hooks(doc.get("hooks")),
        ignored_mounts=tuple(mounts.ignored),
        volumes=tuple(mounts.volumes),
        tmpfs=tuple(mounts.tmpfs),
        readonly=_readonly(root),
    )
