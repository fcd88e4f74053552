"""Readers for the dynamic loader's configuration inside an image: ld.so.cache and ld.so.conf.

glibc's ld.so reads only ``/etc/ld.so.cache`` at run time; ``/etc/ld.so.conf`` (with its
``include`` globs) is what ldconfig built that cache from, so a directory listed there
but missing from the cache is a warning ("run ldconfig"), not a search path. musl reads
``/etc/ld-musl-<arch>.path`` instead. Everything is read from the image tree, never the host.
"""

from __future__ import annotations

import fnmatch
import posixpath
import struct

from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, Tree

NEW_MAGIC = b"glibc-ld.so.cache1.1"
OLD_MAGIC = b"ld.so-1.7.0"
FLAG_ELF_LIBC6 = 0x0003
FLAG_X8664_LIB64 = 0x0300
MAX_CONFIG_BYTES = 1 << 20
MAX_CACHE_BYTES = 64 << 20
MAX_INCLUDE_DEPTH = 8


def read_file(tree: Tree, store: ContentStore, path: str, limit: int) -> bytes | None:
    node = tree.lookup(path)
    if not isinstance(node, FileNode):
        return None
    return store.read(node.digest, limit)


def parse_ld_cache(data: bytes) -> dict[str, str] | None:
    """soname -> path for the x86-64 entries of an ld.so.cache; None if it is not one."""
    start = 0
    if data.startswith(OLD_MAGIC):
        if len(data) < 16:
            return None
        nlibs = struct.unpack_from("<I", data, 12)[0]
        start = 16 + nlibs * 12
        start = (start + 7) & ~7
    if data[start : start + len(NEW_MAGIC)] != NEW_MAGIC:
        return None
    header = 48
    if len(data) < start + header:
        return None
    nlibs = struct.unpack_from("<I", data, start + 20)[0]
    if start + header + nlibs * 24 > len(data):
        return None
    out: dict[str, str] = {}

    def cstr(offset: int) -> str | None:
        # New-format string offsets are relative to the new header.
        pos = start + offset
        if not 0 <= pos < len(data):
            return None
        end = data.find(b"\0", pos, pos + 4096)
        return data[pos:end].decode("utf-8", "replace") if end >= 0 else None

    for i in range(nlibs):
        flags, key, value = struct.unpack_from("<iII", data, start + header + i * 24)
        if flags & 0xFF != FLAG_ELF_LIBC6 or flags & 0xFF00 != FLAG_X8664_LIB64:
            continue
        name, path = cstr(key), cstr(value)
        if name and path:
            out.setdefault(name, path)  # the first entry wins, as in ld.so's lookup
    return out


def ld_so_conf_dirs(tree: Tree, store: ContentStore, path: str = "/etc/ld.so.conf") -> list[str]:
    """The directories named by ld.so.conf and its includes, in order, without duplicates."""
    dirs: list[str] = []
    _read_conf(tree, store, path, dirs, 0)
    return list(dict.fromkeys(dirs))


def _read_conf(tree: Tree, store: ContentStore, path: str, dirs: list[str], depth: int) -> None:
    if depth > MAX_INCLUDE_DEPTH:
        return
    raw = read_file(tree, store, path, MAX_CONFIG_BYTES)
    if raw is None:
        return
    for raw_line in raw.decode("utf-8", "replace").splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("include"):
            for word in line.split()[1:]:
                pattern = (
                    word if word.startswith("/") else posixpath.join(posixpath.dirname(path), word)
                )
                for match in _glob(tree, pattern):
                    _read_conf(tree, store, match, dirs, depth + 1)
        elif line.startswith("hwcap"):
            continue
        else:
            for part in line.replace(",", " ").replace(":", " ").split():
                if part.startswith("/"):
                    dirs.append(posixpath.normpath(part))


def _glob(tree: Tree, pattern: str) -> list[str]:
    """Glob inside the image (only the last component may have wildcards, as ldconfig uses)."""
    directory, base = posixpath.split(pattern)
    node = tree.lookup(directory)
    if not isinstance(node, DirNode):
        return []
    return [posixpath.join(directory, n) for n in sorted(node.children) if fnmatch.fnmatch(n, base)]


def musl_path_dirs(tree: Tree, store: ContentStore, arch: str = "x86_64") -> list[str] | None:
    """Directories from /etc/ld-musl-<arch>.path, or None when the file does not exist."""
    raw = read_file(tree, store, f"/etc/ld-musl-{arch}.path", MAX_CONFIG_BYTES)
    if raw is None:
        return None
    return [p for p in raw.decode("utf-8", "replace").replace("\n", ":").split(":") if p.strip()]
