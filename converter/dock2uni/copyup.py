"""Copy-up: fill a new, empty volume with the image's files at its mount point, as Docker does.

Docker copies what the image has at the destination into an empty volume the first time
it is mounted (daemon/volumes: copyExistingContents), then gives the volume's root the
owner and mode of the image's directory. Here the files come from the rootfs the .uni
carries (fs/cpioread.py): directories, files, symlinks, hardlinks, devices and fifos,
with owners (when we are root; else they stay ours, as rootless Docker's would),
modes (set-id bits included) and modification times. The destination is written only
through directory fds opened with O_NOFOLLOW, and entry names are checked, so a
hostile archive cannot write outside the volume.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dock2uni.errors import RunError
from dock2uni.fs.cpio import unpack
from dock2uni.fs.cpioread import CpioEntry, entries, rootfs_region

MAX_HOPS = 40  # Linux's MAXSYMLINKS
CHUNK = 1 << 20
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _resolve(index: dict[str, CpioEntry], path: str, read_link: dict[str, str]) -> str | None:
    """``path`` with every symlink resolved inside the image (never above its root), as
    Docker resolves a mount destination; None if it does not exist."""
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    hops = 0
    while parts:
        name = parts.pop(0)
        if name == "..":
            if done:
                done.pop()
            continue
        if name == ".":
            continue
        here = "/" + "/".join([*done, name])
        entry = index.get(here)
        if entry is None:
            return None
        if stat.S_ISLNK(entry.mode):
            hops += 1
            if hops > MAX_HOPS:
                return None
            target = read_link[here]
            parts = [p for p in target.split("/") if p] + parts
            if target.startswith("/"):
                done = []
            continue
        done.append(name)
    return "/" + "/".join(done)


def _split(rel: str) -> list[str]:
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise RunError(f"the image's rootfs holds a bad path ({rel!r}): not copied")
    return parts


class _Writer:
    """Creates entries below ``root_fd``, never following a symlink on the way."""

    def __init__(self, root_fd: int, f: object, *, as_root: bool) -> None:
        self.root_fd = root_fd
        self.f = f
        self.as_root = as_root
        self.links: dict[int, list[str]] = {}  # ino -> names already made (hardlinks)

    def _parent(self, parts: list[str]) -> int:
        fd = os.dup(self.root_fd)
        try:
            for name in parts[:-1]:
                nfd = os.open(name, DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _owner(self, name: str, e: CpioEntry, dfd: int) -> None:
        try:
            os.chown(name, e.uid, e.gid, dir_fd=dfd, follow_symlinks=False)
        except PermissionError:
            if self.as_root:
                raise
            # Not root: the files stay the invoking user's, as rootless Docker's would.

    def add(self, rel: str, e: CpioEntry, data: CpioEntry | None) -> None:
        parts = _split(rel)
        name = parts[-1]
        dfd = self._parent(parts)
        try:
            kind = stat.S_IFMT(e.mode)
            perm = stat.S_IMODE(e.mode)
            if kind == stat.S_IFDIR:
                os.mkdir(name, 0o700, dir_fd=dfd)
            elif kind == stat.S_IFREG:
                group = self.links.get(e.ino) if e.nlink > 1 else None
                if group:  # a hardlink to a file already copied
                    os.link(group[0], name, src_dir_fd=self.root_fd, dst_dir_fd=dfd)
                    return
                self._file(name, dfd, data or e)
                if e.nlink > 1:
                    self.links.setdefault(e.ino, []).append(rel)
            elif kind == stat.S_IFLNK:
                os.symlink(self._read(e).decode("utf-8", "surrogateescape"), name, dir_fd=dfd)
            elif kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
                try:
                    os.mknod(name, kind | 0o600, os.makedev(*e.rdev), dir_fd=dfd)
                except PermissionError:
                    return  # devices need root; nothing else can make them
            else:
                return
            self._owner(name, e, dfd)
            if kind != stat.S_IFLNK:  # after chown, which clears set-id bits
                os.chmod(name, perm, dir_fd=dfd)  # made just now: not a symlink
            os.utime(name, ns=(e.mtime * 10**9,) * 2, dir_fd=dfd, follow_symlinks=False)
        finally:
            os.close(dfd)

    def _read(self, e: CpioEntry) -> bytes:
        self.f.seek(e.offset)  # type: ignore[attr-defined]
        data: bytes = self.f.read(e.size)  # type: ignore[attr-defined]
        return data

    def _file(self, name: str, dfd: int, e: CpioEntry) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o600, dir_fd=dfd)
        try:
            self.f.seek(e.offset)  # type: ignore[attr-defined]
            if e.packed:  # compressed in the image (fs/cpio.py): the volume gets the bytes
                blob: bytes = self.f.read(e.size)  # type: ignore[attr-defined]
                if len(blob) != e.size:
                    raise RunError("the image's rootfs ended inside a file: not copied")
                try:
                    data = memoryview(unpack(blob))
                except ValueError as exc:
                    raise RunError(f"the image's rootfs holds a damaged file: {exc}") from None
                while data:
                    data = data[os.write(fd, data[:CHUNK]) :]
                return
            left = e.size
            while left:
                chunk = self.f.read(min(CHUNK, left))  # type: ignore[attr-defined]
                if not chunk:
                    raise RunError("the image's rootfs ended inside a file: not copied")
                os.write(fd, chunk)
                left -= len(chunk)
        finally:
            os.close(fd)


def copy_up(image: Path, initrd: Path | None, guest: str, dest: Path) -> int:
    """Copy the image's tree at ``guest`` into the empty directory ``dest``; the number
    of entries copied (0: the image has no directory there, ``dest`` stays as it is)."""
    archive, start, end = rootfs_region(image, initrd)
    with archive.open("rb") as f:
        index: dict[str, CpioEntry] = {}
        data_of: dict[int, CpioEntry] = {}  # a hardlink group's one entry with the data
        for e in entries(f, start, end, what=str(archive)):
            index[e.path] = e
            if stat.S_ISREG(e.mode) and e.nlink > 1 and e.size:
                data_of[e.ino] = e
        links = {}
        for path, e in index.items():
            if stat.S_ISLNK(e.mode) and e.size <= 4096:
                f.seek(e.offset)
                links[path] = f.read(e.size).decode("utf-8", "surrogateescape")
        source = _resolve(index, guest, links)
        top = index.get(source) if source is not None else None
        if source is None or top is None or not stat.S_ISDIR(top.mode):
            return 0
        below = sorted(
            (p for p in index if p != source and p.startswith(source.rstrip("/") + "/")),
            key=lambda p: p.split("/"),  # parents before their children
        )
        return _copy(_Archive(f, index, data_of), source, below, dest)


@dataclass(frozen=True)
class _Archive:
    f: object  # the open archive
    index: dict[str, CpioEntry]
    data_of: dict[int, CpioEntry]  # a hardlink group's one entry with the data


def _copy(archive: _Archive, source: str, below: Iterable[str], dest: Path) -> int:
    f, index, data_of = archive.f, archive.index, archive.data_of
    top = index[source]
    root_fd = os.open(dest, DIR_FLAGS)
    try:
        if os.listdir(root_fd):
            return 0  # Docker's rule: only an empty volume is filled
        writer = _Writer(root_fd, f, as_root=os.geteuid() == 0)
        dirs: list[tuple[str, CpioEntry]] = []
        count = 0
        for path in below:
            e = index[path]
            rel = posixpath.relpath(path, source)
            data = data_of.get(e.ino) if stat.S_ISREG(e.mode) and e.nlink > 1 else None
            try:
                writer.add(rel, e, data)
            except OSError as exc:
                raise RunError(
                    f"cannot copy {path} from the image into the volume {dest}: "
                    f"{exc.strerror or errno.errorcode.get(exc.errno or 0, exc)}",
                    hint="Check the free space and permissions of the data directory.",
                ) from None
            count += 1
            if stat.S_ISDIR(e.mode):
                dirs.append((rel, e))
        # Directory times last: making their entries changed them. Deepest first.
        for rel, e in reversed(dirs):
            with contextlib.suppress(OSError):
                parts = rel.split("/")
                dfd = writer._parent(parts)
                try:
                    os.utime(parts[-1], ns=(e.mtime * 10**9,) * 2, dir_fd=dfd)
                finally:
                    os.close(dfd)
        # The volume's root takes the image directory's owner and mode (copyOwnership).
        try:
            os.chown(root_fd, top.uid, top.gid)
        except PermissionError:
            if os.geteuid() == 0:
                raise
        os.chmod(root_fd, stat.S_IMODE(top.mode))
        os.utime(root_fd, ns=(top.mtime * 10**9,) * 2)
        return count
    finally:
        os.close(root_fd)
