"""Write a cpio "newc" archive straight from the in-memory tree (the unikernel's rootfs).

newc (SVR4 without CRC) is what Linux initramfs and the library OS read: a
110-byte ASCII header per entry, name and data padded to 4 bytes, and a final
``TRAILER!!!``. Hardlinks share an inode number; as GNU cpio does, only the last
name of a link group carries the data, earlier ones have size 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO

from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DeviceNode, FileNode, Node, SymlinkNode

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
CHUNK = 1 << 20


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
        0,
    )
    return MAGIC + b"".join(b"%08x" % (f & 0xFFFFFFFF) for f in fields)


class CpioWriter:
    """Streams entries into ``out``; call ``finish()`` to write the trailer."""

    def __init__(self, out: BinaryIO, store: ContentStore) -> None:
        self.out = out
        self.store = store
        self.offset = 0
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
            )
        )
        self._write(encoded + b"\0" * _pad4(110 + len(encoded)))
        if data is not None:
            self._write(data)
        elif isinstance(node, FileNode) and with_data and size:
            self._copy_content(node)
        self._write(b"\0" * _pad4(size))

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


def write_cpio(
    entries: Iterable[tuple[str, Node]],
    out: BinaryIO,
    store: ContentStore,
    on_entry: Callable[[str, Node], None] | None = None,
) -> int:
    """Write ``entries`` (sorted, parents first) as a newc archive; return its size."""
    items = list(entries)
    names_per_node: dict[int, int] = {}
    for _, node in items:
        if isinstance(node, FileNode):
            names_per_node[id(node)] = names_per_node.get(id(node), 0) + 1
    seen: dict[int, int] = {}
    writer = CpioWriter(out, store)
    for path, node in items:
        nlink = names_per_node.get(id(node), 1)
        seen[id(node)] = seen.get(id(node), 0) + 1
        writer.add(path, node, nlink=nlink, with_data=seen[id(node)] == nlink)
        if on_entry:
            on_entry(path, node)
    writer.finish()
    return writer.offset
