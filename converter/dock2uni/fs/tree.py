"""The merged image filesystem as an in-memory tree, with chroot-style path resolution.

Interface:
  * ``Tree()`` starts with an empty root directory; the unpack stage fills it.
  * ``tree.lookup(path)`` resolves a path *inside* the image: absolute symlinks
    restart at the image root, ``..`` never climbs above it, at most 40 symlinks
    are followed (Linux MAXSYMLINKS). Nothing here ever touches the host's files.
  * ``tree.walk()`` yields every (path, node) in sorted order, for writers (cpio)
    and reports. Hardlinks are the same node object under several names.

Regular files hold only metadata and the digest of their content; the bytes live
in a ContentStore (named by hash, never by image path).
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field


class TreePathError(Exception):
    """A path that does not resolve inside the tree; ``errno`` says why."""

    def __init__(self, err: int, path: str) -> None:
        super().__init__(f"{path}: {errno.errorcode.get(err, err)}")
        self.errno = err
        self.path = path


@dataclass(eq=False, kw_only=True)
class Node:
    """Metadata common to every entry. ``mode`` holds permission bits only (07777)."""

    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)

    kind = "node"
    type_bits = 0

    @property
    def st_mode(self) -> int:
        return self.type_bits | (self.mode & 0o7777)


@dataclass(eq=False, kw_only=True)
class FileNode(Node):
    size: int = 0
    digest: str = ""  # sha256:<hex> of the content, a key of the ContentStore

    kind = "file"
    type_bits = stat.S_IFREG


@dataclass(eq=False, kw_only=True)
class DirNode(Node):
    mode: int = 0o755
    children: dict[str, Node] = field(default_factory=dict)

    kind = "dir"
    type_bits = stat.S_IFDIR


@dataclass(eq=False, kw_only=True)
class SymlinkNode(Node):
    mode: int = 0o777
    target: str = ""

    kind = "symlink"
    type_bits = stat.S_IFLNK


@dataclass(eq=False, kw_only=True)
class DeviceNode(Node):
    """A character or block device: recorded, never created on the host."""

    block: bool = False
    major: int = 0
    minor: int = 0

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "block" if self.block else "char"

    @property
    def type_bits(self) -> int:  # type: ignore[override]
        return stat.S_IFBLK if self.block else stat.S_IFCHR


@dataclass(eq=False, kw_only=True)
class FifoNode(Node):
    kind = "fifo"
    type_bits = stat.S_IFIFO


MAX_SYMLINK_HOPS = 40
# Bound on components visited in one resolution: 40 hops of long link targets must
# not make a lookup superlinear (the unpack stage caps its own resolver the same way).
MAX_RESOLVE_STEPS = 8192


def split_path(path: str) -> list[str]:
    """Components of a path, without empty and '.' parts."""
    return [c for c in path.split("/") if c and c != "."]


@dataclass(frozen=True)
class Resolved:
    """Where a path lands: its parent directory, final name, the node (or None), and path."""

    parent: DirNode
    name: str  # "" for the root itself
    node: Node | None
    path: str  # canonical absolute path inside the image


class Tree:
    """An image root filesystem held in memory."""

    def __init__(self, root: DirNode | None = None) -> None:
        self.root = root or DirNode(mode=0o755)

    # -- resolution -------------------------------------------------------------------

    def resolve(
        self, path: str, *, follow: bool = True, max_hops: int = MAX_SYMLINK_HOPS
    ) -> Resolved:
        """Resolve ``path`` inside the image. Intermediate symlinks are always followed;
        the final one only with ``follow``. A missing final component is not an error
        (``node`` is None); a missing or non-directory parent raises TreePathError."""
        todo = split_path(path)
        todo.reverse()  # a stack: pop() takes the next component
        stack: list[tuple[str, DirNode]] = [("", self.root)]
        hops = 0
        steps = 0
        while todo:
            steps += 1
            if steps > MAX_RESOLVE_STEPS:
                raise TreePathError(errno.ENAMETOOLONG, path)
            comp = todo.pop()
            if comp == "..":
                if len(stack) > 1:
                    stack.pop()
                continue
            parent = stack[-1][1]
            child = parent.children.get(comp)
            last = not todo
            if isinstance(child, SymlinkNode) and (follow or not last):
                hops += 1
                if hops > max_hops:
                    raise TreePathError(errno.ELOOP, path)
                target = split_path(child.target)
                if child.target.startswith("/"):
                    del stack[1:]
                todo.extend(reversed(target))
                continue
            if last:
                return Resolved(parent, comp, child, self._join(stack, comp))
            if child is None:
                raise TreePathError(errno.ENOENT, path)
            if not isinstance(child, DirNode):
                raise TreePathError(errno.ENOTDIR, path)
            stack.append((comp, child))
        # The path resolved to a directory already on the stack (root, '.', 'a/..', a link).
        name, node = stack[-1]
        parent = stack[-2][1] if len(stack) > 1 else self.root
        return Resolved(parent, name, node, self._join(stack[:-1], name) if name else "/")

    @staticmethod
    def _join(stack: list[tuple[str, DirNode]], last: str) -> str:
        parts = [name for name, _ in stack[1:]]
        if last:
            parts.append(last)
        return "/" + "/".join(parts)

    def lookup(self, path: str, *, follow: bool = True) -> Node | None:
        """The node at ``path``, or None if it does not exist or cannot be resolved."""
        try:
            return self.resolve(path, follow=follow).node
        except TreePathError:
            return None

    def realpath(self, path: str) -> str | None:
        """Canonical path inside the image with every symlink resolved, or None."""
        try:
            res = self.resolve(path, follow=True)
        except TreePathError:
            return None
        return res.path if res.node is not None else None

    # -- traversal ---------------------------------------------------------------------

    def walk(self, top: str = "/") -> Iterator[tuple[str, Node]]:
        """Yield (path, node) depth first in sorted name order; ``top`` itself first."""
        start = self.lookup(top)
        if start is None:
            return
        prefix = "" if top in ("", "/") else "/" + "/".join(split_path(top))
        yield (prefix or "/", start)
        if isinstance(start, DirNode):
            yield from self._walk_dir(prefix, start)

    def _walk_dir(self, prefix: str, node: DirNode) -> Iterator[tuple[str, Node]]:
        for name in sorted(node.children):
            child = node.children[name]
            path = f"{prefix}/{name}"
            yield path, child
            if isinstance(child, DirNode):
                yield from self._walk_dir(path, child)

    def stats(self) -> tuple[int, int]:
        """(number of entries other than the root, total bytes of distinct regular files)."""
        count = 0
        size = 0
        seen: set[int] = set()
        for path, node in self.walk():
            if path == "/":
                continue
            count += 1
            if isinstance(node, FileNode) and id(node) not in seen:
                seen.add(id(node))
                size += node.size
        return count, size
