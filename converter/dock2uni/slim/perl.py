"""The perl modules a perl script uses and the files it opens by literal path, found statically.

perl looks ``use X::Y;``, ``no X``, ``require X::Y;``, ``require "x.pl"`` and ``use
parent``/``use base`` up in ``@INC``: ``PERL5LIB`` (else ``PERLLIB``), then the
directories compiled into the interpreter, read here from the binary's strings and
kept when they exist in the image. Each
module found is read in turn (breadth first, a visited set, at most MAX_MODULES), POD
and what follows ``__END__`` skipped; every ``use``/``require`` counts, those inside
subs too (Carp requires overloading.pm in one), so a module is kept when any code path
of a kept module can load it. An XS module (``XSLoader::load``, ``bootstrap``) keeps
its ``auto/X/Y/Y.so``. A quoted absolute path in a script (``open F,
"/etc/mime.types"``) that is a file of the image is kept; a quoted glob keeps the
files it matches. Module names computed at run time (``require $name``) are not seen
(docs/slim.md, what it cannot know).
"""

from __future__ import annotations

import posixpath
import re
from collections import deque
from collections.abc import Callable, Mapping

from dock2uni.analyse.ldcache import read_file
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, Tree
from dock2uni.slim.keep import Keeper
from dock2uni.slim.nginx import glob

MAX_MODULES = 2000
MAX_SOURCE = 4 << 20
MAX_BINARY = 64 << 20
MAX_GLOB = 2000
_INC = re.compile(rb"(?<=\0)(/[\w./+-]*perl[\w./+-]*)(?=\0)")
_USE = re.compile(
    r"(?:^|(?<=[;{(]))\s*(?:use|no|require)\s+([A-Za-z_][\w]*(?:::\w+)*)\s*([^;]*)", re.M
)
_REQUIRE_FILE = re.compile(r"\brequire\s*\(?\s*[\"']([\w/.-]+\.p[lm])[\"']")
_WORDS = re.compile(r"[A-Za-z_]\w*(?:::\w+)*")
_QUOTED_PATH = re.compile(r"[\"'][<>+]*\s*(/[^\"'\s$@`;|&()<>\\]+)[\"']")
_XS = re.compile(r"\bXSLoader::load\b|\bbootstrap\b")
_POD = re.compile(r"^=[a-zA-Z].*?(?:^=cut\b.*?$|\Z)", re.M | re.S)
_END = re.compile(r"^__(?:END|DATA)__\s*$", re.M)
# `use 5.010` and the like are versions; `use if COND, Module` names its module later.
PRAGMA_LISTS = frozenset({"parent", "base"})


def is_perl(path: str) -> bool:
    return re.fullmatch(r"perl(5[\d.]*)?", posixpath.basename(path)) is not None


def inc_dirs(tree: Tree, store: ContentStore, perl: str) -> list[str]:
    """perl's compiled-in ``@INC`` that exists in the image, from the binary's strings."""
    raw = read_file(tree, store, perl, MAX_BINARY) or b""
    out: list[str] = []
    for m in _INC.finditer(raw):
        path = m.group(1).decode("utf-8", "replace")
        if "/debug/" not in path and path not in out and isinstance(tree.lookup(path), DirNode):
            out.append(path)
    return out


def code_of(text: str) -> str:
    """The code of a perl source: POD blocks and what follows __END__/__DATA__ removed."""
    end = _END.search(text)
    if end:
        text = text[: end.start()]
    return _POD.sub("", text)


def uses(text: str) -> list[str]:
    """Module names (``X::Y``) and files (``x.pl``) a perl source loads by literal name."""
    code = code_of(text)
    out: list[str] = []
    for m in _USE.finditer(code):
        name, rest = m.group(1), m.group(2)
        if name in PRAGMA_LISTS and "-norequire" not in rest:  # use parent 'A', qw(B C)
            out += [w for w in _WORDS.findall(rest) if w != "qw"]
        if name == "if":  # use if COND, Module => args
            continue
        out.append(name)
    out += _REQUIRE_FILE.findall(code)
    return list(dict.fromkeys(out))


def literal_paths(text: str) -> list[str]:
    """Quoted absolute paths of a perl source (its code, not its POD)."""
    return list(dict.fromkeys(m.group(1) for m in _QUOTED_PATH.finditer(code_of(text))))


def _module_file(name: str) -> str:
    return name if name.endswith((".pl", ".pm")) else name.replace("::", "/") + ".pm"


def keep_perl_script(
    keeper: Keeper,
    store: ContentStore,
    *,
    script: str,
    perl: str,
    why: str,
    keep_elf: Callable[[str, str], None],
    env: Mapping[str, str] | None = None,
) -> str:
    """Keep the modules ``script`` uses through ``perl``'s @INC (``PERL5LIB`` first),
    their XS objects, and the files it opens by literal path; a one-line summary."""
    tree = keeper.tree
    extra = (env or {}).get("PERL5LIB") or (env or {}).get("PERLLIB") or ""
    inc = [d for d in extra.split(":") if d.startswith("/")] + inc_dirs(tree, store, perl)
    raw = read_file(tree, store, script, MAX_SOURCE) or b""
    text = raw.decode("utf-8", "replace")
    files = _keep_named_files(keeper, text, f"opened by {script}, {why}")
    todo = deque((name, script) for name in uses(text))
    seen: set[str] = set()
    missing: list[str] = []
    while todo and len(seen) < MAX_MODULES:
        name, by = todo.popleft()
        if name in seen:
            continue
        seen.add(name)
        rel = _module_file(name)
        found = [f"{d}/{rel}" for d in inc if isinstance(tree.lookup(f"{d}/{rel}"), FileNode)]
        if not found:
            missing.append(name)
            continue
        detail = f"{name}, used by {by}"
        for path in found:  # every copy: which one @INC's order picks does not matter here
            keeper.path(path, "perl-module", detail)
            source = (read_file(tree, store, path, MAX_SOURCE) or b"").decode("utf-8", "replace")
            todo.extend((m, name) for m in uses(source) if m not in seen)
            if not name.endswith((".pl", ".pm")) and _XS.search(code_of(source)):
                _keep_xs(keeper, inc, name, detail, keep_elf)
    return (
        f"perl {script}: {len(seen) - len(missing)} modules kept from @INC ({len(inc)} "
        f"directories), {files} file(s) it names" + (f"; not found: {', '.join(missing[:5])}"
        if missing else "")
    )  # fmt: skip


def _keep_xs(
    keeper: Keeper, inc: list[str], name: str, detail: str, keep_elf: Callable[[str, str], None]
) -> None:
    """An XS module's shared object: auto/X/Y/Y.so in @INC (and what it needs)."""
    parts = name.split("::")
    rel = f"auto/{'/'.join(parts)}/{parts[-1]}.so"
    for d in inc:
        path = f"{d}/{rel}"
        if isinstance(keeper.tree.lookup(path), FileNode):
            keep_elf(path, f"XS object of {detail}")


def _keep_named_files(keeper: Keeper, text: str, why: str) -> int:
    count = 0
    for path in literal_paths(text):
        if any(c in path for c in "*?["):
            for match in glob(keeper, path)[:MAX_GLOB]:
                if keeper.is_file(match):
                    count += keeper.path(match, "config", why) is not None
        elif keeper.is_file(path):
            count += keeper.path(path, "config", why) is not None
    return count
