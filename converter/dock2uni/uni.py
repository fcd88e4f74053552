"""The .uni file: a PVH-bootable ELF kernel carrying its own description.

The link stage stores a JSON document in a non-loaded ELF section,
``.dock2uni.meta`` (source image digest, argv, shim families, sizes...), so the
image describes itself and `dock2uni inspect app.uni` needs nothing else. The
section costs no guest memory: it has no SHF_ALLOC flag and no segment.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from dock2uni.errors import OutputError

META_SECTION = ".dock2uni.meta"
ROOTFS_SECTION = ".rootfs"
SHF_ALLOC = 0x2
SHT_NOBITS = 8


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    flags: int
    offset: int
    size: int


def _read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def read_sections(f: BinaryIO, *, what: str) -> list[Section]:
    """Section headers of an ELF64 little-endian file (bounds-checked).

    Reads only the header, the section table and the name table, never the
    (possibly large) rootfs, so it is cheap on any image size."""
    end = f.seek(0, io.SEEK_END)
    head = _read_at(f, 0, 64)
    if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        raise OutputError(
            f"{what} is not a 64-bit little-endian ELF file",
            hint="Pass a .uni file written by `dock2uni convert`.",
        )
    (shoff,) = struct.unpack_from("<Q", head, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
    if shentsize != 64 or shoff + shnum * 64 > end or shstrndx >= max(shnum, 1):
        raise OutputError(
            f"{what} has a malformed section table",
            hint="Pass a .uni file written by `dock2uni convert`.",
        )
    table = _read_at(f, shoff, shnum * 64)
    raw = [struct.unpack_from("<IIQQQQ", table, i * 64) for i in range(shnum)]
    _, _, _, _, str_offset, str_size = raw[shstrndx]
    if str_offset + str_size > end:
        raise OutputError(
            f"{what} has a malformed section name table",
            hint="Pass a .uni file written by `dock2uni convert`.",
        )
    names = _read_at(f, str_offset, str_size)
    out = []
    for name_off, typ, flags, _addr, offset, size in raw:
        stop = names.find(b"\0", name_off)
        name = names[name_off:stop].decode("ascii", "replace") if stop >= 0 else "?"
        out.append(Section(name, typ, flags, offset, size))
    return out


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata a .uni file carries; OutputError if it is not one of ours."""
    try:
        with path.open("rb") as f:
            end = f.seek(0, io.SEEK_END)
            for sec in read_sections(f, what=str(path)):
                if sec.name != META_SECTION or sec.offset + sec.size > end:
                    continue
                try:
                    doc = json.loads(_read_at(f, sec.offset, sec.size))
                except ValueError:
                    break
                if isinstance(doc, dict):
                    return doc
                break
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror}") from None
    raise OutputError(
        f"{path} is not a unikernel image written by dock2uni (no {META_SECTION} section)",
        hint="Create one with `dock2uni convert SOURCE -o app.uni`.",
    )


def is_uni_file(path: Path) -> bool:
    """Cheap check used by the CLI to tell a .uni argument from an image SOURCE."""
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def loaded_sizes(path: Path) -> tuple[int, int]:
    """(kernel bytes, rootfs bytes) that the guest loads: allocated sections' sizes."""
    kernel = rootfs = 0
    with path.open("rb") as f:
        sections = read_sections(f, what=str(path))
    for sec in sections:
        if not sec.flags & SHF_ALLOC:
            continue
        if sec.name == ROOTFS_SECTION:
            rootfs += sec.size
        else:
            kernel += sec.size
    return kernel, rootfs
