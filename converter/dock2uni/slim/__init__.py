"""The closure rootfs policy: only the files the entrypoint can reach, each with its reason.

Interface: ``closure_selection(tree, store, spec, analysis, argv=..., exec_path=...)``
returns the same ``Selection`` the other policies return (fs/policy.py), with a
reason for every kept entry and notes saying what the scans did. Nothing runs: the
rules read the analysis (programs and their ELF closure), the command line and the
files it names, and a few well-known files per libc (docs/slim.md).

The rules, in the order their reasons win:
  1. programs: the main program, a script and its interpreter, exec targets and the
     programs a shell command or script names; their ELF closure (PT_INTERP, DT_NEEDED,
     and the analysis's likely dlopens: NSS modules, libgcc_s, plugins);
  2. configuration: nginx's (nginx.py), lighttpd's (lighttpd.py, with the perl scripts
     its include_shell runs: perl.py), and every path the command line names;
  3. python: the modules the program imports (python.py);
  4. the loader's configuration and the files libc reads on common paths; CA
     certificates, gconv modules, terminfo and locale files when a kept library uses them;
  5. the working directory (and its files: the app's own), HOME, /tmp; every symlink
     on a kept path, and every other symlink naming a kept file (busybox's applets,
     sonames).
An entrypoint shell script's commands (analyse/commands.py) count in 1 (the programs
and scripts it and the scripts of the directories it names run) and after 2 (the
literal paths it names: script-path).
"""

from __future__ import annotations

import itertools
import posixpath
import shlex
from collections.abc import Mapping, Sequence

from dock2uni.analyse.closure import LIBGCC_S_USERS, Closure, ClosureEntry
from dock2uni.analyse.commands import Commands, cmd_commands, entrypoint_commands
from dock2uni.analyse.ldcache import read_file
from dock2uni.analyse.model import Analysis
from dock2uni.fs.policy import Dropped, Selection, configured_locales, drop_rule
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode, Tree
from dock2uni.runspec import RunSpec, find_program
from dock2uni.slim import lighttpd, nginx, python, system, trace
from dock2uni.slim.keep import Keeper

__all__ = ["closure_selection"]
PYTHON_EXTENSION = "python extension module"
# Notes of analyse/closure.py's likely dlopens that nginx's configuration decides.
OPENSSL_ENGINE = "OpenSSL engine"
UNWINDER = "glibc loads it for stack unwinding"
OPENSSL_CNF = ("/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf")
SHELL_WORDS = frozenset(
    {"exec", "command", "nohup", "env", "time", "then", "do", "else", "if", "while", "until",
     "!", "{", "(", "sudo", "su-exec", "gosu"}
)  # fmt: skip
OUTSIDE = "outside the closure"
NAMED_BY_SCRIPT = "named by the entrypoint's shell command or script"
MAX_SCRIPT_DIR_ENTRIES = 2000  # a directory an entrypoint script names, kept whole up to this
# Libraries the analysis lists as likely dlopens that the closure leaves out, and why.
LEFT_OUT = {
    "libidn2.so.0": "glibc loads it only for getaddrinfo's AI_IDN and getnameinfo's NI_IDN flags",
}


class _Elf:
    """The analysis's closure as a graph, to keep a file with everything it loads."""

    def __init__(self, keeper: Keeper, closure: Closure) -> None:
        self.keeper = keeper
        self.by_path = closure.by_path()
        self.children: dict[str, list[ClosureEntry]] = {}
        for e in closure.entries:
            for parent in e.needed_by:
                self.children.setdefault(parent, []).append(e)
        self.done: set[str] = set()
        self.libc = closure.libc

    def keep(self, path: str, category: str, detail: str) -> None:
        todo = [(path, category, detail)]
        while todo:
            p, cat, why = todo.pop()
            if p in self.done:
                continue
            self.done.add(p)
            self.keeper.path(p, cat, why)
            for child in self.children.get(p, ()):
                if child.status != "ok":
                    continue
                if child.role == "interpreter":
                    self.keeper.path(child.requested, "library", f"PT_INTERP of {p}")
                ccat = "dlopen" if child.role == "dlopen" else "library"
                todo.append((child.path, ccat, f"{_how(child)} of {p}"))

    def kept_closure(self) -> Closure:
        """The part of the closure kept so far (what the library rules look at)."""
        return Closure(
            entries=tuple(e for p, e in self.by_path.items() if p in self.done),
            libc=self.libc,
        )

    def keep_for_python(self, path: str, detail: str) -> None:
        self.keep(path, "python-module", detail)

    def keep_for_config(self, path: str, detail: str) -> None:
        """A module a configuration loads (lighttpd's server.modules, a perl XS object)."""
        self.keep(path, "config", detail)


def _left_out(path: str) -> str | None:
    base = posixpath.basename(path)
    for name, why in LEFT_OUT.items():
        if base == name or base.startswith(name + "."):
            return why
    return None


def _how(entry: ClosureEntry) -> str:
    if entry.role == "interpreter":
        return "PT_INTERP"
    return f"DT_NEEDED {entry.requested}"


def closure_selection(
    tree: Tree,
    store: ContentStore,
    spec: RunSpec,
    analysis: Analysis,
    *,
    argv: Sequence[str],
    exec_path: str,
    workdir: str,
    uid: int,
    add_files: Sequence[str] = (),
    traced: Mapping[str, set[str]] | None = None,
    widen: bool = False,
    drop: Sequence[str] = (),
) -> Selection:
    """The closure policy's selection (see the module docstring); ``add_files`` are kept
    first, directories with their contents (convert --add-file). ``traced`` (convert
    --slim: path -> kinds of access, slim/trace.py) are kept next, with their reason;
    ``widen`` keeps the files of the directories the program listed too; ``drop``
    removes paths from the result (the test hook of docs/slim.md)."""
    env = spec.env_map()
    keeper = Keeper(tree)
    notes: list[str] = []
    for path in add_files:
        where = path if path.startswith("/") else posixpath.join(workdir, path)
        if keeper.path(where, "added", "--add-file", recursive=True) is None:
            notes.append(f"--add-file {path}: not in the image")
    if traced is not None:
        kept = trace.keep_traced(keeper, traced, widen=widen)
        notes.append(f"traced run: {kept} paths the program touched kept")
    elf = _Elf(keeper, analysis.closure)
    deferred: list[ClosureEntry] = []
    # The program the configuration and import rules read: the Cmd an entrypoint script
    # ends with (`exec "$@"`: nginx-official's `nginx -g ...`), else the main program.
    commands = _script_commands(tree, store, spec)
    run_argv, run_exec = _command_run(tree, spec, argv, exec_path, commands)
    is_py = python.is_python(tree.realpath(run_exec) or run_exec)
    is_nginx = nginx.is_nginx(run_exec)

    # 1. programs and their ELF closure
    keeper.path(exec_path, "program", "the program the image starts")
    if spec.exec_kind == "script" and spec.exec_path:
        keeper.path(spec.exec_path, "program", "the entrypoint script")
    for e in analysis.closure.entries:
        if e.status != "ok":
            continue
        if e.role in ("main", "exec-target"):
            keeper.path(e.requested, "program", f"{e.role} program of the entrypoint")
            elf.keep(e.path, "program", f"{e.role} program of the entrypoint")
        elif e.role == "dlopen" and e.found_via == "dlopen":
            if is_py and e.note and e.note.startswith(PYTHON_EXTENSION):
                continue  # kept only if the import scan reaches it
            if is_nginx and (e.note or "").startswith("analysed as a plugin of"):
                continue  # a dynamic module runs only if load_module names it (nginx.py)
            if is_nginx and _nginx_config_decides(e.note or ""):
                deferred.append(e)  # kept below if nginx's configuration needs it
                continue
            left_out = _left_out(e.path)
            if left_out:
                notes.append(f"left out {e.path} ({e.note}): {left_out}")
                continue
            elf.keep(e.path, "dlopen", e.note or "a likely dlopen")
    for found in commands:
        for program in [*found.programs, *found.scripts]:
            keeper.path(program, "program", NAMED_BY_SCRIPT)
            real = tree.realpath(program)
            if real in elf.by_path:
                elf.keep(real, "program", NAMED_BY_SCRIPT)

    # 2. configuration and the command line
    used: set[str] = set()  # nginx's directives (nginx.py)
    if is_nginx:
        notes.append(nginx.keep_nginx(keeper, store, run_exec, run_argv, used))
    if lighttpd.is_lighttpd(run_exec):
        notes.append(
            lighttpd.keep_lighttpd(
                keeper, store, spec, binary=run_exec, argv=run_argv, keep_elf=elf.keep_for_config
            )
        )
    _keep_command_line(keeper, argv, workdir, skip_first=1)
    if spec.shell_form and len(argv) >= 3 and list(argv[:3]) == list(spec.argv[:3]):
        # `sh -c '... httpd -h /www'`: the arguments of each command of the shell text
        # (not of an entrypoint script's, whose words may name whole trees on any path).
        for words in _simple_commands(argv[2]):
            _keep_command_line(keeper, words, workdir, skip_first=1)
    notes += _keep_script_paths(keeper, commands)  # after the command line's own reasons
    for path in list(keeper.reasons):  # a module load_module names, a library added by hand
        if path in elf.by_path and path not in elf.done:
            category, detail = keeper.reasons[path].category, keeper.reasons[path].detail
            elf.keep(path, category, detail)
    if is_nginx:  # after the modules load_module names: their imports count too
        notes += _keep_nginx_deferred(
            keeper, store, elf, deferred=deferred, used=used, exec_path=run_exec
        )

    # 3. python modules (extension modules bring their own libraries)
    if is_py:
        notes.append(
            python.keep_python(
                keeper, store, interpreter=run_exec, argv=run_argv, env=env, workdir=workdir,
                keep_elf=elf.keep_for_python,
            )
        )  # fmt: skip

    # 4. loader configuration, libc's files, and what the kept libraries read
    kept_elf = elf.kept_closure()
    system.keep_libc_files(keeper, analysis.closure)
    system.keep_tz_env(keeper, env)
    system.keep_tls(keeper, kept_elf)
    system.keep_pam(keeper, kept_elf)
    system.keep_gconv(keeper, kept_elf)
    system.keep_terminfo(keeper, kept_elf, env)
    system.keep_locales(keeper, env, analysis.programs)

    # 5. directories and symlinks
    system.keep_run_dirs(keeper, workdir, system.home_of(tree, store, uid, env))
    notes += _keep_workdir(keeper, workdir)
    _keep_aliases(keeper, configured_locales(env))
    if drop:
        keeper.drop(drop)
        notes.append("removed by the test hook: " + ", ".join(drop))
    return _selection(keeper, tree, configured_locales(env), notes)


def _command_run(
    tree: Tree, spec: RunSpec, argv: Sequence[str], exec_path: str, commands: list[Commands]
) -> tuple[Sequence[str], str]:
    """(argv, program) of what finally runs: the Cmd when the entrypoint is a shell script
    ending with ``exec "$@"`` (_script_commands found it), else the command itself."""
    if len(commands) < 2:
        return argv, exec_path
    found = find_program(tree, spec.argv[1], spec.env_map().get("PATH", ""), spec.workdir)
    return (spec.argv[1:], found) if found else (argv, exec_path)


def _nginx_config_decides(note: str) -> bool:
    """A likely dlopen that nginx's configuration decides (nginx.needs_engines/threads)."""
    return note.startswith(OPENSSL_ENGINE) or note.startswith(UNWINDER)


def _keep_nginx_deferred(
    keeper: Keeper,
    store: ContentStore,
    elf: _Elf,
    *,
    deferred: list[ClosureEntry],
    used: set[str],
    exec_path: str,
) -> list[str]:
    """Keep the OpenSSL engines and libgcc_s only when nginx's configuration (or an
    OpenSSL configuration naming engines, or another kept binary) can load them."""
    notes: list[str] = []
    cnf = any(
        b"engines" in (read_file(keeper.tree, store, path, 1 << 20) or b"") for path in OPENSSL_CNF
    )
    main = keeper.tree.realpath(exec_path) or exec_path
    others = {
        s.name
        for e in elf.kept_closure().entries
        if e.facts is not None and e.path != main
        for s in e.facts.imports
    }
    for e in deferred:
        if (e.note or "").startswith(OPENSSL_ENGINE):
            why = "no ssl_engine or engine: key in nginx's configuration, no engines in openssl.cnf"
            keep = nginx.needs_engines(used) or cnf
        else:
            why = "no thread_pool or aio threads in nginx's configuration"
            keep = nginx.needs_threads(used) or bool(others & LIBGCC_S_USERS)
        if keep:
            elf.keep(e.path, "dlopen", e.note or "a likely dlopen")
        else:
            notes.append(f"left out {e.path} ({e.note}): {why}")
    return notes


def _simple_commands(text: str) -> list[list[str]]:
    """The simple commands of a shell text, best effort: its words after assignments and
    keywords, cut at newlines, ``;``, ``&&``, ``||`` and ``|``."""
    out: list[list[str]] = []
    for line in (
        text.replace("&&", "\n").replace("||", "\n").replace("|", "\n").replace(";", "\n")
    ).splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        while words and (
            words[0] in SHELL_WORDS or ("=" in words[0] and not words[0].startswith("="))
        ):
            words = words[1:]
        if words and not words[0].startswith("-"):
            out.append(words)
    return out


def _script_commands(tree: Tree, store: ContentStore, spec: RunSpec) -> list[Commands]:
    """What an entrypoint shell script or shell-form command runs (analyse/commands.py),
    and the Cmd its ``exec "$@"`` runs: programs, scripts, literal paths."""
    cmds = entrypoint_commands(tree, store, spec)
    if cmds is None:
        return []
    out = [cmds]
    if cmds.runs_cmd and spec.exec_kind == "script" and len(spec.argv) > 1:
        out.append(cmd_commands(tree, store, spec, list(spec.argv[1:])))
    return out


def _keep_script_paths(keeper: Keeper, commands: list[Commands]) -> list[str]:
    """The literal paths the scripts name: a file kept, a directory kept with its
    contents up to MAX_SCRIPT_DIR_ENTRIES (the scripts and templates its loops read)."""
    big: list[str] = []
    notes = [
        f"entrypoint: the scripts of {directory} scanned like the entrypoint script"
        for found in commands
        for directory in found.dirs
    ]
    for found in commands:
        for path in found.paths:
            if not isinstance(keeper.tree.lookup(path), DirNode):
                keeper.path(path, "script-path", NAMED_BY_SCRIPT)
            elif not _keep_bounded(
                keeper, path, "script-path", f"{NAMED_BY_SCRIPT}, with its contents"
            ):
                big.append(path)
    if big:
        notes.append(
            f"directories an entrypoint script names kept without all their contents "
            f"(over {MAX_SCRIPT_DIR_ENTRIES} entries): {', '.join(big[:5])}"
        )
    return notes


def _keep_workdir(keeper: Keeper, workdir: str) -> list[str]:
    """The working directory's files: by convention the application's own directory
    (``WORKDIR /app``, ``COPY . .``), which the program reads by relative paths and
    serves (``python3 -m http.server``). Not ``/``; a tree over MAX_SCRIPT_DIR_ENTRIES
    entries keeps its own entries only, and the notes say so."""
    real = keeper.tree.realpath(workdir)
    if real is None or real == "/" or not isinstance(keeper.tree.lookup(real), DirNode):
        return []
    if _keep_bounded(keeper, real, "workdir", "in the working directory"):
        return []
    return [
        f"the working directory {workdir} has over {MAX_SCRIPT_DIR_ENTRIES} entries: only its "
        "own entries are kept (add the rest with --add-file)"
    ]


def _keep_bounded(keeper: Keeper, path: str, category: str, why: str) -> bool:
    """Keep a directory and its subtree when it has at most MAX_SCRIPT_DIR_ENTRIES
    entries (links kept as links, with their targets); a bigger one keeps the directory
    and its own entries only. False when it was too big."""
    real = keeper.path(path, category, why)
    if real is None:
        return True
    walked = list(itertools.islice(keeper.tree.walk(real), MAX_SCRIPT_DIR_ENTRIES + 2))
    if len(walked) <= MAX_SCRIPT_DIR_ENTRIES + 1:
        keeper.path(real, category, why, recursive=True)
        return True
    node = keeper.tree.lookup(real)
    if isinstance(node, DirNode):
        for name in sorted(node.children)[:MAX_SCRIPT_DIR_ENTRIES]:
            keeper.path(f"{real.rstrip('/')}/{name}", category, why)
    return False


def _keep_command_line(
    keeper: Keeper, argv: Sequence[str], workdir: str, *, skip_first: int
) -> None:
    """Files and directories the arguments name: absolute paths, paths with a slash, and
    files relative to the working directory. A directory is kept with its contents
    (``rsync -a /etc/ ...``, ``ninja -C /src``)."""
    for word in argv[skip_first:]:
        for candidate in (word, word.partition("=")[2]):
            if not candidate or "\0" in candidate or len(candidate) > 4096:
                continue
            path = candidate if candidate.startswith("/") else posixpath.join(workdir, candidate)
            node = keeper.tree.lookup(path)
            if node is None:
                continue
            if "/" not in candidate and not isinstance(node, FileNode):
                continue
            why = f"named on the command line ({candidate})"
            real = keeper.path(
                path,
                "command-line",
                why,
                recursive=isinstance(node, DirNode) and keeper.tree.realpath(path) != "/",
                follow=False,
            )
            if real == "/":
                _keep_listing(keeper, why)


def _keep_listing(keeper: Keeper, why: str) -> None:
    """The root named on the command line (``ls -l /``): its entries and their
    subdirectories, so names and link counts are as in the image; not every file."""
    for name, node in sorted(keeper.tree.root.children.items()):
        keeper.path(f"/{name}", "command-line", why)
        if isinstance(node, DirNode):
            for sub, child in sorted(node.children.items()):
                if isinstance(child, DirNode):
                    keeper.path(f"/{name}/{sub}", "command-line", why)


def _keep_aliases(keeper: Keeper, locales: set[str]) -> None:
    """Every symlink whose target is kept: busybox's applets, library sonames, /lib ->
    usr/lib. Symlinks under paths the default policy drops (documentation) stay out."""
    keeper.add_parents()
    for path, node in keeper.tree.walk():
        if not isinstance(node, SymlinkNode) or keeper.has(path) or drop_rule(path, locales):
            continue
        real = keeper.tree.realpath(path)
        if real is not None and keeper.has(real):
            keeper.alias(path, real)


def _selection(keeper: Keeper, tree: Tree, locales: set[str], notes: list[str]) -> Selection:
    kept = list(keeper.entries())
    names = {p for p, _, _ in kept}
    dropped: dict[str, Dropped] = {}
    # A hardlinked file kept under one name costs nothing more under a dropped one.
    seen: set[int] = {id(n) for _, n, _ in kept if isinstance(n, FileNode)}
    for path, node in tree.walk():
        if path in names:
            continue
        # The default policy's rule when one applies (documentation...), else OUTSIDE.
        d = dropped.setdefault(drop_rule(path, locales) or OUTSIDE, Dropped())
        d.entries += 1
        if isinstance(node, FileNode) and id(node) not in seen:
            seen.add(id(node))
            d.bytes += node.size
    return Selection(
        entries=tuple((p, n) for p, n, _ in kept),
        dropped=dropped,
        reasons={p: (r.category, r.detail) for p, _, r in kept},
        notes=tuple(notes),
    )


def explain_lines(reasons: Mapping[str, tuple[str, str]]) -> list[str]:
    """``PATH  category: detail`` for every kept entry (convert --explain)."""
    return [f"{path}  {cat}: {why}" for path, (cat, why) in reasons.items()]
