"""Materialise an unpacked tree into a host directory, for native ground-truth runs (chroot).

Only for images the tests built themselves from trusted fixtures: it writes with
plain os calls under a fresh directory, never follows links while writing, and
skips device nodes. dock2uni itself never extracts images to the host.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FifoNode, FileNode, SymlinkNode, Tree


def materialise(tree: Tree, store: ContentStore, dest: Path) -> Path:
    """Write ``tree`` under ``dest`` (which must not exist) with modes, owners and mtimes."""
    dest.mkdir(parents=True)
    links: dict[int, Path] = {}
    dirs: list[tuple[Path, DirNode]] = []
    for path, node in tree.walk():
        target = dest / path.lstrip("/") if path != "/" else dest
        if isinstance(node, DirNode):
            if path != "/":
                target.mkdir()
            dirs.append((target, node))
            continue
        if isinstance(node, SymlinkNode):
            os.symlink(node.target, target)
            os.lchown(target, node.uid, node.gid)
            os.utime(target, (node.mtime, node.mtime), follow_symlinks=False)
            continue
        if isinstance(node, FileNode):
            if id(node) in links:
                os.link(links[id(node)], target)
                continue
            links[id(node)] = target
            shutil.copyfile(store.path(node.digest), target)
        elif isinstance(node, FifoNode):
            os.mkfifo(target)
        else:
            continue  # device nodes: not needed by the programs we run
        os.chown(target, node.uid, node.gid)
        os.chmod(target, node.mode)
        os.utime(target, (node.mtime, node.mtime))
    for target, node in reversed(dirs):  # after the children, so their writes don't touch it
        os.chown(target, node.uid, node.gid)
        os.chmod(target, node.mode)
        os.utime(target, (node.mtime, node.mtime))
    return dest


def docker_dev(root: Path) -> Path:
    """Give ``root`` what Docker's /dev has that programs here need: a null device (busybox
    sh's background jobs read it, ``perl -e`` opens it as its script file) and a
    world-writable ``shm`` (glibc's sem_open, so multiprocessing's locks, creates files
    there). The unikernel makes both itself (libos/fs/devfs.c)."""
    dev = root / "dev"
    dev.mkdir(mode=0o755, exist_ok=True)
    if not (dev / "null").exists():
        os.mknod(dev / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(dev / "null", 0o666)
    if not (dev / "shm").exists():
        (dev / "shm").mkdir()
        os.chmod(dev / "shm", 0o1777)
    return root


def run_in_chroot(
    root: Path, argv: tuple[str, ...], env: Mapping[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """argv run natively in ``root`` (cwd /, ``env`` only), output captured: the ground
    truth a booted run is compared with."""
    return subprocess.run(
        ["chroot", str(root), *argv],
        capture_output=True,
        env=dict(env),
        cwd="/",
        timeout=60,
        check=False,
    )
