"""Skips go only through tests/conftest.py:need(), so CI's DOCK2UNI_REQUIRE_* see every one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_ALL, REQUIRE_VARS, need

TESTS = Path(__file__).resolve().parent.parent
SKIPPERS = {"skip", "skipif", "importorskip", "xfail"}  # pytest.<name>, pytest.mark.<name>


def _skips_outside_need(path: Path) -> list[str]:
    """Every pytest skip/skipif/importorskip/xfail in ``path`` not inside conftest's need()."""
    tree = ast.parse(path.read_text(), str(path))
    allowed: set[int] = set()
    if path == TESTS / "conftest.py":
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "need":
                allowed |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):  # pytest.skip.Exception names the exception, it skips nothing
        if isinstance(node, ast.Attribute) and node.attr == "Exception":
            allowed.add(id(node.value))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SKIPPERS and id(node) not in allowed:
            found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.ImportFrom) and node.module == "pytest":
            found += [
                f"{path.relative_to(TESTS.parent)}:{node.lineno}: from pytest import {a.name}"
                for a in node.names
                if a.name in SKIPPERS
            ]
    return found


def _need_kinds(path: Path) -> list[tuple[str, int, object]]:
    """(file, line, first argument) of every need(...) call in ``path``."""
    calls: list[tuple[str, int, object]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "need"
        ):
            first = node.args[0] if node.args else None
            value = first.value if isinstance(first, ast.Constant) else ast.dump(first or node)
            calls.append((str(path.relative_to(TESTS.parent)), node.lineno, value))
    return calls


def test_no_skip_outside_need() -> None:
    """A scan of every test file: skips, skipifs, importorskips and xfails only inside need()."""
    found = [hit for path in sorted(TESTS.rglob("*.py")) for hit in _skips_outside_need(path)]
    assert not found, "skip through tests/conftest.py:need(kind, reason):\n" + "\n".join(found)


def test_every_need_names_a_known_kind() -> None:
    """need()'s kind is a literal with a DOCK2UNI_REQUIRE_<KIND> variable, so CI can require it."""
    calls = [c for path in sorted(TESTS.rglob("*.py")) for c in _need_kinds(path)]
    assert len(calls) >= 10  # the scan sees the suite's need() calls at all
    bad = [c for c in calls if c[2] not in REQUIRE_VARS]
    assert not bad, f"need() with an unknown or computed kind: {bad}"
    assert all(v == f"DOCK2UNI_REQUIRE_{k.upper()}" for k, v in REQUIRE_VARS.items())


def test_the_scan_catches_a_hidden_skip(tmp_path: Path) -> None:
    """The scanner itself: a plain pytest.skip and a skipif marker are both reported."""
    hidden = TESTS / "unit" / f"_scan_probe_{tmp_path.name}.py"
    hidden.write_text(
        "import pytest\n"
        "@pytest.mark.skipif(True, reason='x')\n"
        "def test_a() -> None:\n    pytest.skip('y')\n"
    )
    try:
        assert len(_skips_outside_need(hidden)) == 2
    finally:
        hidden.unlink()


def test_ci_requires_every_kind() -> None:
    """.ci/run sets DOCK2UNI_REQUIRE_ALL=1 (and the three historical variables)."""
    ci = (TESTS.parent / ".ci" / "run").read_text()
    assert f"{REQUIRE_ALL}=1" in ci
    for kind in ("docker", "registry", "boot"):
        assert f"{REQUIRE_VARS[kind]}=1" in ci


@pytest.mark.parametrize("variable", ["DOCK2UNI_REQUIRE_TRACE", REQUIRE_ALL])
def test_need_fails_when_required(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """need('trace', ...) is a failure, not a skip, under its own variable or _ALL."""
    for var in (*REQUIRE_VARS.values(), REQUIRE_ALL):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(variable, "1")
    with pytest.raises(pytest.fail.Exception, match=variable):
        need("trace", "no strace here")
    monkeypatch.delenv(variable)
    with pytest.raises(pytest.skip.Exception):
        need("trace", "no strace here")
