"""Sniff a layer's compression and decompress it with hard caps, hashing the tar as it flows.

Interface:
  * ``LayerStream(raw, limits=..., budget=..., diff_id=..., what=...)`` is a raw
    stream of the layer's *uncompressed* tar; wrap it in ``io.BufferedReader``.
    ``compression`` says what the magic bytes showed ("gzip", "zstd" or "tar").
  * ``finish()`` after the tar has been read to EOF: drains the compressed stream
    (so the blob's own digest check runs) and compares the tar's digest with
    ``diff_id``.

Compression is sniffed, never taken from the media type (containerd#14190 shipped
zstd layers labelled gzip). Output is produced in bounded steps and counted
against the per-layer and whole-image caps, so a gzip or zstd bomb stops as soon
as it passes a cap instead of being inflated in full.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import zstandard

from dock2uni.context import Limits
from dock2uni.errors import (
    IntegrityError,
    LimitExceededError,
    UnsafeLayerError,
    UnsupportedImageError,
)
from dock2uni.oci.digest import new_hasher
from dock2uni.unpack.tarstream import BLOCK, ZERO_BLOCK, header_checksum_ok

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_CHUNK = 1 << 18  # compressed bytes read from the blob at a time
GZIP_STEP = 1 << 20  # most bytes one zlib call may produce
# zstandard's decompressobj has no output bound, so it is fed small inputs: a
# zstd block yields at most 128 KiB from at least 4 input bytes, so 1 KiB of
# input can never produce more than ~32 MiB, whatever the frame claims.
ZSTD_INPUT_STEP = 1 << 10
YIELD_AT = 1 << 18  # coalesce small outputs into chunks of about this size


class ImageBudget:
    """Decompressed bytes left for the whole image (limits.max_image_bytes)."""

    def __init__(self, limits: Limits) -> None:
        self.limit = limits.max_image_bytes
        self.used = 0

    def spend(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise LimitExceededError(
                f"the image's layers decompress to more than {self.limit} bytes",
                hint="If the image is trusted and really this large, raise --max-image-size.",
            )


def sniff(head: bytes) -> str:
    """The compression the first bytes show: gzip, zstd or tar; refuse anything else."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC) or (
        len(head) >= 4 and head[0] & 0xF0 == 0x50 and head[1:4] == b"\x2a\x4d\x18"
    ):
        return "zstd"  # a zstd frame, or a zstd skippable frame
    if not head or head[:BLOCK] == ZERO_BLOCK[: len(head[:BLOCK])]:
        return "tar"  # empty layer, or an archive that is only an end marker
    if len(head) >= BLOCK and (head[257:262] == b"ustar" or header_checksum_ok(head[:BLOCK])):
        return "tar"
    for magic, name in ((b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz")):
        if head.startswith(magic):
            raise UnsupportedImageError(f"layer is {name}-compressed, which OCI does not allow")
    raise UnsafeLayerError(
        "layer is neither a tar archive nor gzip- or zstd-compressed",
        hint="The layer blob is not a filesystem changeset; rebuild or re-export the image.",
    )


def _corrupt(kind: str, detail: str) -> IntegrityError:
    return IntegrityError(f"layer data is corrupt: {kind} stream {detail}")


def _read_head(raw: BinaryIO) -> bytes:
    head = b""
    while len(head) < BLOCK:
        chunk = raw.read(BLOCK - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _source(head: bytes, raw: BinaryIO) -> Iterator[bytes]:
    """The compressed bytes, starting with the ones already read for sniffing."""
    if head:
        yield head
    while chunk := raw.read(READ_CHUNK):
        yield chunk


def _gzip_chunks(source: Iterator[bytes]) -> Iterator[bytes]:
    """Multi-member gzip; NUL padding after the last member is accepted and ignored."""
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = b""
    in_member = True
    for chunk in source:
        data = data + chunk if data else chunk
        while data:
            if not in_member:
                if len(data) < 2 and data == GZIP_MAGIC[: len(data)]:
                    break  # wait for the second magic byte
                if data.startswith(GZIP_MAGIC):
                    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    in_member = True
                elif not data.strip(b"\0"):
                    data = b""  # padding some generators append
                    break
                else:
                    raise _corrupt("gzip", "is followed by data that is neither gzip nor padding")
            while True:  # bounded steps: a bomb never inflates more than GZIP_STEP at once
                try:
                    out = decomp.decompress(data, GZIP_STEP)
                except zlib.error as exc:
                    raise _corrupt("gzip", f"is invalid ({exc})") from None
                data = decomp.unconsumed_tail
                if out:
                    yield out
                if decomp.eof:
                    in_member = False
                    data = decomp.unused_data
                    break
                if not data and len(out) < GZIP_STEP:
                    break  # needs more input
    if in_member:
        raise _corrupt("gzip", "ends early (truncated)")


def _zstd_chunks(source: Iterator[bytes], limits: Limits) -> Iterator[bytes]:
    """Concatenated zstd frames (skippable frames included), each checked to its end."""
    dctx = zstandard.ZstdDecompressor(max_window_size=limits.max_zstd_window)
    decomp = dctx.decompressobj()
    in_frame = True
    pending: list[bytes] = []
    pending_size = 0
    for chunk in source:
        view = memoryview(chunk)
        pos = 0
        while pos < len(view):
            if not in_frame:
                if not view[pos:].tobytes().strip(b"\0"):
                    break  # NUL padding after the last frame, as accepted for gzip
                decomp = dctx.decompressobj()
                in_frame = True
            step = bytes(view[pos : pos + ZSTD_INPUT_STEP])
            pos += len(step)
            try:
                out = decomp.decompress(step)
            except zstandard.ZstdError as exc:
                if "too much memory" in str(exc):
                    raise LimitExceededError(
                        f"zstd frame needs a window larger than {limits.max_zstd_window} bytes",
                        hint="The layer was compressed with an unusually large window "
                        "(e.g. --long=31); recompress it with a standard window size.",
                    ) from None
                raise _corrupt("zstd", f"is invalid ({exc})") from None
            if out:
                pending.append(out)
                pending_size += len(out)
                if pending_size >= YIELD_AT:
                    yield b"".join(pending)
                    pending.clear()
                    pending_size = 0
            if decomp.eof:
                in_frame = False
                rest = decomp.unused_data
                pos -= len(rest)  # the next frame starts inside this step
    if pending:
        yield b"".join(pending)
    if in_frame:
        raise _corrupt("zstd", "ends early (truncated)")


def _plain_chunks(source: Iterator[bytes]) -> Iterator[bytes]:
    yield from source


class LayerStream(io.RawIOBase):
    """The uncompressed tar of one layer, capped, counted and hashed; see module doc."""

    def __init__(
        self,
        raw: BinaryIO,
        *,
        limits: Limits,
        budget: ImageBudget,
        diff_id: str,
        what: str,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._what = what
        self._diff_id = diff_id
        self._hasher = new_hasher(diff_id)
        self._layer_limit = limits.max_layer_bytes
        self._budget = budget
        self.size = 0  # uncompressed bytes produced so far
        head = _read_head(raw)
        self.compression = sniff(head)
        source = _source(head, raw)
        if self.compression == "gzip":
            self._chunks = _gzip_chunks(source)
        elif self.compression == "zstd":
            self._chunks = _zstd_chunks(source, limits)
        else:
            self._chunks = _plain_chunks(source)
        self._pending = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            if self._eof:
                return 0
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
                return 0
            self._account(chunk)
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _account(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._layer_limit:
            raise LimitExceededError(
                f"{self._what} decompresses to more than {self._layer_limit} bytes",
                hint="If the image is trusted and really this large, raise the layer size limit.",
            )
        self._budget.spend(len(chunk))
        self._hasher.update(chunk)

    def drain_compressed(self) -> None:
        """Read the blob to EOF without decompressing, so its digest check runs."""
        while self._raw.read(READ_CHUNK):
            pass

    def finish(self) -> str:
        """Check the tar against diff_id once everything has been read; return the digest."""
        while self.read(READ_CHUNK):
            pass
        self.drain_compressed()
        alg = self._diff_id.split(":", 1)[0]
        actual = f"{alg}:{self._hasher.hexdigest()}"
        if actual != self._diff_id:
            raise IntegrityError(
                f"{self._what}: uncompressed digest {actual} does not match "
                f"the config's diff_id {self._diff_id}"
            )
        return actual
