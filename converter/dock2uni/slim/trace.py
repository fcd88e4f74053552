"""The file-access trace of a guest run (d2u.fstrace=1) and what it adds to the kept set.

The kernel (libos/fs/fstrace.c) reports each (kind, absolute path) once on the log
port as ``D2U:FSTRACE KIND PATH``, bytes outside printable ASCII written ``\\xHH``.
Kinds: open, stat, exec, readlink, readdir, link (a symlink traversed), lookup (any
other call) and missing (looked for, not there). ``keep_traced`` keeps every touched
path that is an image file, with the reason ``traced: touched at run time (KINDS)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dock2uni.fs.tree import DirNode, SymlinkNode
from dock2uni.slim.keep import Keeper, Reason

PREFIX = "D2U:FSTRACE "
KINDS = ("open", "stat", "exec", "readlink", "readdir", "link", "lookup", "missing")
SYNTHETIC = ("/proc", "/sys", "/dev")  # made by the kernel, never the image's
_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")


def unescape(text: str) -> str:
    """The path the kernel wrote, byte for byte (``\\xHH`` escapes undone)."""
    raw = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return raw.encode("latin-1").decode("utf-8", "surrogateescape")


@dataclass
class Trace:
    """Paths the guest touched: path -> the kinds of access seen."""

    paths: dict[str, set[str]] = field(default_factory=dict)

    def add_log(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not line.startswith(PREFIX):
                continue
            kind, _, escaped = line[len(PREFIX) :].partition(" ")
            if kind in KINDS and escaped.startswith("/"):
                self.paths.setdefault(unescape(escaped), set()).add(kind)

    def touched(self) -> dict[str, set[str]]:
        """Paths seen by something other than a failed lookup, without the kernel's trees."""
        return {
            p: k - {"missing"}
            for p, k in self.paths.items()
            if k - {"missing"} and not _synthetic(p)
        }

    def missing(self) -> list[str]:
        return sorted(p for p, k in self.paths.items() if k == {"missing"})


def _synthetic(path: str) -> bool:
    return any(path == top or path.startswith(top + "/") for top in SYNTHETIC)


def reason_for(kinds: Iterable[str]) -> str:
    return f"touched at run time ({'/'.join(k for k in KINDS if k in set(kinds))})"


def keep_traced(keeper: Keeper, touched: Mapping[str, set[str]], *, widen: bool) -> int:
    """Keep every touched image path (links as traversed, so the slim image keeps them).
    A directory read with getdents keeps its subdirectories and symlinks (names and
    link counts as listed), and with ``widen`` its files too. Returns the paths kept."""
    kept = 0
    for path, kinds in sorted(touched.items()):
        # The kernel names a path by its directory's canonical path: only the last
        # component can be a symlink, and its target was traced on its own.
        if isinstance(keeper.tree.lookup(path, follow=False), SymlinkNode):
            keeper.entry(path, Reason("traced", reason_for(kinds)))
            kept += 1
            continue
        if keeper.path(path, "traced", reason_for(kinds), follow=False) is None:
            continue  # made at run time, or dropped by the default policy: not the image's
        kept += 1
        if "readdir" not in kinds:
            continue
        node = keeper.tree.lookup(path)
        if not isinstance(node, DirNode):
            continue
        why = Reason("traced", f"in a directory read at run time ({path})")
        base = path.rstrip("/")
        for name, child in node.children.items():
            sub = f"{base}/{name}"
            if isinstance(child, DirNode):
                keeper.entry(sub, why)
                for name2, grandchild in child.children.items():
                    if isinstance(grandchild, DirNode):
                        keeper.entry(f"{sub}/{name2}", why)
            elif isinstance(child, SymlinkNode) or widen:
                keeper.entry(sub, why)
    return kept
