"""Stage 2, unpack: AcquiredImage -> UnpackedImage (merged in-memory tree + content store).

Interface:
  * ``unpack(image, ctx)`` streams every layer (verifying digest, size and diff_id),
    applies it to a ``fs.tree.Tree`` with OCI whiteout semantics, and stores regular
    files' bytes in the content store under ``ctx.cache_dir / "files"``.
Nothing is ever extracted to the host by image path. Design and rules: docs/unpack.md.
"""

from __future__ import annotations

from dock2uni.unpack.result import LayerStats, UnpackedImage
from dock2uni.unpack.stage import unpack

__all__ = ["LayerStats", "UnpackedImage", "unpack"]
