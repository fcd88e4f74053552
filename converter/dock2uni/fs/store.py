"""Content-addressed store for regular files' bytes: named by sha256, never by image path.

Interface:
  * ``store.put(stream, size)`` copies exactly ``size`` bytes into the store and
    returns their digest; identical content is stored once.
  * ``store.open(digest)`` / ``store.path(digest)`` read it back.

Writes go to a private temporary name first and are renamed into place, so a
crash or a concurrent writer never leaves a file whose name lies about its content.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from dock2uni.errors import UnsafeLayerError
from dock2uni.oci.digest import parse_digest

CHUNK = 1 << 20
EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()


class ContentStore:
    """Files' content under ``root/sha256/<2 hex>/<64 hex>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        # put_bytes runs once per small file of every layer: plain strings, no pathlib
        self._root_str = str(root)
        self._sha256_dir = str(root / "sha256")
        self._tmp_dir = str(root / "tmp")
        self._made_dirs: set[str] = set()

    def path(self, digest: str) -> Path:
        alg, hexpart = parse_digest(digest)
        return self.root / alg / hexpart[:2] / hexpart

    def has(self, digest: str) -> bool:
        alg, hexpart = parse_digest(digest)
        return os.path.isfile(os.path.join(self._root_str, alg, hexpart[:2], hexpart))

    def open(self, digest: str) -> BinaryIO:
        return self.path(digest).open("rb")

    def read(self, digest: str, limit: int | None = None) -> bytes:
        with self.open(digest) as f:
            return f.read(-1 if limit is None else limit)

    def put(self, stream: BinaryIO, size: int) -> str:
        """Store exactly ``size`` bytes read from ``stream``; return sha256:<hex>."""
        hasher = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                remaining = size
                while remaining:
                    chunk = stream.read(min(CHUNK, remaining))
                    if not chunk:
                        raise UnsafeLayerError(f"file content ends {remaining} bytes early")
                    hasher.update(chunk)
                    out.write(chunk)
                    remaining -= len(chunk)
            digest = f"sha256:{hasher.hexdigest()}"
            final = self.path(digest)
            if final.exists():
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp_name, final)
            return digest
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` (held in memory); return sha256:<hex>. Same guarantees as put()."""
        hexpart = hashlib.sha256(data).hexdigest()
        directory = os.path.join(self._sha256_dir, hexpart[:2])
        final = os.path.join(directory, hexpart)
        if os.path.exists(final):
            return f"sha256:{hexpart}"
        if hexpart[:2] not in self._made_dirs:
            os.makedirs(directory, exist_ok=True)
            self._made_dirs.add(hexpart[:2])
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
                os.makedirs(directory, exist_ok=True)
                os.replace(tmp_name, final)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        return f"sha256:{hexpart}"
