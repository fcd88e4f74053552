"""What dock2uni knows about one ELF file: plain, frozen, JSON-able facts (no LIEF objects).

``ElfFacts`` is what reports and the closure use; ``ElfLayout`` is the raw material
(sections, relocations, function starts) that the syscall analyser needs once per
file content and that is never kept in the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

MACHINES = {
    0: "none",
    3: "i386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390",
    40: "arm",
    62: "x86-64",
    183: "aarch64",
    243: "riscv",
    258: "loongarch",
}
EM_X86_64 = 62

# Relocation types (raw x86-64 values) the analyser distinguishes.
R_X86_64_64 = 1
R_X86_64_COPY = 5
R_X86_64_GLOB_DAT = 6
R_X86_64_JUMP_SLOT = 7
R_X86_64_RELATIVE = 8
R_X86_64_IRELATIVE = 37

# Section flag bits as kept in ElfLayout.sections (SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR).
SHF_WRITE = 1
SHF_ALLOC = 2
SHF_EXECINSTR = 4
SHF_TLS = 0x400
SHT_NOBITS = 8

PF_X = 1
PF_W = 2
PF_R = 4
PT_LOAD = 1


def machine_name(machine: int) -> str:
    return MACHINES.get(machine, f"machine-{machine}")


@dataclass(frozen=True, kw_only=True)
class Symbol:
    """An imported or exported dynamic symbol."""

    name: str
    version: str | None = None  # e.g. GLIBC_2.14
    default: bool = True  # exports: the @@ (default) version; hidden versions are False
    kind: str = "func"  # func, object, tls, ifunc, notype
    weak: bool = False
    value: int = 0  # exports: the address; imports: 0
    size: int = 0


@dataclass(frozen=True, kw_only=True)
class GoInfo:
    """A Go binary recognised by its build information."""

    version: str | None  # e.g. go1.21.5, when the buildinfo blob says so
    source: str  # where it was recognised: ".go.buildinfo", "buildinf-magic", ".note.go.buildid"


@dataclass(frozen=True, kw_only=True)
class ElfFacts:
    """Per-binary facts, as stable JSON-able data."""

    elf_class: int  # 32 or 64
    machine: int  # e_machine
    elf_type: str  # EXEC, DYN, REL, CORE
    kind: str  # static, exec, pie, static-pie, shared
    entry: int
    interp: str | None = None
    soname: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # DT_FLAGS and DT_FLAGS_1 names, e.g. BIND_NOW, PIE
    gnu_stack: str | None = None  # "RW", "RWX", or None when PT_GNU_STACK is absent
    rwx_segments: int = 0  # PT_LOAD segments both writable and executable
    textrel: bool = False
    tls: bool = False
    imports: tuple[Symbol, ...] = ()
    exports: tuple[Symbol, ...] = ()
    build_id: str | None = None
    go: GoInfo | None = None
    libc: str | None = None  # glibc, musl, or None when not recognisable

    @property
    def machine_name(self) -> str:
        return machine_name(self.machine)

    @property
    def is_x86_64(self) -> bool:
        return self.elf_class == 64 and self.machine == EM_X86_64

    @property
    def executable_stack(self) -> bool:
        """x86-64 Linux gives an executable stack when PT_GNU_STACK is absent or RWX."""
        return self.gnu_stack != "RW"

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy took ~40 ms per libc-sized symbol list.
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["imports"] = tuple(dict(vars(s)) for s in self.imports)
        out["exports"] = tuple(dict(vars(s)) for s in self.exports)
        out["go"] = dict(vars(self.go)) if self.go else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ElfFacts:
        d = dict(data)
        for key in ("needed", "rpath", "runpath", "flags"):
            d[key] = tuple(d.get(key) or ())
        d["imports"] = tuple(Symbol(**s) for s in d.get("imports") or ())
        d["exports"] = tuple(Symbol(**s) for s in d.get("exports") or ())
        d["go"] = GoInfo(**d["go"]) if d.get("go") else None
        return cls(**d)


@dataclass(frozen=True, kw_only=True)
class ElfLayout:
    """Raw structure for the disassembler; lists of plain tuples to keep it cheap.

    * sections: (name, addr, offset, size, flags, sh_type); flags use SHF_* bits above.
    * segments: (p_type, p_flags, offset, vaddr, filesz, memsz).
    * relocations: (addr, raw_type, addend, symbol, version, implicit_addend) where
      ``implicit_addend`` is True for REL/RELR encodings (the addend is in the file).
    * functions: (addr, size) starts known from .eh_frame, symbols, init arrays (LIEF).
    * names: (addr, size, name) of every defined function symbol (symtab and dynsym).
    * dynamic: DT tag -> value for the tags the analyser reads (INIT, FINI, arrays).
    """

    sections: tuple[tuple[str, int, int, int, int, int], ...] = ()
    segments: tuple[tuple[int, int, int, int, int, int], ...] = ()
    relocations: tuple[tuple[int, int, int, str, str, bool], ...] = ()
    functions: tuple[tuple[int, int], ...] = ()
    names: tuple[tuple[int, int, str], ...] = ()
    dynamic: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ElfLayout:
        return cls(
            sections=tuple(tuple(s) for s in data.get("sections", ())),
            segments=tuple(tuple(s) for s in data.get("segments", ())),
            relocations=tuple(tuple(r) for r in data.get("relocations", ())),
            functions=tuple(tuple(f) for f in data.get("functions", ())),
            names=tuple(tuple(n) for n in data.get("names", ())),
            dynamic={int(k): int(v) for k, v in (data.get("dynamic") or {}).items()},
        )


@dataclass(frozen=True, kw_only=True)
class ParsedElf:
    """What the LIEF adapter returns for one file."""

    facts: ElfFacts
    layout: ElfLayout
