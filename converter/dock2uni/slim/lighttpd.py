"""lighttpd: the configuration ``-f FILE`` names, and the files and programs it names.

lighttpd reads ``-f FILE`` and, recursively, each ``include "PATH"`` (a glob allowed; a
relative path is relative to the main configuration's directory, lighttpd's
``basedir``), and runs each ``include_shell "CMD"`` through ``$SHELL`` or ``/bin/sh
-c`` in that directory, reading the command's output as more configuration. Kept
beside the files: the shell and the programs CMD names (analyse/commands.py: a
``#!`` script brings its interpreter; a perl script its modules, slim/perl.py, and
the files it opens), ``server.modules`` (``mod_X.so`` in the module directory the
binary names), the ``server.document-root`` and ``alias.url`` trees (up to
MAX_SERVED_ENTRIES entries each), the files TLS and auth options name, the
directories of the logs and the pid file, and ``server.upload-dirs`` (lighttpd refuses
to start without them). Values are strings joined with ``+``, ``var.NAME`` and the
options assigned before; a value with an unknown variable or ``env.X`` is skipped, and
what an ``include_shell`` prints is only known when it runs (docs/slim.md).
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from dock2uni.analyse.commands import shell_commands
from dock2uni.analyse.ldcache import read_file
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, Tree
from dock2uni.runspec import RunSpec, find_program, parse_shebang
from dock2uni.slim import perl
from dock2uni.slim.keep import Keeper
from dock2uni.slim.nginx import glob_tree

MAX_CONFIG_BYTES = 4 << 20
MAX_INCLUDES = 512
MAX_BINARY = 64 << 20
MAX_SERVED_ENTRIES = 2000
DEFAULT_MODULE_DIR = "/usr/lib/lighttpd"
_MODULE_DIR = re.compile(rb"(?<=\0)(/[\w./+-]*/lighttpd)(?=\0)")
FILE_OPTIONS = frozenset({"ssl.pemfile", "ssl.privkey", "ssl.ca-file", "ssl.ca-dn-file",
    "ssl.ca-crl-file", "ssl.dh-file", "auth.backend.htpasswd.userfile",
    "auth.backend.htdigest.userfile", "auth.backend.plain.userfile", "mimetype.use-xattr-file",
    "server.errorfile-prefix"})  # fmt: skip
DIR_OF_OPTIONS = frozenset({"server.errorlog", "server.pid-file", "accesslog.filename",
    "server.breakagelog"})  # fmt: skip
DIR_OPTIONS = frozenset({"server.upload-dirs", "dir-listing.external-css"})
TREE_OPTIONS = frozenset({"server.document-root", "alias.url"})
_TOKEN = re.compile(
    r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|==|[+:]?=>?|[=!]~|!=|[(){}\[\],+]|\$?[\w.\-]+|.', re.S
)


def is_lighttpd(path: str) -> bool:
    return posixpath.basename(path) == "lighttpd"


def config_path(argv: Sequence[str]) -> str | None:
    """``-f FILE`` of lighttpd's command line (it has no built-in default)."""
    for i, arg in enumerate(argv):
        if arg == "-f" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("-f") and len(arg) > 2:
            return arg[2:]
    return None


def tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) tokens: ``str`` (unquoted), ``op``, ``word``; comments and blanks gone."""
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok.isspace() or tok.startswith("#"):
            continue
        if tok.startswith('"'):
            yield "str", re.sub(r"\\(.)", r"\1", tok[1:-1])
        elif re.fullmatch(r"\$?[\w.\-]+", tok) and not tok[0].isdigit():
            yield "word", tok
        elif tok[0].isdigit():
            yield "str", tok  # numbers join strings: "... " + 80
        else:
            yield "op", tok


@dataclass
class Config:
    """What lighttpd's configuration files name."""

    files: list[str] = field(default_factory=list)  # configuration files read
    globs: list[str] = field(default_factory=list)  # directories include globs read
    shell: list[str] = field(default_factory=list)  # include_shell commands
    options: list[tuple[str, str, str]] = field(default_factory=list)  # (key, value, file)
    modules: list[str] = field(default_factory=list)  # server.modules names


def read_config(tree: Tree, store: ContentStore, main: str) -> Config:
    """Read ``main`` and what it includes (a visited set and MAX_INCLUDES: an include
    loop ends)."""
    out = Config()
    basedir = posixpath.dirname(main)
    variables: dict[str, str] = {}
    todo = [main]
    seen: set[str] = set()
    while todo and len(out.files) < MAX_INCLUDES:
        path = todo.pop(0)
        real = tree.realpath(path)
        if real is None or real in seen or isinstance(tree.lookup(real), DirNode):
            continue
        seen.add(real)
        out.files.append(path)  # as named: a conf-enabled link keeps the link
        raw = read_file(tree, store, real, MAX_CONFIG_BYTES) or b""
        toks = list(tokens(raw.decode("utf-8", "replace")))
        try:
            todo += _statements(
                tree, toks, path=real, basedir=basedir, variables=variables, out=out
            )
        except RecursionError:  # arrays nested thousands deep: what was read so far stands
            continue
    return out


def _statements(
    tree: Tree,
    toks: list[tuple[str, str]],
    *,
    path: str,
    basedir: str,
    variables: dict[str, str],
    out: Config,
) -> list[str]:
    """Record what one file's statements name; the files its includes name."""
    included: list[str] = []
    i = 0
    while i < len(toks):
        kind, tok = toks[i]
        if kind == "word" and tok in ("include", "include_shell"):
            values, i = _value(toks, i + 1, variables)
            for v in values:
                if tok == "include_shell":
                    out.shell.append(v)
                    continue
                pattern = v if v.startswith("/") else posixpath.join(basedir, v)
                if any(c in pattern for c in "*?["):
                    out.globs.append(posixpath.dirname(re.split(r"[*?\[]", pattern)[0]))
                    included += glob_tree(tree, pattern)
                else:
                    included.append(pattern)
            continue
        if kind == "word" and toks[i + 1 : i + 2] in (
            [("op", "=")],
            [("op", "+=")],
            [("op", ":=")],
        ):
            values, i = _value(toks, i + 2, variables)
            if values:
                variables[tok] = values[0]
            if tok == "server.modules":
                out.modules += values
            out.options += [(tok, v, path) for v in values]
            continue
        i += 1
    return included


def _value(toks: list[tuple[str, str]], i: int, variables: dict[str, str]) -> tuple[list[str], int]:
    """The strings of the expression at ``i`` (``"a" + var.x``, ``( "a", "k" => "v" )``:
    an array's values, a pair's right side) and the index after it. A term naming an
    unknown variable drops its string."""
    out: list[str] = []
    if i < len(toks) and toks[i] == ("op", "("):
        depth, j = 1, i + 1
        element: list[tuple[str, str]] = []
        while j < len(toks) and depth:
            if toks[j] == ("op", "("):
                depth += 1
            elif toks[j] == ("op", ")"):
                depth -= 1
            if depth == 1 and toks[j] == ("op", ","):
                out += _element(element, variables)
                element = []
            elif depth >= 1 and not (depth == 1 and toks[j] == ("op", ")")):
                element.append(toks[j])
            j += 1
        out += _element(element, variables)
        return out, j
    parts: list[str] | None = []
    j = i
    while j < len(toks):
        kind, tok = toks[j]
        if kind == "str":
            parts = None if parts is None else [*parts, tok]
        elif kind == "word" and tok in variables:
            parts = None if parts is None else [*parts, variables[tok]]
        elif kind == "word":
            parts = None  # env.X, an unknown option: only known at run time
        else:
            break
        j += 1
        if j < len(toks) and toks[j] == ("op", "+"):
            j += 1
        else:
            break
    return ([("".join(parts))] if parts else []), max(j, i + 1)


def _element(element: list[tuple[str, str]], variables: dict[str, str]) -> list[str]:
    if ("op", "=>") in element:
        element = element[element.index(("op", "=>")) + 1 :]
    return _value(element, 0, variables)[0] if element else []


def module_dir(tree: Tree, store: ContentStore, binary: str) -> str:
    """The directory lighttpd loads ``server.modules`` from (its LIBRARY_DIR string)."""
    raw = read_file(tree, store, binary, MAX_BINARY) or b""
    for m in _MODULE_DIR.finditer(raw):
        path = m.group(1).decode("utf-8", "replace")
        if isinstance(tree.lookup(path), DirNode):
            return path
    return DEFAULT_MODULE_DIR


def include_shell_shell(env: Mapping[str, str]) -> str:
    """The shell lighttpd runs include_shell commands with: ``$SHELL``, else /bin/sh."""
    return env.get("SHELL") or "/bin/sh"


def shell_texts(tree: Tree, store: ContentStore, argv: Sequence[str]) -> list[str]:
    """The include_shell commands of the configuration ``argv`` names (analyse: the
    programs they run are analysed like the entrypoint's)."""
    main = config_path(argv)
    return read_config(tree, store, main).shell if main else []


def keep_lighttpd(
    keeper: Keeper,
    store: ContentStore,
    spec: RunSpec,
    *,
    binary: str,
    argv: Sequence[str],
    keep_elf: Callable[[str, str], None],
) -> str:
    """Keep lighttpd's configuration and what it names; a one-line summary."""
    tree = keeper.tree
    main = config_path(argv)
    if main is None:
        return "lighttpd: no -f FILE on the command line: no configuration read"
    main = main if main.startswith("/") else posixpath.join(spec.workdir, main)
    conf = read_config(tree, store, main)
    for path in conf.files:
        keeper.path(path, "config", f"lighttpd configuration (-f {main} and its includes)")
    for directory in conf.globs:
        keeper.path(directory, "config", "a directory lighttpd's include globs read")
    moddir = module_dir(tree, store, binary)
    for name in conf.modules:
        path = f"{moddir}/{name}.so"
        if keeper.is_file(path):
            keep_elf(path, f"server.modules {name} (lighttpd loads it from {moddir})")
    for key, value, where in conf.options:
        _keep_option(keeper, key, value, f"{key} in {where}")
    notes = _keep_shell(keeper, store, spec, conf.shell, keep_elf)
    return f"lighttpd: {len(conf.files)} configuration file(s) read from {main}" + "".join(
        f"; {n}" for n in notes
    )


def _keep_option(keeper: Keeper, key: str, value: str, why: str) -> None:
    if not value.startswith("/"):
        return  # relative to lighttpd's working directory, or not a path
    if key in FILE_OPTIONS:
        keeper.path(value, "config", why)
    elif key in DIR_OF_OPTIONS:
        keeper.path(posixpath.dirname(value), "config", why)
        if keeper.tree.lookup(value, follow=False) is not None:
            keeper.path(value, "config", why)
    elif key in DIR_OPTIONS:
        keeper.path(value, "config", why)
    elif key in TREE_OPTIONS:
        real = keeper.path(value, "config", f"served files: {why}")
        if real is not None:
            for sub, _ in itertools.islice(keeper.tree.walk(real), MAX_SERVED_ENTRIES):
                keeper.path(sub, "config", f"served files: {why}")


def _keep_shell(
    keeper: Keeper,
    store: ContentStore,
    spec: RunSpec,
    texts: list[str],
    keep_elf: Callable[[str, str], None],
) -> list[str]:
    """include_shell: the shell, the programs and scripts each command names (a perl
    script's modules and files), and the files it names."""
    notes: list[str] = []
    if not texts:
        return notes
    env = spec.env_map()
    path_var = env.get("PATH", "")
    shell = include_shell_shell(env)
    real = keeper.path(shell, "program", "lighttpd runs include_shell commands with it")
    if real is not None:  # and what it loads, as for the programs below
        keep_elf(real, "lighttpd runs include_shell commands with it")
    for text in texts:
        why = f"include_shell {text!r} in lighttpd's configuration"
        cmds = shell_commands(keeper.tree, store, spec, text)
        for program in [*cmds.programs, *cmds.scripts]:
            real = keeper.path(program, "program", why)
            if real is not None and program in cmds.programs:
                keep_elf(real, why)
        for path in cmds.paths:
            if keeper.is_file(path):
                keeper.path(path, "config", why)
        for script in cmds.scripts:
            interp = _interpreter(keeper.tree, store, script, path_var, spec.workdir)
            if interp and perl.is_perl(interp):
                notes.append(
                    perl.keep_perl_script(
                        keeper,
                        store,
                        script=script,
                        perl=interp,
                        why=why,
                        keep_elf=keep_elf,
                        env=env,
                    )
                )
    return notes


def _interpreter(
    tree: Tree, store: ContentStore, script: str, path_var: str, workdir: str
) -> str | None:
    """The program a #! script's first line names (through env, too)."""
    head = read_file(tree, store, script, 256) or b""
    interp = parse_shebang(head) if head.startswith(b"#!") else ()
    if not interp:
        return None
    target = interp[0]
    if posixpath.basename(target) == "env" and len(interp) > 1:
        target = interp[1].split()[0]
    return find_program(tree, target, path_var, workdir)
