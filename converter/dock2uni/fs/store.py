"""Content-addressed store for regular files' bytes: named by sha256, never by image path.

Interface:
  * ``store.put(stream, size)`` copies exactly ``size`` bytes into the store and
    returns their digest; identical content is stored once.
  * ``store.put_bytes(data)`` the same for bytes in memory. Between ``begin_pack()``
    and ``end_pack(commit)`` such small contents are appended to one pack file
    instead of one file each (see below).
  * ``store.has(digest)``, ``store.open(digest)``, ``store.read(digest)`` read it back,
    loose or packed; ``store.path(digest)`` gives a host file (a packed content is
    copied out to its loose name the first time, for tools that need a path).

Two kinds of storage under ``root``:
  * loose files ``sha256/<2 hex>/<64 hex>``: large files and anything stored outside
    a pack session;
  * pack files ``packs/<32 hex>.pack``: the unpack stage puts each layer's small files
    into one pack, because creating thousands of small files dominated a cold unpack
    on this machine's disk (see docs/unpack.md). A pack is ``MAGIC``, the contents
    back to back, an index of (raw sha256, offset, size) records and a trailer
    (index offset, count, ``INDEX_MAGIC``). It is written under ``tmp/`` and renamed
    into ``packs/`` only when complete, so other processes never see a partial pack;
    packed bytes are re-hashed when read, so a damaged pack is an error, not wrong bytes.

The cache is untrusted (docs/security.md): every directory here is created or checked
by fs/cachedir.py (a symlink or a file where a directory belongs is an OutputError),
loose files are opened with ``O_NOFOLLOW`` and must be regular files, ``has`` checks a
loose file's size when the caller knows it, and every content read is verified by its
digest the first time this process uses it (loose: hashed once and remembered by
inode, size and mtime; packed: hashed on every read). A damaged entry is deleted and
reported as ``DamagedStoreError``: the pipeline then reads the image again once, which
puts the content back (pipeline.py).

Writes go to a private temporary name first and are renamed into place, so a
crash or a concurrent writer never leaves a file whose name lies about its content.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dock2uni.errors import OutputError, UnsafeLayerError
from dock2uni.fs.cachedir import ensure_root, make_dir, open_regular
from dock2uni.oci.digest import parse_digest

CHUNK = 1 << 20
EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()

MAGIC = b"D2UPACK1"
INDEX_MAGIC = b"D2UPIDX1"
_RECORD = struct.Struct("<32sQQ")  # raw sha256, offset, size
_TRAILER = struct.Struct("<QQ8s")  # index offset, record count, INDEX_MAGIC


class DamagedStoreError(OutputError):
    """A store entry did not hold the bytes its name promises; it was removed."""


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@contextlib.contextmanager
def _writing(root: str) -> Iterator[None]:
    """A full disk or a read-only cache is the user's to fix: say so, not 'internal error'."""
    try:
        yield
    except OSError as exc:
        raise OutputError(
            f"cannot write to the content store {root}: {exc.strerror or exc}",
            hint="Check free space and permissions of the cache directory "
            "(--cache-dir or DOCK2UNI_CACHE chooses another one).",
        ) from None


class _PackWriter:
    """The pack being written in this process (one per pack session)."""

    def __init__(self, tmp_dir: str) -> None:
        fd, self.tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix="pack-")
        self.file = os.fdopen(fd, "wb", buffering=1 << 20)
        self.file.write(MAGIC)
        self.offset = len(MAGIC)
        self.records: list[tuple[bytes, int, int]] = []
        self.dirty = False

    def append(self, raw_digest: bytes, data: bytes) -> tuple[int, int]:
        where = (self.offset, len(data))
        self.file.write(data)
        self.records.append((raw_digest, *where))
        self.offset += len(data)
        self.dirty = True
        return where

    def flush(self) -> None:
        if self.dirty:
            self.file.flush()
            self.dirty = False

    def finish(self) -> None:
        index_offset = self.offset
        for record in self.records:
            self.file.write(_RECORD.pack(*record))
        self.file.write(_TRAILER.pack(index_offset, len(self.records), INDEX_MAGIC))
        self.file.close()

    def abandon(self) -> None:
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp_path)


def read_pack_index(path: str) -> list[tuple[bytes, int, int]]:
    """A complete pack's index records; ValueError when the file is not a sound pack."""
    with open_regular(path) as f:
        size = f.seek(0, os.SEEK_END)
        if size < len(MAGIC) + _TRAILER.size:
            raise ValueError("too short")
        f.seek(0)
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError("bad magic")
        f.seek(size - _TRAILER.size)
        index_offset, count, magic = _TRAILER.unpack(f.read(_TRAILER.size))
        if magic != INDEX_MAGIC or index_offset + count * _RECORD.size + _TRAILER.size != size:
            raise ValueError("bad trailer")
        f.seek(index_offset)
        raw = f.read(count * _RECORD.size)
    records = list(_RECORD.iter_unpack(raw))
    if any(off < len(MAGIC) or off + n > index_offset for _d, off, n in records):
        raise ValueError("a record lies outside the contents")
    return records


class ContentStore:
    """Files' content under ``root``: loose ``sha256/<2 hex>/<64 hex>`` and ``packs/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        ensure_root(root.parent)  # the user's cache folder: may itself be a symlink
        for part in (root, root / "sha256", root / "tmp"):
            make_dir(part)  # ours: a real directory, never a symlink (OutputError)
        # put_bytes runs once per small file of every layer: plain strings, no pathlib
        self._root_str = str(root)
        self._sha256_dir = str(root / "sha256")
        self._tmp_dir = str(root / "tmp")
        self._packs_dir = str(root / "packs")
        self._made_dirs: set[str] = set()
        self._packed: dict[str, tuple[str, int, int]] = {}  # hex -> (pack path, offset, size)
        self._packs_seen: set[str] = set()
        self._writer: _PackWriter | None = None
        self._scanned = False
        # loose contents hashed by this process: hex -> identity of the file then
        self._verified: dict[str, tuple[int, int, int, int]] = {}

    # -- reading -----------------------------------------------------------------

    def _loose(self, hexpart: str) -> str:
        return os.path.join(self._sha256_dir, hexpart[:2], hexpart)

    def _scan_packs(self) -> None:
        """Index complete packs not seen yet (written by this or another process)."""
        try:
            names = os.listdir(self._packs_dir)
        except FileNotFoundError:
            return
        for name in sorted(names):
            if not name.endswith(".pack") or name in self._packs_seen:
                continue
            self._packs_seen.add(name)
            path = os.path.join(self._packs_dir, name)
            try:
                records = read_pack_index(path)
            except (OSError, ValueError):
                continue  # not a pack we can use: its contents count as absent
            for raw, offset, size in records:
                self._packed.setdefault(raw.hex(), (path, offset, size))

    def _first_scan(self) -> None:
        if not self._scanned:
            self._scanned = True
            self._scan_packs()

    def _where(self, hexpart: str) -> tuple[str, int, int] | None:
        found = self._packed.get(hexpart)
        if found is None:
            self._scan_packs()
            found = self._packed.get(hexpart)
        return found

    def _read_packed(self, hexpart: str, where: tuple[str, int, int]) -> bytes:
        path, offset, size = where
        if self._writer is not None and path == self._writer.tmp_path:
            self._writer.flush()
        try:
            with open_regular(path) as f:
                f.seek(offset)
                data = f.read(size)
        except OSError:
            data = b""
        if len(data) != size or hashlib.sha256(data).hexdigest() != hexpart:
            self._drop_pack(path)
            raise self._damaged(f"sha256:{hexpart} in {path}")
        return data

    def _damaged(
        self, what: str, why: str = "does not hold its content; the entry was removed"
    ) -> DamagedStoreError:
        return DamagedStoreError(
            f"the content store is damaged: {what} {why}",
            hint=f"Run the command again; if it persists, delete the cache folder "
            f"{self._root_str}.",
        )

    def _drop_pack(self, path: str) -> None:
        """Forget (and delete, unless it is being written) a pack with damaged contents."""
        for hexpart in [h for h, w in self._packed.items() if w[0] == path]:
            del self._packed[hexpart]
        if self._writer is None or path != self._writer.tmp_path:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _open_loose(self, alg: str, hexpart: str) -> BinaryIO:
        """A loose content, verified by its digest the first time this process reads it."""
        loose = os.path.join(self._root_str, alg, hexpart[:2], hexpart)
        try:
            f = open_regular(loose)
        except FileNotFoundError:  # removed behind our back: the layer must be read again
            raise self._damaged(f"{alg}:{hexpart}", f"is missing ({loose})") from None
        except OSError:  # a symlink (ELOOP), a FIFO, a directory: not ours
            self._remove_loose(loose)
            raise self._damaged(f"{alg}:{hexpart} ({loose} is not a regular file)") from None
        try:
            ident = _identity(os.fstat(f.fileno()))
            if self._verified.get(hexpart) != ident:
                hasher = hashlib.new(alg)
                while chunk := f.read(CHUNK):
                    hasher.update(chunk)
                if hasher.hexdigest() != hexpart:
                    self._remove_loose(loose)
                    raise self._damaged(f"{alg}:{hexpart} ({loose})")
                self._verified[hexpart] = ident
                f.seek(0)
        except BaseException:
            f.close()
            raise
        return f

    def _remove_loose(self, loose: str) -> None:
        self._verified.pop(os.path.basename(loose), None)
        with contextlib.suppress(OSError):
            os.unlink(loose)  # unlink removes a symlink itself, never its target

    def path(self, digest: str) -> Path:
        """The host file holding ``digest`` (copied out of its pack the first time)."""
        alg, hexpart = parse_digest(digest)
        loose = os.path.join(self._root_str, alg, hexpart[:2], hexpart)
        if alg == "sha256" and not os.path.lexists(loose):
            where = self._where(hexpart)
            if where is not None:
                data = self._read_packed(hexpart, where)
                with _writing(self._root_str):
                    self._write_loose(hexpart, data)
        self._open_loose(alg, hexpart).close()  # verified before a tool reads it by name
        return Path(loose)

    def has(self, digest: str, size: int | None = None) -> bool:
        """Is the content there? With ``size``, a loose file of another size is damaged:
        it is removed and counts as absent (so the layer is read again)."""
        alg, hexpart = parse_digest(digest)
        if alg == "sha256":
            self._first_scan()
            if hexpart in self._packed:  # a dict lookup before a stat: replays ask ~6,000 times
                return True
        loose = os.path.join(self._root_str, alg, hexpart[:2], hexpart)
        try:
            st = os.lstat(loose)
        except OSError:
            st = None
        if st is not None:
            if stat.S_ISREG(st.st_mode) and (size is None or st.st_size == size):
                return True
            self._remove_loose(loose)
        return alg == "sha256" and self._where(hexpart) is not None

    def open(self, digest: str) -> BinaryIO:
        alg, hexpart = parse_digest(digest)
        loose = os.path.join(self._root_str, alg, hexpart[:2], hexpart)
        if alg == "sha256":
            where = self._packed.get(hexpart)
            if where is None and not os.path.lexists(loose):
                where = self._where(hexpart)
            if where is not None:
                return io.BytesIO(self._read_packed(hexpart, where))
        return self._open_loose(alg, hexpart)

    def read(self, digest: str, limit: int | None = None) -> bytes:
        with self.open(digest) as f:
            return f.read(-1 if limit is None else limit)

    # -- writing -----------------------------------------------------------------

    def begin_pack(self) -> None:
        """From now on put_bytes() appends to a new pack (until end_pack)."""
        if self._writer is not None:
            raise RuntimeError("a pack session is already open")
        make_dir(self._packs_dir)
        with _writing(self._root_str):
            self._writer = _PackWriter(self._tmp_dir)

    def end_pack(self, *, commit: bool) -> None:
        """Publish the pack (commit) or drop it and forget what it held."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if not commit or not writer.records:
            self._abandon(writer)
            return
        try:
            with _writing(self._root_str):
                writer.finish()
                name = f"{os.urandom(16).hex()}.pack"
                final = os.path.join(self._packs_dir, name)
                os.replace(writer.tmp_path, final)
        except BaseException:
            self._abandon(writer)
            raise
        self._packs_seen.add(name)
        for raw, offset, size in writer.records:
            self._packed[raw.hex()] = (final, offset, size)

    def _abandon(self, writer: _PackWriter) -> None:
        writer.abandon()
        for raw, _offset, _size in writer.records:
            hexpart = raw.hex()
            if self._packed.get(hexpart, ("",))[0] == writer.tmp_path:
                del self._packed[hexpart]

    def put(self, stream: BinaryIO, size: int) -> str:
        """Store exactly ``size`` bytes read from ``stream``; return sha256:<hex>."""
        hasher = hashlib.sha256()
        with _writing(self._root_str):
            fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                remaining = size
                while remaining:
                    chunk = stream.read(min(CHUNK, remaining))
                    if not chunk:
                        raise UnsafeLayerError(f"file content ends {remaining} bytes early")
                    hasher.update(chunk)
                    with _writing(self._root_str):
                        out.write(chunk)
                    remaining -= len(chunk)
            digest = f"sha256:{hasher.hexdigest()}"
            hexpart = hasher.hexdigest()
            final = self._loose(hexpart)
            with _writing(self._root_str):
                if self._is_loose(final) and self._verified.get(hexpart) == _identity(
                    os.lstat(final)
                ):
                    os.unlink(tmp_name)
                else:  # absent, or not known good: these bytes were just hashed
                    self._fanout(hexpart)
                    os.replace(tmp_name, final)
                    self._verified[hexpart] = _identity(os.lstat(final))
            return digest
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` (held in memory); return sha256:<hex>. Same guarantees as put()."""
        self._first_scan()  # so content packed by earlier runs is not packed again
        hasher = hashlib.sha256(data)
        hexpart = hasher.hexdigest()
        if hexpart in self._packed or self._is_loose(self._loose(hexpart)):
            return f"sha256:{hexpart}"
        with _writing(self._root_str):
            if self._writer is not None:
                offset, size = self._writer.append(hasher.digest(), data)
                self._packed[hexpart] = (self._writer.tmp_path, offset, size)
            else:
                self._write_loose(hexpart, data)
        return f"sha256:{hexpart}"

    @staticmethod
    def _is_loose(path: str) -> bool:
        """A regular file at a loose name (a symlink there is replaced, not trusted)."""
        try:
            return stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            return False

    def _fanout(self, hexpart: str, *, again: bool = False) -> None:
        """Create (or check, once per process) the ``sha256/<2 hex>`` directory."""
        if again or hexpart[:2] not in self._made_dirs:
            make_dir(os.path.join(self._sha256_dir, hexpart[:2]))
            self._made_dirs.add(hexpart[:2])

    def _write_loose(self, hexpart: str, data: bytes) -> None:
        final = self._loose(hexpart)
        self._fanout(hexpart)
        tmp_name = os.path.join(self._tmp_dir, f"{hexpart[:16]}-{os.urandom(8).hex()}")
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            try:
                os.replace(tmp_name, final)
            except FileNotFoundError:  # the fan-out directory was removed meanwhile
                self._fanout(hexpart, again=True)
                os.replace(tmp_name, final)
            self._verified[hexpart] = _identity(os.lstat(final))
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
