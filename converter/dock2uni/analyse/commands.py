"""The programs an entrypoint shell script or shell-form command can run, read from its text.

Best effort, no shell is run (docs/exec.md, "What the converter links"): the text is cut
into simple commands at newlines, ``;``, ``&&``, ``||``, ``|``, ``&``, parentheses,
backticks and ``$(``; in each, assignments, redirections and keywords are skipped, and a
wrapper (``env``, ``nohup``, ``gosu``, ``xargs``...) gives way to the command it runs, as
does ``find -exec``. The first word left is the command: a shell builtin or a function of
the script runs nothing; ``"$@"`` (or ``$1``) is the image's Cmd; any other word with a
``$`` or a glob is only known at run time (``dynamic``); anything else is looked up in
the image's PATH. A command that is itself a ``#!`` script brings its interpreter, and a
shell script's own commands, up to a few levels.

The literal absolute paths the text names are recorded too (``paths``: ``cat
/etc/app.conf``, ``${DIR:-/etc/nginx/templates}``, ``/docker-entrypoint.d/*.sh``, ``find
/docker-entrypoint.d/``), except ``/``, the kernel's ``/dev``, ``/proc`` and ``/sys``, and
colon lists (``PATH=/usr/bin:/bin``). A directory among them, or the directory of a glob,
is what the official images' entrypoints loop over (``for f in /d/*.sh; do "$f"``, ``find
/d -type f``, ``run-parts /d``): each script in it (a ``#!`` file, or a ``.sh``/``.envsh``
file sourced) is scanned as the text's own commands, up to MAX_DIR_FILES files a
directory, with the same depth bound and visited set; each executable ELF file in it is a
program the loop runs, up to MAX_DIR_PROGRAMS a directory. A quote that closes a word does
not start a path (``"$dir"/x`` names no ``/x``).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from dock2uni.analyse.ldcache import read_file
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, Tree
from dock2uni.runspec import RunSpec, find_program, parse_shebang

SHELLS = frozenset({"sh", "bash", "dash", "ash", "busybox", "zsh", "ksh", "mksh"})
# Words before a command that do not name it.
KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case",
     "esac", "{", "}", "!", "function", "select", "time", "exec", "command", "builtin"}
)  # fmt: skip
# Builtins of POSIX sh, busybox ash and bash: they run no program.
BUILTINS = frozenset(
    {":", ".", "source", "true", "false", "cd", "echo", "printf", "set", "unset", "export",
     "readonly", "local", "return", "exit", "shift", "trap", "wait", "umask", "ulimit", "read",
     "test", "[", "[[", "eval", "alias", "unalias", "type", "hash", "getopts", "let",
     "declare", "typeset", "break", "continue", "jobs", "fg", "bg", "kill", "pwd", "times"}
)  # fmt: skip
# Programs that run the command given in their arguments (after their own options).
WRAPPERS = frozenset(
    {"env", "nohup", "nice", "timeout", "chroot", "setsid", "taskset", "ionice", "stdbuf",
     "xargs", "sudo", "su-exec", "gosu", "tini", "dumb-init", "chpst", "runuser", "setpriv",
     "s6-setuidgid", "catatonit"}
)  # fmt: skip
# Builtins that run a shell text or file given at run time.
EVALUATING = frozenset({"eval", ".", "source"})
MAX_DEPTH = 4
MAX_SCRIPT = 1 << 20
MAX_DIR_FILES = 2000  # files of one named directory scanned (as the root rule's bound)
# ELF programs of one named directory followed: each is analysed like the entrypoint, so a
# script naming a directory of hundreds of binaries must not cost hundreds of analyses.
MAX_DIR_PROGRAMS = 16
MAX_PATHS = 4096  # literal paths recorded from all the texts of one scan
# A literal absolute path: after a blank, a quote, `=`, `(` or a parameter expansion's
# default (`${X:-/d}`), up to a character that ends a shell word or starts an expansion.
_PATH = re.compile(r"(^|[\s\"'=(]|:-|:=|:\+|:\?)(/[^\s\"'`;|&()<>$\\{}:,]*)(:?)")
_KERNEL = ("/dev", "/proc", "/sys")
SOURCED_SUFFIXES = (".sh", ".envsh")
_CUT = re.compile(r"&&|\|\||[;|&()\n`]|\$\(")
_REDIRECT = re.compile(r"^\d*(>>?|<<?|<>|>&|<&)")
_FUNCTION = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*\)")
_CMD_WORDS = frozenset({'"$@"', "$@", '"${@}"', "${@}", "$1", '"$1"', "${1}", '"${1}"', "$*"})


@dataclass
class Commands:
    """What a shell text can run: programs found in the image, the words only known at run
    time, and whether it runs the image's Cmd (``exec "$@"``)."""

    programs: list[str] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)
    runs_cmd: bool = False
    scripts: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # literal image paths the texts name
    dirs: list[str] = field(default_factory=list)  # directories whose scripts were scanned


def _simple_commands(text: str) -> list[list[str]]:
    out: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        for part in _CUT.split(line):
            try:
                words = shlex.split(part, comments=True, posix=False)
            except ValueError:
                words = part.split()
            if words:
                out.append(words)
    return out


def _command_word(words: list[str], wrappers: list[str] | None = None) -> list[str]:
    """The words from the command on: assignments, redirections, keywords, wrappers gone
    (added to ``wrappers``: they run too, then exec the command)."""
    i = 0
    while i < len(words):
        w = words[i]
        if w in KEYWORDS or ("=" in w and not w.startswith("=") and not w.startswith("$")):
            i += 1
        elif _REDIRECT.match(w):
            # ">file" carries its target; a bare ">" takes the next word.
            i += 1 if _REDIRECT.sub("", w) else 2
        elif posixpath.basename(w.strip("'\"")) in WRAPPERS:
            if wrappers is not None:
                wrappers.append(w.strip("'\""))
            i += 1
            while i < len(words) and (words[i].startswith("-") or "=" in words[i]):
                i += 1
            if posixpath.basename(w) in ("gosu", "su-exec", "chpst", "s6-setuidgid"):
                i += 1  # the user
        else:
            return words[i:]
    return []


def _find_exec_targets(words: list[str]) -> list[list[str]]:
    """``find ... -exec CMD ...``: the commands find runs."""
    return [words[i + 1 :] for i, w in enumerate(words) if w in ("-exec", "-execdir", "-ok")]


def _functions(text: str) -> set[str]:
    return {m.group(1) for line in text.splitlines() if (m := _FUNCTION.match(line))}


def _opening_quotes(line: str) -> set[int]:
    """The positions of the quotes in ``line`` that open a quoted string (a shell's
    quoting: backslashes escape outside single quotes; a line is read on its own)."""
    opening: set[int] = set()
    quote, i = "", 0
    while i < len(line):
        c = line[i]
        if c == "\\" and quote != "'":
            i += 2
            continue
        if not quote and c in "'\"":
            quote = c
            opening.add(i)
        elif c == quote:
            quote = ""
        i += 1
    return opening


def _continues_word(line: str, at: int) -> bool:
    """Whether the character before ``at`` belongs to the same shell word (a quote, a
    variable's end, a name): then a path starting at ``at`` is not absolute."""
    return at > 0 and (line[at - 1].isalnum() or line[at - 1] in "'\"}_$)./")


def literal_paths(text: str) -> list[str]:
    """The literal absolute paths of a shell text, in order (see the module docstring); a
    glob's fixed directory (``/d/*.sh`` gives ``/d``). Comment lines are skipped."""
    out: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        opening = _opening_quotes(line)
        for m in _PATH.finditer(line):
            word, colon = m.group(2), m.group(3)
            if colon or (m.start(2) > 0 and line[m.start(2) - 1] == ":" and not m.group(1)):
                continue  # PATH=/usr/bin:/bin: a search list, not files the text reads
            q = m.start(1)
            if m.group(1) in ("'", '"') and (q not in opening or _continues_word(line, q)):
                continue  # "$dir"/x, "$a""/x": the path goes on from what is before it
            if any(c in word for c in "*?["):
                word = posixpath.dirname(re.split(r"[*?\[]", word, maxsplit=1)[0])
            word = posixpath.normpath(word) if word.strip("/") else "/"
            if word == "/" or word.startswith(tuple(f"{k}/" for k in _KERNEL)) or word in _KERNEL:
                continue
            if word not in out:
                out.append(word)
    return out


class _Scanner:
    """One scan: the image, the commands found so far and the files already followed."""

    def __init__(self, tree: Tree, store: ContentStore, spec: RunSpec) -> None:
        self.tree, self.store, self.spec = tree, store, spec
        self.path_var = spec.env_map().get("PATH", "")
        self.seen: set[str] = set()
        self.dirs_seen: set[str] = set()
        self.out = Commands()

    def text(self, text: str, depth: int) -> None:
        """The commands ``text`` (a shell script or a ``-c`` string) can run."""
        out = self.out
        functions = _functions(text)
        todo = _simple_commands(text)
        while todo:
            wrappers: list[str] = []
            words = _command_word(todo.pop(0), wrappers)
            for wrapper in wrappers:
                self.follow(wrapper, depth)
            if not words:
                continue
            first = words[0]
            if posixpath.basename(first.strip("'\"")) == "find":
                todo.extend(_find_exec_targets(words))
                self.follow(first.strip("'\""), depth)  # find itself runs too
            elif first in _CMD_WORDS:
                out.runs_cmd = True
            elif first in EVALUATING:
                if len(words) > 1 and "$" not in words[1] and first != "eval":
                    self.follow(words[1], depth)
                elif len(words) > 1:
                    out.dynamic.append(" ".join(words[:2]))
            elif first in BUILTINS or first in functions or first.startswith("-"):
                continue
            elif "$" in first or any(c in first for c in "*?[") or not first.strip("'\""):
                out.dynamic.append(first)
            else:
                bare = first.strip("'\"")
                self.follow(bare, depth)
                if posixpath.basename(bare) in SHELLS and len(words) > 1:
                    self.shell_arguments(words[1:], depth)
        self.named_paths(text, depth)

    def named_paths(self, text: str, depth: int) -> None:
        """Record the literal paths ``text`` names that are in the image; scan the
        scripts of each directory among them (the loops of the official entrypoints)."""
        for path in literal_paths(text):
            if len(self.out.paths) >= MAX_PATHS:
                return
            real = self.tree.realpath(path)
            if real is None or real == "/":
                continue
            if path not in self.out.paths:
                self.out.paths.append(path)
            if real not in self.dirs_seen and isinstance(self.tree.lookup(real), DirNode):
                self.dirs_seen.add(real)
                self.directory(real, depth)

    def directory(self, real: str, depth: int) -> None:
        """The scripts and programs of a directory the text names: what ``for f in
        DIR/*; do "$f"`` runs or sources, scripts scanned one level deeper."""
        if depth + 1 >= MAX_DEPTH:
            self.out.dynamic.append(f"the scripts of {real}, nested too deep")
            return
        self.out.dirs.append(real)
        count = programs = 0
        for sub, node in self.tree.walk(real):
            if not isinstance(node, FileNode):
                continue
            count += 1
            if count > MAX_DIR_FILES:
                self.out.dynamic.append(f"the scripts of {real} past {MAX_DIR_FILES} files")
                return
            head = self.store.read(node.digest, 4)
            if head.startswith(b"#!"):
                self.follow(sub, depth)
            elif head == b"\x7fELF" and node.mode & 0o111:  # a compiled hook: "$f" runs it
                programs += 1
                if programs <= MAX_DIR_PROGRAMS:
                    self.follow(sub, depth)
                elif programs == MAX_DIR_PROGRAMS + 1:
                    self.out.dynamic.append(f"the programs of {real} past {MAX_DIR_PROGRAMS}")
            elif sub.endswith(SOURCED_SUFFIXES) and sub not in self.seen:
                self.seen.add(sub)
                self.out.scripts.append(sub)
                raw = read_file(self.tree, self.store, sub, MAX_SCRIPT) or b""
                self.text(raw.decode("utf-8", "replace"), depth + 1)

    def shell_arguments(self, args: list[str], depth: int) -> None:
        """A shell the text runs: its ``-c`` string or its script file are commands too."""
        if depth + 1 >= MAX_DEPTH:
            self.out.dynamic.append("a shell nested too deep")
            return
        if "-c" in args:
            i = args.index("-c")
            text = args[i + 1].strip("'\"") if i + 1 < len(args) else ""
            if text.startswith("$"):
                self.out.dynamic.append(f"sh -c {args[i + 1]}")
            else:  # variables in the text's arguments: its commands are still named
                self.text(text, depth + 1)
            return
        script = next((a for a in args if not a.startswith("-")), None)
        if script is None:
            return
        if "$" in script:
            self.out.dynamic.append(f"sh {script}")
            return
        path = script if script.startswith("/") else posixpath.join(self.spec.workdir, script)
        raw = read_file(self.tree, self.store, path, MAX_SCRIPT)
        if raw is not None:
            self.text(raw.decode("utf-8", "replace"), depth + 1)

    def follow(self, word: str, depth: int) -> None:
        """Record the program ``word`` names; a #! script adds its interpreter and, for a
        shell script, its own commands."""
        tree, out = self.tree, self.out
        found = find_program(tree, word, self.path_var, self.spec.workdir)
        if found is None or found in self.seen:
            return  # not in the image: nothing can run it
        self.seen.add(found)
        node = tree.lookup(found)
        head = self.store.read(node.digest, 256) if isinstance(node, FileNode) else b""
        if not head.startswith(b"#!"):
            out.programs.append(found)
            return
        out.scripts.append(found)
        interp = parse_shebang(head)
        if not interp:
            return
        target = interp[0]
        if posixpath.basename(target) == "env" and len(interp) > 1:
            target = interp[1].split()[0]
        resolved = find_program(tree, target, self.path_var, self.spec.workdir)
        if resolved and resolved not in out.programs:
            out.programs.append(resolved)
        if depth + 1 < MAX_DEPTH and posixpath.basename(target) in SHELLS:
            raw = read_file(tree, self.store, found, MAX_SCRIPT) or b""
            self.text(raw.decode("utf-8", "replace"), depth + 1)


def shell_commands(tree: Tree, store: ContentStore, spec: RunSpec, text: str) -> Commands:
    """The commands ``text`` (a shell script or a ``-c`` string) can run; see the module
    docstring. Scripts it names are followed (their interpreter is a program too)."""
    scan = _Scanner(tree, store, spec)
    scan.text(text, 0)
    return scan.out


def cmd_commands(tree: Tree, store: ContentStore, spec: RunSpec, words: list[str]) -> Commands:
    """What the image's Cmd runs when the entrypoint script ends with ``exec "$@"``: its
    program, and for a shell (``sh -c TEXT``, ``sh script``) the commands of its text."""
    scan = _Scanner(tree, store, spec)
    if words:
        scan.follow(words[0], 0)
        args = words[1:]
        if posixpath.basename(words[0]) in SHELLS and "-c" in args[:-1]:
            text = args[args.index("-c") + 1]  # one argv word, not a quoted shell word
            if text.startswith("$"):
                scan.out.dynamic.append(f"sh -c {text}")
            else:
                scan.text(text, 1)
        elif posixpath.basename(words[0]) in SHELLS and args:
            scan.shell_arguments(args, 0)
    return scan.out


def entrypoint_commands(tree: Tree, store: ContentStore, spec: RunSpec) -> Commands | None:
    """The commands of the entrypoint's shell text (a script run by a shell, a shell-form
    ``sh -c`` string, or any shell's ``-c`` string: ``bash -c TEXT``), or None when the
    entrypoint is not a shell running a text."""
    shell_script = (
        spec.exec_kind == "script"
        and bool(spec.interpreter)
        and posixpath.basename(spec.interpreter[0]) in SHELLS
        and spec.exec_path is not None
    )
    if shell_script and spec.exec_path:
        raw = read_file(tree, store, spec.exec_path, MAX_SCRIPT) or b""
        return shell_commands(tree, store, spec, raw.decode("utf-8", "replace"))
    if spec.shell_form and len(spec.argv) >= 3:
        return shell_commands(tree, store, spec, spec.argv[2])
    # `bash -c TEXT`, `dash -c TEXT` as the command: a shell running a text all the same
    shell = spec.exec_kind == "elf" and posixpath.basename(spec.argv[0] if spec.argv else "")
    if shell in SHELLS and "-c" in spec.argv[1:-1]:
        return shell_commands(tree, store, spec, spec.argv[spec.argv.index("-c", 1) + 1])
    return None
