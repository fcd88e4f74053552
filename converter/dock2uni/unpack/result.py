"""The values the unpack stage returns: the merged tree and what each layer contained."""

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
    cached: bool = False  # replayed from the per-layer changeset cache


@dataclass(frozen=True, kw_only=True)
class UnpackedImage:
    """The image's merged root filesystem and how it was built."""

    image: AcquiredImage
    tree: Tree
    store: ContentStore
    layers: tuple[LayerStats, ...]
