"""The audit: an Analysis judged against the support table, rendered for people and CI.

Interface (the CLI's ``dock2uni audit`` and ``dock2uni support-matrix`` call these):
  * ``run_audit(unpacked, spec, ctx, fmt=..., fail_on=..., out=...)``: analyse, optionally
    ``--trace``, print the report in the chosen format on ``out``, then raise
    ``AuditGateError`` (exit 20) when the verdict fails ``--fail-on``, or
    ``AuditBrokenError`` (exit 21) when the entrypoint cannot start (runnable.py).
  * ``audit_command(analysis, ...)``: the same from an existing Analysis.
  * ``complete=True`` (``--complete``) adds the upper bound (audit/complete.py).
  * ``build_report`` / ``render(report, fmt)`` / ``exit_code(report, fail_on)``.
  * ``render_support_matrix(table, fmt)`` for ``dock2uni support-matrix``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TextIO

from dock2uni.analyse.model import Analysis
from dock2uni.audit.complete import complete_bound, gate_verdict
from dock2uni.audit.render_json import render_json
from dock2uni.audit.render_markdown import render_markdown
from dock2uni.audit.render_sarif import render_sarif
from dock2uni.audit.render_text import render_text
from dock2uni.audit.report import AuditReport, build_report, check_gate, exit_code
from dock2uni.audit.support_matrix import render_support_matrix
from dock2uni.context import Context
from dock2uni.runnable import Problem, problems
from dock2uni.runspec import RunSpec
from dock2uni.support import SupportTable, load_support_table
from dock2uni.unpack import UnpackedImage

FORMATS = ("text", "json", "markdown", "sarif")
RENDERERS: dict[str, Callable[[AuditReport], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "sarif": render_sarif,
}

__all__ = [
    "FORMATS",
    "AuditReport",
    "audit_command",
    "build_report",
    "exit_code",
    "render",
    "render_support_matrix",
    "run_audit",
]


def render(report: AuditReport, fmt: str) -> str:
    try:
        return RENDERERS[fmt](report)
    except KeyError:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}") from None


def audit_command(
    analysis: Analysis,
    *,
    out: TextIO,
    fmt: str = "text",
    fail_on: str = "never",
    source: str = "",
    image: dict[str, Any] | None = None,
    table: SupportTable | None = None,
    trace: dict[str, Any] | None = None,
    complete: bool = False,
    cannot_start: Sequence[Problem] = (),
) -> AuditReport:
    """Print the report of ``analysis`` on ``out``; raise AuditGateError if the gate fails
    (AuditBrokenError when the entrypoint ``cannot_start``)."""
    table = table if table is not None else load_support_table()
    report = build_report(analysis, table, source=source, image=image, cannot_start=cannot_start)
    if trace is not None:
        report = replace(report, trace=trace)
    if complete:
        report = replace(report, complete=complete_bound(analysis, table, report))
    out.write(render(report, fmt))
    out.flush()
    check_gate(replace(report, verdict=gate_verdict(report)), fail_on)
    return report


def run_audit(
    unpacked: UnpackedImage,
    spec: RunSpec,
    ctx: Context,
    *,
    out: TextIO,
    fmt: str = "text",
    fail_on: str = "never",
    source: str = "",
    trace: bool = False,
    trace_seconds: float = 10.0,
    table: SupportTable | None = None,
    complete: bool = False,
) -> AuditReport:
    """`dock2uni audit SOURCE`: analyse, optionally trace, report, gate."""
    from dock2uni.activity import activity
    from dock2uni.analyse import analyse

    with activity(ctx, f"analysing {spec.exec_path or 'the entrypoint'}"):
        analysis = analyse(unpacked, spec, ctx)
    cannot_start = problems(unpacked.tree, spec, analysis)
    trace_data: dict[str, Any] | None = None
    if trace and not cannot_start:  # nothing to trace: the entrypoint cannot start
        from dock2uni.audit.trace import trace_entrypoint

        trace_data = trace_entrypoint(
            unpacked.tree, unpacked.store, spec, analysis, ctx, seconds=trace_seconds
        ).to_dict()
    image = {
        "reference": unpacked.image.reference,
        "manifest_digest": unpacked.image.manifest_digest,
        "platform": str(unpacked.image.platform),
    }
    return audit_command(
        analysis,
        out=out,
        fmt=fmt,
        fail_on=fail_on,
        source=source or unpacked.image.source,
        image=image,
        table=table,
        trace=trace_data,
        complete=complete,
        cannot_start=cannot_start,
    )


def exit_code_for(report: AuditReport, fail_on: str) -> int:
    """The exit code ``--fail-on`` gives for ``report`` (0 or 20)."""
    return exit_code(report, fail_on)
