"""Plugin discovery: shared objects of the image a program may dlopen because they call back
into it (an unversioned undefined symbol the program defines: nginx modules, redis modules,
a host's own plugin directory).

Parsing every shared object of an image with LIEF costs seconds cold, so each candidate's
dynamic string table is read first with a few struct reads; only a file naming one of the
program's exports there is parsed for its imports.
"""

from __future__ import annotations

import posixpath
import re
import struct
from collections.abc import Callable, Mapping, Sequence

from dock2uni.elf.facts import ElfFacts
from dock2uni.errors import ElfError
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import FileNode, Tree

MAX_PLUGIN_CANDIDATES = 2000
MAX_DYNSTR_BYTES = 16 << 20
SHT_DYNSYM = 11
_SO_NAME = re.compile(r"\.so(\.\d+)*$")
# Symbols every executable defines; a library importing them is no plugin of the program.
_LINKER_DEFINED = frozenset(
    {
        "_init", "_fini", "_start", "main", "_IO_stdin_used", "__data_start", "data_start",
        "_edata", "_end", "__bss_start", "__dso_handle", "environ", "__environ", "stdin",
        "stdout", "stderr", "optarg", "optind", "opterr", "optopt", "program_invocation_name",
    }
)  # fmt: skip

FactsLoader = Callable[[Sequence[str]], Mapping[str, "ElfFacts | ElfError"]]


def shared_objects(tree: Tree) -> list[str]:
    """Every regular file of the image named like a shared object, sorted."""
    return sorted(
        path
        for path, node in tree.walk("/")
        if isinstance(node, FileNode) and _SO_NAME.search(posixpath.basename(path))
    )


def plugins_of(
    program: ElfFacts,
    candidates: Sequence[str],
    tree: Tree,
    store: ContentStore,
    load: FactsLoader,
) -> list[str]:
    """The candidates with an unversioned undefined symbol ``program`` defines, sorted.

    Versioned names (``stderr@GLIBC_2.2.5``, copied into the program by a COPY
    relocation) are libc's, so they never make a module a plugin of the program."""
    provided = {
        s.name
        for s in program.exports
        if s.kind in ("func", "object", "notype")
        and not s.version
        and s.name not in _LINKER_DEFINED
    }
    if not provided or not candidates:
        return []
    wanted = {n.encode() for n in provided}
    likely: list[str] = []
    for path in candidates:
        node = tree.lookup(path)
        if isinstance(node, FileNode) and wanted & dynstr_names(store, node.digest):
            likely.append(path)
    out: list[str] = []
    for path, facts in (load(likely) if likely else {}).items():
        if not isinstance(facts, ElfFacts) or not facts.is_x86_64:
            continue
        if any(s.name in provided and not s.version for s in facts.imports):
            out.append(path)
    return sorted(out)


def dynstr_names(store: ContentStore, digest: str) -> set[bytes]:
    """The strings of a 64-bit little-endian ELF file's dynamic string table (empty for
    anything else, or anything malformed: the caller then skips the file)."""
    try:
        with store.path(digest).open("rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:6] != b"\x7fELF\x02\x01":
                return set()
            (shoff,) = struct.unpack_from("<Q", head, 0x28)
            shentsize, shnum = struct.unpack_from("<HH", head, 0x3A)
            if shentsize < 64 or not 0 < shnum <= 4096:
                return set()
            f.seek(shoff)
            table = f.read(shentsize * shnum)
            if len(table) < shentsize * shnum:
                return set()
            for i in range(shnum):
                (sh_type,) = struct.unpack_from("<I", table, i * shentsize + 4)
                if sh_type != SHT_DYNSYM:
                    continue
                (link,) = struct.unpack_from("<I", table, i * shentsize + 40)
                if link >= shnum:
                    return set()
                offset, size = struct.unpack_from("<QQ", table, link * shentsize + 24)
                if size > MAX_DYNSTR_BYTES:
                    return set()
                f.seek(offset)
                return set(f.read(size).split(b"\0"))
    except (OSError, struct.error):
        return set()
    return set()
