"""`--format text`: the audit for a person at a terminal, most important first."""

from __future__ import annotations

from typing import Any

from dock2uni.audit.complete import render_complete_text
from dock2uni.audit.report import AuditReport

MAX_LIST = 40


def render_text(report: AuditReport) -> str:
    out: list[str] = []
    add = out.append
    add(f"dock2uni audit: {report.source or report.exec_path or '?'}")
    add(f"  entrypoint: {' '.join(report.argv)[:200]}")
    if report.exec_kind == "script":
        add(f"  script interpreter: {' '.join(report.interpreter)}")
    if len(report.programs) > 1:
        add(f"  programs analysed: {', '.join(report.programs)}")
    add("")
    add(f"VERDICT: {report.verdict.upper()}")
    for reason in report.reasons[:10]:
        add(f"  - {reason}")
    add("")
    counts = {
        s: len(report.with_status(s)) for s in ("supported", "partial", "stub", "unsupported")
    }
    add(
        f"Syscalls: {len(report.syscalls)} reachable -- {counts['supported']} supported, "
        f"{counts['partial']} partial, {counts['stub']} stubbed, {counts['unsupported']} "
        "unsupported"
    )
    if report.table_size == 0:
        add("  (the library OS support table is empty: every syscall counts as unsupported)")
    for status, title in (
        ("unsupported", "UNSUPPORTED"),
        ("partial", "partial"),
        ("stub", "stubbed"),
    ):
        rows = report.with_status(status)
        if not rows:
            continue
        add("")
        add(f"{title} ({len(rows)}):")
        for s in rows[:MAX_LIST]:
            note = f"  [{s.note}]" if s.note and status != "unsupported" else ""
            dl = " (only via dlopen)" if s.only_via_dlopen else ""
            add(f"  {s.name:<22}{note}{dl}".rstrip())
            for c in s.callers[:3]:
                add(f"      <- {c}")
        if len(rows) > MAX_LIST:
            add(f"  ... {len(rows) - MAX_LIST} more (use --format json)")
    supported = report.with_status("supported")
    if supported:
        add("")
        add(f"supported ({len(supported)}): " + ", ".join(s.name for s in supported))
    p = report.process
    add("")
    add("Process model:")
    add(
        f"  forks: {_yn(p.forks)}  execs: {_yn(p.execs)}  spawns: {_yn(p.spawns)}  "
        f"threads: {_yn(p.threads)}  signals: {_yn(p.signals)}"
    )
    add(
        f"  sockets: {', '.join(p.socket_families) or 'none'}  "
        f"events: {', '.join(p.event_apis) or 'none'}  shared memory: {_yn(p.shared_memory)}"
    )
    if report.findings:
        add("")
        add("Findings:")
        for f in report.findings:
            add(f"  [{f.severity}] {f.id}: {f.message}")
            for ev in f.evidence[:3]:
                add(f"      {ev}")
            if f.hint:
                add(f"      hint: {f.hint}")
    add("")
    add(f"Binaries ({len(report.binaries)}):")
    for b in report.binaries:
        extra = f" via {b.found_via}" if b.found_via and b.role != "main" else ""
        state = "" if b.status == "ok" else f" {b.status.upper()}"
        add(f"  {b.role:<12}{b.path} ({b.kind or '?'}){extra}{state}")
        if b.note and (b.status != "ok" or b.role == "dlopen"):  # why it may be dlopened
            add(f"      {b.note}")
    for w in report.warnings:
        add(f"  warning: {w}")
    if report.unknown_sites:
        add("")
        add(f"Unknown syscall sites ({len(report.unknown_sites)}):")
        for u in report.unknown_sites[:10]:
            add(f"  {u.binary}:{u.function}+{u.address:#x}: {u.reason}")
    if report.errors:
        add("")
        add("Files skipped:")
        for path, msg in report.errors:
            add(f"  {path}: {msg}")
    if report.trace:
        add("")
        add(render_trace_text(report.trace))
    if report.complete is not None:
        add("")
        add(render_complete_text(report.complete))
    return "\n".join(out) + "\n"


def render_trace_text(trace: dict[str, Any]) -> str:
    lines = ["Trace (--trace): observed vs static"]
    missed = [str(x) for x in trace.get("missed") or []]
    observed = list(trace.get("observed") or [])
    lines.append(
        f"  observed: {len(observed)} syscalls  static: {trace.get('static_count')}  "
        f"recall: {trace.get('recall')}"
    )
    if missed:
        lines.append("  !!! OBSERVED BUT NOT PREDICTED (analysis misses): " + ", ".join(missed))
    else:
        lines.append("  every observed syscall was predicted")
    if trace.get("note"):
        lines.append(f"  note: {trace['note']}")
    return "\n".join(lines)


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"
