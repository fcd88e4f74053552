"""The audit report: an Analysis judged against the library OS's support table, plus a verdict.

Each syscall the image can make is ``supported`` (FULL), ``partial`` (PARTIAL, with the
table's note), ``stub`` (STUB: succeeds without effect) or ``unsupported`` (SHIM_ERR, or
absent from the table: the call fails with ENOSYS). The verdict is the worst of the
syscall statuses, the closure problems (a missing hard dependency is unsupported) and
the process-model findings (a warning makes it at best partial). ``broken`` is not a
judgement of the image but of the audit: the main program could not be analysed, so
nothing can be said; it fails every ``--fail-on`` gate (AuditBrokenError). Renderers
(text, json, markdown, sarif) only format this value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dock2uni.analyse.model import Analysis, Caller, Finding, ProcessModel, UnknownSite
from dock2uni.errors import AuditBrokenError, AuditGateError
from dock2uni.runnable import Problem
from dock2uni.support import SupportTable

STATUS_BY_LEVEL = {"FULL": "supported", "PARTIAL": "partial", "STUB": "stub", "ERR": "unsupported"}
# How a .def audit line's kind reads in a syscall's note (support.AUDIT_KINDS).
AUDIT_WHY = {
    "fallback": "callers fall back",
    "signal-return": "signal-handler return",
    "container": "a Docker container refuses it too",
}
VERDICTS = ("supported", "partial", "unsupported", "broken")
FAIL_ON = ("unsupported", "partial", "never")
MAX_CALLERS = 5
# Findings that leave the audit without a verdict: the main program cannot be analysed,
# or it cannot start at all (runnable.py: execve or the loader would refuse it).
BROKEN_FINDINGS = (
    "unanalysable-program",
    "entrypoint-missing",
    "not-executable",
    "not-a-program",
    "interpreter-missing",
    "malformed-elf",
    "entrypoint-wrong-architecture",
    "loader-missing",
    "library-missing",
)


@dataclass(frozen=True, kw_only=True)
class SyscallStatus:
    """One syscall of the image, judged against the table."""

    name: str
    nr: int
    status: str  # supported, partial, stub, unsupported
    level: str | None  # the table's level (FULL, PARTIAL, STUB, ERR) or None if absent
    family: str | None
    note: str
    callers: tuple[str, ...]  # "libc.so.6:inotify_init1 <- libsystemd.so.0:sd_journal_open"
    caller_binaries: tuple[str, ...]  # image paths of the binaries making the call
    only_via_dlopen: bool = False


@dataclass(frozen=True, kw_only=True)
class BinaryRow:
    """One binary of the closure as reported."""

    path: str
    role: str
    kind: str | None  # static, exec, pie, static-pie, shared (None if not parsed)
    status: str
    interpreter: str | None
    needed: tuple[str, ...]
    needed_by: tuple[str, ...]
    found_via: str | None
    note: str | None
    libc: str | None
    go_version: str | None
    is_go: bool
    executable_stack: bool
    build_id: str | None


@dataclass(frozen=True, kw_only=True)
class AuditReport:
    """Everything a renderer needs."""

    source: str
    image: dict[str, Any]
    argv: tuple[str, ...]
    exec_path: str | None
    exec_kind: str
    interpreter: tuple[str, ...]
    programs: tuple[str, ...]
    syscalls: tuple[SyscallStatus, ...]
    binaries: tuple[BinaryRow, ...]
    process: ProcessModel
    unknown_sites: tuple[UnknownSite, ...]
    findings: tuple[Finding, ...]  # closure and file problems plus process findings
    errors: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]
    verdict: str
    reasons: tuple[str, ...]
    table_families: tuple[str, ...]
    table_size: int
    timings: dict[str, float] = field(default_factory=dict)
    trace: dict[str, Any] | None = None  # filled by --trace (audit/trace.py)
    complete: dict[str, Any] | None = None  # filled by --complete (audit/complete.py)

    def with_status(self, status: str) -> tuple[SyscallStatus, ...]:
        return tuple(s for s in self.syscalls if s.status == status)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.syscalls)


def format_caller(caller: Caller) -> str:
    """``libc.so.6:inotify_init1 <- libsystemd.so.0:sd_journal_open`` (site, then its caller
    in another binary, if any)."""
    site = f"{caller.binary.rsplit('/', 1)[-1]}:{caller.function}"
    outer = caller.outer()
    text = f"{site} <- {outer}" if outer is not None else site
    if caller.via_dlopen:
        text += " (dlopen)"
    return text


def build_report(
    analysis: Analysis,
    table: SupportTable,
    *,
    source: str = "",
    image: dict[str, Any] | None = None,
    cannot_start: Sequence[Problem] = (),
) -> AuditReport:
    """Judge an analysis against the support table (see the module docstring).
    ``cannot_start``: why the entrypoint cannot start (runnable.problems); any makes
    the verdict ``broken``."""
    by_nr = table.by_nr()
    statuses: list[SyscallStatus] = []
    for use in analysis.syscalls:
        entry = by_nr.get(use.nr)
        if entry is None:
            status, level, family, note = "unsupported", None, None, "not implemented (ENOSYS)"
        else:
            status = STATUS_BY_LEVEL[entry.level]
            level, family = entry.level, entry.family
            note = entry.note or ("" if entry.level == "FULL" else entry.level.lower())
            if entry.level == "ERR":
                note = f"fails with {entry.errno}" + (f": {entry.note}" if entry.note else "")
        if status == "unsupported" and (how := table.audit_notes.get(use.name)) is not None:
            # A failure its callers expect (the .def's audit line): it does not stop the
            # program, so it counts as partial, with why in the note.
            status = "partial"
            why = AUDIT_WHY[how.kind]
            note = f"{note}; {why}: {how.reason}"
        callers = use.callers[:MAX_CALLERS]
        statuses.append(
            SyscallStatus(
                name=use.name,
                nr=use.nr,
                status=status,
                level=level,
                family=family,
                note=note,
                callers=tuple(dict.fromkeys(format_caller(c) for c in callers)),
                caller_binaries=tuple(dict.fromkeys(c.binary for c in use.callers)),
                only_via_dlopen=use.only_via_dlopen,
            )
        )
    statuses.sort(key=lambda s: s.name)

    binaries: list[BinaryRow] = []
    findings: list[Finding] = [
        Finding(
            id=p.id,
            severity="error",
            message=p.message,
            hint=p.hint,
            path=p.path,
        )
        for p in cannot_start
    ]
    # What a start-up problem already reports gets no second finding of its own.
    subjects = {p.subject for p in cannot_start if p.subject}
    for e in analysis.closure.entries:
        f = e.facts
        binaries.append(
            BinaryRow(
                path=e.path.removeprefix("missing:"),
                role=e.role,
                kind=f.kind if f else None,
                status=e.status,
                interpreter=f.interp if f else None,
                needed=f.needed if f else (),
                needed_by=e.needed_by,
                found_via=e.found_via,
                note=e.note,
                libc=f.libc if f else None,
                go_version=f.go.version if f and f.go else None,
                is_go=bool(f and f.go),
                executable_stack=bool(f and f.executable_stack),
                build_id=f.build_id if f else None,
            )
        )
        if e.requested in subjects or (e.role == "main" and cannot_start):
            continue
        if e.status in ("missing", "wrong-arch"):
            hard = e.role != "dlopen"
            users = ", ".join(p.rsplit("/", 1)[-1] for p in e.needed_by) or "the program"
            problem = (
                "not in the image"
                if e.status == "missing"
                else "only there for another architecture"
            )
            findings.append(
                Finding(
                    id="missing-library" if e.status == "missing" else "wrong-architecture",
                    severity="error" if hard else "warning",
                    message=f"{e.requested} needed by {users} is {problem}",
                    evidence=(e.note,) if e.note else (),
                    hint="Install the library in the image (the loader would refuse to start).",
                    path=e.needed_by[0] if e.needed_by else None,
                )
            )
        elif e.status in ("unparseable", "not-elf"):
            main = e.role == "main"
            findings.append(
                Finding(
                    id="unanalysable-program" if main else "unparseable-elf",
                    severity="error" if main else "warning",
                    message=(
                        f"the main program cannot be analysed: {e.note or e.path}"
                        if main
                        else e.note or f"{e.path} could not be parsed"
                    ),
                    hint=(
                        "The audit says nothing about this image; re-run with --debug, and "
                        "report it if the program is a valid x86-64 ELF."
                        if main
                        else None
                    ),
                    path=e.path,
                )
            )
        elif f is not None and e.role in ("main", "exec-target") and f.executable_stack:
            findings.append(
                Finding(
                    id="executable-stack",
                    severity="note",
                    message=f"{e.path} asks for an executable stack"
                    + (" (no PT_GNU_STACK)" if f.gnu_stack is None else ""),
                    path=e.path,
                )
            )
    for e in analysis.closure.entries:
        if e.facts is not None and e.facts.go is not None and e.role in ("main", "exec-target"):
            findings.append(
                Finding(
                    id="go-binary",
                    severity="note",
                    message=f"{e.path} is a Go program"
                    + (f" ({e.facts.go.version})" if e.facts.go.version else "")
                    + ": it makes raw syscalls through the Go runtime",
                    path=e.path,
                )
            )
    findings.extend(_process_findings(analysis.process.findings, table))
    if not cannot_start and (analysis.exec_kind in ("missing", "other") or not analysis.programs):
        findings.insert(
            0,
            Finding(
                id="no-program",
                severity="error",
                message=(
                    f"the entrypoint {analysis.argv[0] if analysis.argv else '?'} "
                    + (
                        "is not in the image"
                        if analysis.exec_kind == "missing"
                        else "is not an ELF program or a script"
                    )
                ),
                hint="Check the image's Entrypoint/Cmd or pass --entrypoint.",
            ),
        )
    if analysis.unknown_sites:
        findings.append(
            Finding(
                id="unknown-syscall-sites",
                severity="note",
                message=f"{len(analysis.unknown_sites)} reachable syscall site(s) with a number "
                "the analysis could not recover",
                evidence=tuple(
                    f"{u.binary.rsplit('/', 1)[-1]}:{u.function}+{u.address:#x}: {u.reason}"
                    for u in analysis.unknown_sites[:5]
                ),
            )
        )
    verdict, reasons = _verdict(statuses, findings)
    return AuditReport(
        source=source,
        image=dict(image or {}),
        argv=analysis.argv,
        exec_path=analysis.exec_path,
        exec_kind=analysis.exec_kind,
        interpreter=analysis.interpreter,
        programs=analysis.programs,
        syscalls=tuple(statuses),
        binaries=tuple(binaries),
        process=analysis.process,
        unknown_sites=analysis.unknown_sites,
        findings=tuple(findings),
        errors=tuple((e.path, e.message) for e in analysis.errors),
        warnings=analysis.closure.warnings,
        verdict=verdict,
        reasons=tuple(reasons),
        table_families=table.families,
        table_size=len(table.entries),
        timings=dict(analysis.timings),
    )


def _supports(table: SupportTable, *names: str) -> bool:
    """Whether the library OS implements one of the calls (any level but ERR)."""
    idx = table.by_name()
    return any(n in idx and idx[n].level != "ERR" for n in names)


def _process_findings(found: Sequence[Finding], table: SupportTable) -> list[Finding]:
    """Creating processes and executing programs are warnings only while the library OS
    lacks them: once the table has execve (fork, vfork) they are notes, which leave the
    verdict alone; a script that stays the parent of its commands needs both."""
    execs = _supports(table, "execve")
    forks = _supports(table, "fork", "vfork")
    out: list[Finding] = []
    for f in found:
        supported = {
            "exec": execs,
            "fork": forks,
            "script-entrypoint": execs and forks,
        }.get(f.id, False)
        if supported and f.severity == "warning":
            hint = "The library OS supports it (support matrix)."
            out.append(replace(f, severity="note", hint=hint))
        else:
            out.append(f)
    return out


def _verdict(statuses: list[SyscallStatus], findings: list[Finding]) -> tuple[str, list[str]]:
    reasons: list[str] = []
    unsupported = [s.name for s in statuses if s.status == "unsupported" and not s.only_via_dlopen]
    unsupported_dl = [s.name for s in statuses if s.status == "unsupported" and s.only_via_dlopen]
    partial = [s.name for s in statuses if s.status in ("partial", "stub")]
    fatal = [f for f in findings if f.id in BROKEN_FINDINGS]
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if fatal:
        return "broken", [f.message for f in fatal]
    if unsupported:
        reasons.append(
            f"{len(unsupported)} unsupported syscall(s): {', '.join(unsupported[:8])}"
            + (" ..." if len(unsupported) > 8 else "")
        )
    for f in errors:
        reasons.append(f.message)
    if unsupported or errors:
        verdict = "unsupported"
    elif partial or warnings or unsupported_dl:
        verdict = "partial"
    else:
        verdict = "supported"
    if unsupported_dl:
        reasons.append(
            f"{len(unsupported_dl)} unsupported syscall(s) only in libraries loaded with "
            f"dlopen: {', '.join(unsupported_dl[:8])}"
        )
    if partial:
        reasons.append(
            f"{len(partial)} partial or stubbed syscall(s): {', '.join(partial[:8])}"
            + (" ..." if len(partial) > 8 else "")
        )
    for f in warnings:
        reasons.append(f.message)
    return verdict, reasons


def exit_code(report: AuditReport, fail_on: str) -> int:
    """0, or AuditGateError.exit_code when the verdict fails the --fail-on gate;
    AuditBrokenError.exit_code, whatever the gate, when the audit itself failed."""
    if report.verdict == "broken":
        return AuditBrokenError.exit_code
    if fail_on == "never":
        return 0
    if fail_on == "unsupported":
        return AuditGateError.exit_code if report.verdict == "unsupported" else 0
    if fail_on == "partial":
        return AuditGateError.exit_code if report.verdict in ("partial", "unsupported") else 0
    raise ValueError(f"--fail-on must be one of {', '.join(FAIL_ON)}")


def check_gate(report: AuditReport, fail_on: str) -> None:
    """Raise AuditGateError when the verdict fails the --fail-on gate, AuditBrokenError
    when the main program could not be analysed."""
    if report.verdict == "broken":
        start = [
            f for f in report.findings if f.id in BROKEN_FINDINGS and f.id != "unanalysable-program"
        ]
        if start:
            raise AuditBrokenError(
                "the image cannot run: " + "; ".join(f.message for f in start),
                hint=start[0].hint,
            )
        raise AuditBrokenError(
            "the audit could not analyse the main program: " + "; ".join(report.reasons),
        )
    if exit_code(report, fail_on):
        raise AuditGateError(
            f"audit verdict is '{report.verdict}', which fails --fail-on {fail_on}",
            hint="See the report for what is missing; --fail-on never reports without failing.",
        )
