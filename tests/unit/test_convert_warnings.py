"""convert's line about reachable syscalls the library OS lacks (pipeline.warn_missing):
calls whose failure an audit note says the callers expect are counted, not named; inspect
lists them apart."""

from __future__ import annotations

import io

from dock2uni.context import Context
from dock2uni.convert_report import metadata_text
from dock2uni.pipeline import warn_missing
from dock2uni.support import load_support_table


def _said(missing: tuple[str, ...]) -> str:
    err = io.StringIO()
    warn_missing(missing, load_support_table(), Context(stderr=err))
    return err.getvalue()


def test_expected_failures_are_counted_not_named() -> None:
    table = load_support_table()
    assert "mount" in table.audit_notes and "kexec_file_load" not in table.audit_notes
    assert "kexec_file_load" not in table.by_name()
    said = _said(("kexec_file_load", "mount"))
    assert said.startswith("dock2uni: warning: the program can reach 1 syscall(s)"), said
    assert "(kexec_file_load); 1 more fail as their callers expect;" in said, said
    assert "mount" not in said


def test_only_expected_failures_are_a_note() -> None:
    said = _said(("mount", "keyctl"))
    assert said.startswith("dock2uni: note: 2 syscall(s)"), said
    assert "warning" not in said and "mount" not in said


def test_nothing_missing_says_nothing() -> None:
    assert _said(()) == ""


def test_inspect_lists_expected_failures_apart() -> None:
    """`inspect`'s (and convert's) summary line, from the image's metadata."""
    text = metadata_text({"missing_syscalls": ["kexec_file_load", "mount"]})
    assert text.splitlines()[-1] == (
        "Missing syscalls: kexec_file_load; failing as their callers expect: mount"
    )
    text = metadata_text({"missing_syscalls": ["mount"]})
    assert text.splitlines()[-1] == (
        "Missing syscalls: none unexpected; failing as their callers expect: mount"
    )
