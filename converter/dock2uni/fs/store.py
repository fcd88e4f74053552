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
import io
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

    def path(self, digest: str) -> Path:
        alg, hexpart = parse_digest(digest)
        return self.root / alg / hexpart[:2] / hexpart

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

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
        return self.put(io.BytesIO(data), len(data))
