"""The unpack stage: read each layer (or replay its cached changeset) onto one Tree.

Per layer, cold: blob bytes (digest-checked by the source's opener) -> sniffed,
capped decompression hashed for diff_id -> strict tar reader -> name checks ->
file bytes into the ContentStore -> Applier. The changeset is cached only after
the blob digest and diff_id have both been verified. Warm: when a changeset for
the same (digest, diff_id) exists and every content digest it names is still in
the store, its changes are replayed through the same Applier.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, cast

from dock2uni.context import Context, Limits
from dock2uni.errors import IntegrityError, LimitExceededError, UnsafeLayerError
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import Tree
from dock2uni.model import AcquiredImage, Layer
from dock2uni.oci.digest import check_document_digest
from dock2uni.oci.mediatypes import LAYER_COMPRESSION
from dock2uni.unpack import tarstream
from dock2uni.unpack.apply import Applier
from dock2uni.unpack.cache import CachedLayer, ChangeLogWriter, LayerCache, LayerSummary
from dock2uni.unpack.changes import (
    OPAQUE,
    Change,
    change_from_entry,
    check_symlink_target,
    normalise_path,
)
from dock2uni.unpack.decompress import ImageBudget, LayerStream
from dock2uni.unpack.result import LayerStats, UnpackedImage

# Files up to this size are read whole: one hash, and no store write at all
# when the content is already there (the common case for a second image);
# larger ones are streamed.
SMALL_FILE = 1 << 20


class _EntryCounter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def add(self, count: int = 1) -> None:
        self.count += count
        if self.count > self.limit:
            raise LimitExceededError(
                f"the image has more than {self.limit} tar entries",
                hint="If the image is trusted and really this large, raise --max-entries.",
            )


class _ProgressReader:
    """Passes reads through and advances a progress bar by the bytes read."""

    def __init__(self, raw: BinaryIO, bar: Any) -> None:
        self._raw = raw
        self._bar = bar

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if chunk:
            self._bar.update(len(chunk))
        return chunk


class _Files:
    """Puts regular files' bytes into the ContentStore."""

    def __init__(self, store: ContentStore) -> None:
        self.store = store

    def put(self, reader: tarstream.TarReader, size: int) -> str:
        if size <= SMALL_FILE:
            return self.store.put_bytes(reader.read_data(size))
        return self.store.put(cast(BinaryIO, reader.data), size)

    def all_present(self, changes: list[Change]) -> bool:
        # with the size: a loose file of another size is damaged and counts as absent
        wanted = {c.digest: c.size for c in changes if c.kind == tarstream.FILE}
        return all(self.store.has(d, size) for d, size in wanted.items())


class _Unpacker:
    def __init__(self, image: AcquiredImage, ctx: Context) -> None:
        self.image = image
        self.ctx = ctx
        self.limits: Limits = ctx.limits
        self.store = ContentStore(ctx.cache_dir / "files")
        self.files = _Files(self.store)
        self.cache = LayerCache(ctx.cache_dir / "layers")
        self.tree = Tree()
        self.applier = Applier(self.tree, ctx.limits)
        self.budget = ImageBudget(ctx.limits)
        self.entries = _EntryCounter(ctx.limits.max_entries)

    def run(self) -> UnpackedImage:
        stats = []
        count = len(self.image.layers)
        for index, layer in enumerate(self.image.layers, 1):
            digest = check_document_digest(layer.descriptor.digest, what=f"layer {index} digest")
            diff_id = check_document_digest(layer.diff_id, what=f"layer {index} diff_id")
            what = f"layer {index}/{count} ({digest.split(':', 1)[1][:12]})"
            self.applier.begin_layer()
            cached = self.cache.load(digest, diff_id)
            if cached is not None and self._replayable(cached, what):
                summary = self._replay(cached)
                from_cache = True
            else:
                summary = self._read(layer, digest, diff_id, what)
                from_cache = False
            self.applier.end_layer()
            label = LAYER_COMPRESSION.get(layer.descriptor.media_type)
            if label is not None and label != summary.compression:
                self.ctx.log_debug(
                    f"{what}: labelled {label} ({layer.descriptor.media_type}) "
                    f"but the content is {summary.compression}; read as {summary.compression}"
                )
            self.ctx.log_debug(
                f"{what}: {summary.compression}, {summary.entries} entries, "
                f"{summary.uncompressed_size} bytes{' (cached changeset)' if from_cache else ''}"
            )
            stats.append(
                LayerStats(
                    digest=digest,
                    diff_id=diff_id,
                    media_type=layer.descriptor.media_type,
                    compression=summary.compression,
                    compressed_size=layer.descriptor.size,
                    uncompressed_size=summary.uncompressed_size,
                    entries=summary.entries,
                    cached=from_cache,
                )
            )
        return UnpackedImage(
            image=self.image, tree=self.tree, store=self.store, layers=tuple(stats)
        )

    # -- warm ---------------------------------------------------------------------

    def _replayable(self, cached: CachedLayer, what: str) -> bool:
        """Is the changeset well-formed under today's rules, with all its content present?"""
        try:
            for change in cached.changes:
                is_root = not change.path and change.kind in (tarstream.DIR, OPAQUE)
                if not is_root and normalise_path(change.path, self.limits) != change.path:
                    raise ValueError(change.path)
                if change.kind == tarstream.HARDLINK:
                    if normalise_path(change.link, self.limits) != change.link:
                        raise ValueError(change.link)
                elif change.kind == tarstream.SYMLINK:
                    check_symlink_target(change.link, change.path, self.limits)
        except (ValueError, UnsafeLayerError, LimitExceededError):
            self.ctx.log_debug(f"{what}: cached changeset no longer valid; reading the layer")
            return False
        if not self.files.all_present(cached.changes):
            self.ctx.log_debug(f"{what}: cached file contents missing; reading the layer")
            return False
        return True

    def _replay(self, cached: CachedLayer) -> LayerSummary:
        summary = cached.summary
        if summary.uncompressed_size > self.limits.max_layer_bytes:
            raise LimitExceededError(
                f"a layer decompresses to {summary.uncompressed_size} bytes "
                f"(limit {self.limits.max_layer_bytes})"
            )
        self.budget.spend(summary.uncompressed_size)
        self.entries.add(summary.entries)
        for change in cached.changes:
            self.applier.apply(change)
        return summary

    # -- cold ---------------------------------------------------------------------

    def _read(self, layer: Layer, digest: str, diff_id: str, what: str) -> LayerSummary:
        if layer.descriptor.size > self.limits.max_blob_bytes:
            raise LimitExceededError(
                f"{what} is {layer.descriptor.size} bytes compressed "
                f"(limit {self.limits.max_blob_bytes})"
            )
        log: ChangeLogWriter | None = None
        try:
            log = self.cache.writer(digest, diff_id)
        except OSError as exc:
            self.ctx.log_debug(f"{what}: cannot cache its changeset: {exc}")
        # One pack file per layer for its small files (see fs/store.py), published
        # before the changeset that names them.
        try:
            self.store.begin_pack()  # an OutputError here (a planted packs/) discards the log
        except BaseException:
            if log is not None:
                log.discard()
            raise
        try:
            with (
                self.ctx.progress(desc=what, total=layer.descriptor.size) as bar,
                layer.open() as raw,
            ):
                summary = self._read_stream(
                    cast(BinaryIO, _ProgressReader(raw, bar)), raw, diff_id, what, log
                )
            self.store.end_pack(commit=True)
        except BaseException:
            self.store.end_pack(commit=False)
            if log is not None:
                log.discard()
            raise
        if log is not None:
            try:
                log.commit(summary)
            except OSError as exc:
                log.discard()
                self.ctx.log_debug(f"{what}: cannot cache its changeset: {exc}")
        return summary

    def _read_stream(
        self,
        source: BinaryIO,
        raw: BinaryIO,
        diff_id: str,
        what: str,
        log: ChangeLogWriter | None,
    ) -> LayerSummary:
        try:
            stream = LayerStream(
                source, limits=self.limits, budget=self.budget, diff_id=diff_id, what=what
            )
            reader = tarstream.TarReader(
                io.BufferedReader(stream, 1 << 20),
                max_entry_bytes=self.limits.max_layer_bytes,
                max_path_bytes=self.limits.max_path_bytes,
            )
            entries = 0
            for entry in reader:
                entries += 1
                self.entries.add()
                change = change_from_entry(entry, self.limits)
                if change is None:
                    continue
                if change.kind == tarstream.FILE:
                    change.digest = self.files.put(reader, change.size)
                self.applier.apply(change)
                if log is not None:
                    log.add(change)
            stream.finish()
        except (UnsafeLayerError, IntegrityError):
            # A corrupt blob often shows first as a malformed archive: read the rest
            # of it (not decompressing) so a digest mismatch is what gets reported.
            while raw.read(1 << 20):
                pass
            raise
        return LayerSummary(
            compression=stream.compression, uncompressed_size=stream.size, entries=entries
        )


def unpack(image: AcquiredImage, ctx: Context) -> UnpackedImage:
    """Merge ``image``'s layers into an in-memory tree; see docs/unpack.md."""
    return _Unpacker(image, ctx).run()
