"""Reachability across the whole process: which functions can run, so which syscalls.

Roots: the programs' entry points and every binary's init/fini functions and IFUNC
resolvers; every function whose address is stored in a loaded file's data (data words
and relocations: the address-taken rule, docs/audit.md); for a library opened with
dlopen, all its exported functions too. From a reachable function: its direct calls
and jumps, code whose address it takes, imported symbols it calls or references
(resolved in the loader's global scope, versions respected, so an interposed ``malloc``
in the program wins). A library therefore contributes only the syscalls of functions
the program can reach, or whose address sits in its data.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from dock2uni.analyse.disasm import Summary
from dock2uni.analyse.model import Caller, Frame, UnknownSite
from dock2uni.elf.facts import ElfFacts, Symbol

MAX_CHAIN = 12
MAX_CALLERS_PER_BINARY = 3


@dataclass
class Loaded:
    """A binary taking part in reachability."""

    path: str
    role: str  # main, exec-target, interpreter, needed, dlopen
    facts: ElfFacts
    summary: Summary
    scope: list[int] = field(default_factory=list)  # binaries searched for its imports
    opened: bool = False  # loaded by dlopen itself (not as a dependency): exports are roots


@dataclass
class ReachResult:
    """Syscalls with callers, unknown sites, arguments seen and imports reached."""

    callers: dict[int, list[Caller]]
    unknown: list[UnknownSite]
    args: dict[int, set[int]]  # syscall nr -> constant first arguments (family, flags)
    imports_used: set[str]  # names of imported functions reached, over all binaries
    reachable_regions: int


class _Exports:
    """A binary's exported symbols by name."""

    def __init__(self, facts: ElfFacts) -> None:
        self.by_name: dict[str, list[Symbol]] = defaultdict(list)
        for sym in facts.exports:
            self.by_name[sym.name].append(sym)

    def find(self, name: str, version: str) -> Symbol | None:
        cands = self.by_name.get(name)
        if not cands:
            return None
        if version:
            for s in cands:
                if s.version == version:
                    return s
            # An unversioned definition satisfies a versioned reference.
            for s in cands:
                if s.version is None:
                    return s
            return None
        for s in cands:
            if s.default:
                return s
        return cands[0]


def reach(binaries: list[Loaded]) -> ReachResult:
    """Walk the call graph from every root; see the module docstring."""
    exports = [_Exports(b.facts) for b in binaries]
    region_parent: dict[tuple[int, int], tuple[int, int] | None] = {}
    chunk_seen: set[tuple[int, int]] = set()
    queue: deque[tuple[str, int, int, tuple[int, int] | None]] = deque()
    imports_used: set[str] = set()
    resolved_cache: dict[tuple[int, str], tuple[int, Symbol] | None] = {}

    def push_region(b: int, r: int, parent: tuple[int, int] | None) -> None:
        if r is None or r < 0 or (b, r) in region_parent:
            return
        region_parent[(b, r)] = parent
        queue.append(("r", b, r, parent))

    def push_chunk(b: int, c: int | None, parent: tuple[int, int] | None) -> None:
        if c is None or c < 0 or (b, c) in chunk_seen:
            return
        chunk_seen.add((b, c))
        queue.append(("c", b, c, parent))

    def resolve(b: int, key: str) -> tuple[int, Symbol] | None:
        ck = (b, key)
        if ck in resolved_cache:
            return resolved_cache[ck]
        name, _, version = key.partition("@")
        found: tuple[int, Symbol] | None = None
        for other in binaries[b].scope:
            sym = exports[other].find(name, version)
            if sym is not None:
                found = (other, sym)
                break
        resolved_cache[ck] = found
        return found

    def push_import(b: int, key: str, parent: tuple[int, int] | None) -> None:
        hit = resolve(b, key)
        if hit is None:
            return
        other, sym = hit
        summary = binaries[other].summary
        if sym.kind in ("func", "ifunc", "notype"):
            imports_used.add(sym.name)
            r = summary.region_of(sym.value)
            if r is not None and summary.regions and sym.value < _text_end(summary, r):
                push_region(other, r, parent)
                return
        if sym.kind in ("object", "tls", "notype"):
            lo = summary.chunk_of(sym.value)
            hi = summary.chunk_of(sym.value + max(sym.size, 1) - 1)
            if lo is not None and hi is not None:
                for c in range(lo, hi + 1):
                    push_chunk(other, c, parent)

    for b, binary in enumerate(binaries):
        s = binary.summary
        for r in s.roots:
            push_region(b, r, None)
        if s.entry >= 0 and binary.role in ("main", "exec-target", "interpreter"):
            push_region(b, s.entry, None)
        for key in s.always_imports:
            push_import(b, key, None)
        if binary.opened:
            for sym in binary.facts.exports:
                if sym.kind in ("func", "ifunc"):
                    export_region = s.region_of(sym.value)
                    if export_region is not None:
                        push_region(b, export_region, None)

    def drain() -> None:
        while queue:
            step(*queue.popleft())

    def step(kind: str, b: int, idx: int, parent: tuple[int, int] | None) -> None:
        s = binaries[b].summary
        if kind == "r":
            here = (b, idx)
            for t in s.edges.get(idx, ()):
                push_region(b, t, here)
            for key in s.imports.get(idx, ()):
                push_import(b, key, here)
            for c in s.drefs.get(idx, ()):
                push_chunk(b, c, here)
        else:
            for t in s.chunk_code.get(idx, ()):
                push_region(b, t, parent)
            for c in s.chunk_data.get(idx, ()):
                push_chunk(b, c, parent)
            for key in s.chunk_imports.get(idx, ()):
                push_import(b, key, parent)

    drain()
    # The address-taken rule (docs/audit.md): a code address stored anywhere in a loaded
    # file's data (a data word, or a RELATIVE, IRELATIVE, GLOB_DAT or 64-bit absolute
    # relocation in .data.rel.ro, .data, .got, the init/fini arrays, .tdata) is a root as
    # soon as the file is loaded, and so is every symbol such a slot names. Which object holds
    # the pointer, and whether code reaches it, is not trusted: object bounds are unknown
    # in stripped files and code indexes tables from addresses in or around them. It runs
    # second so that "called from" chains prefer paths from the program's entry.
    from_entry = set(region_parent)
    for b, binary in enumerate(binaries):
        for c in range(len(binary.summary.chunks)):
            push_chunk(b, c, None)
    drain()

    callers: dict[int, list[Caller]] = defaultdict(list)
    per_binary: dict[tuple[int, int], int] = defaultdict(int)
    unknown: list[UnknownSite] = []
    args: dict[int, set[int]] = defaultdict(set)
    order = sorted(region_parent, key=lambda k: (k not in from_entry, _depth(region_parent, k), k))
    for b, r in order:
        s = binaries[b].summary
        nrs = s.syscalls.get(r)
        if nrs:
            chain: tuple[Frame, ...] | None = None
            for nr in nrs:
                if per_binary[(nr, b)] >= MAX_CALLERS_PER_BINARY:
                    continue
                per_binary[(nr, b)] += 1
                if chain is None:
                    chain = _chain(binaries, region_parent, (b, r))
                callers[nr].append(
                    Caller(
                        binary=binaries[b].path,
                        function=s.region_name(r),
                        chain=chain,
                        via_dlopen=_via_dlopen(binaries, region_parent, (b, r)),
                    )
                )
            for nr in nrs:
                if nr not in callers:
                    callers[nr] = []
        for addr, reason in s.unknown.get(r, ()):
            unknown.append(
                UnknownSite(
                    binary=binaries[b].path,
                    address=addr,
                    function=s.region_name(r),
                    reason=reason,
                )
            )
        for nr, value in s.args.get(r, ()):
            args[nr].add(value)
    return ReachResult(
        callers=dict(callers),
        unknown=unknown,
        args=dict(args),
        imports_used=imports_used,
        reachable_regions=len(region_parent),
    )


def _text_end(summary: Summary, r: int) -> int:
    return summary.regions[r + 1] if r + 1 < len(summary.regions) else 1 << 64


def _depth(parents: dict[tuple[int, int], tuple[int, int] | None], key: tuple[int, int]) -> int:
    depth = 0
    cur: tuple[int, int] | None = key
    while cur is not None and depth < MAX_CHAIN:
        cur = parents.get(cur)
        depth += 1
    return depth


def _chain(
    binaries: list[Loaded],
    parents: dict[tuple[int, int], tuple[int, int] | None],
    key: tuple[int, int],
) -> tuple[Frame, ...]:
    frames: list[Frame] = []
    cur: tuple[int, int] | None = key
    while cur is not None and len(frames) < MAX_CHAIN:
        b, r = cur
        frames.append(Frame(binary=binaries[b].path, function=binaries[b].summary.region_name(r)))
        cur = parents.get(cur)
    return tuple(frames)


def _via_dlopen(
    binaries: list[Loaded],
    parents: dict[tuple[int, int], tuple[int, int] | None],
    key: tuple[int, int],
) -> bool:
    """True when the path from the root starts in a dlopen'ed binary."""
    cur: tuple[int, int] | None = key
    last = key
    steps = 0
    while cur is not None and steps < 100000:
        last = cur
        cur = parents.get(cur)
        steps += 1
    return binaries[last[0]].role == "dlopen"
