"""Read a cpio "newc" archive in place: the rootfs a .uni embeds, or its .cpio initrd.

Only the headers are read while listing; data stays in the file and is read on demand
(offset, size), so listing a large rootfs costs one seek per entry. Hostile input gets
an OutputError: a bad magic, a field that is not hex, an entry running past the end.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dock2uni.errors import OutputError
from dock2uni.fs.cpio import CHECK_PACKED, MAGIC, TRAILER
from dock2uni.uni import ROOTFS_SECTION, read_sections

HEADER = 110
MAX_NAME = 1 << 16


@dataclass(frozen=True)
class CpioEntry:
    path: str  # absolute inside the image ("/" is the root)
    ino: int
    mode: int
    uid: int
    gid: int
    nlink: int
    mtime: int
    size: int
    offset: int  # of the data in the file
    rdev: tuple[int, int]
    packed: bool = False  # the data is an LZ4 container (fs/cpio.py: check field 1)


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def entries(f: BinaryIO, start: int, end: int, *, what: str) -> Iterator[CpioEntry]:
    """The entries of the archive at ``f[start:end]``, up to its trailer."""
    pos = start
    while True:
        f.seek(pos)
        head = f.read(HEADER)
        if len(head) < HEADER or pos + HEADER > end or head[:6] != MAGIC:
            raise OutputError(f"{what}: the root filesystem archive is damaged at byte {pos}")
        try:
            fields = [int(head[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise OutputError(f"{what}: a cpio header at byte {pos} is not hex") from None
        ino, mode, uid, gid, nlink, mtime, size, _, _, rmaj, rmin, namesize, check = fields
        if not 0 < namesize <= MAX_NAME:
            raise OutputError(f"{what}: a cpio name at byte {pos} is {namesize} bytes long")
        raw = f.read(namesize)
        name = raw[:-1].decode("utf-8", "surrogateescape")
        data = pos + HEADER + namesize + _pad4(HEADER + namesize)
        if data + size > end or len(raw) != namesize:
            raise OutputError(f"{what}: the cpio entry {name!r} runs past the archive's end")
        if name == TRAILER:
            return
        path = "/" if name == "." else "/" + name.lstrip("/")
        packed = check == CHECK_PACKED
        yield CpioEntry(path, ino, mode, uid, gid, nlink, mtime, size, data, (rmaj, rmin), packed)
        pos = data + size + _pad4(size)


def rootfs_region(image: Path, initrd: Path | None) -> tuple[Path, int, int]:
    """(file, start, end) of the rootfs archive: the initrd when given, else the .uni's
    own .rootfs section."""
    if initrd is not None:
        return initrd, 0, initrd.stat().st_size
    with image.open("rb") as f:
        size = f.seek(0, io.SEEK_END)
        for sec in read_sections(f, what=str(image)):
            if sec.name == ROOTFS_SECTION and sec.offset + sec.size <= size:
                return image, sec.offset, sec.offset + sec.size
    raise OutputError(f"{image} has no embedded root filesystem ({ROOTFS_SECTION} section)")
