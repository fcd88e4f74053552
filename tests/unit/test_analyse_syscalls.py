"""Syscall identification on small programs compiled here: sites, wrappers, reachability."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dock2uni.analyse import analyse_paths
from dock2uni.analyse.model import Analysis
from dock2uni.context import Context
from tests.conftest import need
from tests.imagetree import compile_c, image_with

VARIANTS = ["pie", "exec", "static", "static-pie"] + (["musl"] if shutil.which("musl-gcc") else [])
PROGRAMS = [
    "hello",
    "direct_syscall",
    "inline_asm",
    "never_called",
    "fnptr",
    "features",
    "stack_number",
]
EXPECTED = {
    "direct_syscall": {"personality", "getcpu", "sched_yield"},
    "inline_asm": {"getppid", "getpgrp"},
    "stack_number": {"getppid", "getpgrp"},
    "never_called": {"getpgrp"},
    "fnptr": {"sync"},
    "hello": {"exit_group"},
    "features": {"socket", "rt_sigaction"},
}
_STRACE = re.compile(r"^(?:\d+\s+)?([a-z_][a-z0-9_]*)\(", re.M)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every test program in every variant."""
    out = tmp_path_factory.mktemp("progs")
    return {(n, v): compile_c(n, v, out) for n in PROGRAMS for v in VARIANTS}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One analysis cache shared by the module (libc is summarised once)."""
    return tmp_path_factory.mktemp("cache")


_MEMO: dict[tuple[Path, Path], Analysis] = {}


def analyse_program(path: Path, tmp: Path, cache: Path) -> Analysis:
    """The analysis of one compiled program in an image of its own (memoised per cache)."""
    key = (path, cache)
    if key not in _MEMO:
        img = image_with({f"/app/{path.name}": path}, tmp / f"store-{path.name}")
        ctx = Context(cache_dir=cache, quiet=True)
        _MEMO[key] = analyse_paths(img.tree, img.store, [(f"/app/{path.name}", "main")], ctx)
    return _MEMO[key]


def traced(path: Path, tmp: Path) -> set[str]:
    """Syscalls the program really makes, natively, under strace (its own execve excluded)."""
    log = tmp / f"{path.name}.strace"
    subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), str(path)], capture_output=True, check=False
    )
    names = _STRACE.findall(log.read_text())
    return set(names[1:]) - {"restart_syscall"}  # names[0] is the launcher's execve


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("program", PROGRAMS)
def test_expected_syscalls_are_found(
    built: dict[tuple[str, str], Path], cache: Path, tmp_path: Path, program: str, variant: str
) -> None:
    """The syscalls each program is written to make are in its static set."""
    analysis = analyse_program(built[(program, variant)], tmp_path, cache)
    names = set(analysis.syscall_names())
    assert EXPECTED[program] <= names, EXPECTED[program] - names
    assert not analysis.errors


@pytest.mark.parametrize("variant", VARIANTS)
def test_function_never_called_is_not_reported(
    built: dict[tuple[str, str], Path], cache: Path, tmp_path: Path, variant: str
) -> None:
    """acct() sits in a function nothing calls: it is not in the set, the called one is."""
    analysis = analyse_program(built[("never_called", variant)], tmp_path, cache)
    names = set(analysis.syscall_names())
    assert "getpgrp" in names
    assert "acct" not in names


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("program", PROGRAMS)
def test_recall_against_strace(
    built: dict[tuple[str, str], Path], cache: Path, tmp_path: Path, program: str, variant: str
) -> None:
    """Every syscall the program makes when run is in the static set."""
    if shutil.which("strace") is None:
        need("strace", "strace is not installed")
    exe = built[(program, variant)]
    observed = traced(exe, tmp_path)
    static = set(analyse_program(exe, tmp_path, cache).syscall_names())
    assert observed, "strace saw nothing"
    assert observed <= static, f"missed: {sorted(observed - static)}"


def test_callers_name_the_function_and_the_program(
    built: dict[tuple[str, str], Path], cache: Path, tmp_path: Path
) -> None:
    """syscall(SYS_personality) is attributed to main, through libc's syscall wrapper."""
    analysis = analyse_program(built[("direct_syscall", "pie")], tmp_path, cache)
    use = analysis.by_name()["personality"]
    assert any(
        c.binary.endswith("direct_syscall-pie") and c.function == "main" for c in use.callers
    )


def test_dynamic_program_reaches_only_part_of_libc(
    built: dict[tuple[str, str], Path], cache: Path, tmp_path: Path
) -> None:
    """libc.so.6 contains ~290 syscall numbers; hello reaches far fewer of them."""
    analysis = analyse_program(built[("hello", "pie")], tmp_path, cache)
    names = set(analysis.syscall_names())
    assert len(names) < 80
    assert not {"reboot", "kexec_load", "init_module", "swapon", "pivot_root"} & names


def test_second_audit_comes_from_the_cache(
    built: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    """A second analysis of the same files is served by the per-digest cache: counted (nothing
    built or parsed again), not timed; the warm audit's time is bench/audit_time.py's."""
    exe = built[("features", "pie")]
    img = image_with({"/app/features": exe}, tmp_path / "store")
    ctx = Context(cache_dir=tmp_path / "c", quiet=True)
    cold = analyse_paths(img.tree, img.store, [("/app/features", "main")], ctx)
    warm = analyse_paths(img.tree, img.store, [("/app/features", "main")], ctx)
    assert warm.syscall_names() == cold.syscall_names()
    assert warm.timings["code_built"] == 0 and warm.timings["code_cached"] >= 3
    assert warm.timings["facts_parsed"] == 0


def test_process_model_of_features(
    built: dict[tuple[str, str], Path], cache: Path, tmp_path: Path
) -> None:
    """fork, threads, signals and the AF_INET6 socket of features.c are all seen."""
    for variant in ("pie", "static"):
        p = analyse_program(built[("features", variant)], tmp_path, cache).process
        assert p.forks and p.threads and p.signals
        assert "AF_INET6" in p.socket_families
    hello = analyse_program(built[("hello", "static")], tmp_path, cache).process
    assert not hello.forks and not hello.threads
