"""The analyse stage's result: frozen values the plan stage and the audit reports read."""

from __future__ import annotations

from dataclasses import dataclass, field

from dock2uni.analyse.closure import Closure
from dock2uni.elf.facts import ElfFacts


@dataclass(frozen=True, kw_only=True)
class Frame:
    """One function on a path from a root to a syscall: binary path and function name."""

    binary: str
    function: str

    def __str__(self) -> str:
        return f"{self.binary.rsplit('/', 1)[-1]}:{self.function}"


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Where a syscall is made: the function containing it, and how it is reached.

    ``chain`` runs from the function making the call outwards (innermost first), at
    most a dozen frames, ending at a root (entry point, init function, export).
    """

    binary: str
    function: str
    chain: tuple[Frame, ...] = ()
    via_dlopen: bool = False

    def outer(self) -> Frame | None:
        """The first frame in another binary than the syscall's (who calls into libc)."""
        for frame in self.chain:
            if frame.binary != self.binary:
                return frame
        return None


@dataclass(frozen=True, kw_only=True)
class SyscallUse:
    """One Linux x86-64 syscall the image can make."""

    nr: int
    name: str
    callers: tuple[Caller, ...]  # up to a few per binary, most direct first

    @property
    def only_via_dlopen(self) -> bool:
        return all(c.via_dlopen for c in self.callers)


@dataclass(frozen=True, kw_only=True)
class UnknownSite:
    """A reachable syscall site (or wrapper call) whose number could not be recovered."""

    binary: str
    address: int
    function: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Finding:
    """A process-model or feature observation, with evidence and advice."""

    id: str  # stable id, e.g. "fork", "threads", "nginx-master-process"
    severity: str  # "error" (will not work), "warning" (may not work), "note"
    message: str
    evidence: tuple[str, ...] = ()
    hint: str | None = None
    path: str | None = None  # the file it is about, if any


@dataclass(frozen=True, kw_only=True)
class ProcessModel:
    """How the program uses processes, threads, signals and sockets."""

    forks: bool = False
    execs: bool = False
    spawns: bool = False  # posix_spawn or system/popen
    threads: bool = False
    signals: bool = False
    socket_families: tuple[str, ...] = ()
    event_apis: tuple[str, ...] = ()  # epoll, poll, select, io_uring
    shared_memory: bool = False
    setuid: bool = False
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FileError:
    """A file the analysis had to skip, and why."""

    path: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """Everything the audit and the plan need to know about what the image will run."""

    argv: tuple[str, ...]
    exec_path: str | None
    exec_kind: str  # elf, script, other, missing
    interpreter: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()  # analysed programs: the main one, then exec targets
    main_facts: ElfFacts | None = None
    closure: Closure = field(default_factory=lambda: Closure(entries=()))
    syscalls: tuple[SyscallUse, ...] = ()  # sorted by name
    unknown_sites: tuple[UnknownSite, ...] = ()
    process: ProcessModel = field(default_factory=ProcessModel)
    errors: tuple[FileError, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    # Upper bound: syscall numbers of every function of every analysed file (--complete).
    complete_syscalls: tuple[int, ...] = ()

    def syscall_names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.syscalls)

    def by_name(self) -> dict[str, SyscallUse]:
        return {u.name: u for u in self.syscalls}
