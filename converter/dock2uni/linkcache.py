"""Linked images cached by everything that goes into them, so an unchanged convert skips the link.

A warm convert of a large image spent most of its time re-doing the same link: writing
the cpio (80 MiB for nginx), assembling it, ``ld``, ``objcopy``, and copying the result.
``key()`` hashes every input of that link: the generated C (``image_config_c``), the
rootfs assembly, each cpio entry as the writer would encode it (path, inode grouping,
mode, owner, mtime, size, content digest, symlink target, device numbers), the metadata
that goes into the meta section (with the sizes left out: they follow from the rest),
the library OS artifacts' bytes, the source of the modules that write the image, and
dock2uni's version. Equal keys give byte-identical images.

Entries live in ``<cache>/linked/<key>.uni`` (+ ``.cpio`` with ``--initrd``) next to a
JSON record of their sha256 and the two sizes link_image needs for its metadata. The
cache is untrusted (docs/security.md): the record is read with ``open_regular`` and
checked field by field, and a hit is copied to the output while hashing it; a damaged
or truncated entry is removed and the image linked again. At most ``KEEP`` entries stay
(least recently used first out): each is an image's size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dock2uni import __version__
from dock2uni.fs.cachedir import open_regular, subdir
from dock2uni.fs.tree import DeviceNode, FileNode, Node, SymlinkNode

FORMAT = 2  # 2: records carry the rootfs's uncompressed size and its packed files' bytes
KEEP = 6
CHUNK = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
_WRITERS = ("link.py", "linkcache.py", "fs/cpio.py", "uni.py")  # code that shapes the bytes


@dataclass(frozen=True, kw_only=True)
class Sizes:
    """What link_image's metadata needs from a link: the loaded kernel and the cpio (its
    stored size, the size it would have uncompressed, and the uncompressed bytes of the
    files it holds compressed: fs/cpio.py)."""

    kernel: int
    rootfs: int
    rootfs_uncompressed: int
    packed_bytes: int = 0


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _entries_digest(entries: Sequence[tuple[str, Node]]) -> str:
    """Every field of every cpio header and which content follows it (fs/cpio.py)."""
    h = hashlib.sha256()
    inodes: dict[int, int] = {}
    for path, node in entries:
        ino = inodes.setdefault(id(node), len(inodes) + 1)
        extra: tuple[object, ...] = ()
        if isinstance(node, FileNode):
            extra = (node.size, node.digest)
        elif isinstance(node, SymlinkNode):
            extra = (node.target,)
        elif isinstance(node, DeviceNode):
            extra = (node.major, node.minor)
        fields = (path, ino, node.st_mode, node.uid, node.gid, node.mtime, *extra)
        h.update(json.dumps(fields, ensure_ascii=True).encode() + b"\n")
    return h.hexdigest()


def key(
    *,
    config_c: str,
    rootfs_asm: str,
    entries: Sequence[tuple[str, Node]],
    metadata: Mapping[str, Any],
    libos: Path,
    artifacts: Sequence[str],
    compress: bool,
) -> str:
    """The cache key of one link (see the module docstring)."""
    here = Path(__file__).resolve().parent
    doc = {
        "format": FORMAT,
        "dock2uni": __version__,
        "code": {name: _file_digest(here / name) for name in _WRITERS},
        "libos": {name: _file_digest(libos / name) for name in artifacts},
        "config_c": config_c,
        "rootfs_asm": rootfs_asm,
        "entries": _entries_digest(entries),
        "compress": compress,  # the same entries packed or not are different archives
        "metadata": metadata,
    }
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _folder(cache_dir: Path) -> Path:
    return subdir(cache_dir, "linked")  # a symlink or a file there: OutputError (15)


def _record(folder: Path, k: str) -> dict[str, Any] | None:
    try:
        with open_regular(folder / f"{k}.json") as f:
            data = json.loads(f.read(4096))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != k:
        return None
    for name in ("kernel", "rootfs", "rootfs_uncompressed", "packed_bytes", "uni_size"):
        if type(data.get(name)) is not int or data[name] < 0:
            return None
    for name in ("uni_sha256", "cpio_sha256"):
        value = data.get(name)
        if value is not None and not (isinstance(value, str) and _HEX64.fullmatch(value)):
            return None
    return data


def _copy_checked(src: Path, dest: Path, sha256: str, size: int) -> bool:
    """Copy ``src`` to ``dest`` hashing it; False (and ``dest`` removed) if it differs."""
    h = hashlib.sha256()
    n = 0
    try:
        with open_regular(src) as f, dest.open("wb") as out:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
                n += len(chunk)
    except OSError:
        ok = False
    else:
        ok = n == size and h.hexdigest() == sha256
    if not ok:
        with contextlib.suppress(OSError):
            dest.unlink()
    return ok


def _drop(folder: Path, k: str) -> None:
    for suffix in (".json", ".uni", ".cpio"):
        with contextlib.suppress(OSError):
            (folder / f"{k}{suffix}").unlink()


def fetch(cache_dir: Path, k: str, output: Path, initrd: Path | None) -> Sizes | None:
    """Write the cached image of ``k`` to ``output`` (and its cpio to ``initrd``), each
    checked against its recorded sha256; None on a miss or a damaged entry (removed)."""
    folder = _folder(cache_dir)
    data = _record(folder, k)
    if data is None or (initrd is not None) != (data.get("cpio_sha256") is not None):
        return None
    ok = _copy_checked(folder / f"{k}.uni", output, data["uni_sha256"], data["uni_size"])
    if ok and initrd is not None:
        cpio_size = data.get("cpio_size")
        ok = type(cpio_size) is int and _copy_checked(
            folder / f"{k}.cpio", initrd, data["cpio_sha256"], cpio_size
        )
    if not ok:
        _drop(folder, k)
        return None
    with contextlib.suppress(OSError):
        os.utime(folder / f"{k}.json")  # recently used: evicted last
    return Sizes(
        kernel=data["kernel"],
        rootfs=data["rootfs"],
        rootfs_uncompressed=data["rootfs_uncompressed"],
        packed_bytes=data["packed_bytes"],
    )


def put(cache_dir: Path, k: str, uni: Path, cpio: Path | None, sizes: Sizes) -> None:
    """Move a freshly linked image (and cpio) into the cache; the record is written last,
    so a crash in between leaves files no record names (swept by the next put)."""
    folder = _folder(cache_dir)
    record: dict[str, Any] = {
        "format": FORMAT,
        "key": k,
        "kernel": sizes.kernel,
        "rootfs": sizes.rootfs,
        "rootfs_uncompressed": sizes.rootfs_uncompressed,
        "packed_bytes": sizes.packed_bytes,
        "uni_sha256": _file_digest(uni),
        "uni_size": uni.stat().st_size,
        "cpio_sha256": _file_digest(cpio) if cpio is not None else None,
        "cpio_size": cpio.stat().st_size if cpio is not None else None,
    }
    try:
        os.replace(uni, folder / f"{k}.uni")  # the work directory is in the same cache
        if cpio is not None:
            os.replace(cpio, folder / f"{k}.cpio")
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(record))
        os.replace(tmp, folder / f"{k}.json")
    except OSError:
        _drop(folder, k)
        return
    _evict(folder)


def _evict(folder: Path) -> None:
    """Keep the KEEP most recently used entries; remove the rest and strays."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    records = []
    for name in names:
        if name.endswith(".json"):
            with contextlib.suppress(OSError):
                records.append((os.lstat(folder / name).st_mtime_ns, name[: -len(".json")]))
    records.sort(reverse=True)
    kept = {k for _t, k in records[:KEEP]}
    for name in names:
        stem, _dot, _suffix = name.partition(".")
        if stem not in kept:
            with contextlib.suppress(OSError):  # a directory planted here is left alone
                (folder / name).unlink()
