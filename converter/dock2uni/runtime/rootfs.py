"""A container's rootfs directory (the bundle's root.path) as the unpack stage's UnpackedImage.

Two passes. ``scan`` lstat()s every entry, never following a symlink or leaving the
tree, and folds the metadata into a fingerprint: path, type, mode, owner, and for
a regular file its size and mtime, for a symlink its target. That is the quick
check rsync and make rely on; it names the conversion in the cache, so a warm
create costs one stat walk. Two things are left out on purpose, because an engine
changes them for every container without changing any content: directory mtimes
(overlayfs copies /, /etc and /dev up when Docker adds its mount points) and the
mtime of empty files (those mount points themselves). ``unpacked`` (cold path only)
then reads every regular file into the content store and builds the Tree.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dock2uni.context import Context
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DeviceNode, DirNode, FifoNode, FileNode, Node, SymlinkNode, Tree
from dock2uni.model import AcquiredImage, Platform
from dock2uni.runtime.errors import OciError
from dock2uni.unpack import UnpackedImage

TRANSPORT = "rootfs"


@dataclass(frozen=True)
class Entry:
    path: str  # inside the rootfs, "/a/b"
    host: str  # on the host
    st: os.stat_result


@dataclass(frozen=True)
class Scan:
    root: Path
    entries: tuple[Entry, ...]
    fingerprint: str  # sha256 hex of the metadata


def scan(root: Path, ctx: Context) -> Scan:
    """Every entry below ``root`` (not ``root`` itself), depth first, and the fingerprint."""
    limit = ctx.limits.max_entries
    entries: list[Entry] = []
    digest = hashlib.sha256()
    stack = [("", str(root))]
    links: dict[tuple[int, int], str] = {}
    while stack:
        prefix, host_dir = stack.pop()
        try:
            with os.scandir(host_dir) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise OciError(f"cannot read the rootfs directory {host_dir}: {exc.strerror}") from None
        subdirs = []
        for child in children:
            st = child.stat(follow_symlinks=False)
            path = f"{prefix}/{child.name}"
            entries.append(Entry(path, child.path, st))
            if len(entries) > limit:
                raise OciError(f"the rootfs has more than {limit} entries")
            mode = st.st_mode
            item: list[Any] = [path, stat.S_IFMT(mode), stat.S_IMODE(mode), st.st_uid, st.st_gid]
            if stat.S_ISREG(mode):
                mtime = st.st_mtime_ns if st.st_size else 0
                # Hardlinks by the first name of their inode: inode numbers are not content.
                first = links.setdefault((st.st_dev, st.st_ino), path) if st.st_nlink > 1 else ""
                item += [st.st_size, mtime, first]
            elif stat.S_ISLNK(mode):
                item.append(os.readlink(child.path))
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                item.append(st.st_rdev)
            elif stat.S_ISDIR(mode):
                subdirs.append((path, child.path))
            digest.update(repr(item).encode("utf-8", "surrogateescape") + b"\n")
        stack.extend(reversed(subdirs))
    return Scan(root=root, entries=tuple(entries), fingerprint=digest.hexdigest())


def _node(entry: Entry, store: ContentStore, links: dict[tuple[int, int], FileNode]) -> Node | None:
    st = entry.st
    common: dict[str, Any] = {
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime": int(st.st_mtime),
    }
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return DirNode(**common)
    if stat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            return links[key]  # a hardlink: the same node under another name
        fd = os.open(entry.host, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            digest = store.put(f, st.st_size)
        node = FileNode(size=st.st_size, digest=digest, **common)
        if st.st_nlink > 1:
            links[key] = node
        return node
    if stat.S_ISLNK(mode):
        return SymlinkNode(target=os.readlink(entry.host), **common)
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return DeviceNode(
            block=stat.S_ISBLK(mode),
            major=os.major(st.st_rdev),
            minor=os.minor(st.st_rdev),
            **common,
        )
    if stat.S_ISFIFO(mode):
        return FifoNode(**common)
    return None  # a socket: nothing to carry into an image


def unpacked(found: Scan, config: dict[str, Any], ctx: Context) -> UnpackedImage:
    """The rootfs as an UnpackedImage whose image config is ``config`` (the run spec's
    input: Entrypoint, Cmd, Env, WorkingDir, User)."""
    store = ContentStore(ctx.cache_dir / "files")
    tree = Tree()
    dirs: dict[str, DirNode] = {"": tree.root}
    links: dict[tuple[int, int], FileNode] = {}
    try:
        for entry in found.entries:
            node = _node(entry, store, links)
            if node is None:
                continue
            parent, _, name = entry.path.rpartition("/")
            dirs[parent].children[name] = node
            if isinstance(node, DirNode):
                dirs[entry.path] = node
    except OSError as exc:
        raise OciError(f"cannot read the rootfs: {exc.strerror}: {exc.filename}") from None
    config_doc = {"architecture": "amd64", "os": "linux", "config": config}
    config_bytes = repr(config_doc).encode()
    image = AcquiredImage(
        source=f"{TRANSPORT}:{found.root}",
        transport=TRANSPORT,
        reference=None,
        manifest_digest=f"sha256:{found.fingerprint}",
        manifest_media_type="",
        manifest={},
        manifest_bytes=b"",
        config_digest="sha256:" + hashlib.sha256(config_bytes).hexdigest(),
        config=config_doc,
        config_bytes=config_bytes,
        layers=(),
        platform=Platform(os="linux", architecture="amd64"),
    )
    return UnpackedImage(image=image, tree=tree, store=store, layers=())
