"""Per-layer changeset cache: replay a verified layer without decompressing it again.

Interface:
  * ``LayerCache(root)``; ``cache.writer(digest, diff_id)`` returns a
    ``ChangeLogWriter`` that records a layer's changes while it is read cold;
    ``commit(summary)`` publishes it only after the blob digest and diff_id were
    verified (``discard()`` otherwise).
  * ``cache.load(digest, diff_id)`` returns a ``CachedLayer`` (summary + changes)
    or None when absent, from another format version, or malformed in any way.

Keyed by the verified compressed digest *and* the diff_id, so a cached changeset
is only ever used for exactly the bytes it was made from. Entries are JSON lines
(a header line, then lines that each hold a batch of changes, then a summary); writes go to a
temporary file renamed into place, so a crash never leaves a partial changeset.
A changeset only names content digests: the caller checks they are still in the
ContentStore, and replays the changes through the same applier and name checks.

The cache is untrusted (docs/security.md): ``root`` is created and checked by
fs/cachedir.py (a symlink there is an OutputError), a changeset is read with
``O_NOFOLLOW`` and only up to ``MAX_CHANGESET_BYTES``, and anything malformed in it
(bad JSON, ``1e999``, nesting, wrong types) is a miss: the layer is read again.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dock2uni.errors import Dock2UniError
from dock2uni.fs.cachedir import make_dir, open_regular, subdir
from dock2uni.oci.digest import parse_digest
from dock2uni.unpack.changes import KINDS, Change
from dock2uni.unpack.tarstream import FILE

FORMAT = "dock2uni-layer-changes"
# Bump whenever the meaning of a change or the rules that produce one change.
VERSION = 1
BATCH = 4096  # changes per line: one json call per batch, bounded memory while writing
# A changeset row is ~150 bytes; 2,000,000 entries (Limits.max_entries) fit with room.
MAX_CHANGESET_BYTES = 1 << 30


@dataclass(frozen=True, kw_only=True)
class LayerSummary:
    """What the cold read of a layer found (becomes LayerStats on replay)."""

    compression: str
    uncompressed_size: int
    entries: int


@dataclass(frozen=True, kw_only=True)
class CachedLayer:
    summary: LayerSummary
    changes: list[Change]


def _row(change: Change) -> list[Any]:
    xattrs = {k: v.decode("latin-1") for k, v in change.xattrs.items()}
    return [
        change.kind,
        change.path,
        change.mode,
        change.uid,
        change.gid,
        change.mtime,
        change.size,
        change.digest,
        change.link,
        change.devmajor,
        change.devminor,
        xattrs,
    ]


_INT = {int}
_STR = {str}


def _decode(row: Any) -> Change:
    if type(row) is not list or len(row) != 12:
        raise ValueError("bad change row")
    kind, path, mode, uid, gid, mtime, size, digest, link, major, minor, xattrs = row
    if kind not in KINDS or set(map(type, (path, digest, link))) != _STR:
        raise ValueError("bad change fields")
    if set(map(type, (mode, uid, gid, mtime, size, major, minor))) != _INT:  # bool is no int
        raise ValueError("bad change numbers")
    if not all(0 <= n < 1 << 32 for n in (mode, uid, gid, major, minor)):
        raise ValueError("change numbers out of range")  # would not fit a cpio header
    if not (0 <= size < 1 << 63 and -(1 << 63) <= mtime < 1 << 63):
        raise ValueError("change size or mtime out of range")
    path.encode("utf-8", "surrogateescape")  # a lone surrogate: UnicodeEncodeError
    link.encode("utf-8", "surrogateescape")
    if type(xattrs) is not dict:
        raise ValueError("bad xattrs")
    if xattrs:
        if set(map(type, xattrs.values())) != _STR:
            raise ValueError("bad xattrs")
        xattrs = {str(k): v.encode("latin-1") for k, v in xattrs.items()}
    if digest or kind == FILE:
        parse_digest(digest)  # a file's content must be a well-formed store key
    return Change(
        kind=kind,
        path=path,
        mode=mode,
        uid=uid,
        gid=gid,
        mtime=mtime,
        size=size,
        digest=digest,
        link=link,
        devmajor=major,
        devminor=minor,
        xattrs=xattrs,
    )


class ChangeLogWriter:
    """Records one layer's changes into a temporary file; see module docstring."""

    def __init__(self, final: Path, header: dict[str, Any]) -> None:
        self._final = final
        make_dir(final.parent)  # LayerCache made its parent; re-checked before each write
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=".tmp-", suffix=".jsonl")
        self._tmp = Path(name)
        self._out: TextIO = os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20)
        self._out.write(json.dumps(header) + "\n")
        self._count = 0
        self._batch: list[list[Any]] = []

    def add(self, change: Change) -> None:
        self._batch.append(_row(change))
        if len(self._batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._out.write(json.dumps(self._batch, separators=(",", ":")) + "\n")
            self._count += len(self._batch)
            self._batch = []

    def commit(self, summary: LayerSummary) -> None:
        self._flush()
        trailer = {
            "compression": summary.compression,
            "uncompressed_size": summary.uncompressed_size,
            "entries": summary.entries,
            "changes": self._count,
        }
        self._out.write(json.dumps(trailer) + "\n")
        self._out.close()
        os.replace(self._tmp, self._final)

    def discard(self) -> None:
        if not self._out.closed:
            self._out.close()
        self._tmp.unlink(missing_ok=True)


class LayerCache:
    """Changesets under ``root/<alg>-<hex>_<alg>-<hex>.jsonl`` (blob digest, diff_id)."""

    def __init__(self, root: Path) -> None:
        self.root = subdir(root.parent, root.name)  # a real directory, never a symlink

    def path(self, digest: str, diff_id: str) -> Path:
        alg, hexpart = parse_digest(digest)  # grammar checked before use in a path
        dalg, dhex = parse_digest(diff_id)
        return self.root / f"{alg}-{hexpart}_{dalg}-{dhex}.jsonl"

    def _header(self, digest: str, diff_id: str) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "digest": digest, "diff_id": diff_id}

    def writer(self, digest: str, diff_id: str) -> ChangeLogWriter:
        return ChangeLogWriter(self.path(digest, diff_id), self._header(digest, diff_id))

    def load(self, digest: str, diff_id: str) -> CachedLayer | None:
        path = self.path(digest, diff_id)
        try:
            with open_regular(path) as f:
                raw = f.read(MAX_CHANGESET_BYTES + 1)
            if len(raw) > MAX_CHANGESET_BYTES:
                return None
            lines = raw.decode("utf-8").splitlines()
            if len(lines) < 2 or json.loads(lines[0]) != self._header(digest, diff_id):
                return None
            trailer = json.loads(lines[-1])
            changes = [_decode(row) for line in lines[1:-1] for row in _rows(line)]
            if not isinstance(trailer, dict) or trailer.get("changes") != len(changes):
                return None
            compression, size, entries = (
                trailer.get("compression"),
                trailer.get("uncompressed_size"),
                trailer.get("entries"),
            )
            if type(compression) is not str or type(size) is not int or type(entries) is not int:
                return None  # type(): bool is no int, and 1e999 (a float: inf) is refused
            if size < 0 or entries < 0:
                return None
            summary = LayerSummary(compression=compression, uncompressed_size=size, entries=entries)
        except (OSError, ValueError, TypeError, RecursionError, Dock2UniError):
            return None  # Dock2UniError: e.g. a malformed digest inside the file
        return CachedLayer(summary=summary, changes=changes)


def _rows(line: str) -> list[Any]:
    rows = json.loads(line)
    if type(rows) is not list:
        raise ValueError("a batch line is not a list")
    return rows
