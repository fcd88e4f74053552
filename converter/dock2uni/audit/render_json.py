"""`--format json`: the stable, machine-first audit report (schemas/audit-report.schema.json).

Keys never change meaning within a ``schema_version``; lists are sorted so two audits of
the same image give byte-identical output apart from ``timings``. Documented in
docs/audit.md.
"""

from __future__ import annotations

import json
from typing import Any

from dock2uni import __version__
from dock2uni.analyse.model import Finding
from dock2uni.audit.report import AuditReport, SyscallStatus

SCHEMA_VERSION = 1


def _syscall(s: SyscallStatus) -> dict[str, Any]:
    return {
        "name": s.name,
        "nr": s.nr,
        "status": s.status,
        "level": s.level,
        "family": s.family,
        "note": s.note,
        "only_via_dlopen": s.only_via_dlopen,
        "callers": list(s.callers),
    }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "severity": f.severity,
        "message": f.message,
        "evidence": list(f.evidence),
        "hint": f.hint,
        "path": f.path,
    }


def report_dict(report: AuditReport) -> dict[str, Any]:
    """The report as JSON-able data, in schema order."""
    p = report.process
    return {
        "schema_version": SCHEMA_VERSION,
        "volatile": ["timings"],
        "tool": {"name": "dock2uni", "version": __version__},
        "source": report.source,
        "image": report.image,
        "entrypoint": {
            "argv": list(report.argv),
            "path": report.exec_path,
            "kind": report.exec_kind,
            "interpreter": list(report.interpreter),
            "programs": list(report.programs),
        },
        "verdict": report.verdict,
        "verdict_reasons": list(report.reasons),
        "syscalls": sorted(report.names),
        "syscall_details": [_syscall(s) for s in report.syscalls],
        "unsupported": [_syscall(s) for s in report.with_status("unsupported")],
        "partial": [_syscall(s) for s in report.with_status("partial")],
        "stub": [_syscall(s) for s in report.with_status("stub")],
        "binaries": [
            {
                "path": b.path,
                "role": b.role,
                "kind": b.kind,
                "status": b.status,
                "interpreter": b.interpreter,
                "needed": list(b.needed),
                "needed_by": list(b.needed_by),
                "found_via": b.found_via,
                "note": b.note,
                "libc": b.libc,
                "go": {"version": b.go_version} if b.is_go else None,
                "executable_stack": b.executable_stack,
                "build_id": b.build_id,
            }
            for b in report.binaries
        ],
        "process_model": {
            "forks": p.forks,
            "execs": p.execs,
            "spawns": p.spawns,
            "threads": p.threads,
            "signals": p.signals,
            "socket_families": list(p.socket_families),
            "event_apis": list(p.event_apis),
            "shared_memory": p.shared_memory,
            "setuid": p.setuid,
        },
        "findings": [_finding(f) for f in report.findings],
        "unknown_sites": [
            {
                "binary": u.binary,
                "address": f"{u.address:#x}",
                "function": u.function,
                "reason": u.reason,
            }
            for u in report.unknown_sites
        ],
        "errors": [{"path": p_, "message": m} for p_, m in report.errors],
        "warnings": list(report.warnings),
        "support_table": {
            "families": list(report.table_families),
            "entries": report.table_size,
        },
        "trace": report.trace,
        "complete": report.complete,
        "timings": report.timings,
    }


def render_json(report: AuditReport) -> str:
    return json.dumps(report_dict(report), indent=2, sort_keys=False) + "\n"
