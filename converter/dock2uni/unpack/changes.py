"""One layer entry as the applier sees it: a validated, normalised filesystem change.

Interface:
  * ``Change``: kind, normalised path and metadata; regular files carry the digest
    of their content (already in the ContentStore), not the bytes.
  * ``change_from_entry(entry, limits)`` turns a ``TarEntry`` into a ``Change``
    (or None for AUFS metadata that is skipped), enforcing every name rule.
  * ``normalise_path(raw, limits, what)`` is the name rule on its own: strip
    leading ``/`` and ``./``, drop ``.``, resolve ``..`` lexically and refuse any
    that would climb above the image root; cap path bytes, name bytes and depth.

The same records are replayed from the per-layer cache, so a cached layer goes
through exactly the checks a freshly read one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dock2uni.context import Limits
from dock2uni.errors import LimitExceededError, UnsafeLayerError
from dock2uni.unpack import tarstream

# Kinds besides tarstream's entry kinds.
WHITEOUT = "whiteout"  # delete ``path`` from lower layers
OPAQUE = "opaque"  # hide every lower-layer child of directory ``path``

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
AUFS_META_PREFIX = ".wh..wh."  # AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs, ...)
MAX_ID = (1 << 32) - 1

KINDS = frozenset(
    {
        tarstream.FILE,
        tarstream.HARDLINK,
        tarstream.SYMLINK,
        tarstream.CHAR,
        tarstream.BLOCKDEV,
        tarstream.DIR,
        tarstream.FIFO,
        WHITEOUT,
        OPAQUE,
    }
)


@dataclass(slots=True)
class Change:
    """A normalised entry. ``path`` has no leading '/', '' is the root; ``link`` is a
    hardlink's normalised target or a symlink's target verbatim."""

    kind: str
    path: str
    mode: int = 0
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    size: int = 0
    digest: str = ""
    link: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _encoded_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def normalise_path(raw: str, limits: Limits, what: str = "entry") -> str:
    """The entry name relative to the image root; see the module docstring."""
    if not raw:
        raise UnsafeLayerError(f"tar {what} with an empty name")
    if "\0" in raw:
        raise UnsafeLayerError(f"tar {what} name contains a NUL byte: {raw[:200]!r}")
    ascii_only = raw.isascii()
    size = len(raw) if ascii_only else _encoded_len(raw)
    if size > limits.max_path_bytes:
        raise LimitExceededError(
            f"tar {what} name is {size} bytes long "
            f"(limit {limits.max_path_bytes}): {raw[:100]!r}..."
        )
    parts = raw.split("/")
    if "" in parts or "." in parts or ".." in parts:
        parts = _clean(parts, raw, what)
    if len(parts) > limits.max_path_depth:
        raise LimitExceededError(
            f"tar {what} is {len(parts)} directories deep (limit {limits.max_path_depth})"
        )
    lengths = map(len, parts) if ascii_only else map(_encoded_len, parts)
    if parts and max(lengths) > limits.max_name_bytes:
        longest = max(parts, key=_encoded_len)
        raise LimitExceededError(
            f"tar {what} has a name component of {_encoded_len(longest)} bytes "
            f"(limit {limits.max_name_bytes}): {longest[:100]!r}..."
        )
    return "/".join(parts)


def _clean(parts: list[str], raw: str, what: str) -> list[str]:
    """Drop empty and '.' components, apply '..' lexically, refuse climbing out."""
    out: list[str] = []
    for comp in parts:
        if comp in ("", "."):
            continue
        if comp == "..":
            if not out:
                raise UnsafeLayerError(
                    f"tar {what} {raw[:200]!r} points outside the image root",
                    hint="The layer tries a path traversal ('..'); do not use this image.",
                )
            out.pop()
            continue
        out.append(comp)
    return out


def _check_ids(entry: tarstream.TarEntry) -> None:
    for name, value in (("uid", entry.uid), ("gid", entry.gid)):
        if value > MAX_ID:
            raise UnsafeLayerError(
                f"tar entry {entry.name[:200]!r} has {name} {value}, above 2^32-1"
            )


def _whiteout(entry: tarstream.TarEntry, parent: str, base: str) -> Change:
    """Classify a final component starting with '.wh.'; refuse malformed whiteouts."""
    if entry.kind == tarstream.DIR:
        raise UnsafeLayerError(
            f"whiteout {entry.name[:200]!r} is a directory",
            hint="Whiteouts must be files; the layer is malformed or malicious.",
        )
    if entry.size:
        raise UnsafeLayerError(f"whiteout {entry.name[:200]!r} has content ({entry.size} bytes)")
    if base == OPAQUE_MARKER:
        return Change(kind=OPAQUE, path=parent)
    target = base[len(WHITEOUT_PREFIX) :]
    if target in ("", ".", ".."):
        raise UnsafeLayerError(
            f"whiteout {entry.name[:200]!r} names {'nothing' if not target else repr(target)}",
            hint="A whiteout must name a file; the layer is malformed or malicious.",
        )
    return Change(kind=WHITEOUT, path=f"{parent}/{target}" if parent else target)


def change_from_entry(entry: tarstream.TarEntry, limits: Limits) -> Change | None:
    """Validate and normalise one tar entry; None means 'skip it' (AUFS metadata)."""
    path = normalise_path(entry.name, limits)
    if WHITEOUT_PREFIX in path:
        parent, _, base = path.rpartition("/")
        if any(c.startswith(WHITEOUT_PREFIX) for c in parent.split("/")):
            if any(c.startswith(AUFS_META_PREFIX) for c in parent.split("/")):
                return None
            raise UnsafeLayerError(
                f"tar entry {entry.name[:200]!r} lies inside a whiteout",
                hint="Whiteouts must be files; the layer is malformed or malicious.",
            )
        if base.startswith(WHITEOUT_PREFIX):
            if base.startswith(AUFS_META_PREFIX) and base != OPAQUE_MARKER:
                return None  # AUFS hardlink/bookkeeping dirs: not part of the image
            return _whiteout(entry, parent, base)
    _check_ids(entry)
    change = Change(
        kind=entry.kind,
        path=path,
        mode=entry.mode & 0o7777,
        uid=entry.uid,
        gid=entry.gid,
        mtime=entry.mtime,
        size=entry.size,
        xattrs=entry.xattrs,
    )
    if entry.kind == tarstream.HARDLINK:
        if not entry.linkname:
            raise UnsafeLayerError(f"hardlink {entry.name[:200]!r} has an empty target")
        change.link = normalise_path(entry.linkname, limits, "hardlink target")
    elif entry.kind == tarstream.SYMLINK:
        change.link = check_symlink_target(entry.linkname, entry.name, limits)
        change.mode = 0o777  # Linux symlinks have no mode of their own
    elif entry.kind in (tarstream.CHAR, tarstream.BLOCKDEV):
        change.devmajor = entry.devmajor
        change.devminor = entry.devminor
    return change


def check_symlink_target(target: str, name: str, limits: Limits) -> str:
    """A symlink's target is stored verbatim; only what symlink(2) would refuse is refused."""
    if not target:
        raise UnsafeLayerError(f"symlink {name[:200]!r} has an empty target")
    if "\0" in target:
        raise UnsafeLayerError(f"symlink {name[:200]!r} target contains a NUL byte")
    if _encoded_len(target) >= limits.max_path_bytes:
        raise LimitExceededError(
            f"symlink {name[:200]!r} target is {_encoded_len(target)} bytes "
            f"(limit {limits.max_path_bytes - 1})"
        )
    return target
