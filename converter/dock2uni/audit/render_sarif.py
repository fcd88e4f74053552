"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning (oci-and-security.md §6).

Conventions GitHub relies on: rule ids stable across runs (``D2U001``...), a location on
every result (an image path as ``image/usr/sbin/nginx``, since the files are not in the
repository), ``partialFingerprints`` so the same finding in the next run is the same
alert, at most 5,000 results (GitHub shows no more), ``level`` error/warning/note.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from dock2uni import __version__
from dock2uni.audit.report import AuditReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 5000
INFO_URI = "https://github.com/dock2uni/dock2uni/blob/main/docs/audit.md"


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    short: str
    full: str
    level: str


RULES: tuple[Rule, ...] = (
    Rule(
        "D2U001",
        "UnsupportedSyscall",
        "Syscall not supported by the library OS",
        "The image can make a syscall that the dock2uni library OS does not implement; at "
        "run time it fails (ENOSYS or the listed errno).",
        "error",
    ),
    Rule(
        "D2U002",
        "PartialSyscall",
        "Syscall only partly supported",
        "The syscall works with limits described in the support table's note.",
        "warning",
    ),
    Rule(
        "D2U003",
        "StubbedSyscall",
        "Syscall stubbed",
        "The syscall succeeds without effect in the library OS.",
        "note",
    ),
    Rule(
        "D2U004",
        "MissingLibrary",
        "Shared library missing from the image",
        "A DT_NEEDED library or the program interpreter is not in the image; the dynamic "
        "loader would refuse to start the program.",
        "error",
    ),
    Rule(
        "D2U005",
        "WrongArchitecture",
        "Library for another architecture",
        "Only a library of another ELF class or machine was found.",
        "error",
    ),
    Rule(
        "D2U006",
        "UnparseableElf",
        "ELF file could not be parsed",
        "The file is malformed or could not be parsed safely; it was skipped.",
        "warning",
    ),
    Rule(
        "D2U007",
        "UnknownSyscallSite",
        "Syscall number not recovered",
        "A reachable syscall instruction whose number static analysis could not recover.",
        "note",
    ),
    Rule(
        "D2U008",
        "NoProgram",
        "Entrypoint cannot start",
        "The entrypoint is not in the image, not executable, not an ELF program or script, "
        "names a missing #! interpreter, or is a malformed or foreign ELF file: execve would "
        "refuse it.",
        "error",
    ),
    Rule(
        "D2U101",
        "ProcessCreation",
        "Program creates processes",
        "fork, vfork, clone without CLONE_VM, posix_spawn or system: a unikernel runs one process.",
        "warning",
    ),
    Rule(
        "D2U102",
        "ProgramExec",
        "Program executes other programs",
        "execve replaces the program; other programs must be in the image.",
        "warning",
    ),
    Rule("D2U103", "Threads", "Program starts threads", "Threads are informational.", "note"),
    Rule("D2U104", "IoUring", "io_uring reachable", "io_uring is reachable.", "warning"),
    Rule("D2U105", "SharedMemory", "Shared memory", "SysV shm, shm_open or memfd.", "note"),
    Rule(
        "D2U106",
        "SocketFamilies",
        "Unusual socket families",
        "Socket families beyond UNIX, IPv4 and IPv6.",
        "note",
    ),
    Rule(
        "D2U107",
        "ScriptEntrypoint",
        "Script entrypoint",
        "The entrypoint is a script run by an interpreter.",
        "warning",
    ),
    Rule("D2U108", "ShellForm", "Shell-form command", "A shell runs the command.", "note"),
    Rule(
        "D2U109",
        "NonRootUser",
        "Image runs as a non-root user",
        "The library OS has no users.",
        "note",
    ),
    Rule(
        "D2U110",
        "Setuid",
        "Program changes its user",
        "setuid and friends only change reported ids.",
        "note",
    ),
    Rule(
        "D2U111",
        "NginxMasterProcess",
        "nginx master process forks workers",
        "Set master_process off.",
        "warning",
    ),
    Rule("D2U112", "NginxDaemon", "nginx daemonizes", "Set daemon off.", "warning"),
    Rule("D2U113", "NginxConfig", "nginx configuration not found", "No nginx.conf.", "note"),
    Rule("D2U114", "RedisDaemonize", "redis daemonizes", "Set daemonize no.", "warning"),
    Rule("D2U115", "RedisSave", "redis BGSAVE forks", "Pass --save ''.", "warning"),
    Rule(
        "D2U116", "RedisAppendonly", "redis AOF rewrite forks", "Pass --appendonly no.", "warning"
    ),
    Rule(
        "D2U117",
        "ExecutableStack",
        "Executable stack requested",
        "PT_GNU_STACK is missing or RWX.",
        "note",
    ),
    Rule("D2U118", "GoBinary", "Go program", "Go makes raw syscalls.", "note"),
    Rule("D2U199", "OtherFinding", "Other finding", "Another audit observation.", "note"),
)
RULE_BY_FINDING = {
    "missing-library": "D2U004",
    "wrong-architecture": "D2U005",
    "unparseable-elf": "D2U006",
    "unanalysable-program": "D2U006",
    "no-program": "D2U008",
    "entrypoint-missing": "D2U008",
    "not-executable": "D2U008",
    "not-a-program": "D2U008",
    "interpreter-missing": "D2U008",
    "malformed-elf": "D2U008",
    "entrypoint-wrong-architecture": "D2U008",
    "loader-missing": "D2U004",
    "library-missing": "D2U004",
    "fork": "D2U101",
    "exec": "D2U102",
    "threads": "D2U103",
    "io_uring": "D2U104",
    "shared-memory": "D2U105",
    "socket-families": "D2U106",
    "script-entrypoint": "D2U107",
    "shell-form": "D2U108",
    "user": "D2U109",
    "setuid": "D2U110",
    "nginx-master-process": "D2U111",
    "nginx-daemon": "D2U112",
    "nginx-config": "D2U113",
    "redis-daemonize": "D2U114",
    "redis-save": "D2U115",
    "redis-appendonly": "D2U116",
    "executable-stack": "D2U117",
    "go-binary": "D2U118",
}
SYSCALL_RULE = {"unsupported": "D2U001", "partial": "D2U002", "stub": "D2U003"}
LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def image_uri(path: str | None) -> str:
    """A stable pseudo-path for a file inside the image: image/usr/sbin/nginx."""
    clean = (path or "").removeprefix("missing:").lstrip("/")
    return f"image/{clean}" if clean else "image"


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _result(rule: str, level: str, message: str, uri: str, key: str) -> dict[str, Any]:
    return {
        "ruleId": rule,
        "ruleIndex": next(i for i, r in enumerate(RULES) if r.id == rule),
        "level": level,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "IMAGEROOT"},
                    "region": {"startLine": 1},
                }
            }
        ],
        "partialFingerprints": {
            "primaryLocationLineHash": f"{_fingerprint(rule, uri, key)}:1",
            "dock2uniFinding/v1": _fingerprint(rule, key),
        },
    }


def sarif_dict(report: AuditReport) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    main_uri = image_uri(report.exec_path)
    for s in report.syscalls:
        rule = SYSCALL_RULE.get(s.status)
        if rule is None:
            continue
        level = next(r.level for r in RULES if r.id == rule)
        callers = "; ".join(s.callers[:3])
        if s.status == "unsupported":
            text = f"syscall {s.name} ({s.nr}) is not supported by the library OS ({s.note})"
        else:
            text = f"syscall {s.name} ({s.nr}) is {s.status}: {s.note}"
        if callers:
            text += f"; called from {callers}"
        if s.only_via_dlopen:
            text += " (only in libraries loaded with dlopen)"
        uri = image_uri(s.caller_binaries[0]) if s.caller_binaries else main_uri
        results.append(_result(rule, level, text, uri, f"syscall:{s.name}"))
    for f in report.findings:
        rule = RULE_BY_FINDING.get(f.id, "D2U199")
        text = f.message + (f" ({f.hint})" if f.hint else "")
        uri = image_uri(f.path) if f.path else main_uri
        results.append(
            _result(rule, LEVEL.get(f.severity, "note"), text, uri, f"{f.id}:{f.message}")
        )
    for u in report.unknown_sites:
        text = f"syscall number not recovered at {u.function}+{u.address:#x}: {u.reason}"
        results.append(
            _result(
                "D2U007",
                "note",
                text,
                image_uri(u.binary),
                f"unknown:{u.binary}:{u.function}:{u.reason}",
            )
        )
    truncated = len(results) > MAX_RESULTS
    results = results[:MAX_RESULTS]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "dock2uni",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "shortDescription": {"text": r.short},
                        "fullDescription": {"text": r.full},
                        "help": {"text": r.full, "markdown": r.full},
                        "defaultConfiguration": {"level": r.level},
                        "properties": {"tags": ["dock2uni", "unikernel-migration"]},
                    }
                    for r in RULES
                ],
            }
        },
        "automationDetails": {"id": f"dock2uni-audit/{report.source or 'image'}/"},
        "originalUriBaseIds": {"IMAGEROOT": {"description": {"text": "the image's root"}}},
        "results": results,
        "properties": {
            "verdict": report.verdict,
            "syscalls": list(report.names),
            "truncated": truncated,
            **({"complete": report.complete} if report.complete is not None else {}),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: AuditReport) -> str:
    return json.dumps(sarif_dict(report), indent=2) + "\n"
