"""Write an image tree out as a throwaway root directory (for ``--trace`` and ground truth).

Careful by construction: the destination is a fresh empty directory; entries are created
parents first in the tree's own order, so no path ever passes through a symlink we made;
regular files are copied from the content store (never hard-linked: a traced program
writing to them must not change the store) with O_NOFOLLOW|O_EXCL; directories and
symlinks are made with os.mkdir/os.symlink, link targets written verbatim and never
followed; devices and FIFOs from the image are skipped and a minimal /dev is made.
Set-user/group-ID bits are dropped.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode, Tree

DEVICES = {"null": (1, 3), "zero": (1, 5), "random": (1, 8), "urandom": (1, 9), "full": (1, 7)}


def materialise(tree: Tree, store: ContentStore, dest: Path) -> Path:
    """Create the tree under ``dest`` (which must not exist yet); return it."""
    dest.mkdir(mode=0o755)
    copied: dict[int, Path] = {}
    dir_modes: list[tuple[Path, int]] = []
    for path, node in tree.walk():
        if path == "/":
            continue
        target = dest / path.lstrip("/")
        if isinstance(node, DirNode):
            os.mkdir(target, 0o755)
            dir_modes.append((target, (node.mode & 0o777) | 0o700))
        elif isinstance(node, SymlinkNode):
            os.symlink(node.target, target)
        elif isinstance(node, FileNode):
            first = copied.get(id(node))
            if first is not None:
                os.link(first, target, follow_symlinks=False)
                continue
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out, store.open(node.digest) as src:
                shutil.copyfileobj(src, out, 1 << 20)
            os.chmod(target, node.mode & 0o777, follow_symlinks=False)
            copied[id(node)] = target
    for name, mode in ("dev", 0o755), ("proc", 0o555), ("tmp", 0o1777), ("sys", 0o555):
        top = dest / name
        if not top.is_symlink() and not top.exists():
            os.mkdir(top, 0o755)
        if top.is_dir() and not top.is_symlink():
            os.chmod(top, mode)
    dev = dest / "dev"
    if dev.is_dir() and not dev.is_symlink():
        for name, (major, minor) in DEVICES.items():
            node_path = dev / name
            if node_path.exists() or node_path.is_symlink():
                continue
            try:
                os.mknod(node_path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
            except OSError:
                break  # no CAP_MKNOD: the program sees no devices
    for made, mode in reversed(dir_modes):
        os.chmod(made, mode)
    return dest
