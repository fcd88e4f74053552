"""`dock2uni run`'s container options, checked as `docker run` checks them.

-e/--env-file, -w, -u, --entrypoint, --tmpfs become kernel command-line words
(run.kernel_cmdline, docs/console-protocol.md) that the library OS applies at boot;
names in -u are resolved by the guest in the image's own /etc/passwd and /etc/group,
as runc resolves them inside the container. -v/--mount are parsed in volumes.py. What
a unikernel cannot honour (detaching) is refused with an error naming the option
(exit 2).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dock2uni.volumes import VolumeRequest, VolumeUsageError, parse_volumes

# runc's user forms: a name or a uid, optionally :group or :gid; names as useradd
# allows them (no colon, no whitespace, no NUL).
_USER_PART_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.@$-]*")
MAX_ID = 2**32 - 2  # 2^32-1 is (uid_t)-1, "no user"
_NAME_RE = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+")  # Docker's container names

DETACH_UNSUPPORTED = (
    "detached containers are not supported: `dock2uni run` stays in the foreground "
    "(run it under your shell's & or a service manager)"
)


@dataclass(frozen=True)
class ContainerOptions:
    env: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    tmpfs: tuple[str, ...] = ()
    volumes: tuple[VolumeRequest, ...] = ()


class RunUsageError(Exception):
    """A bad or unsupported `run` option; ``option`` names it (exit 2)."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


def env_item(item: str, option: str, host_env: Mapping[str, str]) -> str | None:
    """One -e or --env-file entry: KEY=VALUE as given; a bare KEY takes the host's
    value, and is left out when the host has none (docker run's rule)."""
    key = item.split("=", 1)[0]
    if not key:
        raise RunUsageError(f"expected KEY=VALUE or KEY, not {item!r}", option)
    if any(c.isspace() for c in key):
        raise RunUsageError(f"variable {key!r} contains whitespaces", option)
    if "=" in item:
        return item
    return f"{key}={host_env[key]}" if key in host_env else None


def read_env_file(path: str, host_env: Mapping[str, str]) -> list[str]:
    """Docker's --env-file: a KEY=VALUE (or KEY) per line, taken literally (no quotes
    removed); blank lines and lines starting with # are skipped."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RunUsageError(f"cannot read {path}: {exc.strerror}", "--env-file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RunUsageError(f"{path} is not UTF-8 text", "--env-file") from None
    out = []
    for raw in text.splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        item = env_item(line, "--env-file", host_env)
        if item is not None:
            out.append(item)
    return out


def container_env(
    env: Sequence[str], env_files: Sequence[str], host_env: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """--env-file entries first, then -e, so -e wins (the guest applies them in order)."""
    host = os.environ if host_env is None else host_env
    out: list[str] = []
    for path in env_files:
        out += read_env_file(path, host)
    for item in env:
        value = env_item(item, "--env", host)
        if value is not None:
            out.append(value)
    return tuple(out)


def check_workdir(text: str | None) -> str | None:
    """-w must be absolute, as docker run requires; it is created when missing."""
    if text is None:
        return None
    if not text.startswith("/"):
        raise RunUsageError(
            f"the working directory {text!r} is invalid, it needs to be an absolute path",
            "--workdir",
        )
    if "\0" in text:
        raise RunUsageError("the working directory holds a NUL byte", "--workdir")
    return posixpath.normpath(text).replace("//", "/")


def check_user(text: str | None) -> str | None:
    """-u USER[:GROUP]: a name or uid, and a group name or gid; names are looked up at
    boot in the image's /etc/passwd and /etc/group."""
    if text is None:
        return None
    user, colon, group = text.partition(":")
    for part, what in ((user, "user"), (group, "group")):
        if part == "" and (what == "user" or colon):
            raise RunUsageError(f"expected USER[:GROUP], not {text!r}", "--user")
        if part.isascii() and part.isdigit():
            if len(part) > 10 or int(part) > MAX_ID:
                raise RunUsageError(f"{what} id {part} is out of range", "--user")
        elif part and not _USER_PART_RE.fullmatch(part):
            raise RunUsageError(f"{what} {part!r} is not a valid name or id", "--user")
    return text


def check_tmpfs(items: Sequence[str]) -> tuple[str, ...]:
    """--tmpfs PATH[:OPTIONS]: an empty writable directory at PATH. Mount options are
    refused (there is no mount: the whole root filesystem is RAM)."""
    out = []
    for item in items:
        path, colon, opts = item.partition(":")
        if colon:
            raise RunUsageError(
                f"mount options ({opts!r}) are not supported: give just the path", "--tmpfs"
            )
        if not path.startswith("/"):
            raise RunUsageError(f"{path!r} is not an absolute path", "--tmpfs")
        norm = posixpath.normpath(path).replace("//", "/")
        if norm in ("/", "/proc", "/sys", "/dev") or norm.startswith(("/proc/", "/sys/")):
            raise RunUsageError(f"{norm} cannot be a tmpfs here", "--tmpfs")
        out.append(norm)
    return tuple(out)


def check_name(name: str | None) -> None:
    """--name: Docker's rule for container names. The name has no other use here: there
    is no container registry to find it in, and the host name defaults to a random id
    in Docker too."""
    if name is not None and not _NAME_RE.fullmatch(name):
        raise RunUsageError(
            f"invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            "--name",
        )


def check_volumes(
    volumes: Sequence[str], mounts: Sequence[str], tmpfs: Sequence[str]
) -> tuple[tuple[VolumeRequest, ...], tuple[str, ...]]:
    """-v and --mount (volumes.py) with the --tmpfs paths (checked): (volume requests,
    every tmpfs path, --mount type=tmpfs ones added)."""
    try:
        parsed = parse_volumes(volumes, mounts, tmpfs)
    except VolumeUsageError as exc:
        raise RunUsageError(str(exc), exc.option) from None
    return parsed.requests, (*tmpfs, *parsed.tmpfs)


def refuse(detach: bool) -> None:
    """Options a unikernel cannot honour: an error naming them, never ignored."""
    if detach:
        raise RunUsageError(DETACH_UNSUPPORTED, "--detach")
