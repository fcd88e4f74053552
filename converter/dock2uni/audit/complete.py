"""`--complete`: the upper bound, every function of every analysed file taken as reachable.

For users who accept false alarms but never a miss: the syscalls any analysed function
contains, judged against the support table like the reachable set, reported beside it.
The reachable set is unchanged; ``--fail-on`` then judges the worse of the two verdicts.
"""

from __future__ import annotations

from typing import Any

from dock2uni.analyse.model import Analysis
from dock2uni.audit.report import STATUS_BY_LEVEL, AuditReport
from dock2uni.support import SupportTable
from dock2uni.syscalls import name_of

_RANK = {"supported": 0, "partial": 1, "unsupported": 2}


def complete_bound(analysis: Analysis, table: SupportTable, report: AuditReport) -> dict[str, Any]:
    """The ``complete`` section of the report (schema: audit-report.schema.json)."""
    by_nr = table.by_nr()
    reachable = set(report.names)
    names: list[str] = []
    by_status: dict[str, list[str]] = {"unsupported": [], "partial": [], "stub": []}
    for nr in analysis.complete_syscalls:
        name = name_of(nr)
        names.append(name)
        entry = by_nr.get(nr)
        status = STATUS_BY_LEVEL[entry.level] if entry is not None else "unsupported"
        if status in by_status:
            by_status[status].append(name)
    # Every reachable syscall is in some analysed function; the union keeps the bound an
    # upper bound even if a reachable number came from elsewhere (a wrapper's caller).
    names = sorted(set(names) | reachable)
    if by_status["unsupported"]:
        verdict = "unsupported"
    elif by_status["partial"] or by_status["stub"]:
        verdict = "partial"
    else:
        verdict = "supported"
    if _RANK[report.verdict] > _RANK[verdict]:
        verdict = report.verdict  # closure and process findings hold for the bound too
    return {
        "syscalls": names,
        "count": len(names),
        "reachable_count": len(reachable),
        "beyond_reachable": sorted(set(names) - reachable),
        "unsupported": sorted(by_status["unsupported"]),
        "partial": sorted(by_status["partial"]),
        "stub": sorted(by_status["stub"]),
        "verdict": verdict,
    }


def gate_verdict(report: AuditReport) -> str:
    """The verdict ``--fail-on`` judges: with --complete, the worse of the two."""
    if report.complete is None:
        return report.verdict
    bound = str(report.complete["verdict"])
    return bound if _RANK[bound] > _RANK[report.verdict] else report.verdict


def render_complete_text(complete: dict[str, Any]) -> str:
    lines = [
        f"Upper bound (--complete): {complete['count']} syscalls in any analysed function, "
        f"{len(complete['beyond_reachable'])} beyond the {complete['reachable_count']} "
        f"reachable; verdict {str(complete['verdict']).upper()}"
    ]
    for key in ("unsupported", "partial", "stub"):
        if complete[key]:
            lines.append(f"  {key}: {', '.join(complete[key])}")
    return "\n".join(lines)


def render_complete_markdown(complete: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### Upper bound (`--complete`)",
        "",
        f"{complete['count']} syscalls in any analysed function, "
        f"{len(complete['beyond_reachable'])} beyond the {complete['reachable_count']} "
        f"reachable. Verdict of the bound: **{complete['verdict']}**.",
    ]
    for key in ("unsupported", "partial", "stub"):
        if complete[key]:
            lines += ["", f"- {key}: " + ", ".join(f"`{n}`" for n in complete[key])]
    return lines
