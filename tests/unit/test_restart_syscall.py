"""restart_syscall: Linux issues it itself after a signal interrupts a sleep. It is in the
support table, explained by the audit, and never counted as a miss of the static analysis."""

from __future__ import annotations

from pathlib import Path

from dock2uni.analyse import analyse_paths
from dock2uni.audit.trace import parse_strace
from dock2uni.context import Context
from dock2uni.support import load_support_table
from tests.imagetree import compile_c, image_with


def test_restart_syscall_is_in_the_support_table_honestly() -> None:
    """Listed (nr 219) and FULL: a sleep a signal interrupts resumes through it."""
    entry = load_support_table().by_name()["restart_syscall"]
    assert entry.nr == 219
    assert entry.level == "FULL" and entry.family == "signal"


def test_audit_explains_restart_syscall_for_a_program_with_handlers_and_sleeps(
    tmp_path: Path,
) -> None:
    """features.c installs a handler and its libc can sleep: the note says why a trace may
    show restart_syscall although the static set never has it."""
    exe = compile_c("features", "pie", tmp_path)
    img = image_with({"/app/features": exe}, tmp_path / "store")
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    analysis = analyse_paths(img.tree, img.store, [("/app/features", "main")], ctx)
    assert "restart_syscall" not in analysis.syscall_names()
    notes = [f for f in analysis.process.findings if f.id == "restart-syscall"]
    assert notes and notes[0].severity == "note"
    assert "no analysis miss" in notes[0].message


def test_a_trace_with_restart_syscall_has_no_miss_for_it() -> None:
    """strace's restart_syscall line is the kernel's: it is not attributed to the program."""
    log = [
        '100 execve("/bin/prog", ["prog"], 0x7ff /* 1 var */) = 0',
        "100 nanosleep({tv_sec=5, tv_nsec=0},  <unfinished ...>",
        "100 restart_syscall(<... resuming interrupted nanosleep ...>) = 0",
        "100 exit_group(0) = ?",
    ]
    assert "restart_syscall" not in parse_strace(log)
