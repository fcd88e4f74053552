"""How `dock2uni run` words the end of a guest: errno and signal names, a hint per cause."""

from __future__ import annotations

from dock2uni.run import classify, hint_for


def test_execfail_names_the_errno_and_crash_the_signal() -> None:
    """ENOEXEC, not "errno 8"; SIGSEGV next to its number. (QEMU's status is the one the
    kernel's isa-debug-exit write gives, (value << 1) | 1, or the marker is not believed.)"""
    code, status, cause = classify(
        ["D2U:EXECFAIL errno=8 path=/bin/app"], (126 << 1 | 1) & 0xFF, False
    )
    assert (code, status) == (126, "execfail")
    assert cause is not None and "ENOEXEC" in cause and "errno 8" not in cause
    code, status, cause = classify(["D2U:CRASH signal=11 addr=0x0"], (139 << 1 | 1) & 0xFF, False)
    assert code == 139 and cause is not None and "SIGSEGV (signal 11)" in cause


def test_every_failure_status_has_a_hint_and_a_clean_exit_none() -> None:
    """Each way a run can fail gets a hint; the program's own exit code gets none."""
    for status in ("timeout", "crash", "execfail", "panic", "config", "reset", "qemu-error"):
        assert hint_for(status)
    assert hint_for("exit") is None
