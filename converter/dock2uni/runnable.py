"""runnable.py: can the entrypoint start at all? What `convert` refuses and the audit calls broken.

Linux's execve decides this before the program runs a single instruction: the file
must exist, be executable, be an ELF or a ``#!`` script whose interpreter exists, be
a 64-bit x86-64 executable or shared object, and its loader (PT_INTERP) and every
library the loader must map (DT_NEEDED of the program and, transitively, of those
libraries) must be in the image. An image that fails any of these fails in `docker
run` too (exit 126 or 127, or the loader's "error while loading shared libraries"),
so converting it or auditing it as "partial" would only hide the problem until the
first boot. Libraries only loaded with dlopen and programs the entrypoint may exec
later are not start-up conditions: the audit reports those as findings instead.

Interface: ``problems(tree, spec, analysis)`` returns the problems in the order
execve would meet them (first one first), each with a finding id, a message naming
the file and who needs it, and a hint. Pure: no I/O beyond the in-memory tree.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from dock2uni.analyse.closure import ClosureEntry
from dock2uni.analyse.model import Analysis
from dock2uni.fs.tree import FileNode, Tree
from dock2uni.runspec import RunSpec, find_program

EXECUTE_BITS = 0o111  # root may execute a file when any x bit is set (generic_permission)


@dataclass(frozen=True)
class Problem:
    """One reason the entrypoint cannot start."""

    id: str  # the audit finding id
    message: str
    hint: str
    path: str | None = None  # the file to blame (the program, or the one that needs a library)
    subject: str | None = None  # what is missing or broken, as named (a library's DT_NEEDED name)


def problems(tree: Tree, spec: RunSpec, analysis: Analysis) -> list[Problem]:
    """Why the entrypoint cannot start, in execve's order; empty when it can."""
    argv0 = spec.argv[0] if spec.argv else "?"
    if spec.exec_path is None or spec.exec_kind == "missing":
        return [
            Problem(
                "entrypoint-missing",
                f"the entrypoint {argv0} is not in the image",
                "Check the image's Entrypoint/Cmd, or pass --entrypoint '[\"/path/prog\"]'.",
            )
        ]
    found = _not_executable(tree, spec.exec_path, "the entrypoint")
    if found:
        return [found]
    if spec.exec_kind == "other":
        return [
            Problem(
                "not-a-program",
                f"the entrypoint {spec.exec_path} is neither an ELF binary nor a #! script",
                "dock2uni runs x86-64 Linux ELF programs and scripts; check the image's "
                "Entrypoint/Cmd.",
                spec.exec_path,
            )
        ]
    if spec.exec_kind == "script":
        found = _interpreter_problem(tree, spec)
        if found:
            return [found]
    return _load_problems(analysis)


def _not_executable(tree: Tree, path: str, what: str) -> Problem | None:
    node = tree.lookup(path)
    if isinstance(node, FileNode) and not node.mode & EXECUTE_BITS:
        return Problem(
            "not-executable",
            f"{what} {path} is not executable (mode {node.mode & 0o7777:04o}): execve "
            "would fail with EACCES",
            "Set an execute bit in the image (RUN chmod +x ...).",
            path,
        )
    return None


def _interpreter_problem(tree: Tree, spec: RunSpec) -> Problem | None:
    script = spec.exec_path or "?"
    if not spec.interpreter:
        return Problem(
            "interpreter-missing",
            f"the script {script} has a #! line that names no interpreter",
            "Put the interpreter's absolute path after #! on the script's first line.",
            script,
        )
    interp = spec.interpreter[0]
    if not isinstance(tree.lookup(interp), FileNode):
        return Problem(
            "interpreter-missing",
            f"the interpreter {interp} named by the #! line of {script} is not in the image",
            "Install the interpreter in the image, or fix the script's #! line.",
            script,
        )
    found = _not_executable(tree, interp, f"the interpreter of {script},")
    if found:
        return found
    if posixpath.basename(interp) == "env" and len(spec.interpreter) > 1:
        # `#!/usr/bin/env prog`: env then looks prog up on PATH, and exits 127 without it.
        words = spec.interpreter[1].split()
        target = next((w for w in words if not w.startswith("-")), None)
        path_var = spec.env_map().get("PATH", "")
        if target and find_program(tree, target, path_var, spec.workdir) is None:
            return Problem(
                "interpreter-missing",
                f"{script} runs `env {target}`, and {target} is not on the image's PATH "
                f"({path_var or 'empty'})",
                "Install the interpreter in the image, or fix the script's #! line.",
                script,
            )
    return None


def _load_problems(analysis: Analysis) -> list[Problem]:
    """What the kernel and the dynamic loader need to start the main program."""
    entries = analysis.closure.entries
    main = next((e for e in entries if e.role == "main"), None)
    if main is None:
        return []
    found: list[Problem] = []
    if main.status in ("unparseable", "not-elf", "missing"):
        found.append(
            Problem(
                "malformed-elf",
                f"the program {main.requested} cannot be loaded: {main.note or main.status}",
                "The file is not a valid ELF program: rebuild the image, or check that the "
                "entrypoint names the right file.",
                main.requested,
                main.requested,
            )
        )
        return found
    facts = main.facts
    if facts is not None and not facts.is_x86_64:
        kind = "a 32-bit ELF file" if facts.elf_class != 64 else "an ELF file"
        found.append(
            Problem(
                "entrypoint-wrong-architecture",
                f"the program {main.path} is {kind} for {facts.machine_name}, not x86-64",
                "Pick the linux/amd64 variant of the image with --platform linux/amd64.",
                main.path,
            )
        )
        return found
    if facts is not None and facts.elf_type not in ("EXEC", "DYN"):
        found.append(
            Problem(
                "malformed-elf",
                f"the program {main.path} is an ELF {facts.elf_type} file, not an executable",
                "The entrypoint must be a linked program; check the image's Entrypoint/Cmd.",
                main.path,
            )
        )
        return found
    for entry in _start_up_set(entries, main):
        if entry.status in ("missing", "wrong-arch") and entry.role in ("interpreter", "needed"):
            found.append(_missing(entry))
    return found


def _start_up_set(entries: tuple[ClosureEntry, ...], main: ClosureEntry) -> list[ClosureEntry]:
    """The entries the kernel and the loader map before main runs: main's loader and
    its DT_NEEDED closure (not dlopen'ed plugins, not other programs)."""
    keep = {main.path}
    changed = True
    while changed:
        changed = False
        for e in entries:
            if e.path in keep or e.role not in ("interpreter", "needed"):
                continue
            if any(p in keep for p in e.needed_by):
                keep.add(e.path)
                changed = True
    return [e for e in entries if e.path in keep and e is not main]


def _missing(entry: ClosureEntry) -> Problem:
    users = ", ".join(entry.needed_by) or "the program"
    if entry.role == "interpreter":
        what = f"the program loader {entry.requested} (PT_INTERP of {users})"
        hint = "The image lacks its C library's loader: install libc in the image."
    else:
        what = f"the library {entry.requested}, needed by {users},"
        hint = "Install the library in the image (the loader would refuse to start)."
    problem = (
        "is not in the image"
        if entry.status == "missing"
        else "is only in the image for another architecture"
    )
    return Problem(
        "library-missing" if entry.role == "needed" else "loader-missing",
        f"{what} {problem}",
        hint,
        entry.needed_by[0] if entry.needed_by else None,
        entry.requested,
    )
