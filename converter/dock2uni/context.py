"""Run-wide settings every stage receives: streams, caches, limits and progress bars.

Stages never read os.environ or sys.stderr themselves; they get a Context, so
tests can build one with a private cache and captured streams.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Safety bounds on untrusted input; every one is checked while streaming."""

    max_image_bytes: int = 16 * GiB  # decompressed bytes over all layers
    max_layer_bytes: int = 8 * GiB  # decompressed bytes of one layer
    max_blob_bytes: int = 8 * GiB  # compressed bytes of one blob (descriptor size)
    max_entries: int = 2_000_000  # tar entries over all layers
    max_path_bytes: int = 4096  # Linux PATH_MAX
    max_name_bytes: int = 255  # Linux NAME_MAX
    max_path_depth: int = 256
    max_symlink_hops: int = 40  # Linux MAXSYMLINKS
    max_json_bytes: int = 4 * MiB  # manifest, index, config documents
    max_layers: int = 256  # layer references of one image (Docker itself stops at 125)
    max_zstd_window: int = 1 << 27  # libzstd's own default limit (128 MiB)


def default_cache_dir() -> Path:
    """Where blobs, file contents and per-layer indexes are cached."""
    if env := os.environ.get("DOCK2UNI_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dock2uni"


@dataclass(frozen=True, kw_only=True)
class Context:
    """What a stage may use besides its input: output streams, cache, limits, flags."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    limits: Limits = field(default_factory=Limits)
    quiet: bool = False
    debug: bool = False
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    @property
    def show_progress(self) -> bool:
        """Progress bars only for a human watching a terminal."""
        return not self.quiet and self.stderr.isatty()

    @contextmanager
    def progress(self, *, desc: str, total: int | None = None, unit: str = "B") -> Iterator[Any]:
        """A tqdm bar on stderr, or a silent one when not on a terminal or --quiet."""
        from tqdm import tqdm  # imported when a bar is made: ~45 ms of every start-up

        bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            unit_divisor=1024 if unit == "B" else 1000,
            file=self.stderr,
            disable=not self.show_progress,
            leave=False,
            dynamic_ncols=True,
        )
        try:
            yield bar
        finally:
            bar.close()

    def note(self, message: str) -> None:
        """One informational line on stderr (suppressed by --quiet)."""
        if not self.quiet:
            print(message, file=self.stderr)

    def log_debug(self, message: str) -> None:
        """A diagnostic line on stderr, only with --debug."""
        if self.debug:
            print(f"debug: {message}", file=self.stderr)
