"""The cache directory is untrusted input: its own structure must not redirect a write or a read.

The cache folder itself (``--cache-dir``, ``DOCK2UNI_CACHE``, ``~/.cache/dock2uni``) is the
user's choice and may be a symlink. Everything dock2uni makes *inside* it (``files/``,
``files/sha256/XX``, ``files/packs``, ``layers/``, ``analysis/...``, ``build/``) must be a real
directory: ``subdir`` creates or checks each component with ``lstat`` and refuses a
symlink or a non-directory with an ``OutputError`` (exit 15) naming what to delete, so a
planted ``files -> /etc`` cannot make a write land outside the cache. Files are then
created with ``O_EXCL`` (``mkstemp``) and published with ``rename``, which replaces a
symlink at the final name instead of following it; ``open_regular`` reads a cache file
with ``O_NOFOLLOW | O_NONBLOCK`` and refuses anything but a regular file (a FIFO planted
in the cache would otherwise block the reader forever). See docs/security.md.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from dock2uni.errors import OutputError


def _refuse(path: Path | str, what: str) -> OutputError:
    return OutputError(
        f"the cache is not usable: {path} is {what}, not a directory dock2uni made",
        hint=f"Remove {path} (dock2uni makes it again) or pass another --cache-dir.",
    )


def ensure_root(root: Path) -> Path:
    """Create the user's cache folder (and parents) if needed; it must be a directory."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _refuse(root, "a file or a dangling symlink") from None
    except OSError as exc:
        raise OutputError(
            f"cannot create the cache folder {root}: {exc.strerror or exc}",
            hint="Check permissions, or pass another --cache-dir.",
        ) from None
    if not root.is_dir():
        raise _refuse(root, "a file")
    return root


def check_dir(path: Path | str) -> None:
    """``path`` must be a real directory (lstat: a symlink to one is refused)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise OutputError(f"cannot use the cache entry {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, "a symlink")
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "a file")


def make_dir(path: Path | str) -> None:
    """Create one directory level under a checked parent, or check the existing one."""
    try:
        os.mkdir(path, 0o755)
        return
    except FileExistsError:
        pass
    except OSError as exc:
        raise OutputError(
            f"cannot create {path} in the cache: {exc.strerror or exc}",
            hint="Check free space and permissions of the cache directory "
            "(--cache-dir or DOCK2UNI_CACHE chooses another one).",
        ) from None
    check_dir(path)


def subdir(root: Path, *parts: str) -> Path:
    """``root/part/part...``: root (the user's choice) made if missing, each part checked."""
    ensure_root(root)
    path = root
    for part in parts:
        path = path / part
        make_dir(path)
    return path


def is_regular(path: Path | str) -> bool:
    """``path`` is there and a regular file itself (lstat: a planted symlink is not)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def open_regular(path: Path | str) -> BinaryIO:
    """Open a cache file for reading: no symlink, no FIFO or device (OSError otherwise)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(f"{path} is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
