"""nginx: the configuration the command line points at, and the files it names.

nginx reads ``-c FILE`` (default: the ``--conf-path`` it was built with, which
``nginx -V`` prints and the binary holds as a string) and every file its
``include`` directives name (globs allowed, relative to the configuration's
directory). Kept beside them: ``load_module`` objects (relative to the prefix),
the files TLS and auth directives name, the directories of ``error_log``,
``access_log``, ``pid`` and the temp paths (nginx creates files there at start-up,
and opens the built-in error log before it reads the configuration), and the
``root``/``alias`` trees it serves. Variables (``$host``) and Lua or perl blocks are
not interpreted: paths that contain a variable are skipped (docs/slim.md).
"""

from __future__ import annotations

import fnmatch
import itertools
import posixpath
import re
from collections.abc import Iterator, Sequence

from dock2uni.analyse.ldcache import read_file
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, Tree
from dock2uni.slim.keep import Keeper

MAX_CONFIG_BYTES = 4 << 20
MAX_INCLUDES = 512
_CONFIGURE = re.compile(rb"--([a-z-]+-path|prefix|conf-path)=([^\s\0]+)")
FILE_DIRECTIVES = frozenset({"ssl_certificate", "ssl_certificate_key", "ssl_dhparam",
    "ssl_trusted_certificate", "ssl_client_certificate", "ssl_crl", "ssl_password_file",
    "auth_basic_user_file", "ssl_stapling_file", "ssl_session_ticket_key"})  # fmt: skip
DIR_OF_DIRECTIVES = frozenset({"error_log", "access_log", "pid", "lock_file"})
TEMP_DIRECTIVES = frozenset({"client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
    "uwsgi_temp_path", "scgi_temp_path"})  # fmt: skip
TREE_DIRECTIVES = frozenset({"root", "alias"})
MAX_SERVED_ENTRIES = 2000
MAX_TEMPLATE_WALK = 4096  # entries of the configuration directory looked at for templates


def is_nginx(path: str) -> bool:
    return posixpath.basename(path) == "nginx"


def tokens(text: str) -> Iterator[str]:
    """nginx's lexer: words, quoted strings, ``;``, ``{``, ``}``; ``#`` comments."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in ";{}":
            yield ch
            i += 1
        elif ch in "\"'":
            j = i + 1
            out = []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            yield "".join(out)
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in ";{}":
                j += 1
            yield text[i:j]
            i = j


def directives(text: str) -> Iterator[list[str]]:
    """Each simple or block directive as its words (name first)."""
    words: list[str] = []
    for tok in tokens(text):
        if tok in (";", "{"):
            if words:
                yield words
            words = []
        elif tok == "}":
            words = []
        else:
            words.append(tok)


def built_paths(keeper: Keeper, store: ContentStore, binary: str) -> dict[str, str]:
    """The --prefix, --conf-path, --*-path options nginx was configured with."""
    raw = read_file(keeper.tree, store, binary, 64 << 20) or b""
    out: dict[str, str] = {}
    for m in _CONFIGURE.finditer(raw):
        out.setdefault(m.group(1).decode(), m.group(2).decode("utf-8", "replace"))
    return out


def _argv_option(argv: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag) and len(arg) > len(flag):
            return arg[len(flag) :]
    return None


def keep_nginx(
    keeper: Keeper,
    store: ContentStore,
    binary: str,
    argv: Sequence[str],
    used: set[str] | None = None,
) -> str:
    """Keep nginx's configuration and what it names; a one-line summary. ``used`` gets
    the names of the directives the configuration holds, and ``engine:`` when a key is
    loaded from an OpenSSL engine (``ssl_certificate_key engine:NAME:ID``)."""
    built = built_paths(keeper, store, binary)
    prefix = _argv_option(argv, "-p") or built.get("prefix", "/usr/local/nginx")
    conf = _argv_option(argv, "-c") or built.get("conf-path", f"{prefix}/conf/nginx.conf")
    conf = conf if conf.startswith("/") else posixpath.join(prefix, conf)
    conf_dir = posixpath.dirname(conf)
    for key in ("error-log-path", "http-log-path", "pid-path", "lock-path"):
        if key in built:
            keeper.path(posixpath.dirname(built[key]), "config", f"nginx's built-in {key}")
    for key, value in built.items():
        if key.endswith("-temp-path"):
            keeper.path(posixpath.dirname(value.rstrip("/")), "config", f"parent of nginx's {key}")
    keeper.path(f"{prefix.rstrip('/')}/modules", "config", "nginx's module directory")
    seen: list[str] = []
    todo = [
        (conf, f"nginx -c {conf}" if _argv_option(argv, "-c") else "nginx's default configuration")
    ]
    extra = _argv_option(argv, "-g")
    count = 0
    used = set() if used is None else used
    if extra:
        _follow(keeper, extra, "nginx -g", prefix=prefix, conf_dir=conf_dir, todo=todo, used=used)
    # Templates an entrypoint renders into the configuration (the official image's
    # 20-envsubst-on-templates.sh: templates/*.template into conf.d/): what they name
    # (root, include...) is what the rendered files will name.
    for sub, node in itertools.islice(keeper.tree.walk(conf_dir), MAX_TEMPLATE_WALK):
        if sub.endswith(".template") and not isinstance(node, DirNode):
            todo.append((sub, "a template an entrypoint renders into nginx's configuration"))
    while todo and count < MAX_INCLUDES:
        path, why = todo.pop(0)
        if path in seen:
            continue
        seen.append(path)
        count += 1
        if keeper.path(path, "config", why) is None:
            continue
        raw = read_file(keeper.tree, store, path, MAX_CONFIG_BYTES) or b""
        _follow(
            keeper,
            raw.decode("utf-8", "replace"),
            f"named in {path}",
            prefix=prefix,
            conf_dir=conf_dir,
            todo=todo,
            used=used,
        )
    return f"nginx: {len(seen)} configuration file(s) read from {conf}"


# What makes nginx load a library the analysis lists as a likely dlopen of its binary:
# ENGINE_by_id runs for `ssl_engine` and `engine:` keys only; pthread_exit (glibc then
# loads libgcc_s to unwind) only in the threads of a pool (`thread_pool`, `aio threads`).
ENGINE_USES = frozenset({"ssl_engine", "engine:"})
THREAD_USES = frozenset({"thread_pool", "aio threads"})


def needs_engines(used: set[str]) -> bool:
    """The configuration makes nginx call ENGINE_by_id."""
    return bool(used & ENGINE_USES)


def needs_threads(used: set[str]) -> bool:
    """The configuration starts thread pools, whose threads end with pthread_exit."""
    return bool(used & THREAD_USES)


def _follow(
    keeper: Keeper,
    text: str,
    why: str,
    *,
    prefix: str,
    conf_dir: str,
    todo: list[tuple[str, str]],
    used: set[str],
) -> None:
    for words in directives(text):
        name, args = words[0], words[1:]
        used.add(name)
        if any(a.startswith("engine:") for a in args):
            used.add("engine:")
        if name == "aio" and args and args[0].startswith("threads"):
            used.add("aio threads")
        if not args:
            continue
        target = args[0]
        if "$" in target:
            continue
        if name == "include":
            pattern = _absolute(target, conf_dir)
            if any(c in pattern for c in "*?["):  # the directory a glob reads, even if empty
                fixed = pattern.split("*")[0].split("?")[0].split("[")[0]
                keeper.path(posixpath.dirname(fixed), "config", f"include {target}, {why}")
            for path in glob(keeper, pattern):
                todo.append((path, f"include {target}, {why}"))
        elif name == "load_module":
            keeper.path(_absolute(target, prefix), "config", f"load_module, {why}")
        elif name in FILE_DIRECTIVES:
            keeper.path(_absolute(target, conf_dir), "config", f"{name}, {why}")
        elif name in DIR_OF_DIRECTIVES:
            if target in ("off", "stderr") or target.startswith(("syslog:", "memory:")):
                continue
            log = _absolute(target, prefix)
            keeper.path(posixpath.dirname(log), "config", f"{name}, {why}")
            if keeper.tree.lookup(log, follow=False) is not None:  # a link to /dev/stdout
                keeper.path(log, "config", f"{name}, {why}")
        elif name in TEMP_DIRECTIVES:
            keeper.path(
                posixpath.dirname(_absolute(target, prefix).rstrip("/")), "config", f"{name}, {why}"
            )
        elif name in TREE_DIRECTIVES:
            _keep_served(keeper, _absolute(target, prefix), f"{name} {target}, {why}")


def _keep_served(keeper: Keeper, root: str, why: str) -> None:
    """The files a root or alias serves, up to MAX_SERVED_ENTRIES entries."""
    real = keeper.path(root, "config", f"served files: {why}")
    if real is None:
        return
    for count, (sub, _node) in enumerate(keeper.tree.walk(real)):
        if count >= MAX_SERVED_ENTRIES:
            break
        keeper.path(sub, "config", f"served files: {why}")


def _absolute(path: str, base: str) -> str:
    return path if path.startswith("/") else posixpath.join(base, path)


def glob(keeper: Keeper, pattern: str) -> list[str]:
    """The image paths an nginx include pattern matches (sorted, as glob(3))."""
    return glob_tree(keeper.tree, pattern)


def glob_tree(tree: Tree, pattern: str) -> list[str]:
    """The paths of ``tree`` a glob(3) pattern matches, sorted."""
    if not any(c in pattern for c in "*?["):
        return [pattern]
    parts = [p for p in pattern.split("/") if p]
    found = ["/"]
    for part in parts:
        nxt: list[str] = []
        for base in found:
            node = tree.lookup(base)
            if not isinstance(node, DirNode):
                continue
            names = sorted(
                n
                for n in node.children
                if fnmatch.fnmatchcase(n, part)
                and not (n.startswith(".") and not part.startswith("."))
            )
            nxt += [posixpath.join(base, n) for n in names]
        found = nxt
    return found
