"""Image config -> run spec: what a container runtime would execute, resolved inside the image.

Follows Docker's rules: argv = Entrypoint + Cmd (an overridden Entrypoint drops the
image's Cmd; ``[""]`` resets); Env merges with overrides winning and a default
PATH and HOME added when absent; User accepts name, uid, name:group, uid:gid...,
resolved through the image's own /etc/passwd and /etc/group; argv[0] is looked
up through PATH *inside the image*; a ``#!`` script is reported with its interpreter.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dock2uni.errors import InvalidImageError
from dock2uni.fs.tree import DirNode, FileNode, Tree
from dock2uni.unpack import UnpackedImage

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_UID = 2**32 - 2  # 2^32-1 is (uid_t)-1, "no user"; containerd CVE-2024-40635
SHEBANG_MAX = 256  # Linux BINPRM_BUF_SIZE: how much of a script's first line the kernel reads
_SIGNAL_RE = re.compile(r"SIG[A-Z0-9]+(?:[+-]\d+)?|\d+")
_PORT_RE = re.compile(r"([0-9]{1,5})(?:/(tcp|udp|sctp))?")
# ASCII digits only (str.isdigit() accepts "²", which int() refuses) and at most ten of
# them, so int() never meets Python's 4,300-digit limit and the range check is exact.
_ID_RE = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True, kw_only=True)
class Overrides:
    """What the user changes at convert time (--entrypoint, --cmd, --env)."""

    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class UserSpec:
    """The user the program runs as, resolved in the image."""

    text: str  # as written in the config ("" = root)
    uid: int
    gid: int
    name: str | None
    home: str | None
    # Supplementary groups as Docker sets them: the primary gid, then (no group given)
    # every /etc/group entry that lists the user's name.
    groups: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """Everything needed to start the image's program, as a runtime would."""

    argv: tuple[str, ...]
    entrypoint_argc: int  # argv[:n] came from Entrypoint; the rest is Cmd
    env: tuple[str, ...]
    workdir: str
    workdir_exists: bool
    user: UserSpec
    exposed_ports: tuple[str, ...]
    stop_signal: str | None
    exec_path: str | None  # argv[0] found through PATH, as a path inside the image
    exec_realpath: str | None  # the same with every symlink resolved
    exec_kind: str  # "elf", "script", "other" or "missing"
    interpreter: tuple[str, ...] = ()  # for a script: the #! line split as Linux does
    shell_form: bool = False  # argv is ["/bin/sh", "-c", ...]
    volumes: tuple[str, ...] = ()  # the image's VOLUMEs, absolute and normalised
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def env_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.env:
            key, _, value = item.partition("=")
            out[key] = value
        return out


def _str_list(value: Any, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):  # Docker accepts a bare string: shell form
        return ("/bin/sh", "-c", value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidImageError(f"image config: {what} must be a list of strings")
    return tuple(value)


def compose_argv(config: Mapping[str, Any], overrides: Overrides) -> tuple[tuple[str, ...], int]:
    """Docker's Entrypoint/Cmd composition; returns (argv, entrypoint_argc)."""
    entrypoint = _str_list(config.get("Entrypoint"), "Entrypoint") or ()
    cmd = _str_list(config.get("Cmd"), "Cmd") or ()
    if overrides.entrypoint is not None:
        entrypoint = overrides.entrypoint
        cmd = ()  # like `docker run --entrypoint`: the image's Cmd no longer applies
    if overrides.cmd is not None:
        cmd = overrides.cmd
    if entrypoint == ("",):
        entrypoint = ()
    argv = entrypoint + cmd
    if not argv or not argv[0]:
        raise InvalidImageError(
            "the image has neither Entrypoint nor Cmd: nothing to run",
            hint="Pass the command with --entrypoint '[\"/path/prog\"]' or --cmd '[...]'.",
        )
    return argv, len(entrypoint)


def merge_env(image_env: Sequence[str], extra: Sequence[str]) -> tuple[list[str], list[str]]:
    """Image Env then overrides, same keys replaced in place; returns (env, warnings)."""
    merged: dict[str, str] = {}
    warnings: list[str] = []
    for item in [*image_env, *extra]:
        if "=" not in item:
            warnings.append(f"environment entry without '=' ignored: {item[:80]!r}")
            continue
        key, _, value = item.partition("=")
        if not key:
            warnings.append(f"environment entry with an empty name ignored: {item[:80]!r}")
            continue
        merged[key] = value
    merged.setdefault("PATH", DEFAULT_PATH)
    return [f"{k}={v}" for k, v in merged.items()], warnings


def read_small(unpacked: UnpackedImage, path: str, limit: int) -> bytes | None:
    """The first ``limit`` bytes of a regular file in the image, or None."""
    node = unpacked.tree.lookup(path)
    if not isinstance(node, FileNode):
        return None
    with unpacked.store.open(node.digest) as f:
        return f.read(limit)


def _table(unpacked: UnpackedImage, path: str) -> list[list[str]]:
    data = read_small(unpacked, path, 1 << 20) or b""
    rows = []
    for line in data.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _parse_id(text: str, what: str) -> int | None:
    """A numeric User/group part, None when it is a name; out of range is an error."""
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        value = int(text) if _ID_RE.fullmatch(text) else -1
        if not 0 <= value <= MAX_UID:
            raise InvalidImageError(f"image config: {what} {text[:40]} is out of range")
        return value
    return None


def _table_id(text: str, what: str, table: str) -> int:
    """A uid or gid field of the image's passwd or group file (empty means 0)."""
    if not text:
        return 0
    value = int(text) if _ID_RE.fullmatch(text) else -1
    if not 0 <= value <= MAX_UID:
        raise InvalidImageError(
            f"the image's {table} gives {what} {text[:40]!r}, not a number from 0 to {MAX_UID}",
            hint="Fix the entry in the image, or set a numeric User (uid:gid).",
        )
    return value


def check_text(value: str, what: str) -> None:
    """A string that goes into the image must be encodable: refuse lone surrogates.

    JSON allows "\\ud800"; Python decodes it into a str that no encoder accepts.
    Surrogate-escaped bytes (U+DC80-U+DCFF, what a non-UTF-8 command line gives)
    stay allowed: they encode back to the bytes they came from.
    """
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise InvalidImageError(
            f"image config: {what} holds a lone UTF-16 surrogate: {value[:60]!r}"
        ) from None


def resolve_user(unpacked: UnpackedImage, text: str) -> UserSpec:
    """Resolve Docker's User forms through the image's /etc/passwd and /etc/group."""
    user_part, _, group_part = (text or "").partition(":")
    passwd = _table(unpacked, "/etc/passwd")
    uid = _parse_id(user_part, "uid") if user_part else 0
    name: str | None = None
    home: str | None = None
    gid: int | None = None
    if user_part and uid is None:
        for row in passwd:
            if len(row) >= 4 and row[0] == user_part:
                uid = _table_id(row[2], "uid", "/etc/passwd")
                gid, name = _table_id(row[3], "gid", "/etc/passwd"), row[0]
                home = row[5] if len(row) > 5 else None
                break
        else:
            raise InvalidImageError(
                f"image config: user {user_part!r} is not in the image's /etc/passwd",
                hint="Set a numeric user (--env does not help here); rebuild with USER uid:gid.",
            )
    elif uid is not None:
        for row in passwd:
            if len(row) >= 4 and row[2] == str(uid):
                gid, name = _table_id(row[3], "gid", "/etc/passwd"), row[0]
                home = row[5] if len(row) > 5 else None
                break
    if group_part:
        gid = _parse_id(group_part, "gid")
        if gid is None:
            for row in _table(unpacked, "/etc/group"):
                if len(row) >= 3 and row[0] == group_part:
                    gid = _table_id(row[2], "gid", "/etc/group")
                    break
            else:
                raise InvalidImageError(
                    f"image config: group {group_part!r} is not in the image's /etc/group"
                )
    assert uid is not None
    # A numeric uid missing from /etc/passwd runs with gid 0, as runc does.
    gid = gid if gid is not None else 0
    groups = [gid]
    if name is not None and not group_part:
        for row in _table(unpacked, "/etc/group"):
            if len(row) >= 4 and name in row[3].split(","):
                member = _parse_id(row[2], "gid") if row[2] else None
                if member is not None and member not in groups:
                    groups.append(member)
    return UserSpec(text=text or "", uid=uid, gid=gid, name=name, home=home, groups=tuple(groups))


def find_program(tree: Tree, argv0: str, path_var: str, workdir: str) -> str | None:
    """Find argv[0] as execvp would: through PATH unless it contains a slash."""
    if "/" in argv0:
        candidate = posixpath.normpath(posixpath.join(workdir, argv0))
        return candidate if isinstance(tree.lookup(candidate), FileNode) else None
    for directory in path_var.split(":"):
        candidate = posixpath.join(directory or workdir, argv0)
        node = tree.lookup(candidate)
        if isinstance(node, FileNode) and node.mode & 0o111:
            return posixpath.normpath(candidate)
    return None


def parse_shebang(head: bytes) -> tuple[str, ...]:
    """Split a #! line the way Linux does: interpreter and at most one argument."""
    line = head[2:].split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    if not line:
        return ()
    interp, _, arg = line.partition(" ")
    arg = arg.strip()
    return (interp, arg) if arg else (interp,)


def _ports(raw: Any, warnings: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, dict):
        return ()
    out = []
    for key in raw:
        m = _PORT_RE.fullmatch(str(key))
        if not m or not 0 < int(m.group(1)) < 65536:
            warnings.append(f"exposed port {str(key)[:40]!r} ignored: not PORT[/tcp|udp|sctp]")
            continue
        out.append(f"{int(m.group(1))}/{m.group(2) or 'tcp'}")
    return tuple(sorted(set(out), key=lambda p: (int(p.split("/")[0]), p)))


def _volumes(raw: Any, warnings: list[str]) -> tuple[str, ...]:
    """Config.Volumes ({"/data": {}}): the paths, normalised; a relative one is taken
    from the root, as Docker's builder records VOLUME paths absolute."""
    if not isinstance(raw, dict):
        return ()
    out: list[str] = []
    for key in raw:
        if not isinstance(key, str) or not key or "\0" in key:
            warnings.append(f"volume {str(key)[:40]!r} ignored: not a path")
            continue
        check_text(key, "Volumes")
        norm = "/" + posixpath.normpath(posixpath.join("/", key)).lstrip("/")
        if norm not in out:
            out.append(norm)
    return tuple(sorted(out))


def run_spec(unpacked: UnpackedImage, overrides: Overrides | None = None) -> RunSpec:
    """Resolve the image config into a RunSpec against the unpacked tree."""
    overrides = overrides or Overrides()
    config: Mapping[str, Any] = unpacked.image.config.get("config") or {}
    argv, entry_argc = compose_argv(config, overrides)
    image_env = config.get("Env") or []
    if not isinstance(image_env, list) or not all(isinstance(e, str) for e in image_env):
        raise InvalidImageError("image config: Env must be a list of strings")
    env, warnings = merge_env(image_env, overrides.env)
    for item in argv:
        check_text(item, "Entrypoint/Cmd")
    for item in env:
        check_text(item, "Env")

    raw_workdir = config.get("WorkingDir") or "/"
    if not isinstance(raw_workdir, str):
        raise InvalidImageError("image config: WorkingDir must be a string")
    check_text(raw_workdir, "WorkingDir")
    # Relative or escaping working directories are taken inside the image root.
    workdir = posixpath.normpath(posixpath.join("/", raw_workdir))
    workdir = "/" + workdir.lstrip("/")
    workdir_exists = tree_is_dir(unpacked.tree, workdir)
    if not workdir_exists:
        warnings.append(f"working directory {workdir} does not exist in the image; it is created")

    user_text = config.get("User") or ""
    if not isinstance(user_text, str):
        raise InvalidImageError("image config: User must be a string")
    check_text(user_text, "User")
    user = resolve_user(unpacked, user_text)
    env_keys = {e.split("=", 1)[0] for e in env}
    if "HOME" not in env_keys:
        env.append(f"HOME={user.home or '/'}")  # runc's rule: passwd entry, else /

    path_var = next(e.split("=", 1)[1] for e in env if e.startswith("PATH="))
    exec_path = find_program(unpacked.tree, argv[0], path_var, workdir)
    exec_kind, realpath = "missing", None
    interpreter: tuple[str, ...] = ()
    if exec_path is not None:
        realpath = unpacked.tree.realpath(exec_path)
        head = read_small(unpacked, exec_path, SHEBANG_MAX) or b""
        if head.startswith(b"\x7fELF"):
            exec_kind = "elf"
        elif head.startswith(b"#!"):
            exec_kind, interpreter = "script", parse_shebang(head)
        else:
            exec_kind = "other"

    stop = config.get("StopSignal")
    if stop is not None and (not isinstance(stop, str) or not _SIGNAL_RE.fullmatch(stop)):
        warnings.append(f"stop signal {str(stop)[:40]!r} ignored: not a signal name or number")
        stop = None

    return RunSpec(
        argv=argv,
        entrypoint_argc=entry_argc,
        env=tuple(env),
        workdir=workdir,
        workdir_exists=workdir_exists,
        user=user,
        exposed_ports=_ports(config.get("ExposedPorts"), warnings),
        stop_signal=stop,
        exec_path=exec_path,
        exec_realpath=realpath,
        exec_kind=exec_kind,
        interpreter=interpreter,
        shell_form=len(argv) >= 2 and argv[0] in ("/bin/sh", "sh") and argv[1] == "-c",
        volumes=_volumes(config.get("Volumes"), warnings),
        warnings=tuple(warnings),
    )


def tree_is_dir(tree: Tree, path: str) -> bool:
    return isinstance(tree.lookup(path), DirNode)
