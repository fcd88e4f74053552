"""Content-addressed blob cache: ``<cache>/blobs/<alg>/<hex>``, verified before it is stored.

A blob enters the cache only through ``store``/``put``, which check its size and
digest while writing to a temporary name in the same directory and rename it
into place afterwards: a crash or a bad download never leaves a file under a
digest's name. Reads (``open``, ``read``) verify again, so a cache file damaged
later surfaces as IntegrityError rather than as wrong content.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dock2uni.errors import IntegrityError, OutputError
from dock2uni.fs.cachedir import open_regular, subdir
from dock2uni.model import Descriptor
from dock2uni.oci.digest import VerifyingReader, parse_digest, verify_bytes, verifying

CHUNK = 1 << 20

# (bytes written so far, the stream's error) -> (a new stream, the offset it starts at)
Resume = Callable[[int, BaseException], tuple[BinaryIO, int]]


def _cache_write_error(directory: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"cannot write to the blob cache {directory}: {exc.strerror or exc}",
        hint="Check free space and permissions of the cache directory "
        "(set DOCK2UNI_CACHE to use another one).",
    )


class BlobCache:
    """Blobs by digest under ``root`` (normally ``ctx.cache_dir / "blobs"``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        """Where a blob lives; the digest grammar is checked before it names a path."""
        alg, hexpart = parse_digest(digest)
        return self.root / alg / hexpart

    def has(self, desc: Descriptor) -> bool:
        """True if the blob is cached with the descriptor's size (its digest is checked on read)."""
        path = self.path(desc.digest)
        try:
            st = path.lstat()
        except FileNotFoundError:
            return False
        return path.is_file() and not path.is_symlink() and st.st_size == desc.size

    def read(self, desc: Descriptor, *, what: str) -> bytes | None:
        """A small cached blob's bytes, verified; a damaged entry is dropped and None returned."""
        if not self.has(desc):
            return None
        path = self.path(desc.digest)
        try:
            with open_regular(path) as f:  # no FIFO, no symlink swapped in after has()
                data = f.read(desc.size + 1)
        except OSError:
            return None
        try:
            verify_bytes(data, digest=desc.digest, size=desc.size, what=what)
        except IntegrityError:
            path.unlink(missing_ok=True)  # let the caller fetch a good copy
            return None
        return data

    def open(self, desc: Descriptor, *, what: str) -> BinaryIO:
        """A stream of a cached blob that verifies size and digest as it is read."""
        path = self.path(desc.digest)
        return verifying(
            open_regular(path),
            digest=desc.digest,
            size=desc.size,
            what=f"{what} (cached at {path})",
        )

    def _directory(self, digest: str) -> Path:
        # blobs/ and blobs/<alg>/ must be real directories (a symlink: OutputError)
        return subdir(self.root.parent, self.root.name, self.path(digest).parent.name)

    def store(
        self,
        desc: Descriptor,
        stream: BinaryIO,
        *,
        what: str,
        progress: Callable[[int], object] | None = None,
        resume: Resume | None = None,
    ) -> Path:
        """Copy ``stream`` into the cache, verifying size and digest; return the final path.

        Reads at most ``desc.size + 1`` bytes, so an endless or oversized body is cut
        off. When ``stream`` itself fails (the network) and ``resume`` is given, it is
        called with the bytes written so far and the error: it raises to give up, or
        returns a new stream and the offset that stream starts at, either that count (the
        rest, e.g. an HTTP Range answer) or 0 (everything again). Without ``resume``,
        such errors propagate unchanged.
        """
        directory = self._directory(desc.digest)
        final = self.path(desc.digest)
        reader = VerifyingReader(stream, digest=desc.digest, size=desc.size, what=what)
        try:
            fd, tmp_name = tempfile.mkstemp(
                dir=directory, prefix=f".{final.name[:16]}.", suffix=".tmp"
            )
        except OSError as exc:
            raise _cache_write_error(directory, exc) from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    try:
                        chunk = reader.read(CHUNK)
                    except IntegrityError:
                        raise
                    except Exception as exc:
                        if resume is None:
                            raise
                        stream, start = resume(reader.seen, exc)
                        if start == reader.seen:
                            reader.continue_from(stream)
                            continue
                        if start != 0:
                            stream.close()
                            raise ValueError(f"resume returned offset {start}") from None
                        if progress is not None:
                            progress(-reader.seen)
                        out.seek(0)
                        out.truncate()
                        reader.close()
                        reader = VerifyingReader(
                            stream, digest=desc.digest, size=desc.size, what=what
                        )
                        continue
                    if not chunk:
                        break
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise _cache_write_error(directory, exc) from None
                    if progress is not None:
                        progress(len(chunk))
            # reader.read returned b"" only after size and digest were verified
            try:
                os.replace(tmp, final)
            except OSError as exc:
                raise _cache_write_error(directory, exc) from None
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return final

    def put(self, desc: Descriptor, data: bytes, *, what: str) -> None:
        """Store bytes already held in memory (checked again here)."""
        verify_bytes(data, digest=desc.digest, size=desc.size, what=what)
        directory = self._directory(desc.digest)
        try:
            fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".put.", suffix=".tmp")
        except OSError as exc:
            raise _cache_write_error(directory, exc) from None
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp_name, self.path(desc.digest))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise _cache_write_error(directory, exc) from None
