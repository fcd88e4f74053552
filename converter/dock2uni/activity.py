"""A progress display for a long step whose size is not known in advance (the analysis):
a tqdm line on stderr with the step's name and the elapsed time, refreshed twice a
second, only for a human watching a terminal (Context.show_progress)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from dock2uni.context import Context

REFRESH_SECONDS = 0.5
DEFAULT_SIZE = (80, 24)


def _size(ctx: Context) -> tuple[int, int]:
    """The terminal's (columns, lines); 80x24 when it reports none (a fresh pty says 0x0,
    with which tqdm would print nothing at all)."""
    try:
        size = os.get_terminal_size(ctx.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return DEFAULT_SIZE
    return (size.columns or DEFAULT_SIZE[0], size.lines or DEFAULT_SIZE[1])


@contextmanager
def activity(ctx: Context, desc: str) -> Iterator[None]:
    """Show ``desc`` and a running clock while the block runs; nothing off a terminal."""
    if not ctx.show_progress:
        yield
        return
    columns, lines = _size(ctx)
    bar = tqdm(
        total=None,
        desc=desc,
        bar_format="{desc}: {elapsed}",
        file=ctx.stderr,
        leave=False,
        ncols=columns,
        nrows=lines,
    )
    done = threading.Event()

    def tick() -> None:
        while not done.wait(REFRESH_SECONDS):
            bar.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        bar.close()
