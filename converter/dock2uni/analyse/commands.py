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
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from dock2uni.analyse.ldcache import read_file
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import FileNode, Tree
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


def _command_word(words: list[str]) -> list[str]:
    """The words from the command on: assignments, redirections, keywords, wrappers gone."""
    i = 0
    while i < len(words):
        w = words[i]
        if w in KEYWORDS or ("=" in w and not w.startswith("=") and not w.startswith("$")):
            i += 1
        elif _REDIRECT.match(w):
            # ">file" carries its target; a bare ">" takes the next word.
            i += 1 if _REDIRECT.sub("", w) else 2
        elif posixpath.basename(w.strip("'\"")) in WRAPPERS:
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


class _Scanner:
    """One scan: the image, the commands found so far and the files already followed."""

    def __init__(self, tree: Tree, store: ContentStore, spec: RunSpec) -> None:
        self.tree, self.store, self.spec = tree, store, spec
        self.path_var = spec.env_map().get("PATH", "")
        self.seen: set[str] = set()
        self.out = Commands()

    def text(self, text: str, depth: int) -> None:
        """The commands ``text`` (a shell script or a ``-c`` string) can run."""
        out = self.out
        functions = _functions(text)
        todo = _simple_commands(text)
        while todo:
            words = _command_word(todo.pop(0))
            if not words:
                continue
            first = words[0]
            if posixpath.basename(first) == "find":
                todo.extend(_find_exec_targets(words))
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

    def shell_arguments(self, args: list[str], depth: int) -> None:
        """A shell the text runs: its ``-c`` string or its script file are commands too."""
        if depth + 1 >= MAX_DEPTH:
            self.out.dynamic.append("a shell nested too deep")
            return
        if "-c" in args:
            i = args.index("-c")
            text = args[i + 1].strip("'\"") if i + 1 < len(args) else ""
            if "$" in text:
                self.out.dynamic.append(f"sh -c {args[i + 1]}")
            else:
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


def named_program(tree: Tree, store: ContentStore, spec: RunSpec, word: str) -> Commands:
    """The program one command word names (a script brings its interpreter and commands)."""
    scan = _Scanner(tree, store, spec)
    scan.follow(word, 0)
    return scan.out


def entrypoint_commands(tree: Tree, store: ContentStore, spec: RunSpec) -> Commands | None:
    """The commands of the entrypoint's shell text (a script run by a shell, or a shell-form
    ``sh -c`` string), or None when the entrypoint is not a shell running a text."""
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
    return None
