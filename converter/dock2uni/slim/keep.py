"""The kept set of the closure policy: image paths with the reason each one is kept.

Every path is resolved inside the image as the guest's kernel will resolve it, and
every symlink met on the way is kept too (``/lib64 -> usr/lib64``, ``python3 ->
python3.11``), so a kept name still leads to its file. Parent directories are added
when the entries are listed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dock2uni.fs.tree import (
    MAX_SYMLINK_HOPS,
    DirNode,
    FileNode,
    Node,
    SymlinkNode,
    Tree,
    split_path,
)

# Reason categories: the keys of the report's kept_by_reason (docs/slim.md).
CATEGORIES = (
    "added",  # named with convert --add-file
    "traced",  # touched by the program in convert --slim's traced run (slim/trace.py)
    "program",  # the main program, a script, its interpreter, programs it names
    "library",  # ELF closure: PT_INTERP, DT_NEEDED
    "dlopen",  # libraries the analysis found the programs likely dlopen
    "loader-config",  # ld.so.cache, ld.so.conf, ld-musl path file
    "system-file",  # files libc or TLS/iconv/curses libraries read
    "config",  # configuration the command line points at, and what it names
    "command-line",  # files and directories named by the command line
    "script-path",  # files and directories an entrypoint shell script names literally
    "workdir",  # the files of the image's working directory (the app's own: COPY . /app)
    "perl-module",  # perl modules a perl script a configuration runs uses
    "python-module",  # modules the python program imports
    "directory",  # working directory, HOME, /tmp
    "symlink",  # a symlink on the way to a kept path, or another name of a kept program
    "parent-directory",  # a directory holding a kept path
)
MAX_RECURSIVE_ENTRIES = 20000


@dataclass(frozen=True)
class Reason:
    """Why one path is kept: a category (CATEGORIES) and a sentence for people."""

    category: str
    detail: str

    def __str__(self) -> str:
        return f"{self.category}: {self.detail}"


class Keeper:
    """Collects kept paths; the first reason given for a path is the one reported."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.reasons: dict[str, Reason] = {}

    def _add(self, path: str, reason: Reason) -> None:
        self.reasons.setdefault(path, reason)

    def has(self, path: str) -> bool:
        return path in self.reasons

    def path(
        self,
        path: str,
        category: str,
        detail: str,
        *,
        recursive: bool = False,
        follow: bool = True,
    ) -> str | None:
        """Keep ``path`` (and the symlinks leading to it); its canonical path, or None if
        it is not in the image. ``recursive`` keeps a directory's whole subtree, and with
        ``follow`` the targets of the symlinks in it (a CA hash link needs its file; a
        copy of /etc with rsync -a copies links as links)."""
        real = self._resolve(path, Reason(category, detail))
        if real is not None and recursive:
            node = self.tree.lookup(real)
            if isinstance(node, DirNode):
                self._subtree(real, Reason(category, detail), follow=follow)
        return real

    def entry(self, path: str, reason: Reason) -> None:
        """Keep ``path`` itself, as it is (a symlink is not followed)."""
        self._add(path, reason)

    def drop(self, paths: Sequence[str]) -> None:
        """Forget ``paths`` and everything under them (convert --slim's test hook)."""
        for gone in paths:
            for path in [p for p in self.reasons if p == gone or p.startswith(gone + "/")]:
                del self.reasons[path]

    def alias(self, path: str, real: str) -> None:
        """Keep the symlink ``path``, another name of the kept ``real``, and its chain."""
        self._add(path, Reason("symlink", f"another name of {real}"))
        self._resolve(path, Reason("symlink", f"another name of {real}"))

    def _resolve(self, path: str, reason: Reason) -> str | None:
        todo = split_path(path)
        todo.reverse()
        stack: list[str] = [""]
        nodes: list[DirNode] = [self.tree.root]
        hops = 0
        while todo:
            comp = todo.pop()
            if comp == "..":
                if len(stack) > 1:
                    stack.pop()
                    nodes.pop()
                continue
            child = nodes[-1].children.get(comp)
            here = "/".join([*stack, comp]) or "/"
            if child is None:
                return None
            if isinstance(child, SymlinkNode):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                self._add(here, Reason("symlink", f"on the way to {path}"))
                if child.target.startswith("/"):
                    del stack[1:]
                    del nodes[1:]
                todo.extend(reversed(split_path(child.target)))
                continue
            if not todo:
                self._add(here, reason)
                return here
            if not isinstance(child, DirNode):
                return None
            stack.append(comp)
            nodes.append(child)
        here = "/".join(stack) or "/"
        self._add(here, reason)
        return here

    def _subtree(self, top: str, reason: Reason, *, follow: bool) -> None:
        for count, (sub, node) in enumerate(self.tree.walk(top)):
            if count >= MAX_RECURSIVE_ENTRIES:
                return
            self._add(sub, reason)
            if follow and isinstance(node, SymlinkNode):
                # A link inside a kept tree (a CA hash link, python3 -> python3.11) must
                # still lead somewhere: keep its target, non-recursively.
                self._resolve(sub, reason)

    def add_parents(self) -> None:
        """Keep the directory holding each kept path, up to the root."""
        for path in list(self.reasons):
            parent = posixpath.dirname(path)
            while parent not in self.reasons:
                self.reasons[parent] = Reason("parent-directory", f"holds {path}")
                if parent == "/":
                    break
                parent = posixpath.dirname(parent)
        self.reasons.setdefault("/", Reason("parent-directory", "the root"))

    def entries(self) -> Iterator[tuple[str, Node, Reason]]:
        """Every kept entry with its parents, in the tree's walk order (parents first)."""
        self.add_parents()
        for path, node in self.tree.walk():
            reason = self.reasons.get(path)
            if reason is not None:
                yield path, node, reason

    def is_file(self, path: str) -> bool:
        return isinstance(self.tree.lookup(path), FileNode)
