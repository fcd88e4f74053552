"""The only module that imports LIEF, and it does so only in a sandboxed child process.

LIEF is C++ and still gets crash reports from fuzzers (oci-and-security.md §9), so the
parent never loads it. ``parse_files`` starts ``python -m dock2uni.elf.lief_adapter``
with RLIMIT_AS and RLIMIT_CPU set, sends it the list of files, and reads one JSON line
per file back. Before each file the child announces it, so when the child dies (a
signal, the memory limit) or stalls past the per-file wall-clock timeout, the parent
knows which file did it: that file becomes ``ElfError("unparseable ELF: <path>")`` and
a fresh child carries on with the rest. Only plain JSON crosses the boundary.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dock2uni.elf.facts import ElfFacts, ElfLayout, ParsedElf
from dock2uni.errors import ElfError

DEFAULT_MEMORY = 3 << 30  # RLIMIT_AS of the child: LIEF on a 100 MB binary stays well below
DEFAULT_FILE_TIMEOUT = 30.0  # wall-clock seconds for one file
CPU_SECONDS_PER_FILE = 20
HINT = "The file is malformed (or LIEF cannot handle it); it is skipped by the analysis."


def _child_command() -> list[str]:
    return [sys.executable, "-s", "-m", "dock2uni.elf.lief_adapter"]


def _child_env() -> dict[str, str]:
    package_parent = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME")}
    env["PYTHONPATH"] = package_parent
    return env


def parse_files(
    items: Sequence[tuple[str, Path]],
    *,
    file_timeout: float = DEFAULT_FILE_TIMEOUT,
    memory_bytes: int = DEFAULT_MEMORY,
) -> dict[str, ParsedElf | ElfError]:
    """Parse every (name, host path) with LIEF in a child; failures become ElfError values."""
    with LiefSession(file_timeout=file_timeout, memory_bytes=memory_bytes) as session:
        return session.parse(items)


class LiefSession:
    """A LIEF child kept alive across batches (one per closure level costs an import each)."""

    def __init__(
        self, *, file_timeout: float = DEFAULT_FILE_TIMEOUT, memory_bytes: int = DEFAULT_MEMORY
    ) -> None:
        self.file_timeout = file_timeout
        self.memory_bytes = memory_bytes
        self.proc: subprocess.Popen[bytes] | None = None
        self.buffer = b""
        self.files_sent = 0

    def __enter__(self) -> LiefSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def _start(self, expected_files: int) -> subprocess.Popen[bytes]:
        cpu = CPU_SECONDS_PER_FILE * max(expected_files, 16) + 30
        proc = subprocess.Popen(
            [*_child_command(), str(self.memory_bytes), str(cpu)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_child_env(),
            cwd="/",
        )
        self.buffer = b""
        return proc

    def parse(self, items: Sequence[tuple[str, Path]]) -> dict[str, ParsedElf | ElfError]:
        results: dict[str, ParsedElf | ElfError] = {}
        todo = list(items)
        while todo:
            done, failed = self._batch(todo)
            results.update(done)
            if failed is None:
                for name, _ in todo:
                    if name not in results:
                        results[name] = ElfError(f"unparseable ELF: {name}: no answer", hint=HINT)
                break
            name, why = failed
            results[name] = ElfError(f"unparseable ELF: {name}: {why}", hint=HINT)
            todo = [(n, p) for n, p in todo if n not in results]
        return results

    def _batch(
        self, todo: list[tuple[str, Path]]
    ) -> tuple[dict[str, ParsedElf | ElfError], tuple[str, str] | None]:
        """Send ``todo``; return the answers and the (name, reason) the child died on."""
        if self.proc is None:
            self.proc = self._start(len(todo))
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        answers: dict[str, ParsedElf | ElfError] = {}
        try:
            proc.stdin.write(json.dumps([[n, str(p)] for n, p in todo]).encode() + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            self.proc = self._start(len(todo))
            return self._batch(todo)
        current: str | None = None
        deadline = time.monotonic() + self.file_timeout + 10  # the first file pays the import
        timed_out = False
        finished = False
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while not finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                if not sel.select(timeout=remaining):
                    continue
                chunk = os.read(proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    break
                self.buffer += chunk
                *lines, self.buffer = self.buffer.split(b"\n")
                for line in lines:
                    msg = json.loads(line)
                    if "done" in msg:
                        finished = True
                    elif "begin" in msg:
                        current = msg["begin"]
                        deadline = time.monotonic() + self.file_timeout
                    elif "error" in msg:
                        answers[msg["name"]] = ElfError(
                            f"unparseable ELF: {msg['name']}: {msg['error']}", hint=HINT
                        )
                        current = None
                    else:
                        answers[msg["name"]] = ParsedElf(
                            facts=ElfFacts.from_json(msg["facts"]),
                            layout=ElfLayout.from_json(msg["layout"]),
                        )
                        current = None
        if finished:
            return answers, None
        # The child died or stalled: find out how, and start afresh next time.
        if timed_out:
            proc.kill()
        rc = proc.wait()
        self.proc = None
        if proc.stdout:
            proc.stdout.close()
        if proc.stdin:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        victim = current if current is not None and current not in answers else None
        if victim is None:
            victim = next((n for n, _ in todo if n not in answers), None)
        if victim is None:
            return answers, None
        if timed_out:
            return answers, (victim, f"LIEF took longer than {self.file_timeout:.0f} s")
        if rc < 0:
            return answers, (victim, f"LIEF crashed (signal {-rc})")
        return answers, (victim, f"LIEF failed (exit status {rc})")


# --------------------------------------------------------------------------------------
# Child side: everything below runs only in the sandboxed process.


def _child_main() -> None:
    import resource

    memory, cpu = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    import lief

    lief.logging.disable()
    out = sys.stdout
    for request in sys.stdin:
        for name, path in json.loads(request):
            out.write(json.dumps({"begin": name}) + "\n")
            out.flush()
            try:
                facts, layout = _extract(lief, path)
            except MemoryError:
                msg: dict[str, Any] = {"name": name, "error": "LIEF ran out of memory"}
            except Exception as exc:
                msg = {"name": name, "error": f"LIEF: {type(exc).__name__}: {exc}"[:300]}
            else:
                msg = {"name": name, "facts": facts, "layout": layout}
            out.write(json.dumps(msg, separators=(",", ":")) + "\n")
            out.flush()
        out.write('{"done": true}\n')
        out.flush()


_SYM_KINDS = {
    "FUNC": "func",
    "OBJECT": "object",
    "COMMON": "object",
    "TLS": "tls",
    "GNU_IFUNC": "ifunc",
    "NOTYPE": "notype",
}
DT_TEXTREL = 22
DF_1_PIE = "PIE"
_DT_KEEP = (12, 13, 25, 26, 27, 28, 32, 33)  # INIT, FINI, *_ARRAY, *_ARRAYSZ
PT_GNU_STACK = 0x6474E551
PT_TLS = 7
GO_MAGIC = b"\xff Go buildinf:"


def _enum_name(value: Any) -> str:
    return str(value).rsplit(".", 1)[-1]


def _version(sym: Any) -> tuple[str | None, bool]:
    if not sym.has_version:
        return None, True
    sv = sym.symbol_version
    hidden = bool(sv.value & 0x8000)
    if sv.has_auxiliary_version:
        return str(sv.symbol_version_auxiliary.name), not hidden
    return None, not hidden


def _go_info(lief: Any, binary: Any) -> dict[str, Any] | None:
    section = binary.get_section(".go.buildinfo")
    if section is not None:
        data = bytes(section.content)
        version = None
        if data.startswith(GO_MAGIC) and len(data) > 32 and data[15] & 2:
            length, pos, shift = 0, 32, 0
            while pos < len(data) and shift < 35:
                byte = data[pos]
                length |= (byte & 0x7F) << shift
                pos += 1
                shift += 7
                if not byte & 0x80:
                    break
            raw = data[pos : pos + min(length, 64)]
            version = raw.decode("ascii", "replace") or None
        return {"version": version, "source": ".go.buildinfo"}
    if binary.get_section(".note.go.buildid") is not None:
        return {"version": None, "source": ".note.go.buildid"}
    if binary.get_section(".gopclntab") is not None:
        return {"version": None, "source": ".gopclntab"}
    return None


def _extract(lief: Any, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    binary = lief.ELF.parse(path)
    if binary is None:
        raise ValueError("not parseable")
    header = binary.header
    elf_class = 64 if _enum_name(header.identity_class) == "ELF64" else 32
    elf_type = _enum_name(header.file_type)
    interp = str(binary.interpreter) if binary.has_interpreter else None

    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    flags: list[str] = []
    soname = None
    dynamic: dict[int, int] = {}
    textrel = False
    for entry in binary.dynamic_entries:
        tag = _enum_name(entry.tag)
        raw_tag = int(entry.tag)
        if tag == "NEEDED":
            needed.append(str(entry.name))
        elif tag == "SONAME":
            soname = str(entry.name)
        elif tag == "RPATH":
            rpath.extend(p for p in str(entry.rpath).split(":") if p)
        elif tag == "RUNPATH":
            runpath.extend(p for p in str(entry.runpath).split(":") if p)
        elif tag in ("FLAGS", "FLAGS_1"):
            flags.extend(_enum_name(f) for f in entry.flags)
        elif raw_tag == DT_TEXTREL:
            textrel = True
        if raw_tag in _DT_KEEP:
            dynamic[raw_tag] = int(entry.value)
    textrel = textrel or "TEXTREL" in flags

    if elf_type == "EXEC":
        kind = "exec" if interp else "static"
    elif elf_type == "DYN":
        # libc.so.6 has a PT_INTERP too (it runs); a library has a SONAME, a program not.
        if DF_1_PIE in flags:
            kind = "pie" if interp else "static-pie"
        else:
            kind = "pie" if interp and soname is None else "shared"
    else:
        kind = elf_type.lower()

    segments = []
    gnu_stack = None
    rwx = 0
    tls = False
    for seg in binary.segments:
        p_type = int(seg.type)
        p_flags = int(seg.flags)
        segments.append(
            (
                p_type,
                p_flags,
                seg.file_offset,
                seg.virtual_address,
                seg.physical_size,
                seg.virtual_size,
            )
        )
        if p_type == PT_GNU_STACK:
            gnu_stack = "RWX" if p_flags & 1 else "RW"
        elif p_type == PT_TLS:
            tls = True
        elif p_type == 1 and p_flags & 1 and p_flags & 2:
            rwx += 1

    imports: list[dict[str, Any]] = []
    exports: list[dict[str, Any]] = []
    names: list[tuple[int, int, str]] = []
    for sym in binary.dynamic_symbols:
        name = str(sym.name)
        if not name:
            continue
        kind_name = _SYM_KINDS.get(_enum_name(sym.type), "notype")
        binding = _enum_name(sym.binding)
        version, default = _version(sym)
        if sym.shndx == 0:
            imports.append(
                {"name": name, "version": version, "kind": kind_name, "weak": binding == "WEAK"}
            )
        elif binding != "LOCAL" and _enum_name(sym.visibility) in ("DEFAULT", "PROTECTED"):
            exports.append(
                {
                    "name": name,
                    "version": version,
                    "default": default,
                    "kind": kind_name,
                    "weak": binding == "WEAK",
                    "value": int(sym.value),
                    "size": int(sym.size),
                }
            )
        if sym.shndx != 0 and kind_name in ("func", "ifunc"):
            names.append((int(sym.value), int(sym.size), name))
    for sym in binary.symtab_symbols:
        if sym.shndx != 0 and _enum_name(sym.type) in ("FUNC", "GNU_IFUNC") and sym.name:
            names.append((int(sym.value), int(sym.size), str(sym.name)))

    build_id = None
    abi_tag = False
    for note in binary.notes:
        note_type = _enum_name(note.type)
        if note_type == "GNU_BUILD_ID":
            build_id = bytes(note.description).hex()
        elif note_type == "GNU_ABI_TAG":
            abi_tag = True
    libc = None
    if interp and "ld-musl" in interp:
        libc = "musl"
    elif (
        (interp and "ld-linux" in interp)
        or abi_tag
        or any(n.startswith("libc.so.6") for n in needed)
    ):
        libc = "glibc"
    elif any(n.startswith("libc.musl") or n == "libc.so" for n in needed):
        libc = "musl"

    relocations = []
    for rel in binary.relocations:
        sym_name, sym_version = "", ""
        if rel.has_symbol:
            sym_name = str(rel.symbol.name)
            sym_version = _version(rel.symbol)[0] or ""
        encoding = _enum_name(rel.encoding)
        relocations.append(
            (
                int(rel.address),
                int(rel.type) & 0x7FFFFFF,
                int(rel.addend),
                sym_name,
                sym_version,
                encoding in ("REL", "RELR"),
            )
        )

    sections = [
        (str(s.name), int(s.virtual_address), int(s.offset), int(s.size), int(s.flags), int(s.type))
        for s in binary.sections
    ]
    functions = [(int(f.address), int(f.size)) for f in binary.functions]

    facts = {
        "elf_class": elf_class,
        "machine": int(header.machine_type),
        "elf_type": elf_type,
        "kind": kind,
        "entry": int(header.entrypoint),
        "interp": interp,
        "soname": soname,
        "needed": needed,
        "rpath": rpath,
        "runpath": runpath,
        "flags": sorted(set(flags)),
        "gnu_stack": gnu_stack,
        "rwx_segments": rwx,
        "textrel": textrel,
        "tls": tls,
        "imports": imports,
        "exports": exports,
        "build_id": build_id,
        "go": _go_info(lief, binary),
        "libc": libc,
    }
    layout = {
        "sections": sections,
        "segments": segments,
        "relocations": relocations,
        "functions": functions,
        "names": names,
        "dynamic": {str(k): v for k, v in dynamic.items()},
    }
    return facts, layout


if __name__ == "__main__":
    _child_main()
