"""A strict streaming tar reader (ustar, GNU, PAX) that never loops, seeks or over-reads.

Why not ``tarfile``: CPython 3.11.7's reader has known infinite loops and ReDoS on
hostile headers (CVE-2019-20907, CVE-2024-6232, CVE-2025-8194) that we cannot patch.

Interface:
  * ``TarReader(stream, max_entry_bytes=..., max_path_bytes=...)`` over a stream
    whose ``read(n)`` returns ``n`` bytes unless at EOF (``io.BufferedReader``).
  * ``for entry in reader:`` yields ``TarEntry`` values; while an entry is current,
    ``reader.data`` reads its bytes (exactly ``entry.size``). Unread bytes are
    skipped when iteration moves on.
  * After the end-of-archive marker, trailing bytes are read and discarded to EOF
    (some generators append NULs) so the caller's digest checks see every byte.

Every header advances the stream by at least 512 bytes and every PAX record by at
least one byte, so parsing always terminates. Anything unusual is refused with
``UnsafeLayerError`` (malformed) or ``LimitExceededError`` (oversized).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from dock2uni.errors import LimitExceededError, UnsafeLayerError

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
SKIP_CHUNK = 1 << 20
# PAX/GNU extended headers that belong to one entry, in total. Linux caps one
# xattr value at 64 KiB and a path at 4 KiB, so 1 MiB leaves ample room.
MAX_EXTENDED_BYTES = 1 << 20

# Entry kinds (what the rest of unpack sees; tar typeflags stay in this file).
FILE = "file"
HARDLINK = "hardlink"
SYMLINK = "symlink"
CHAR = "char"
BLOCKDEV = "block"
DIR = "dir"
FIFO = "fifo"

_KINDS = {
    b"0": FILE,
    b"\0": FILE,
    b"7": FILE,  # contiguous file: a regular file everywhere that matters
    b"1": HARDLINK,
    b"2": SYMLINK,
    b"3": CHAR,
    b"4": BLOCKDEV,
    b"5": DIR,
    b"6": FIFO,
}
_HEADER_ONLY = frozenset({HARDLINK, SYMLINK, CHAR, BLOCKDEV, DIR, FIFO})
_PAX_LOCAL = b"x"
_PAX_GLOBAL = b"g"
_GNU_LONGNAME = b"L"
_GNU_LONGLINK = b"K"
_GNU_SPARSE = b"S"
_POSIX_MAGIC = b"ustar\x0000"
# name mode uid gid size mtime chksum typeflag linkname magic+version uname gname
# devmajor devminor prefix (POSIX; GNU keeps atime/ctime/sparse data there) padding
_HEADER = struct.Struct("100s8s8s8s12s12s8s1s100s8s32s32s8s8s155s12x")


@dataclass(slots=True)
class TarEntry:
    """One archive member after its extended headers have been merged in."""

    name: str  # as stored (decoded UTF-8, undecodable bytes kept via surrogateescape)
    kind: str  # FILE, HARDLINK, SYMLINK, CHAR, BLOCKDEV, DIR, FIFO
    size: int  # bytes of data that follow (0 for every kind but FILE)
    mode: int
    uid: int
    gid: int
    mtime: int
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _bad(message: str) -> UnsafeLayerError:
    return UnsafeLayerError(
        f"malformed tar archive: {message}",
        hint="The layer is not a well-formed tar archive; rebuild or re-export the image.",
    )


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _cstring(field_bytes: bytes) -> bytes:
    return field_bytes.split(b"\0", 1)[0]


def parse_number(field_bytes: bytes, what: str, *, signed: bool = False) -> int:
    """A numeric header field: octal text, or GNU base-256 when the top bit is set
    (two's complement; negative values only where ``signed``, i.e. for mtime)."""
    if field_bytes and field_bytes[0] & 0x80:
        if field_bytes[0] & 0x40:
            if not signed:
                raise _bad(f"negative {what}")
            return int.from_bytes(field_bytes, "big", signed=True)
        return int.from_bytes(bytes([field_bytes[0] & 0x3F]) + field_bytes[1:], "big")
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    # isdigit() first: int() alone would also take signs, '_' and surrounding space.
    if text.isdigit():
        try:
            return int(text, 8)
        except ValueError:
            pass  # an 8 or a 9
    raise _bad(f"{what} field is not an octal number: {text[:20]!r}")


def header_checksum_ok(block: bytes) -> bool:
    """Does the header's checksum field match its bytes (unsigned or historic signed sum)?"""
    field_bytes = block[148:156]
    if not field_bytes.split(b"\0", 1)[0].strip(b" "):
        return False
    try:
        stored = parse_number(field_bytes, "checksum")
    except UnsafeLayerError:
        return False
    unsigned = sum(block) - sum(field_bytes) + 8 * 0x20
    if stored == unsigned:
        return True
    high = block.translate(None, _LOW_BYTES)  # only the bytes >= 0x80 remain
    signed = unsigned - 256 * len(high) + 256 * len(field_bytes.translate(None, _LOW_BYTES))
    return stored == signed


_LOW_BYTES = bytes(range(0x80))


def parse_pax_records(data: bytes) -> list[tuple[str, bytes]]:
    """Records ``"<len> <key>=<value>\\n"``; each must advance (CVE-2019-20907 loop)."""
    records: list[tuple[str, bytes]] = []
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] == 0:  # some writers pad the record area with NULs
            if data[pos:].strip(b"\0"):
                raise _bad("data after NUL padding in a PAX header")
            break
        space = data.find(b" ", pos, min(end, pos + 20))
        digits = data[pos:space] if space > pos else b""
        if not digits or not digits.isdigit():
            raise _bad("PAX record without a decimal length")
        length = int(digits)
        record_end = pos + length
        # The length counts itself, the space, "k=" and the newline: anything
        # shorter is the zero-length (or non-advancing) record of CVE-2019-20907.
        if length < len(digits) + 4 or record_end > end:
            raise _bad(f"PAX record length {length} out of range")
        if data[record_end - 1] != 0x0A:
            raise _bad("PAX record does not end with a newline")
        key, eq, value = data[space + 1 : record_end - 1].partition(b"=")
        if not eq or not key:
            raise _bad("PAX record without a keyword")
        records.append((_decode(key), value))
        pos = record_end
    return records


class _EntryData(io.RawIOBase):
    """The current entry's bytes: reads stop at its size."""

    def __init__(self, reader: TarReader) -> None:
        super().__init__()
        self._reader = reader

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._reader.read_data(-1 if size is None else size)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._reader.read_data(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class TarReader:
    """Iterate over a tar stream's entries; see the module docstring."""

    def __init__(self, stream: BinaryIO, *, max_entry_bytes: int, max_path_bytes: int) -> None:
        self._stream = stream
        self._max_entry_bytes = max_entry_bytes
        self._max_path_bytes = max_path_bytes  # caps GNU long name/link records
        self._remaining = 0  # unread data bytes of the current entry
        self._padding = 0  # bytes after them up to the next 512-byte boundary
        self.data = _EntryData(self)
        self.trailing_bytes = 0  # bytes after the end-of-archive marker

    # -- data of the current entry ------------------------------------------------

    def read_data(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all remaining if negative) of the current entry."""
        want = self._remaining if size < 0 else min(size, self._remaining)
        if want <= 0:
            return b""
        chunk = self._stream.read(want)
        if len(chunk) != want:
            raise _bad("archive ends inside a file's data (truncated)")
        self._remaining -= want
        return chunk

    def _skip(self, count: int) -> None:
        while count:
            chunk = self._stream.read(min(count, SKIP_CHUNK))
            if not chunk:
                raise _bad("archive ends inside an entry (truncated)")
            count -= len(chunk)

    def _finish_entry(self) -> None:
        self._skip(self._remaining + self._padding)
        self._remaining = self._padding = 0

    def _read_payload(self, size: int, what: str) -> bytes:
        """An extended header's payload (already bounded by the caller) and its padding."""
        data = self._stream.read(size)
        if len(data) != size:
            raise _bad(f"archive ends inside a {what} (truncated)")
        self._skip(-size % BLOCK)
        return data

    # -- headers --------------------------------------------------------------------

    def _read_block(self) -> bytes:
        block = self._stream.read(BLOCK)
        if block and len(block) != BLOCK:
            raise _bad("archive ends inside a header (truncated)")
        return block

    def __iter__(self) -> Iterator[TarEntry]:
        pax: dict[str, bytes] = {}
        long_name: str | None = None
        long_link: str | None = None
        extended = 0  # bytes of extended headers pending for the next entry
        while True:
            self._finish_entry()
            block = self._read_block()
            if not block or block == ZERO_BLOCK:
                if pax or long_name is not None or long_link is not None:
                    raise _bad("extended header without a following entry")
                if block:
                    self._end_of_archive()
                return
            if not header_checksum_ok(block):
                raise _bad("header checksum mismatch")
            fields = _HEADER.unpack(block)
            typeflag = fields[7]
            size = parse_number(fields[4], "size")
            if typeflag in (_PAX_LOCAL, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK):
                extended += size
                if extended > MAX_EXTENDED_BYTES:
                    raise LimitExceededError(
                        f"tar extended headers of {extended} bytes for one entry "
                        f"(limit {MAX_EXTENDED_BYTES})"
                    )
                if typeflag in (_GNU_LONGNAME, _GNU_LONGLINK):
                    what = "GNU long name" if typeflag == _GNU_LONGNAME else "GNU long link"
                    if size > self._max_path_bytes + 1:
                        raise LimitExceededError(
                            f"{what} of {size} bytes (limit {self._max_path_bytes})"
                        )
                    raw = self._read_payload(size, what).rstrip(b"\0")
                    if b"\0" in raw:
                        raise UnsafeLayerError(f"{what} contains a NUL byte")
                    if typeflag == _GNU_LONGNAME:
                        long_name = _decode(raw)
                    else:
                        long_link = _decode(raw)
                    continue
                records = parse_pax_records(self._read_payload(size, "PAX header"))
                if typeflag == _PAX_GLOBAL:
                    # Global headers only carry archive comments in practice (git
                    # archive); Docker and Go ignore them for layers, and so do we.
                    continue
                for key, value in records:
                    if key.startswith("GNU.sparse."):
                        raise _sparse()
                    if value:
                        pax[key] = value
                    else:  # an empty value cancels the keyword (POSIX pax)
                        pax.pop(key, None)
                continue
            if typeflag == _GNU_SPARSE:
                raise _sparse()
            kind = _KINDS.get(typeflag)
            if kind is None:
                raise UnsafeLayerError(
                    f"tar entry with unsupported type flag {typeflag!r}",
                    hint="Only regular files, links, directories, devices and FIFOs are allowed.",
                )
            entry = self._entry(
                fields, kind, size, pax=pax, long_name=long_name, long_link=long_link
            )
            pax = {}
            long_name = long_link = None
            extended = 0
            if entry.size > self._max_entry_bytes:
                raise LimitExceededError(
                    f"tar entry {entry.name[:200]!r} declares {entry.size} bytes "
                    f"(limit {self._max_entry_bytes})"
                )
            self._remaining = entry.size
            self._padding = -entry.size % BLOCK
            yield entry

    def _entry(
        self,
        fields: tuple[bytes, ...],
        kind: str,
        size: int,
        *,
        pax: dict[str, bytes],
        long_name: str | None,
        long_link: str | None,
    ) -> TarEntry:
        (name_f, mode_f, uid_f, gid_f, _, mtime_f, _, typeflag, link_f, magic, *_) = fields
        if long_name is not None:
            name = long_name
        else:
            name_bytes = _cstring(name_f)
            if magic == _POSIX_MAGIC:
                prefix = _cstring(fields[14])
                if prefix:
                    name_bytes = prefix + b"/" + name_bytes
            name = _decode(name_bytes)
        linkname = long_link if long_link is not None else _decode(_cstring(link_f))
        if typeflag == b"\0" and name.endswith("/"):
            kind = DIR  # pre-POSIX archives mark directories by a trailing slash
        entry = TarEntry(
            name=name,
            kind=kind,
            size=size,
            mode=parse_number(mode_f, "mode"),
            uid=parse_number(uid_f, "uid"),
            gid=parse_number(gid_f, "gid"),
            mtime=parse_number(mtime_f, "mtime", signed=True),
            linkname=linkname,
        )
        if kind in (CHAR, BLOCKDEV):
            entry.devmajor = parse_number(fields[12], "devmajor")
            entry.devminor = parse_number(fields[13], "devminor")
        if pax:
            _apply_pax(entry, pax)
        if kind in _HEADER_ONLY:
            entry.size = 0  # as Go's archive/tar: these types never carry data
        return entry

    def _end_of_archive(self) -> None:
        """After one zero block: a second one (or EOF) ends the archive; then drain."""
        block = self._stream.read(BLOCK)
        if block.strip(b"\0"):
            raise _bad("a zero block followed by more entries (ambiguous end of archive)")
        self.trailing_bytes = 0
        while chunk := self._stream.read(SKIP_CHUNK):
            self.trailing_bytes += len(chunk)


def _sparse() -> UnsafeLayerError:
    return UnsafeLayerError(
        "tar entry is a GNU sparse file",
        hint="Sparse files are not supported in image layers (OCI layer.md: SHOULD NOT); "
        "rebuild the image without --sparse.",
    )


def _pax_int(value: bytes, key: str) -> int:
    if not value.isdigit() or len(value) > 30:
        raise _bad(f"PAX {key} is not a non-negative decimal number")
    return int(value)


def _pax_time(value: bytes) -> int:
    whole, _, frac = value.partition(b".")
    digits = whole[1:] if whole.startswith(b"-") else whole
    if not digits.isdigit() or len(digits) > 30 or (frac and not frac.isdigit()):
        raise _bad("PAX mtime is not a decimal number")
    return int(whole)


def _apply_pax(entry: TarEntry, pax: dict[str, bytes]) -> None:
    for key, value in pax.items():
        if key == "path":
            entry.name = _decode(value)
        elif key == "linkpath":
            entry.linkname = _decode(value)
        elif key == "size":
            entry.size = _pax_int(value, key)
        elif key == "uid":
            entry.uid = _pax_int(value, key)
        elif key == "gid":
            entry.gid = _pax_int(value, key)
        elif key == "mtime":
            entry.mtime = _pax_time(value)
        elif key.startswith("SCHILY.xattr."):
            entry.xattrs[key[len("SCHILY.xattr.") :]] = value
        # Other keywords (atime, ctime, uname, gname, comment, hdrcharset, SCHILY.*
        # metadata) do not change the filesystem we build and are ignored.
