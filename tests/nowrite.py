"""Test helper for bad inputs: the call fails with exactly one error class and writes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dock2uni.errors import Dock2UniError


def state(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and mtime, to prove nothing was written."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            found[os.path.relpath(os.path.join(dirpath, name), root)] = (st.st_size, st.st_mtime_ns)
    return found


def expect(
    error: type[Dock2UniError], code: int, call: Callable[[], object], tmp_path: Path
) -> Dock2UniError:
    """``call`` fails with exactly ``error`` (exit ``code``, with a hint) and writes nothing."""
    before = state(tmp_path)
    with pytest.raises(Dock2UniError) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert info.value.exit_code == code
    assert info.value.hint
    assert state(tmp_path) == before
    return info.value
