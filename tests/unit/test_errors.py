"""Exit codes are unique, stable and documented in docs/exit-codes.md."""

from __future__ import annotations

import re
from pathlib import Path

from dock2uni import errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md"


def test_exit_codes_are_unique_and_domain_codes_start_at_3() -> None:
    """No two error classes share a code; 0, 1 and 2 are reserved."""
    codes = [cls.exit_code for cls in errors.ALL_ERRORS]
    assert len(codes) == len(set(codes))
    assert all(code >= 3 for code in codes)


def test_every_error_class_is_listed_in_the_docs() -> None:
    """docs/exit-codes.md has one row per class, with the class's code."""
    rows = dict(re.findall(r"^\| (\d+) \| `(\w+)` \|", DOC.read_text(), re.M))
    documented = {name: int(code) for code, name in rows.items()}
    for cls in errors.ALL_ERRORS:
        assert documented.get(cls.__name__) == cls.exit_code, cls.__name__


def test_every_error_class_has_a_hint() -> None:
    """Each class says what to do, not only what happened."""
    for cls in errors.ALL_ERRORS:
        assert cls("x").hint and cls.default_hint != errors.Dock2UniError.default_hint


def test_run_exit_codes_are_documented() -> None:
    """The `dock2uni run` table lists every code run.py can return besides the app's."""
    from dock2uni import run

    section = DOC.read_text().split("## `dock2uni run`", 1)[1]
    rows = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.M)}
    for name in ("EXIT_ACCEL", "EXIT_TIMEOUT", "EXIT_FAILURE", "EXIT_NOEXEC", "EXIT_NOTFOUND"):
        assert getattr(run, name) in rows, name
