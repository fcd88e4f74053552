"""The .uni file: a PVH-bootable ELF kernel carrying its own description.

The link stage stores a JSON document in a non-loaded ELF section,
``.dock2uni.meta`` (source image digest, argv, shim families, sizes...), so the
image describes itself and `dock2uni inspect app.uni` needs nothing else. The
section costs no guest memory: it has no SHF_ALLOC flag and no segment.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def read_sections(data: bytes, *, what: str) -> list[Section]:
    """Section headers of an ELF64 little-endian file (bounds-checked)."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise OutputError(f"{what} is not a 64-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shentsize != 64 or shoff + shnum * 64 > len(data) or shstrndx >= max(shnum, 1):
        raise OutputError(f"{what} has a malformed section table")
    raw = []
    for i in range(shnum):
        name_off, typ, flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * 64
        )
        raw.append((name_off, typ, flags, offset, size))
    strtab = raw[shstrndx]
    if strtab[3] + strtab[4] > len(data):
        raise OutputError(f"{what} has a malformed section name table")
    names = data[strtab[3] : strtab[3] + strtab[4]]
    out = []
    for name_off, typ, flags, offset, size in raw:
        end = names.find(b"\0", name_off)
        name = names[name_off:end].decode("ascii", "replace") if end >= 0 else "?"
        out.append(Section(name, typ, flags, offset, size))
    return out


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata a .uni file carries; OutputError if it is not one of ours."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror}") from None
    for sec in read_sections(data, what=str(path)):
        if sec.name == META_SECTION:
            if sec.offset + sec.size > len(data):
                break
            try:
                doc = json.loads(data[sec.offset : sec.offset + sec.size])
            except ValueError:
                break
            if isinstance(doc, dict):
                return doc
            break
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


def loaded_sizes(data: bytes, *, what: str) -> tuple[int, int]:
    """(kernel bytes, rootfs bytes) that the guest loads: allocated sections' sizes."""
    kernel = rootfs = 0
    for sec in read_sections(data, what=what):
        if not sec.flags & SHF_ALLOC:
            continue
        if sec.name == ROOTFS_SECTION:
            rootfs += sec.size
        else:
            kernel += sec.size
    return kernel, rootfs
