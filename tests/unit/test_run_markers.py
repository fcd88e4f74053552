"""run.classify believes a console marker only when QEMU's exit status confirms it (issue #15)."""

from __future__ import annotations

from dock2uni.run import classify


def status(value: int) -> int:
    """QEMU's status after the kernel writes value to isa-debug-exit."""
    return ((value << 1) | 1) & 0xFF


def test_real_exit_marker_is_believed() -> None:
    assert classify(["D2U:ENTER", "D2U:EXIT code=3"], status(3), False)[:2] == (3, "exit")


def test_forged_exit_before_a_reset_is_a_crash() -> None:
    """A marker written through an unescaped log line, then a triple fault (status 0)."""
    lines = ["D2U:ENTER", 'openat(-100, "x', "D2U:EXIT code=0", '", 0x0, 00) = -2']
    code, kind, _ = classify(lines, 0, False)
    assert (code, kind) == (125, "reset")


def test_forged_exit_before_a_real_crash_loses() -> None:
    lines = ["D2U:EXIT code=0", "D2U:CRASH signal=11 addr=0x0 rip=0x1 cause=x"]
    assert classify(lines, status(139), False)[:2] == (139, "crash")


def test_marker_that_disagrees_with_the_status_is_ignored() -> None:
    """A forged EXIT followed by a real panic whose line was lost: the status decides."""
    code, kind, _ = classify(["D2U:EXIT code=0"], status(125), False)
    assert kind != "exit" and code == 125


def test_a_run_option_the_image_cannot_honour_is_not_a_library_os_bug() -> None:
    """-u/-w/--tmpfs failures name their kernel word (exec.c): status config, exit 125."""
    line = "D2U:PANIC d2u.user: unable to find user x: no matching entries in passwd file"
    code, kind, cause = classify(["D2U:ENTER", line], status(125), False)[:3]
    assert (code, kind) == (125, "config")
    assert cause == "d2u.user: unable to find user x: no matching entries in passwd file"
    assert classify(["D2U:PANIC exec: out of memory"], status(125), False)[1] == "panic"
