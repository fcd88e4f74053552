"""Digest grammar checks and a reader that verifies size and digest while streaming.

A digest string is validated *before* it is used in a URL or a path (CVE-2024-3727
class): only ``sha256:`` and ``sha512:`` with lower-case hex of the right length.
Size is checked before digest (image-spec descriptor.md, Verification).
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import BinaryIO

from dock2uni.errors import IntegrityError, InvalidImageError, InvalidReferenceError

_DIGEST_RE = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}


def parse_digest(text: str, *, what: str = "digest") -> tuple[str, str]:
    """Split ``alg:hex`` after checking its grammar; raise InvalidReferenceError if bad."""
    alg, sep, hexpart = text.partition(":")
    pattern = _DIGEST_RE.get(alg)
    if not sep or pattern is None or not pattern.fullmatch(hexpart):
        raise InvalidReferenceError(
            f"invalid {what} {text[:100]!r}",
            hint="A digest is sha256: followed by 64 lower-case hex digits (or sha512: and 128).",
        )
    return alg, hexpart


def check_document_digest(text: object, *, what: str) -> str:
    """Validate a digest found *inside* an image document (a malformed image, not bad input)."""
    if not isinstance(text, str):
        raise InvalidImageError(f"{what}: digest is not a string")
    try:
        parse_digest(text, what=what)
    except InvalidReferenceError as exc:
        raise InvalidImageError(f"{what}: {exc.message}") from None
    return text


def new_hasher(digest: str) -> hashlib._Hash:
    alg, _ = parse_digest(digest)
    return hashlib.new(alg)


def digest_bytes(data: bytes, alg: str = "sha256") -> str:
    return f"{alg}:{hashlib.new(alg, data).hexdigest()}"


def verify_bytes(data: bytes, *, digest: str, size: int | None, what: str) -> None:
    """Check a whole document against its descriptor; size first, then digest."""
    if size is not None and len(data) != size:
        raise IntegrityError(f"{what}: size {len(data)} does not match the expected {size}")
    alg, _ = parse_digest(digest)
    actual = digest_bytes(data, alg)
    if actual != digest:
        raise IntegrityError(f"{what}: digest {actual} does not match the expected {digest}")


class VerifyingReader(io.RawIOBase):
    """Wraps a stream of exactly ``size`` bytes that must hash to ``digest``.

    Reading more than ``size`` bytes raises at once (an endless or oversized body
    never fills memory or disk); reaching EOF early, or with the wrong digest,
    raises IntegrityError. Callers must read to EOF to get the verdict.
    """

    def __init__(self, raw: BinaryIO, *, digest: str, size: int, what: str) -> None:
        super().__init__()
        self._raw = raw
        self._digest = digest
        self._size = size
        self._what = what
        self._hasher = new_hasher(digest)
        self._seen = 0
        self._verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._verified:
            return 0
        # Ask for one byte more than remains, so an oversized body is detected.
        want = min(len(buffer), self._size - self._seen + 1)
        chunk = self._raw.read(want)
        if not chunk:
            self._finish()
            return 0
        self._seen += len(chunk)
        if self._seen > self._size:
            raise IntegrityError(
                f"{self._what}: more than the expected {self._size} bytes "
                f"(descriptor size does not match the content)"
            )
        self._hasher.update(chunk)
        n = len(chunk)
        buffer[:n] = chunk
        return n

    @property
    def seen(self) -> int:
        """Bytes read and hashed so far."""
        return self._seen

    def continue_from(self, raw: BinaryIO) -> None:
        """Go on reading from ``raw``, which must start right after the bytes seen so far
        (a resumed download); the hash and the count carry over."""
        old, self._raw = self._raw, raw
        old.close()

    def _finish(self) -> None:
        if self._seen != self._size:
            raise IntegrityError(
                f"{self._what}: got {self._seen} bytes, expected {self._size} (truncated content)"
            )
        actual = f"{self._digest.split(':', 1)[0]}:{self._hasher.hexdigest()}"
        if actual != self._digest:
            raise IntegrityError(
                f"{self._what}: digest {actual} does not match the expected {self._digest}"
            )
        self._verified = True

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def verifying(raw: BinaryIO, *, digest: str, size: int, what: str) -> BinaryIO:
    """A buffered VerifyingReader (what BlobOpeners return)."""
    return io.BufferedReader(VerifyingReader(raw, digest=digest, size=size, what=what), 1 << 20)
