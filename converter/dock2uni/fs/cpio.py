"""Write a cpio "newc" archive straight from the in-memory tree (the unikernel's rootfs).

newc (SVR4 without CRC) is what Linux initramfs and the library OS read: a
110-byte ASCII header per entry, name and data padded to 4 bytes, and a final
``TRAILER!!!``. Hardlinks share an inode number; as GNU cpio does, only the last
name of a link group carries the data, earlier ones have size 0.

With ``compress``, a regular file that LZ4 shrinks enough is stored as a container of
independent LZ4 blocks instead (``pack``; docs/rootfs-compression.md) and its header's
``check`` field, which newc leaves 0, is 1; the library OS decompresses it on first use.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

import lz4.block

from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DeviceNode, FileNode, Node, SymlinkNode

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
CHUNK = 1 << 20
# The container (libos/include/libos/lz4.h): magic, block size, uncompressed size, block
# count, one u32 per block (its stored length, bit 31 set when stored raw), the blocks.
PACK_MAGIC = b"d2uZ"
PACK_BLOCK = 64 << 10  # independent blocks: a fault could decode one (and lz4 stays fast)
PACK_RAW = 1 << 31
CHECK_PACKED = 1  # the header's check field of a compressed entry
# Worth it only for files of a few pages that shrink by at least a tenth: smaller ones
# save little and still cost a decode; the rest would cost RAM twice for nothing.
PACK_MIN_SIZE = 8 << 10
PACK_MIN_SAVING = 0.10


def pack(data: bytes) -> bytes:
    """``data`` as a compressed container (whether it pays is the caller's decision)."""
    blocks: list[bytes] = []
    table: list[int] = []
    for at in range(0, len(data), PACK_BLOCK):
        raw = data[at : at + PACK_BLOCK]
        packed = lz4.block.compress(raw, mode="high_compression", store_size=False)
        if len(packed) < len(raw):
            blocks.append(packed)
            table.append(len(packed))
        else:  # incompressible: stored as it is, the kernel copies it
            blocks.append(raw)
            table.append(len(raw) | PACK_RAW)
    head = PACK_MAGIC + struct.pack("<IQI", PACK_BLOCK, len(data), len(blocks))
    return head + struct.pack(f"<{len(table)}I", *table) + b"".join(blocks)


def unpack(blob: bytes) -> bytes:
    """The bytes of a container ``pack`` wrote (copy-up, tests); ValueError if damaged."""
    if len(blob) < 20 or blob[:4] != PACK_MAGIC:
        raise ValueError("not a compressed rootfs file")
    bsize, size, count = struct.unpack_from("<IQI", blob, 4)
    if bsize <= 0 or count != -(-size // bsize) or len(blob) < 20 + 4 * count:
        raise ValueError("a compressed rootfs file has a bad header")
    table = struct.unpack_from(f"<{count}I", blob, 20)
    at, out = 20 + 4 * count, []
    for i, stored in enumerate(table):
        n, want = stored & ~PACK_RAW, min(bsize, size - i * bsize)
        chunk = blob[at : at + n]
        if len(chunk) != n:
            raise ValueError("a compressed rootfs file is truncated")
        if stored & PACK_RAW:
            block = chunk
        else:
            try:
                block = lz4.block.decompress(chunk, uncompressed_size=want)
            except lz4.block.LZ4BlockError as exc:
                raise ValueError(f"a compressed rootfs block is damaged: {exc}") from None
        if len(block) != want:
            raise ValueError("a compressed rootfs block has the wrong size")
        out.append(block)
        at += n
    if at != len(blob):
        raise ValueError("a compressed rootfs file has trailing bytes")
    return b"".join(out)


@dataclass
class CpioStats:
    """What compression did: files packed, and the archive's size had nothing been."""

    packed_files: int = 0
    packed_bytes: int = 0  # their uncompressed size: RAM once the guest reads them
    uncompressed: int = 0


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def _header(
    *,
    ino: int,
    mode: int,
    uid: int,
    gid: int,
    nlink: int,
    mtime: int,
    size: int,
    rdev: tuple[int, int],
    namesize: int,
    check: int = 0,
) -> bytes:
    fields = (
        ino,
        mode,
        uid,
        gid,
        nlink,
        mtime & 0xFFFFFFFF,
        size,
        0,
        0,
        rdev[0],
        rdev[1],
        namesize,
        check,
    )
    return MAGIC + b"".join(b"%08x" % (f & 0xFFFFFFFF) for f in fields)


class CpioWriter:
    """Streams entries into ``out``; call ``finish()`` to write the trailer."""

    def __init__(
        self,
        out: BinaryIO,
        store: ContentStore,
        *,
        compress: bool = False,
        stats: CpioStats | None = None,
    ) -> None:
        self.out = out
        self.store = store
        self.offset = 0
        self.compress = compress
        self.stats = stats if stats is not None else CpioStats()  # uncompressed: at finish()
        self.saved = 0  # archive bytes compression saved so far
        self._inodes: dict[int, int] = {}

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.offset += len(data)

    def _ino(self, node: Node) -> int:
        return self._inodes.setdefault(id(node), len(self._inodes) + 1)

    def add(self, path: str, node: Node, *, nlink: int = 1, with_data: bool = True) -> None:
        """Write one entry; ``path`` is absolute inside the image ("/" is the root)."""
        name = "." if path == "/" else path.lstrip("/")
        encoded = name.encode("utf-8", "surrogateescape") + b"\0"
        data: bytes | None = None
        size = 0
        if isinstance(node, SymlinkNode):
            data = node.target.encode("utf-8", "surrogateescape")
            size = len(data)
        elif isinstance(node, FileNode) and with_data:
            size = node.size
            data = self._packed(node)
        check = 0
        if data is not None and isinstance(node, FileNode):
            check = CHECK_PACKED
            self.saved += size + _pad4(size) - len(data) - _pad4(len(data))
            size = len(data)
        rdev = (node.major, node.minor) if isinstance(node, DeviceNode) else (0, 0)
        self._write(
            _header(
                ino=self._ino(node),
                mode=node.st_mode,
                uid=node.uid,
                gid=node.gid,
                nlink=nlink,
                mtime=node.mtime,
                size=size,
                rdev=rdev,
                namesize=len(encoded),
                check=check,
            )
        )
        self._write(encoded + b"\0" * _pad4(110 + len(encoded)))
        if data is not None:
            self._write(data)
        elif isinstance(node, FileNode) and with_data and size:
            self._copy_content(node)
        self._write(b"\0" * _pad4(size))

    def _packed(self, node: FileNode) -> bytes | None:
        """The container for ``node``'s bytes when compression is on and pays, else None."""
        if not self.compress or node.size < PACK_MIN_SIZE:
            return None
        with self.store.open(node.digest) as f:
            raw = f.read(node.size)
        if len(raw) != node.size:
            raise OSError(f"content {node.digest} is shorter than {node.size} bytes")
        blob = pack(raw)
        if len(blob) > node.size * (1 - PACK_MIN_SAVING):
            return None
        self.stats.packed_files += 1
        self.stats.packed_bytes += node.size
        return blob

    def _copy_content(self, node: FileNode) -> None:
        remaining = node.size
        with self.store.open(node.digest) as f:
            while remaining:
                chunk = f.read(min(CHUNK, remaining))
                if not chunk:
                    raise OSError(f"content {node.digest} is shorter than {node.size} bytes")
                self._write(chunk)
                remaining -= len(chunk)

    def finish(self) -> None:
        self._write(
            _header(
                ino=0,
                mode=0,
                uid=0,
                gid=0,
                nlink=1,
                mtime=0,
                size=0,
                rdev=(0, 0),
                namesize=len(TRAILER) + 1,
            )
        )
        self._write(TRAILER.encode() + b"\0" + b"\0" * _pad4(110 + len(TRAILER) + 1))
        self.stats.uncompressed = self.offset + self.saved


def write_cpio(
    entries: Iterable[tuple[str, Node]],
    out: BinaryIO,
    store: ContentStore,
    on_entry: Callable[[str, Node], None] | None = None,
    *,
    compress: bool = False,
    stats: CpioStats | None = None,
) -> int:
    """Write ``entries`` (sorted, parents first) as a newc archive; return its size.
    ``compress``: pack the regular files that pay (module docstring); ``stats`` is
    filled with what that did."""
    items = list(entries)
    names_per_node: dict[int, int] = {}
    for _, node in items:
        if isinstance(node, FileNode):
            names_per_node[id(node)] = names_per_node.get(id(node), 0) + 1
    seen: dict[int, int] = {}
    writer = CpioWriter(out, store, compress=compress, stats=stats)
    for path, node in items:
        nlink = names_per_node.get(id(node), 1)
        seen[id(node)] = seen.get(id(node), 0) + 1
        writer.add(path, node, nlink=nlink, with_data=seen[id(node)] == nlink)
        if on_entry:
            on_entry(path, node)
    writer.finish()
    return writer.offset
