"""Apply one layer's changes to the in-memory Tree with OCI layer.md semantics.

Interface:
  * ``Applier(tree, limits)``; per layer: ``begin_layer()``, ``apply(change)`` for
    each change in archive order, ``end_layer()``.

Rules (umoci's ``tar_extract.go`` is the reference behaviour):
  * Parent directories are resolved inside the tree, following symlinks with
    chroot semantics (absolute targets restart at the image root, ``..`` stops
    there, at most ``limits.max_symlink_hops``); missing ones are created 0755.
  * The final component is never followed. Anything already there is replaced,
    except a directory over a directory, which only takes the new metadata.
  * Whiteouts only remove what *lower* layers put there, wherever they appear in
    the archive: paths touched by this layer (created, or ancestors of created
    entries) survive, and a touched directory keeps its touched children only.
    An opaque marker does the same for every child of its directory.
  * A hardlink is the same node object under a second name; its target is
    resolved from the root (parents followed, final component not) and must
    exist and not be a directory.
  * The root directory only ever takes directory metadata (CVE-2021-29136).

Work per change is bounded by the path depth and the symlink budget; each
directory is pruned by whiteouts at most once per layer, so even 10^5 opaque
markers cost linear time (GHSA-rp3h-jf77-q9p4).
"""

from __future__ import annotations

from dock2uni.context import Limits
from dock2uni.errors import LimitExceededError, UnsafeLayerError
from dock2uni.fs.tree import (
    DeviceNode,
    DirNode,
    FifoNode,
    FileNode,
    Node,
    SymlinkNode,
    Tree,
)
from dock2uni.unpack import tarstream
from dock2uni.unpack.changes import OPAQUE, WHITEOUT, Change

# Components walked while resolving one path, symlink targets included. Linux
# bounds this by 40 links of at most 4 KiB each; we bound the work directly so a
# layer of many entries through long symlink chains stays linear.
MAX_RESOLVE_STEPS = 8192

_Stack = list[tuple[str, DirNode]]


class _Missing(Exception):
    """A parent that does not exist (or is not a directory) when nothing may be created."""


def _loop(path: str) -> UnsafeLayerError:
    return UnsafeLayerError(
        f"resolving {path[:200]!r} inside the image loops through symlinks "
        f"(too many levels of symbolic links)",
        hint="The layer contains a symlink loop or an over-long symlink chain; do not use it.",
    )


class Applier:
    """Applies changes to ``tree``; see the module docstring for the rules."""

    def __init__(self, tree: Tree, limits: Limits) -> None:
        self.tree = tree
        self.limits = limits
        # Names touched by the current layer, per directory object (paths, not
        # nodes: a hardlink to a lower file must not protect that file's other name).
        self._touched: dict[DirNode, set[str]] = {}
        self._pruned: set[DirNode] = set()

    def begin_layer(self) -> None:
        self._touched = {}
        self._pruned = set()

    def end_layer(self) -> None:
        self.begin_layer()  # drop per-layer bookkeeping (and the nodes it keeps alive)

    # -- resolution -------------------------------------------------------------

    def _resolve_dir(self, parts: list[str], *, create: bool, path: str) -> _Stack:
        """The directory ``parts`` names, as the stack of (name, dir) from the root.
        Symlinks are followed everywhere (chroot semantics). Missing components are
        created with ``create``, else ``_Missing`` is raised, as for a non-directory."""
        stack: _Stack = [("", self.tree.root)]
        todo = parts[::-1]
        hops = 0
        steps = 0
        depth_bytes = 0
        while todo:
            steps += 1
            if steps > MAX_RESOLVE_STEPS:
                raise _loop(path)
            comp = todo.pop()
            if comp in ("", "."):
                continue
            if comp == "..":
                if len(stack) > 1:
                    depth_bytes -= len(stack.pop()[0]) + 1
                continue
            current = stack[-1][1]
            child = current.children.get(comp)
            if child is None:
                if not create:
                    raise _Missing(path)
                child = DirNode(mode=0o755)  # marked touched with the whole chain later
                current.children[comp] = child
            elif isinstance(child, SymlinkNode):
                hops += 1
                if hops > self.limits.max_symlink_hops:
                    raise _loop(path)
                target = child.target
                if target.startswith("/"):
                    del stack[1:]
                    depth_bytes = 0
                todo.extend(reversed(target.split("/")))
                continue
            elif not isinstance(child, DirNode):
                if not create:
                    raise _Missing(path)
                raise UnsafeLayerError(
                    f"tar entry {path[:200]!r}: a parent is not a directory "
                    f"({child.kind} {comp[:100]!r})"
                )
            stack.append((comp, child))
            depth_bytes += len(comp) + 1
            limits = self.limits
            if len(stack) > limits.max_path_depth + 1 or depth_bytes > limits.max_path_bytes:
                raise LimitExceededError(
                    f"tar entry {path[:200]!r} resolves (through symlinks) to a path "
                    f"deeper or longer than the limits ({self.limits.max_path_depth} "
                    f"levels, {self.limits.max_path_bytes} bytes)"
                )
        return stack

    def _mark(self, parent: DirNode, name: str) -> bool:
        """Record ``name`` in ``parent`` as touched; False if it already was."""
        names = self._touched.get(parent)
        if names is None:
            self._touched[parent] = {name}
            return True
        if name in names:
            return False
        names.add(name)
        return True

    def _mark_chain(self, stack: _Stack) -> None:
        # Marks always cover a path's whole chain of ancestors, so stop at the
        # first one already marked: amortised O(1) per change.
        for i in range(len(stack) - 1, 0, -1):
            if not self._mark(stack[i - 1][1], stack[i][0]):
                break

    # -- changes ------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        parts = change.path.split("/") if change.path else []
        if change.kind in (WHITEOUT, OPAQUE):
            self._apply_whiteout(change, parts)
            return
        if not parts:
            if change.kind != tarstream.DIR:
                raise UnsafeLayerError(
                    f"tar entry for the image root is a {change.kind}: refusing to change "
                    f"the type of the root directory",
                    hint="The layer tries to replace '/' (CVE-2021-29136 class); do not use it.",
                )
            _set_metadata(self.tree.root, change)
            return
        stack = self._resolve_dir(parts[:-1], create=True, path=change.path)
        parent = stack[-1][1]
        name = parts[-1]
        existing = parent.children.get(name)
        if change.kind == tarstream.DIR and isinstance(existing, DirNode):
            _set_metadata(existing, change)
        else:
            parent.children[name] = self._new_node(change)
        if self._mark(parent, name):
            self._mark_chain(stack)

    def _new_node(self, change: Change) -> Node:
        kind = change.kind
        node: Node
        if kind == tarstream.FILE:
            node = FileNode(size=change.size, digest=change.digest)
        elif kind == tarstream.DIR:
            node = DirNode()
        elif kind == tarstream.SYMLINK:
            node = SymlinkNode(target=change.link)
        elif kind == tarstream.HARDLINK:
            return self._link_target(change)  # shares the node: no metadata of its own
        elif kind in (tarstream.CHAR, tarstream.BLOCKDEV):
            node = DeviceNode(
                block=kind == tarstream.BLOCKDEV, major=change.devmajor, minor=change.devminor
            )
        elif kind == tarstream.FIFO:
            node = FifoNode()
        else:
            raise UnsafeLayerError(f"tar entry {change.path[:200]!r} has unknown kind {kind!r}")
        _set_metadata(node, change)
        return node

    def _link_target(self, change: Change) -> Node:
        parts = change.link.split("/") if change.link else []
        what = f"hardlink {change.path[:200]!r} -> {change.link[:200]!r}"
        if not parts:
            raise UnsafeLayerError(f"{what}: the target is the root directory")
        try:
            parent = self._resolve_dir(parts[:-1], create=False, path=change.link)[-1][1]
        except _Missing:
            parent = None
        target = parent.children.get(parts[-1]) if parent is not None else None
        if target is None:
            raise UnsafeLayerError(
                f"{what}: the target does not exist in the image",
                hint="Hardlinks may only point at files already in the image; "
                "the layer is malformed or malicious.",
            )
        if isinstance(target, DirNode):
            raise UnsafeLayerError(f"{what}: the target is a directory")
        return target

    def _apply_whiteout(self, change: Change, parts: list[str]) -> None:
        # Like umoci: a whiteout whose parent does not resolve has nothing to hide.
        try:
            if change.kind == OPAQUE:
                directory = self._resolve_dir(parts, create=False, path=change.path)[-1][1]
                self._prune(directory)
                return
            parent = self._resolve_dir(parts[:-1], create=False, path=change.path)[-1][1]
        except _Missing:
            return
        name = parts[-1]
        node = parent.children.get(name)
        if node is None:
            return
        if name not in self._touched.get(parent, ()):
            del parent.children[name]
        elif isinstance(node, DirNode):
            self._prune(node)

    def _prune(self, directory: DirNode) -> None:
        """Remove every lower-layer entry below ``directory``, keeping touched ones."""
        todo = [directory]
        while todo:
            current = todo.pop()
            if current in self._pruned:
                continue
            self._pruned.add(current)
            keep = self._touched.get(current)
            if not keep:
                current.children.clear()
                continue
            for name in list(current.children):
                if name not in keep:
                    del current.children[name]
                else:
                    child = current.children[name]
                    if isinstance(child, DirNode):
                        todo.append(child)


def _set_metadata(node: Node, change: Change) -> None:
    node.mode = change.mode & 0o7777
    node.uid = change.uid
    node.gid = change.gid
    node.mtime = change.mtime
    node.xattrs = dict(change.xattrs)
