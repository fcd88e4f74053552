"""Stage 2, unpack: AcquiredImage -> UnpackedImage (merged in-memory tree + content store).

Interface:
  * ``unpack(image, ctx)`` streams every layer (verifying digest, size and diff_id),
    applies it to a ``fs.tree.Tree`` with OCI whiteout semantics, and stores regular
    files' bytes in the content store under ``ctx.cache_dir / "files"``.
Nothing is ever extracted to the host by image path.
"""

from __future__ import annotations

from dataclasses import dataclass

from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import Tree
from dock2uni.model import AcquiredImage


@dataclass(frozen=True, kw_only=True)
class LayerStats:
    """What unpacking one layer found."""

    digest: str
    diff_id: str
    media_type: str
    compression: str  # detected from magic bytes: tar, gzip or zstd
    compressed_size: int
    uncompressed_size: int
    entries: int


@dataclass(frozen=True, kw_only=True)
class UnpackedImage:
    """The image's merged root filesystem and how it was built."""

    image: AcquiredImage
    tree: Tree
    store: ContentStore
    layers: tuple[LayerStats, ...]
