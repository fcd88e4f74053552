"""`--format markdown`: a job summary for `$GITHUB_STEP_SUMMARY` (hard limit 1 MiB per step).

Tables for what blocks the migration first, details folded in ``<details>``; if the text
would pass the limit it is cut at a section boundary with a pointer to the JSON report.
"""

from __future__ import annotations

from dock2uni.audit.complete import render_complete_markdown
from dock2uni.audit.report import AuditReport, SyscallStatus

LIMIT_BYTES = 1 << 20
SAFE_BYTES = LIMIT_BYTES - 4096  # room for the truncation note
MAX_ROWS = 200


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _syscall_table(rows: tuple[SyscallStatus, ...], with_note: bool) -> list[str]:
    head = "| syscall | " + ("note | " if with_note else "") + "called from |"
    sep = "|---|" + ("---|" if with_note else "") + "---|"
    out = [head, sep]
    for s in rows[:MAX_ROWS]:
        callers = "<br>".join(_cell(c) for c in s.callers[:3]) or "?"
        if s.only_via_dlopen:
            callers += " (dlopen only)"
        note = f" {_cell(s.note)} |" if with_note else ""
        out.append(f"| `{s.name}` |{note} {callers} |")
    if len(rows) > MAX_ROWS:
        out.append(f"| ... | {len(rows) - MAX_ROWS} more |" + (" |" if with_note else ""))
    return out


def render_markdown(report: AuditReport) -> str:
    sections: list[list[str]] = []
    title = report.source or report.exec_path or "image"
    badge = {
        "supported": "supported",
        "partial": "partially supported",
        "unsupported": "not supported",
        "broken": "not analysed: the audit failed",
    }[report.verdict]
    head = [
        f"## dock2uni audit: `{_cell(title)}`",
        "",
        f"**Verdict: {report.verdict}** ({badge} by the dock2uni library OS)",
        "",
        f"Entrypoint: `{_cell(' '.join(report.argv)[:200])}`",
        "",
    ]
    head += [f"- {_cell(r)}" for r in report.reasons[:12]]
    counts = {
        s: len(report.with_status(s)) for s in ("supported", "partial", "stub", "unsupported")
    }
    head += [
        "",
        f"{len(report.syscalls)} reachable syscalls: {counts['supported']} supported, "
        f"{counts['partial']} partial, {counts['stub']} stubbed, "
        f"**{counts['unsupported']} unsupported**.",
    ]
    sections.append(head)
    unsupported = report.with_status("unsupported")
    if unsupported:
        sections.append(["", "### Unsupported syscalls", "", *_syscall_table(unsupported, False)])
    partial = report.with_status("partial") + report.with_status("stub")
    if partial:
        sections.append(["", "### Partial or stubbed syscalls", "", *_syscall_table(partial, True)])
    if report.findings:
        lines = ["", "### Findings", "", "| severity | finding | advice |", "|---|---|---|"]
        for f in report.findings[:MAX_ROWS]:
            lines.append(f"| {f.severity} | {_cell(f.message)} | {_cell(f.hint or '')} |")
        sections.append(lines)
    p = report.process
    sections.append(
        [
            "",
            "### Process model",
            "",
            f"- forks: {p.forks}, execs: {p.execs}, spawns: {p.spawns}, threads: {p.threads}, "
            f"signals: {p.signals}",
            f"- sockets: {', '.join(p.socket_families) or 'none'}; events: "
            f"{', '.join(p.event_apis) or 'none'}; shared memory: {p.shared_memory}",
        ]
    )
    lines = [
        "",
        f"<details><summary>Binaries ({len(report.binaries)})</summary>",
        "",
        "| role | path | kind | status | found via |",
        "|---|---|---|---|---|",
    ]
    for b in report.binaries[:MAX_ROWS]:
        lines.append(
            f"| {b.role} | `{_cell(b.path)}` | {b.kind or '?'} | {b.status} | "
            f"{_cell(b.found_via or '')} |"
        )
    lines += ["", "</details>"]
    sections.append(lines)
    supported = report.with_status("supported")
    if supported:
        sections.append(
            [
                "",
                f"<details><summary>Supported syscalls ({len(supported)})</summary>",
                "",
                ", ".join(f"`{s.name}`" for s in supported),
                "",
                "</details>",
            ]
        )
    if report.unknown_sites:
        lines = [
            "",
            f"<details><summary>Unknown syscall sites ({len(report.unknown_sites)})</summary>",
            "",
        ]
        lines += [
            f"- `{_cell(u.binary)}` {_cell(u.function)}+{u.address:#x}: {_cell(u.reason)}"
            for u in report.unknown_sites[:MAX_ROWS]
        ]
        lines += ["", "</details>"]
        sections.append(lines)
    if report.errors:
        sections.append(
            [
                "",
                "### Files skipped",
                "",
                *[f"- `{_cell(p_)}`: {_cell(m)}" for p_, m in report.errors[:MAX_ROWS]],
            ]
        )
    if report.trace:
        missed = report.trace.get("missed") or []
        sections.append(
            [
                "",
                "### Trace (observed vs static)",
                "",
                f"Observed {len(report.trace.get('observed') or [])} syscalls; recall "
                f"{report.trace.get('recall')}.",
                "",
                (
                    "**Observed but not predicted (analysis misses): "
                    + ", ".join(f"`{m}`" for m in missed)
                    + "**"
                )
                if missed
                else "Every observed syscall was predicted.",
            ]
        )
    if report.complete is not None:
        sections.append(render_complete_markdown(report.complete))
    return _join_within_limit(sections)


def _join_within_limit(sections: list[list[str]]) -> str:
    out: list[str] = []
    size = 0
    for i, section in enumerate(sections):
        text = "\n".join(section) + "\n"
        encoded = len(text.encode())
        if size + encoded > SAFE_BYTES:
            out.append(
                f"\n_Summary truncated at {size} bytes ({len(sections) - i} section(s) left "
                "out): GitHub accepts at most 1 MiB per step. See the JSON report "
                "(`--format json`) for everything._\n"
            )
            break
        out.append(text)
        size += encoded
    return "".join(out)
