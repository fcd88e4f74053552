"""Whether the analysed programs are every program the image can run (for the plan's families).

A program that can exec runs code the analysis never saw unless we know what it runs.
We know it for an entrypoint shell script or shell-form command whose commands all name
programs in the image (commands.py: they are analysed too) and whose named programs do
not exec further; then the analysed syscall set covers the image. Otherwise the plan
links every shim family and says why (docs/exec.md).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from dock2uni.analyse.commands import SHELLS, WRAPPERS, entrypoint_commands
from dock2uni.analyse.model import Analysis, Caller
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import Tree
from dock2uni.runspec import RunSpec

EXEC_CALLS = ("execve", "execveat")


def _binaries(callers: Iterable[Caller]) -> set[str]:
    out: set[str] = set()
    for c in callers:
        out.add(c.binary)
        out.update(f.binary for f in c.chain)
    return out


def unseen_programs_reason(
    analysis: Analysis, spec: RunSpec, tree: Tree, store: ContentStore
) -> str | None:
    """None when nothing can run a program the analysis did not see; else the reason,
    worded for the convert report ("every shim family is linked: <reason>")."""
    exec_callers = [c for u in analysis.syscalls if u.name in EXEC_CALLS for c in u.callers]
    if not exec_callers:
        return None
    main = analysis.programs[0] if analysis.programs else (spec.exec_path or "the program")
    cmds = entrypoint_commands(tree, store, spec)
    if cmds is None:
        return f"{main} can execute other programs (execve) that the analysis cannot name"
    if cmds.dynamic:
        shown = ", ".join(dict.fromkeys(cmds.dynamic[:3]))
        return f"the entrypoint's shell runs commands named only at run time ({shown})"
    shell = tree.realpath(main) or main
    execing = _binaries(exec_callers)
    for program in analysis.programs[1:]:
        real = tree.realpath(program) or program
        name = posixpath.basename(program)
        if real == shell or name in SHELLS or name in WRAPPERS:
            continue  # the shell's own execs are the commands; a wrapper's is its command
        if program in execing or real in execing:
            return f"{program}, which the entrypoint runs, can execute other programs (execve)"
    return None
