"""Pure-Python ELF header and program-header check, run before any C++ parser sees the file.

It rejects what would make LIEF (or the kernel) misbehave: wrong magic, bad class or
byte order, program headers outside the file, absurd counts, PT_LOAD segments past
the end of the file, an unterminated or oversized PT_INTERP. A file that passes is
well-formed enough to hand to LIEF in a sandboxed child; one that fails gets an
``ElfError`` whose message says exactly what is wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from dock2uni.elf.facts import EM_X86_64, PT_LOAD, machine_name
from dock2uni.errors import ElfError

ELF_MAGIC = b"\x7fELF"
MAX_ELF_BYTES = 2 << 30  # nothing in a container image is a 2 GiB program
MAX_PHDR_BYTES = 65536  # Linux load_elf_phdrs refuses larger program header tables
PATH_MAX = 4096
PT_INTERP = 3
PT_DYNAMIC = 2
PT_TLS = 7
PT_GNU_STACK = 0x6474E551
ET_NAMES = {0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE"}
HINT = "The file is not a valid ELF program or library; it is skipped by the analysis."


@dataclass(frozen=True, kw_only=True)
class Segment:
    """One program header."""

    p_type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True, kw_only=True)
class ElfHeader:
    """The parts of an ELF file the kernel looks at before mapping it."""

    elf_class: int  # 32 or 64
    machine: int
    elf_type: str
    entry: int
    segments: tuple[Segment, ...]
    interp: str | None
    size: int

    @property
    def machine_name(self) -> str:
        return machine_name(self.machine)

    @property
    def has_dynamic(self) -> bool:
        return any(s.p_type == PT_DYNAMIC for s in self.segments)


def is_elf(head: bytes) -> bool:
    return head[:4] == ELF_MAGIC


def _fail(path: str, why: str) -> ElfError:
    return ElfError(f"unparseable ELF: {path}: {why}", hint=HINT)


def check_bytes(data: bytes, *, size: int, path: str) -> ElfHeader:
    """Check the header of a file whose first bytes are ``data`` (``size`` bytes in all).

    ``data`` must hold at least the ELF header and program header table when they are
    inside the file; ``read_header`` reads exactly that much.
    """
    if size > MAX_ELF_BYTES:
        raise _fail(path, f"{size} bytes is larger than the {MAX_ELF_BYTES >> 30} GiB limit")
    if not is_elf(data):
        raise _fail(path, "not an ELF file (no \\x7fELF magic)")
    if len(data) < 16:
        raise _fail(path, "truncated ELF identification")
    ei_class, ei_data, ei_version = data[4], data[5], data[6]
    if ei_class not in (1, 2):
        raise _fail(path, f"invalid ELF class {ei_class}")
    if ei_data != 1:
        raise _fail(path, "big-endian or invalid byte order (x86-64 is little-endian)")
    if ei_version != 1:
        raise _fail(path, f"invalid ELF version {ei_version}")
    is64 = ei_class == 2
    ehsize = 64 if is64 else 52
    if size < ehsize or len(data) < ehsize:
        raise _fail(path, f"truncated: {size} bytes is shorter than the ELF header")
    if is64:
        e_type, e_machine, _ver, e_entry, e_phoff, _shoff, _flags, _eh, e_phentsize, e_phnum = (
            struct.unpack_from("<HHIQQQIHHH", data, 16)
        )
    else:
        e_type, e_machine, _ver, e_entry, e_phoff, _shoff, _flags, _eh, e_phentsize, e_phnum = (
            struct.unpack_from("<HHIIIIIHHH", data, 16)
        )
    want_phent = 56 if is64 else 32
    elf_type = ET_NAMES.get(e_type, f"type-{e_type}")
    segments: list[Segment] = []
    interp: str | None = None
    if e_phnum:
        if e_phentsize != want_phent:
            raise _fail(path, f"program header entry size {e_phentsize}, expected {want_phent}")
        table = e_phnum * e_phentsize
        if table > MAX_PHDR_BYTES:
            raise _fail(path, f"e_phnum {e_phnum} is absurd ({table} bytes of program headers)")
        if e_phoff + table > size:
            raise _fail(path, f"program headers (offset {e_phoff}, {e_phnum} entries) past EOF")
        if e_phoff + table > len(data):
            raise _fail(path, "program headers not read (internal: short read)")
        for i in range(e_phnum):
            off = e_phoff + i * e_phentsize
            if is64:
                p_type, p_flags, p_off, p_vaddr, _pa, p_filesz, p_memsz, _al = struct.unpack_from(
                    "<IIQQQQQQ", data, off
                )
            else:
                p_type, p_off, p_vaddr, _pa, p_filesz, p_memsz, p_flags, _al = struct.unpack_from(
                    "<IIIIIIII", data, off
                )
            seg = Segment(
                p_type=p_type,
                flags=p_flags,
                offset=p_off,
                vaddr=p_vaddr,
                filesz=p_filesz,
                memsz=p_memsz,
            )
            if p_type == PT_LOAD:
                if p_off + p_filesz > size:
                    raise _fail(
                        path,
                        f"PT_LOAD segment {i} (offset {p_off}, {p_filesz} bytes) extends past EOF",
                    )
                if p_memsz < p_filesz:
                    raise _fail(path, f"PT_LOAD segment {i} has memsz < filesz")
            if p_type == PT_INTERP:
                if interp is not None:
                    raise _fail(path, "more than one PT_INTERP")
                if p_filesz == 0 or p_filesz > PATH_MAX or p_off + p_filesz > size:
                    raise _fail(path, "PT_INTERP is empty, too long or past EOF")
                interp = ""  # filled in by read_header, which has the bytes
            segments.append(seg)
    elif e_type in (2, 3):
        raise _fail(path, "an executable or shared object without program headers")
    return ElfHeader(
        elf_class=64 if is64 else 32,
        machine=e_machine,
        elf_type=elf_type,
        entry=e_entry,
        segments=tuple(segments),
        interp=interp,
        size=size,
    )


def _interp_text(raw: bytes, path: str) -> str:
    if not raw.endswith(b"\0") or b"\0" in raw[:-1]:
        raise _fail(path, "PT_INTERP is not a single NUL-terminated string")
    text = raw[:-1].decode("utf-8", "replace")
    if not text:
        raise _fail(path, "PT_INTERP is empty")
    return text


def check_file(file: Path, *, path: str) -> ElfHeader:
    """Read and check the header of a real file (``path`` names it in messages)."""
    try:
        with file.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(0)
            head = f.read(64)
            if not is_elf(head):
                return check_bytes(head, size=size, path=path)
            is64 = len(head) > 4 and head[4] == 2
            phoff, phentsize, phnum = 0, 0, 0
            if len(head) >= (64 if is64 else 52):
                if is64:
                    phoff = struct.unpack_from("<Q", head, 32)[0]
                    phentsize, phnum = struct.unpack_from("<HH", head, 54)
                else:
                    phoff = struct.unpack_from("<I", head, 28)[0]
                    phentsize, phnum = struct.unpack_from("<HH", head, 42)
            want = phoff + phentsize * phnum
            data = head
            if phnum and phentsize * phnum <= MAX_PHDR_BYTES and want <= size:
                f.seek(0)
                data = f.read(want)
            header = check_bytes(data, size=size, path=path)
            if header.interp is not None:
                seg = next(s for s in header.segments if s.p_type == PT_INTERP)
                f.seek(seg.offset)
                raw = f.read(seg.filesz)
                header = ElfHeader(
                    elf_class=header.elf_class,
                    machine=header.machine,
                    elf_type=header.elf_type,
                    entry=header.entry,
                    segments=header.segments,
                    interp=_interp_text(raw, path),
                    size=header.size,
                )
            return header
    except OSError as exc:
        raise ElfError(f"cannot read {path}: {exc.strerror}") from None


def require_program(header: ElfHeader, *, path: str) -> None:
    """The program ``convert`` links must be one the kernel can start: a 64-bit
    little-endian x86-64 executable or shared object (check_bytes already refused
    big-endian files). A 32-bit, arm64, relocatable or core file is an ElfError (13)."""
    if header.elf_class != 64:
        raise ElfError(f"{path} is a 32-bit ELF file; the library OS runs 64-bit x86-64 programs")
    if header.machine != EM_X86_64:
        raise ElfError(
            f"{path} is an ELF file for {header.machine_name}, not x86-64",
            hint="Pick the linux/amd64 variant of the image with --platform linux/amd64.",
        )
    if header.elf_type not in ("EXEC", "DYN"):
        raise ElfError(
            f"{path} is an ELF {header.elf_type} file, not an executable or shared object"
        )
