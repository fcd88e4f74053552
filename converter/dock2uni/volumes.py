"""`run -v/--volume` and `--mount` parsed as `docker run` parses them (docs/volumes-run.md).

A request names what the guest gets at a path: a host directory (bind), a named volume
in dock2uni's data directory (volstore.py), or an anonymous one. Requests are resolved
to host directories only when the image is known (volmount.py): a new volume is filled
from the image first, as Docker does. Guest paths are absolute and normalised; the
kernel's own trees and duplicates are refused, as is anything the unikernel cannot
honour (a single-file bind, SELinux relabelling, mount propagation, volume drivers).
"""

from __future__ import annotations

import csv
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

# Docker's local volume names (daemon/names: RestrictedNamePattern).
VOLUME_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
# Trees the library OS provides itself: a volume cannot hide them.
KERNEL_TREES = ("/proc", "/sys", "/dev")
TRUE_WORDS = {"", "1", "true"}
FALSE_WORDS = {"0", "false"}


class VolumeUsageError(Exception):
    """A bad or unsupported -v/--mount value; ``option`` names the option (exit 2)."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True, kw_only=True)
class VolumeRequest:
    """One volume the user asked for, before the host side exists.

    kind: "bind" (``source`` is an absolute host directory), "volume" (``source`` is a
    volume name) or "anonymous" (``source`` is None: a fresh volume with a random name).
    ``create_source``: a missing bind source is made (``-v``'s rule; --mount refuses).
    ``copy_up``: an empty volume is first filled with the image's files at ``target``.
    """

    kind: str
    source: str | None
    target: str
    readonly: bool = False
    create_source: bool = False
    copy_up: bool = True


def guest_path(text: str, option: str) -> str:
    """An absolute, normalised guest path that is not the root or a kernel tree."""
    if "\0" in text:
        raise VolumeUsageError("the destination holds a NUL byte", option)
    if not text.startswith("/"):
        raise VolumeUsageError(
            f"invalid mount config: the destination {text!r} is not an absolute path", option
        )
    norm = "/" + posixpath.normpath(text).lstrip("/")
    if norm == "/":
        raise VolumeUsageError("invalid mount config: the destination can't be '/'", option)
    for tree in KERNEL_TREES:
        if norm == tree or norm.startswith(tree + "/"):
            raise VolumeUsageError(
                f"{norm} cannot be a volume: the library OS provides {tree} itself", option
            )
    return norm


def check_volume_name(name: str, option: str) -> str:
    if not VOLUME_NAME_RE.fullmatch(name):
        raise VolumeUsageError(
            f"{name!r} includes invalid characters for a local volume name, only "
            f'"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path",
            option,
        )
    return name


def _host_dir(text: str, option: str) -> str:
    if "\0" in text:
        raise VolumeUsageError("the source holds a NUL byte", option)
    return posixpath.normpath(text)


def parse_volume(text: str) -> VolumeRequest:
    """-v [SOURCE:]DEST[:OPTIONS]: SOURCE absolute is a host directory (made when missing,
    as Docker's -v does), else a volume name; DEST alone is an anonymous volume.
    OPTIONS: ro, rw, nocopy (comma-separated)."""
    option = "--volume"
    parts = text.split(":")
    if len(parts) > 3 or not all(parts):
        raise VolumeUsageError(
            f"invalid volume specification {text!r}: expected [SOURCE:]DEST[:ro|:rw]", option
        )
    if len(parts) == 1:
        return VolumeRequest(kind="anonymous", source=None, target=guest_path(parts[0], option))
    source, target = parts[0], guest_path(parts[1], option)
    readonly, copy_up = False, True
    seen: set[str] = set()
    for word in parts[2].split(",") if len(parts) == 3 else ():
        if word in seen or (word in ("ro", "rw") and seen & {"ro", "rw"}):
            raise VolumeUsageError(f"invalid mode {parts[2]!r}: {word} given twice", option)
        seen.add(word)
        if word in ("ro", "rw"):
            readonly = word == "ro"
        elif word == "nocopy":
            copy_up = False
        elif word in ("private", "rprivate"):
            pass  # no propagation: what a QEMU-served tree has anyway (Docker's default)
        else:
            raise VolumeUsageError(_unsupported_mode(word, text), option)
    if source.startswith("/"):
        if not copy_up:
            raise VolumeUsageError(
                f"invalid mode 'nocopy' for a host directory ({text!r}): only volumes are "
                "copied up",
                option,
            )
        return VolumeRequest(
            kind="bind",
            source=_host_dir(source, option),
            target=target,
            readonly=readonly,
            create_source=True,
        )
    return VolumeRequest(
        kind="volume",
        source=check_volume_name(source, option),
        target=target,
        readonly=readonly,
        copy_up=copy_up,
    )


def _unsupported_mode(word: str, text: str) -> str:
    if word in ("z", "Z"):
        why = "SELinux relabelling does not apply: the guest reaches the files through QEMU"
    elif word.lstrip("r") in ("shared", "slave"):
        why = "mount propagation does not apply: the guest has no mount namespaces to share"
    else:
        why = "not a mode docker run knows either"
    return f"invalid mode {word!r} in {text!r}: {why}; use ro, rw, nocopy or rprivate"


def _flag(key: str, value: str | None, option: str) -> bool:
    word = (value or "").lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise VolumeUsageError(f"invalid value for {key}: {value!r} (true or false)", option)


@dataclass(frozen=True)
class ParsedMount:
    """One --mount: a volume request, or the path of a tmpfs (then ``request`` is None)."""

    request: VolumeRequest | None
    tmpfs: str | None = None


MOUNT_KEYS = {
    "type": "type",
    "source": "source",
    "src": "source",
    "target": "target",
    "destination": "target",
    "dst": "target",
    "readonly": "readonly",
    "ro": "readonly",
    "volume-nocopy": "nocopy",
}


def parse_mount(text: str) -> ParsedMount:
    """--mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,volume-nocopy],
    CSV as Docker reads it. A missing bind source is refused (Docker's --mount rule)."""
    option = "--mount"
    try:
        (fields,) = list(csv.reader([text]))
    except (csv.Error, ValueError):
        raise VolumeUsageError(f"invalid mount specification {text!r}", option) from None
    got: dict[str, str | None] = {}
    for item in fields:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if key not in MOUNT_KEYS:
            raise VolumeUsageError(_unsupported_key(key, text), option)
        canon = MOUNT_KEYS[key]
        if canon in got:
            raise VolumeUsageError(f"{key} given twice in {text!r}", option)
        got[canon] = value if eq else None
    kind = got.get("type") or "volume"  # Docker's default type
    target_text = got.get("target")
    if not target_text:
        raise VolumeUsageError(f"invalid mount config: target is missing in {text!r}", option)
    target = guest_path(target_text, option)
    readonly = _flag("readonly", got["readonly"], option) if "readonly" in got else False
    nocopy = _flag("volume-nocopy", got["nocopy"], option) if "nocopy" in got else False
    source = got.get("source")
    if kind == "tmpfs":
        if source:
            raise VolumeUsageError("invalid mount config: a tmpfs mount takes no source", option)
        if readonly:
            raise VolumeUsageError(
                "a read-only tmpfs is not supported: it would stay empty", option
            )
        return ParsedMount(None, tmpfs=target)
    if kind not in ("bind", "volume"):
        raise VolumeUsageError(
            f"mount type {kind!r} is not supported: use bind, volume or tmpfs", option
        )
    if nocopy and kind != "volume":
        raise VolumeUsageError("volume-nocopy applies to type=volume only", option)
    if kind == "bind":
        if not source:
            raise VolumeUsageError("invalid mount config: a bind mount needs a source", option)
        if not source.startswith("/"):
            raise VolumeUsageError(
                f"invalid mount config: the bind source {source!r} is not an absolute path",
                option,
            )
        request = VolumeRequest(
            kind="bind", source=_host_dir(source, option), target=target, readonly=readonly
        )
        return ParsedMount(request)
    if not source:
        return ParsedMount(
            VolumeRequest(kind="anonymous", source=None, target=target, readonly=readonly,
                          copy_up=not nocopy)
        )  # fmt: skip
    name = check_volume_name(source, option)
    return ParsedMount(
        VolumeRequest(kind="volume", source=name, target=target, readonly=readonly,
                      copy_up=not nocopy)
    )  # fmt: skip


def _unsupported_key(key: str, text: str) -> str:
    if key.startswith("volume-driver") or key.startswith("volume-opt"):
        why = "only dock2uni's local volumes exist"
    elif key.startswith("tmpfs-"):
        why = "a tmpfs here is a directory of the guest's RAM filesystem: no size or mode"
    elif key.startswith("bind-"):
        why = "the host directory is served as one tree by QEMU: no propagation or recursion"
    else:
        why = "not a --mount key this tool knows"
    return f"{key!r} in {text!r} is not supported: {why}"


@dataclass(frozen=True)
class ParsedVolumes:
    requests: tuple[VolumeRequest, ...]
    tmpfs: tuple[str, ...]  # --mount type=tmpfs targets, added to --tmpfs


def parse_volumes(
    volumes: Sequence[str], mounts: Sequence[str], tmpfs: Sequence[str] = ()
) -> ParsedVolumes:
    """Every -v and --mount; a guest path given twice (volumes and tmpfs alike) is
    refused as Docker refuses it ("Duplicate mount point")."""
    requests: list[VolumeRequest] = []
    tmpfs_out: list[str] = []
    seen = set(tmpfs)
    items = [("--volume", v) for v in volumes] + [("--mount", m) for m in mounts]
    for option, text in items:
        if option == "--volume":
            request: VolumeRequest | None = parse_volume(text)
            target = request.target if request else ""
        else:
            parsed = parse_mount(text)
            request = parsed.request
            target = request.target if request else (parsed.tmpfs or "")
            if request is None:
                tmpfs_out.append(target)
        if target in seen:
            raise VolumeUsageError(f"Duplicate mount point: {target}", option)
        seen.add(target)
        if request is not None:
            requests.append(request)
    return ParsedVolumes(tuple(requests), tuple(tmpfs_out))
