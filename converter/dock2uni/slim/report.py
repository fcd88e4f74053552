"""What a rootfs selection kept and dropped: by reason, by directory, and by kind of file.

The numbers go into the image's metadata (``rootfs`` and ``sizes.breakdown``), so
``convert`` and ``dock2uni inspect IMAGE.uni`` print the same report. Sizes are the
regular files' bytes; the archive's headers and padding are ``archive_overhead``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any

from dock2uni.elf.header import check_bytes
from dock2uni.errors import ElfError
from dock2uni.fs.policy import Selection
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import FileNode, Node, SymlinkNode, Tree

DIRECTORY_DEPTH = 3
TOP_DIRECTORIES = 12
ELF_HEAD = 4096
_SHARED_OBJECT = re.compile(r"\.so(\.[0-9A-Za-z_]+)*$|\.so\.")
TRAILER_BYTES = 124  # the newc trailer entry


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def cpio_size(entries: Iterable[tuple[str, Node]]) -> int:
    """The size write_cpio gives these entries (hardlinked data counted once)."""
    total = TRAILER_BYTES
    seen: set[int] = set()
    for path, node in entries:
        name = "." if path == "/" else path.lstrip("/")
        total += _pad4(110 + len(name.encode("utf-8", "surrogateescape")) + 1)
        if isinstance(node, SymlinkNode):
            total += _pad4(len(node.target.encode("utf-8", "surrogateescape")))
        elif isinstance(node, FileNode) and id(node) not in seen:
            seen.add(id(node))
            total += _pad4(node.size)
    return total


def kind_of(path: str, node: FileNode, store: ContentStore) -> str:
    """binaries (executables), libraries (shared objects) or other (everything else)."""
    if node.size < 64:
        return "other"
    head = store.read(node.digest, ELF_HEAD)
    if head[:4] != b"\x7fELF":
        return "other"
    try:
        header = check_bytes(head, size=node.size, path=path)
    except ElfError:
        return "other"
    name = posixpath.basename(path)
    if header.elf_type == "EXEC" or (
        header.elf_type == "DYN" and header.interp is not None and not _SHARED_OBJECT.search(name)
    ):
        return "binaries"
    return "libraries" if header.elf_type == "DYN" else "other"


def breakdown(entries: Sequence[tuple[str, Node]], store: ContentStore) -> dict[str, int]:
    """Bytes of binaries, libraries and other files among ``entries`` (each file once)."""
    out = {"binaries": 0, "libraries": 0, "other": 0}
    seen: set[int] = set()
    for path, node in entries:
        if isinstance(node, FileNode) and id(node) not in seen:
            seen.add(id(node))
            out[kind_of(path, node, store)] += node.size
    return out


def _directory(path: str) -> str:
    parts = [p for p in posixpath.dirname(path).split("/") if p][:DIRECTORY_DEPTH]
    return "/" + "/".join(parts)


def by_directory(entries: Iterable[tuple[str, Node]]) -> dict[str, dict[str, int]]:
    """{directory (first three components): {entries, bytes}}, the largest first, the
    rest summed under "(other directories)"."""
    sums: dict[str, dict[str, int]] = {}
    seen: set[int] = set()
    for path, node in entries:
        if path == "/":
            continue
        d = sums.setdefault(_directory(path), {"entries": 0, "bytes": 0})
        d["entries"] += 1
        if isinstance(node, FileNode) and id(node) not in seen:
            seen.add(id(node))
            d["bytes"] += node.size
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1]["bytes"], -kv[1]["entries"], kv[0]))
    out = dict(ranked[:TOP_DIRECTORIES])
    rest = ranked[TOP_DIRECTORIES:]
    if rest:
        out["(other directories)"] = {
            "entries": sum(v["entries"] for _, v in rest),
            "bytes": sum(v["bytes"] for _, v in rest),
        }
    return out


def by_reason(selection: Selection) -> dict[str, dict[str, int]]:
    """{reason category: {entries, bytes}} of the kept entries (closure policy only)."""
    out: dict[str, dict[str, int]] = {}
    seen: set[int] = set()
    for path, node in selection.entries:
        category = selection.reasons.get(path, ("kept", ""))[0]
        d = out.setdefault(category, {"entries": 0, "bytes": 0})
        d["entries"] += 1
        if isinstance(node, FileNode) and id(node) not in seen:
            seen.add(id(node))
            d["bytes"] += node.size
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["bytes"]))


def rootfs_report(tree: Tree, selection: Selection) -> dict[str, Any]:
    """The ``rootfs`` keys the report adds to the image's metadata."""
    kept = {p for p, _ in selection.entries}
    dropped = [(p, n) for p, n in tree.walk() if p not in kept]
    report: dict[str, Any] = {
        "kept_by_directory": by_directory(selection.entries),
        "dropped_by_directory": by_directory(dropped),
    }
    if selection.reasons:
        report["kept_by_reason"] = by_reason(selection)
        report["kept"] = {p: f"{c}: {d}" for p, (c, d) in selection.reasons.items()}
        report["notes"] = list(selection.notes)
    return report
