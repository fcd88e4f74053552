"""One binary's code model: functions, call edges, address-taken code, data pointers, syscalls.

``summarise(file, facts, layout)`` disassembles every executable section once (capstone
linear sweep) and builds a summary that does not depend on which functions are reachable,
so it can be cached by the file's content digest and reused by any image:

* regions: function starts from .eh_frame, symbols, call targets, address-taken code
  and init arrays; each instruction belongs to the region with the greatest start <= it.
* edges: direct calls and jumps into other regions, code addresses taken (lea/imm), and
  fall-through into the next region when the previous one does not end in ret/jmp.
* imports: symbols reached through PLT/GOT slots; data references: "chunks" of the data
  sections (a chunk runs from one referenced address to the next), each with the code
  pointers, data pointers and symbols it holds. Reaching a chunk reaches its pointers.
* syscalls: every ``syscall`` site's number by backward data flow; wrappers (the number
  comes from a parameter, like ``syscall(nr, ...)`` or musl's ``__syscall_cp``) are
  resolved at their call sites, transitively; what stays unresolved is an unknown site.
"""

from __future__ import annotations

import re
import struct
import time
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import capstone

from dock2uni.analyse.dataflow import SYSV_ARGS, Function, Values, base_mnemonic
from dock2uni.elf.facts import (
    PF_X,
    PT_LOAD,
    R_X86_64_64,
    R_X86_64_COPY,
    R_X86_64_GLOB_DAT,
    R_X86_64_IRELATIVE,
    R_X86_64_JUMP_SLOT,
    R_X86_64_RELATIVE,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_TLS,
    SHT_NOBITS,
    ElfFacts,
    ElfLayout,
)

SUMMARY_VERSION = 10  # bump when the summary's meaning changes: invalidates the cache

# Imported functions whose first argument is a syscall number (libc's generic wrappers).
WRAPPER_IMPORTS = {"syscall": "rdi"}
# Syscalls whose first argument we want to know (socket family, clone flags), by number.
ARG_OF_INTEREST = {41: "rdi", 53: "rdi", 56: "rdi"}
# Imported functions whose first argument is the same interesting value.
ARG_IMPORTS = {"socket": (41, "rdi"), "socketpair": (53, "rdi")}

_NOT_DATA = (
    ".eh_frame",
    ".eh_frame_hdr",
    ".gcc_except_table",
    ".interp",
    ".dynsym",
    ".dynstr",
    ".hash",
    ".gnu.hash",
    ".gnu.version",
    ".gnu.version_r",
    ".gnu.version_d",
    ".rela.dyn",
    ".rela.plt",
    ".relr.dyn",
    ".rel.dyn",
    ".rel.plt",
    ".dynamic",
    ".comment",
)
_PADDING = {"nop", "int3", ".byte", "xchg"}  # "xchg ax, ax" is a 2-byte nop
_TERMINATORS = {"ret", "retf", "jmp", "hlt", "ud2", "ljmp"}
_RIP = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")
_HEX = re.compile(r"0x[0-9a-f]{5,}")


@dataclass
class Summary:
    """The cached, reachability-independent code model of one binary (see module doc)."""

    version: int = SUMMARY_VERSION
    regions: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    edges: dict[int, list[int]] = field(default_factory=dict)
    imports: dict[int, list[str]] = field(default_factory=dict)
    drefs: dict[int, list[int]] = field(default_factory=dict)
    syscalls: dict[int, list[int]] = field(default_factory=dict)
    unknown: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    wrappers: dict[int, str] = field(default_factory=dict)
    args: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    chunks: list[int] = field(default_factory=list)
    chunk_code: dict[int, list[int]] = field(default_factory=dict)
    chunk_data: dict[int, list[int]] = field(default_factory=dict)
    chunk_imports: dict[int, list[str]] = field(default_factory=dict)
    roots: list[int] = field(default_factory=list)  # init/fini functions, IFUNC resolvers
    entry: int = -1  # region of e_entry (a root only for programs and the loader)
    always_imports: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)

    def region_of(self, addr: int) -> int | None:
        i = bisect_right(self.regions, addr) - 1
        return i if i >= 0 else None

    def chunk_of(self, addr: int) -> int | None:
        i = bisect_right(self.chunks, addr) - 1
        return i if i >= 0 else None

    def region_name(self, idx: int) -> str:
        return self.names.get(idx) or f"sub_{self.regions[idx]:x}"

    def to_json(self) -> dict[str, Any]:
        def pairs(d: dict[int, Any]) -> list[list[Any]]:
            return [[k, v] for k, v in sorted(d.items())]

        return {
            "version": self.version,
            "regions": self.regions,
            "names": pairs(self.names),
            "edges": pairs(self.edges),
            "imports": pairs(self.imports),
            "drefs": pairs(self.drefs),
            "syscalls": pairs(self.syscalls),
            "unknown": pairs({k: [list(x) for x in v] for k, v in self.unknown.items()}),
            "wrappers": pairs(self.wrappers),
            "args": pairs({k: [list(x) for x in v] for k, v in self.args.items()}),
            "chunks": self.chunks,
            "chunk_code": pairs(self.chunk_code),
            "chunk_data": pairs(self.chunk_data),
            "chunk_imports": pairs(self.chunk_imports),
            "roots": self.roots,
            "entry": self.entry,
            "always_imports": self.always_imports,
            "stats": self.stats,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Summary:
        def unpairs(v: list[list[Any]]) -> dict[int, Any]:
            return {int(k): val for k, val in v}

        return cls(
            version=d["version"],
            regions=d["regions"],
            names=unpairs(d["names"]),
            edges=unpairs(d["edges"]),
            imports=unpairs(d["imports"]),
            drefs=unpairs(d["drefs"]),
            syscalls=unpairs(d["syscalls"]),
            unknown={k: [(a, r) for a, r in v] for k, v in unpairs(d["unknown"]).items()},
            wrappers=unpairs(d["wrappers"]),
            args={k: [(a, b) for a, b in v] for k, v in unpairs(d["args"]).items()},
            chunks=d["chunks"],
            chunk_code=unpairs(d["chunk_code"]),
            chunk_data=unpairs(d["chunk_data"]),
            chunk_imports=unpairs(d["chunk_imports"]),
            roots=d["roots"],
            entry=d["entry"],
            always_imports=d["always_imports"],
            stats=d.get("stats", {}),
        )


def import_key(name: str, version: str) -> str:
    return f"{name}@{version}" if version else name


class _Image:
    """The file's bytes addressed by virtual address, through its PT_LOAD segments."""

    def __init__(self, data: bytes, layout: ElfLayout) -> None:
        self.data = data
        self.loads = sorted(
            (vaddr, memsz, offset, filesz, flags)
            for p_type, flags, offset, vaddr, filesz, memsz in layout.segments
            if p_type == PT_LOAD
        )
        self.lo = min((s[0] for s in self.loads), default=0)
        self.hi = max((s[0] + s[1] for s in self.loads), default=0)

    def read(self, addr: int, size: int) -> bytes | None:
        for vaddr, memsz, offset, filesz, _ in self.loads:
            if vaddr <= addr and addr + size <= vaddr + memsz:
                rel = addr - vaddr
                if rel + size <= filesz:
                    return self.data[offset + rel : offset + rel + size]
                return bytes(size)  # .bss
        return None

    def u64(self, addr: int) -> int | None:
        raw = self.read(addr, 8)
        return struct.unpack("<Q", raw)[0] if raw else None


class _Ranges:
    """Sorted, non-overlapping [lo, hi) ranges with a fast membership test."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.ranges = sorted(r for r in ranges if r[1] > r[0])
        self.starts = [r[0] for r in self.ranges]
        self.lo = self.ranges[0][0] if self.ranges else 0
        self.hi = self.ranges[-1][1] if self.ranges else 0

    def __contains__(self, addr: int) -> bool:
        if addr < self.lo or addr >= self.hi:
            return False
        if len(self.ranges) == 1:
            return True
        i = bisect_right(self.starts, addr) - 1
        return i >= 0 and addr < self.ranges[i][1]


@dataclass
class _Sweep:
    """Everything the linear sweep records, in address order."""

    calls: list[tuple[int, int]] = field(default_factory=list)
    jumps: list[tuple[int, int]] = field(default_factory=list)
    refs: list[tuple[int, int]] = field(default_factory=list)
    slots: list[tuple[int, int, bool]] = field(default_factory=list)  # (src, slot, is_call)
    sites: list[tuple[int, str]] = field(default_factory=list)
    no_fall: set[int] = field(default_factory=set)
    instructions: int = 0
    boundaries: list[tuple[int, bytearray]] = field(default_factory=list)  # (base, 1 per insn)

    def is_boundary(self, addr: int) -> bool:
        for base, marks in self.boundaries:
            if base <= addr < base + len(marks):
                return bool(marks[addr - base])
        return False

    def snap(self, addr: int) -> int:
        """The first instruction boundary at or after addr (within 15 bytes), else addr."""
        for delta in range(16):
            if self.is_boundary(addr + delta):
                return addr + delta
        return addr


_DISASSEMBLER: list[capstone.Cs] = []


def _capstone() -> capstone.Cs:
    """One disassembler per process: making one costs about 0.3 ms, which a file with
    five small executable sections (a gconv module) would pay five times."""
    if not _DISASSEMBLER:
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        md.skipdata = True
        _DISASSEMBLER.append(md)
    return _DISASSEMBLER[0]


def _sweep(code: bytes, base: int, *, mapped: _Ranges, absolute: bool, out: _Sweep) -> None:
    md = _capstone()
    calls, jumps, refs, slots, sites = out.calls, out.jumps, out.refs, out.slots, out.sites
    no_fall = out.no_fall
    marks = bytearray(len(code))
    out.boundaries.append((base, marks))
    after_term = False
    after_call = False  # padding right after a call means the callee does not return
    count = 0
    rip_search = _RIP.search
    for addr, size, raw_mnem, ops in md.disasm_lite(code, base):
        count += 1
        marks[addr - base] = 1
        mnem = base_mnemonic(raw_mnem) if " " in raw_mnem else raw_mnem
        first = mnem[0]
        if after_term:
            no_fall.add(addr)
        if first == "c" and mnem == "call":
            if ops.startswith("0x"):
                calls.append((addr, int(ops, 16)))
            elif "rip" in ops:
                m = rip_search(ops)
                if m:
                    disp = int(m.group(2), 0)
                    slots.append((addr, addr + size + (disp if m.group(1) == "+" else -disp), True))
            elif absolute and "0x" in ops:
                for h in _HEX.findall(ops):
                    v = int(h, 16)
                    if v in mapped:
                        refs.append((addr, v))
            after_term = False
            after_call = True
            continue
        if first == "j":
            if ops.startswith("0x"):
                jumps.append((addr, int(ops, 16)))
            elif "rip" in ops:
                m = rip_search(ops)
                if m:
                    disp = int(m.group(2), 0)
                    slots.append(
                        (addr, addr + size + (disp if m.group(1) == "+" else -disp), False)
                    )
            elif absolute and "0x" in ops:
                for h in _HEX.findall(ops):
                    v = int(h, 16)
                    if v in mapped:
                        refs.append((addr, v))
            after_term = mnem == "jmp"
            after_call = False
            continue
        if "rip" in ops:
            m = rip_search(ops)
            if m:
                disp = int(m.group(2), 0)
                refs.append((addr, addr + size + (disp if m.group(1) == "+" else -disp)))
        elif absolute and "0x" in ops:
            for h in _HEX.findall(ops):
                v = int(h, 16)
                if v in mapped:
                    refs.append((addr, v))
        if first == "s" and mnem in ("syscall", "sysenter"):
            sites.append((addr, mnem))
        elif first == "i" and mnem == "int" and ops == "0x80":
            sites.append((addr, "int 0x80"))
        if mnem in _TERMINATORS:
            after_term = True
        elif mnem in _PADDING:
            if after_call:
                after_term = True
                no_fall.add(addr)
        else:
            after_term = False
        after_call = False
    out.instructions += count


def summarise(file: Path, facts: ElfFacts, layout: ElfLayout) -> Summary:
    """Build the code model of one x86-64 ELF file (see the module docstring)."""
    t0 = time.monotonic()
    data = file.read_bytes()
    image = _Image(data, layout)
    absolute = facts.elf_type == "EXEC"

    exec_sections = [
        (addr, size, offset)
        for _name, addr, offset, size, flags, sh_type in layout.sections
        if flags & SHF_EXECINSTR and flags & SHF_ALLOC and sh_type != SHT_NOBITS and size
    ]
    if not exec_sections:  # no section headers: use the executable segments
        exec_sections = [
            (vaddr, filesz, offset)
            for p_type, flags, offset, vaddr, filesz, _m in layout.segments
            if p_type == PT_LOAD and flags & PF_X and filesz
        ]
    exec_sections = [(a, s, o) for a, s, o in sorted(exec_sections) if o + s <= len(data)]
    data_sections = [
        (addr, size, offset, sh_type)
        for name, addr, offset, size, flags, sh_type in layout.sections
        if flags & SHF_ALLOC
        and not flags & SHF_EXECINSTR
        and size
        and addr
        # .tbss occupies no addresses of its own (they overlap the sections after it), but
        # .tdata, the TLS initialisation image, is data at its own addresses: a pointer
        # in it (``static __thread void (*fp)(void) = f;``) is a data word, or a RELATIVE
        # relocation in a PIE or library, copied into every thread's block.
        and not (flags & SHF_TLS and sh_type == SHT_NOBITS)
        and name not in _NOT_DATA
        and not name.startswith(".note")
    ]
    if not layout.sections:
        data_sections = [
            (vaddr, memsz, offset, 0)
            for p_type, flags, offset, vaddr, _f, memsz in layout.segments
            if p_type == PT_LOAD and not flags & PF_X
        ]
    text = _Ranges([(a, a + s) for a, s, _ in exec_sections])
    dranges = _Ranges([(a, a + s) for a, s, _o, _t in data_sections])
    mapped = _Ranges([(image.lo, image.hi)])

    sweep = _Sweep()
    for addr, size, offset in exec_sections:
        _sweep(data[offset : offset + size], addr, mapped=mapped, absolute=absolute, out=sweep)

    # Relocations: where each pointer-sized slot points.
    reloc_target: dict[int, int] = {}
    reloc_symbol: dict[int, str] = {}
    roots_addr: set[int] = set()
    always: list[str] = []
    for addr, rtype, addend, sym, ver, implicit in layout.relocations:
        if rtype in (R_X86_64_RELATIVE, R_X86_64_IRELATIVE):
            target = (image.u64(addr) or 0) if implicit else addend
            reloc_target[addr] = target
            if rtype == R_X86_64_IRELATIVE:
                roots_addr.add(target)  # IFUNC resolvers run at load time
        elif rtype in (R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT) and sym:
            reloc_symbol[addr] = import_key(sym, ver)
        elif rtype == R_X86_64_COPY and sym:
            always.append(import_key(sym, ver))

    def pointer_at(addr: int) -> int | None:
        if addr in reloc_target:
            return reloc_target[addr]
        if absolute:
            return image.u64(addr)
        return None

    # Data pointers: (slot address, target) into code or data, and symbolic slots.
    pointers: list[tuple[int, int]] = []
    if absolute:
        for addr, size, offset, sh_type in data_sections:
            if sh_type == SHT_NOBITS or offset + size > len(data):
                continue
            start = (addr + 7) & ~7
            blob = data[offset + (start - addr) : offset + size]
            n = len(blob) // 8
            lo, hi = image.lo, image.hi
            for i, value in enumerate(struct.unpack_from(f"<{n}Q", blob)):
                if lo <= value < hi and (value in text or value in dranges):
                    pointers.append((start + 8 * i, value))
    pointers.extend((a, t) for a, t in reloc_target.items() if t in text or t in dranges)

    # Roots: entry, DT_INIT/FINI, init/fini arrays (read through relocations).
    dyn = layout.dynamic
    for tag in (12, 13):
        if tag in dyn:
            roots_addr.add(dyn[tag])
    arrays: list[tuple[int, int]] = [
        (dyn[a], dyn[s]) for a, s in ((25, 27), (26, 28), (32, 33)) if a in dyn and s in dyn
    ]
    for name, addr, _off, size, _f, _t in layout.sections:
        if name in (".init_array", ".fini_array", ".preinit_array", ".ctors", ".dtors"):
            arrays.append((addr, size))
    for addr, size in arrays:
        for slot in range(addr, addr + min(size, 1 << 20), 8):
            init = pointer_at(slot)
            if init and init in text:
                roots_addr.add(init)

    # Function starts.
    known = sorted((a, a + s) for a, s in layout.functions if s > 0)
    known += sorted((a, a + s) for a, s, _n in layout.names if s > 0)
    known.sort()
    known_starts = [k[0] for k in known]

    def strictly_inside_known(addr: int) -> bool:
        i = bisect_right(known_starts, addr) - 1
        # Look back a little: ranges may nest (symbols inside FDE ranges).
        for j in range(i, max(i - 4, -1), -1):
            lo, hi = known[j]
            if lo < addr < hi:
                return True
        return False

    starts: set[int] = {a for a, _s, _o in exec_sections}
    starts.update(a for a, _s in layout.functions)
    starts.update(a for a, _s, _n in layout.names)
    starts.update(t for _src, t in sweep.calls)
    # A PLT stub reached only by a tail jump (``jmp syscall@plt``) is a function of its
    # own too: without a start there it would share PLT0's region, and the syscall()
    # number its callers pass would be lost.
    plt_ranges = _Ranges(
        [
            (addr, addr + size)
            for name, addr, _o, size, _f, _t in layout.sections
            if name.startswith(".plt")
        ]
    )
    starts.update(t for _src, t in sweep.jumps if t in plt_ranges)
    starts.update(roots_addr)
    if facts.entry in text:
        starts.add(facts.entry)
    for _src, t in sweep.refs:
        if t in text and not strictly_inside_known(t):
            starts.add(t)
    for _slot, t in pointers:
        if t in text and not strictly_inside_known(t):
            starts.add(t)
    # A start that is not an instruction boundary of the sweep (glibc's FDE for
    # __restore_rt begins one byte early, on purpose) moves to the next boundary.
    regions = sorted({a if sweep.is_boundary(a) else sweep.snap(a) for a in starts if a in text})
    summary = Summary(regions=regions)

    def region_of(addr: int) -> int:
        return bisect_right(regions, addr) - 1

    # Names: symbols at region starts, PLT stubs by their import.
    for addr, _size, name in layout.names:
        if addr in text:
            r = region_of(addr)
            if r >= 0 and regions[r] == addr:
                summary.names.setdefault(r, name)

    edges: dict[int, set[int]] = defaultdict(set)
    imports: dict[int, set[str]] = defaultdict(set)
    for src, dst in sweep.calls:
        if dst in text:
            edges[region_of(src)].add(region_of(dst))
    for src, dst in sweep.jumps:
        if dst in text:
            a, b = region_of(src), region_of(dst)
            if a != b:
                edges[a].add(b)
    drefs_addr: dict[int, set[int]] = defaultdict(set)
    for src, dst in sweep.refs:
        if dst in text:
            a, b = region_of(src), region_of(dst)
            if a != b:
                edges[a].add(b)
        elif dst in dranges:
            drefs_addr[region_of(src)].add(dst)
    slot_import: dict[int, str] = {}
    for src, slot, _is_call in sweep.slots:
        r = region_of(src)
        slot_sym = reloc_symbol.get(slot)
        if slot_sym:
            imports[r].add(slot_sym)
            slot_import[src] = slot_sym
        if slot in dranges:
            drefs_addr[r].add(slot)
        elif slot in text:
            edges[r].add(region_of(slot))
    # Fall-through from one region into the next, unless the next one is a function
    # start known from .eh_frame or a symbol (compilers never fall into a function), or
    # the previous one ends in ret/jmp/hlt or a call followed by padding (noreturn).
    no_fall = sweep.no_fall | {a for a, _s, _o in exec_sections} | set(known_starts)
    for i in range(1, len(regions)):
        if regions[i] not in no_fall:
            edges[i - 1].add(i)
    for r in list(edges):
        edges[r].discard(r)

    # PLT stubs: a region whose only import is through a slot in a .plt* section.
    stub_import: dict[int, str] = {}
    for r, syms in imports.items():
        if len(syms) == 1 and regions[r] in plt_ranges:
            (sym,) = syms
            stub_import[r] = sym
            summary.names.setdefault(r, sym.split("@", 1)[0] + "@plt")

    # Data chunks. Objects start where a data pointer points (pointers point at objects),
    # at exported objects (which also end where their size says), at each GOT slot and at
    # each section start: these are the coarse boundaries. Code references split objects
    # further into fine chunks, because code addresses single variables and fields. Code
    # reaching an address activates its fine chunk; a data pointer activates the whole
    # object it points to (nginx's module structures reach their handlers only that way).
    coarse: set[int] = {a for a, _s, _o, _t in data_sections}
    coarse.update(t for _slot, t in pointers if t in dranges)
    for export in facts.exports:
        if export.kind in ("object", "tls") and export.value in dranges:
            coarse.add(export.value)
            if export.size:
                coarse.add(export.value + export.size)
    for name, addr, _off, size, _f, _t in layout.sections:
        if name in (".got", ".got.plt", ".plt.got") and size:
            coarse.update(range(addr, addr + size, 8))
    fine = set(coarse)
    for targets in drefs_addr.values():
        fine.update(targets)
    chunks = sorted(a for a in fine if a in dranges)
    summary.chunks = chunks
    coarse_sorted = sorted(a for a in coarse if a in dranges)

    def chunk_of(addr: int) -> int:
        return bisect_right(chunks, addr) - 1

    chunk_code: dict[int, set[int]] = defaultdict(set)
    chunk_data: dict[int, set[int]] = defaultdict(set)
    chunk_imports: dict[int, set[str]] = defaultdict(set)
    for slot, target in pointers:
        if slot not in dranges:
            continue
        c = chunk_of(slot)
        if target in text:
            chunk_code[c].add(region_of(target))
        else:
            first = chunk_of(target)
            nxt = bisect_right(coarse_sorted, target)
            end = chunk_of(coarse_sorted[nxt]) if nxt < len(coarse_sorted) else len(chunks)
            chunk_data[c].update(d for d in range(first, max(end, first + 1)) if d != c)
    for slot, sym in reloc_symbol.items():
        if slot in dranges:
            chunk_imports[chunk_of(slot)].add(sym)

    summary.edges = {r: sorted(v) for r, v in edges.items() if v}
    summary.imports = {r: sorted(v) for r, v in imports.items()}
    summary.drefs = {r: sorted({chunk_of(a) for a in v}) for r, v in drefs_addr.items() if v}
    summary.chunk_code = {c: sorted(v) for c, v in chunk_code.items()}
    summary.chunk_data = {c: sorted(v) for c, v in chunk_data.items()}
    summary.chunk_imports = {c: sorted(v) for c, v in chunk_imports.items()}
    summary.roots = sorted({region_of(a) for a in roots_addr if a in text})
    summary.entry = region_of(facts.entry) if facts.entry in text else -1
    summary.always_imports = sorted(set(always))

    _resolve_syscalls(
        summary,
        sweep=sweep,
        image=image,
        text=text,
        facts=facts,
        stub_import=stub_import,
        slot_import=slot_import,
    )
    summary.stats = {
        "instructions": sweep.instructions,
        "regions": len(regions),
        "sites": len(sweep.sites),
        "seconds": round(time.monotonic() - t0, 3),
    }
    return summary


def _resolve_syscalls(
    summary: Summary,
    *,
    sweep: _Sweep,
    image: _Image,
    text: _Ranges,
    facts: ElfFacts,
    stub_import: dict[int, str],
    slot_import: dict[int, str],
) -> None:
    regions = summary.regions
    # Go's register ABI passes integers in rax, rbx, rcx, rdi, rsi, r8-r11.
    param_regs = (*SYSV_ARGS, "rax", "rbx", "r10", "r11") if facts.go else SYSV_ARGS
    functions: dict[int, Function] = {}

    def region_of(addr: int) -> int:
        return bisect_right(regions, addr) - 1

    def function(r: int) -> Function:
        if r not in functions:
            start = regions[r]
            end = regions[r + 1] if r + 1 < len(regions) else text.hi
            for lo, hi in text.ranges:
                if lo <= start < hi:
                    end = min(end, hi)
            code = image.read(start, end - start) or b""
            functions[r] = Function(code, start, param_regs=param_regs)
        return functions[r]

    syscalls: dict[int, set[int]] = defaultdict(set)
    args: dict[int, set[tuple[int, int]]] = defaultdict(set)
    unknown: dict[int, list[tuple[int, str]]] = defaultdict(list)
    # What each wrapper region needs from its callers: ("nr", reg) or ("arg", nr, reg).
    needs: dict[int, set[tuple[Any, ...]]] = defaultdict(set)

    def record(r: int, where: int, want: tuple[Any, ...], values: Values, what: str) -> bool:
        """Apply values to region r; return True if r became (more of) a wrapper."""
        grew = False
        if want[0] == "nr":
            syscalls[r].update(v for v in values.consts if 0 <= v < 1024)
            for v in values.consts:
                if not 0 <= v < 1024:
                    unknown[r].append((where, f"{what}: implausible number {v}"))
        else:
            args[r].update((want[1], v) for v in values.consts)
        for p in values.params:
            new = (*want[:-1], p)
            if new not in needs[r]:
                needs[r].add(new)
                grew = True
        if values.unknown and want[0] == "nr":
            unknown[r].append((where, f"{what}: {values.unknown[0]}"))
        return grew

    for addr, kind in sweep.sites:
        r = region_of(addr)
        if r < 0:
            continue
        fn = function(r)
        values = fn.values_at(addr, "rax")
        if "not an instruction boundary" in values.unknown:
            continue  # data inside .text that the linear sweep decoded (OpenSSL's tables)
        if kind != "syscall":
            # In 64-bit code these are nearly always data decoded as code; a real one sets
            # eax to a constant first (i386 numbering, which this table does not cover).
            if values.consts:
                numbers = ", ".join(str(v) for v in sorted(values.consts))
                unknown[r].append((addr, f"{kind} with eax={numbers} (i386 syscall numbers)"))
            continue
        record(r, addr, ("nr", "rax"), values, "syscall number")
        for nr in values.consts:
            if nr in ARG_OF_INTEREST:
                arg = fn.values_at(addr, ARG_OF_INTEREST[nr])
                record(r, addr, ("arg", nr, ARG_OF_INTEREST[nr]), arg, "argument")

    # Call sites: who calls each region (direct calls, tail jumps) or import.
    # Callers by target address: calls and tail jumps land on a region's first byte.
    callers_at: dict[int, list[int]] = defaultdict(list)
    for src, dst in sweep.calls:
        callers_at[dst].append(src)
    for src, dst in sweep.jumps:
        callers_at[dst].append(src)
    for r, sym in stub_import.items():
        name = sym.split("@", 1)[0]
        if name in WRAPPER_IMPORTS:
            needs[r].add(("nr", WRAPPER_IMPORTS[name]))
        elif name in ARG_IMPORTS:
            nr, reg = ARG_IMPORTS[name]
            needs[r].add(("arg", nr, reg))
    import_sites: list[tuple[int, tuple[Any, ...]]] = []
    for src, sym in slot_import.items():
        name = sym.split("@", 1)[0]
        if name in WRAPPER_IMPORTS:
            import_sites.append((src, ("nr", WRAPPER_IMPORTS[name])))
        elif name in ARG_IMPORTS:
            nr, reg = ARG_IMPORTS[name]
            import_sites.append((src, ("arg", nr, reg)))
    for src, want in import_sites:
        r = region_of(src)
        record(r, src, want, function(r).values_at(src, want[-1]), "value passed to a wrapper")

    done: set[tuple[int, tuple[Any, ...]]] = set()
    for _round in range(8):
        pending = [(r, w) for r, ws in needs.items() for w in ws if (r, w) not in done]
        if not pending:
            break
        for r, want in pending:
            done.add((r, want))
            for src in callers_at.get(regions[r], ()):
                c = region_of(src)
                if c == r:
                    continue
                what = f"value passed to {summary.region_name(r)}"
                record(c, src, want, function(c).values_at(src, want[-1]), what)
    summary.syscalls = {r: sorted(v) for r, v in syscalls.items() if v}
    summary.args = {r: sorted(v) for r, v in args.items() if v}
    summary.unknown = {r: v[:8] for r, v in unknown.items() if v}
    summary.wrappers = {
        r: next(w[-1] for w in ws if w[0] == "nr")
        for r, ws in needs.items()
        if any(w[0] == "nr" for w in ws)
    }
