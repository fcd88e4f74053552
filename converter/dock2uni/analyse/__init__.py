"""Stage 3, analyse: UnpackedImage + RunSpec -> Analysis (closure, syscalls, process model).

Interface:
  * ``analyse(unpacked, spec, ctx)`` finds the programs that will run (the entrypoint,
    or a script's interpreter and what it ``exec "$@"``s), their dependency closure
    inside the image (``closure.py``), every syscall their reachable code can make
    (``disasm.py`` per file, cached by content digest; ``reach.py`` over the process),
    and the process-model findings (``features.py``).
  * ``analyse_paths(tree, store, programs, ctx)`` does the same for explicit program
    paths (tests, ``--trace`` comparisons, the benchmark).

Files that cannot be parsed are reported in ``Analysis.errors`` and skipped; the
analysis of everything else completes.
"""

from __future__ import annotations

import posixpath
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from dock2uni.analyse import persist
from dock2uni.analyse.cache import FileAnalyser
from dock2uni.analyse.closure import Closure, ClosureEntry, compute_closure
from dock2uni.analyse.commands import cmd_commands, entrypoint_commands, shell_commands
from dock2uni.analyse.disasm import Summary
from dock2uni.analyse.features import process_model, script_ends_with_exec
from dock2uni.analyse.ldcache import read_file
from dock2uni.analyse.model import Analysis, FileError, SyscallUse
from dock2uni.analyse.reach import Loaded, reach
from dock2uni.context import Context
from dock2uni.errors import ElfError
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import FileNode, Tree
from dock2uni.runspec import RunSpec, find_program
from dock2uni.syscalls import name_of
from dock2uni.unpack import UnpackedImage

__all__ = ["Analysis", "analyse", "analyse_paths", "programs_of"]


def programs_of(spec: RunSpec, tree: Tree, store: ContentStore) -> list[tuple[str, str]]:
    """(image path, role) of every program the entrypoint will run that we can name."""
    env = spec.env_map()
    path_var = env.get("PATH", "")
    out: list[tuple[str, str]] = []

    def lookup(word: str) -> str | None:
        return find_program(tree, word, path_var, spec.workdir)

    def add(path: str | None, role: str) -> None:
        if path and all(p != path for p, _ in out):
            out.append((path, role))

    if spec.exec_kind == "elf":
        add(spec.exec_path, "main")
    elif spec.exec_kind == "script" and spec.interpreter:
        interp = (
            lookup(spec.interpreter[0])
            if "/" not in spec.interpreter[0]
            else (
                spec.interpreter[0]
                if isinstance(tree.lookup(spec.interpreter[0]), FileNode)
                else None
            )
        )
        add(interp, "main")
        if interp and posixpath.basename(interp) == "env" and len(spec.interpreter) > 1:
            add(lookup(spec.interpreter[1].split()[0]), "exec-target")
        raw = read_file(tree, store, spec.exec_path or "", 1 << 20) or b""
        if script_ends_with_exec(raw.decode("utf-8", "replace")) and len(spec.argv) > 1:
            add(lookup(spec.argv[1]), "exec-target")
    # What a shell entrypoint runs is analysed too: every family those programs need
    # must be linked (analyse/exec_cover.py decides when that cannot be known).
    cmds = entrypoint_commands(tree, store, spec)
    if cmds is not None:
        if cmds.runs_cmd and spec.exec_kind == "script" and len(spec.argv) > 1:
            cmds.programs += cmd_commands(tree, store, spec, list(spec.argv[1:])).programs
        for program in cmds.programs:
            add(program, "exec-target")
    for program in _configured_programs(tree, store, spec, out):
        add(program, "exec-target")
    if spec.shell_form and len(spec.argv) >= 3:
        try:
            words = shlex.split(spec.argv[2])
        except ValueError:
            words = spec.argv[2].split()
        while words and words[0] in ("exec", "command"):
            words = words[1:]
        if words and "=" not in words[0]:
            target = lookup(words[0])
            node = tree.lookup(target) if target else None
            if isinstance(node, FileNode):
                head = store.read(node.digest, 4)
                if head == b"\x7fELF":
                    add(target, "exec-target")
    return out


def _configured_programs(
    tree: Tree, store: ContentStore, spec: RunSpec, found: list[tuple[str, str]]
) -> list[str]:
    """Programs a server's configuration runs: lighttpd's include_shell commands (the
    configuration reader is slim/lighttpd.py's, imported here when lighttpd runs)."""
    server = next((p for p, _ in found if posixpath.basename(p) == "lighttpd"), None)
    if server is None:
        return []
    # slim imports analyse, so this import waits until analyse is loaded
    from dock2uni.slim import lighttpd

    words = list(spec.argv)
    start = next((i for i, w in enumerate(words) if posixpath.basename(w) == "lighttpd"), 0)
    texts = lighttpd.shell_texts(tree, store, words[start:])
    if not texts:
        return []
    shell = find_program(tree, lighttpd.include_shell_shell(spec.env_map()), "", spec.workdir)
    out: list[str] = [shell] if shell else []
    for text in texts:
        out += shell_commands(tree, store, spec, text).programs
    return out


def analyse(unpacked: UnpackedImage, spec: RunSpec, ctx: Context) -> Analysis:
    """The analyse stage (see the module docstring); a whole image already analysed
    with the same spec and the same analysis code comes from persist.py's cache."""
    programs = programs_of(spec, unpacked.tree, unpacked.store)
    start = time.perf_counter()
    key = persist.cache_key(unpacked.image.manifest_digest, programs, persist.to_jsonable(spec))
    cached = persist.load(ctx.cache_dir, key)
    if cached is not None:
        return replace(cached, timings={"total": time.perf_counter() - start, "cached": 1.0})
    result = analyse_paths(
        unpacked.tree, unpacked.store, programs, ctx, env=spec.env_map(), spec=spec
    )
    persist.save(ctx.cache_dir, key, result)
    return result


def analyse_paths(
    tree: Tree,
    store: ContentStore,
    programs: Sequence[tuple[str, str]],
    ctx: Context,
    *,
    env: Mapping[str, str] | None = None,
    spec: RunSpec | None = None,
) -> Analysis:
    """Analyse explicit programs ((image path, role) pairs, the first one "main")."""
    with FileAnalyser(tree, store, ctx.cache_dir) as files:
        return _analyse(files, tree=tree, store=store, programs=programs, env=env or {}, spec=spec)


def _analyse(
    files: FileAnalyser,
    *,
    tree: Tree,
    store: ContentStore,
    programs: Sequence[tuple[str, str]],
    env: Mapping[str, str],
    spec: RunSpec | None,
) -> Analysis:
    t0 = time.monotonic()
    errors: list[FileError] = []
    if not programs:
        return Analysis(
            argv=spec.argv if spec else (),
            exec_path=spec.exec_path if spec else None,
            exec_kind=spec.exec_kind if spec else "missing",
            interpreter=spec.interpreter if spec else (),
            errors=(FileError(path=spec.exec_path or "?", message="no program to analyse"),)
            if spec
            else (),
        )
    closure = compute_closure(tree, store, programs, env, files.load_facts)
    t_closure = time.monotonic()
    errors += [FileError(path=p, message=m) for p, m in closure.errors]

    analysable = [e for e in closure.entries if e.analysable]
    summaries = files.summaries([e.path for e in analysable])
    t_code = time.monotonic()
    loaded: list[Loaded] = []
    for e in analysable:
        s = summaries.get(e.path)
        if isinstance(s, Summary) and e.facts is not None:
            loaded.append(
                Loaded(
                    path=e.path,
                    role=e.role,
                    facts=e.facts,
                    summary=s,
                    opened=e.found_via == "dlopen",
                )
            )
        elif isinstance(s, ElfError):
            errors.append(FileError(path=e.path, message=s.message))
    _assign_scopes(loaded, closure)
    result = reach(loaded)
    complete = sorted({nr for b in loaded for nrs in b.summary.syscalls.values() for nr in nrs})
    t_reach = time.monotonic()

    uses = [
        SyscallUse(nr=nr, name=name_of(nr), callers=tuple(callers))
        for nr, callers in result.callers.items()
    ]
    uses.sort(key=lambda u: u.name)
    main_entry = closure.entries[0] if closure.entries else None
    model = process_model(
        callers=result.callers,
        args=result.args,
        imports_used=result.imports_used,
        spec=spec,
        tree=tree,
        store=store,
        programs=[p for p, _ in programs],
    )
    unknown = sorted(result.unknown, key=lambda u: (u.binary, u.address))
    timings = {
        "closure": round(t_closure - t0, 3),
        "code": round(t_code - t_closure, 3),
        "reach": round(t_reach - t_code, 3),
        "total": round(time.monotonic() - t0, 3),
        **{k: float(v) for k, v in files.stats.items()},
        "reachable_functions": float(result.reachable_regions),
    }
    return Analysis(
        argv=spec.argv if spec else tuple(p for p, _ in programs[:1]),
        exec_path=spec.exec_path if spec else programs[0][0],
        exec_kind=spec.exec_kind if spec else "elf",
        interpreter=spec.interpreter if spec else (),
        programs=tuple(p for p, _ in programs),
        main_facts=main_entry.facts if main_entry else None,
        closure=closure,
        syscalls=tuple(uses),
        unknown_sites=tuple(unknown),
        process=model,
        errors=tuple(errors),
        timings=timings,
        complete_syscalls=tuple(complete),
    )


def _assign_scopes(loaded: list[Loaded], closure: Closure) -> None:
    """Each binary's symbol search scope, in the loader's breadth-first order."""
    index = {b.path: i for i, b in enumerate(loaded)}
    children: dict[str, list[str]] = {}
    for e in closure.entries:
        for parent in e.needed_by:
            children.setdefault(parent, []).append(e.path)

    def bfs(start: str) -> list[int]:
        order: list[str] = [start]
        seen = {start}
        i = 0
        while i < len(order):
            for child in children.get(order[i], ()):
                if child not in seen:
                    seen.add(child)
                    order.append(child)
            i += 1
        return [index[p] for p in order if p in index]

    programs = [e for e in closure.entries if e.role in ("main", "exec-target")]
    scopes: dict[str, list[int]] = {}
    global_scope: list[int] = bfs(programs[0].path) if programs else []
    for p in programs:
        scopes[p.path] = bfs(p.path)
    for b in loaded:
        entry: ClosureEntry | None = closure.by_path().get(b.path)
        owner = _owner_program(b.path, closure, programs)
        base = scopes.get(owner, global_scope) if owner else global_scope
        if entry is not None and entry.role == "dlopen":
            b.scope = list(dict.fromkeys([*global_scope, *bfs(b.path)]))
        else:
            b.scope = base or [index[b.path]]


def _owner_program(path: str, closure: Closure, programs: Sequence[ClosureEntry]) -> str | None:
    """The program whose load brought ``path`` in (the first one in load order)."""
    by_path = closure.by_path()
    seen: set[str] = set()
    todo = [path]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        e = by_path.get(p)
        if e is None:
            continue
        if e.role in ("main", "exec-target"):
            return e.path
        todo.extend(e.needed_by)
    return programs[0].path if programs else None
