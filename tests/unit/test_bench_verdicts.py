"""Benchmark goals count failed runs, and a sample needs the guest's program to have exited 0."""

from __future__ import annotations

import dataclasses

from bench.qemu import GuestTiming, floor_exit, linux_exit, unikernel_exit
from bench.stats import Samples, verdict


def _timing(output: bytes = b"", log: bytes = b"", status: int | None = 0) -> GuestTiming:
    return GuestTiming(marker=0.1, exit=0.2, enter=None, status=status, output=output, log=log)


def test_one_failed_run_fails_a_goal_the_survivors_meet() -> None:
    """Nine good runs and one failure: "not met", with the count and the first error."""
    samples = Samples(runs=[{"seconds": 0.1}] * 9, errors=["RuntimeError: guest crashed"])
    assert verdict(True, samples).startswith("not met: 1 of 10 runs failed (RuntimeError")
    assert verdict(True, Samples(runs=[{"seconds": 0.1}])) == "met"
    assert verdict(False, Samples(runs=[{"seconds": 0.1}])) == "not met"
    assert verdict(True, Samples(runs=[{}]), samples).startswith("not met")


def test_a_guest_that_crashes_after_its_marker_is_no_sample() -> None:
    """The unikernel's exit is read as `dock2uni run` reads it: only D2U:EXIT code=0 that
    QEMU's status confirms (isa-debug-exit of 0 gives status 1) passes."""
    exited = b"D2U:ENTER\nD2U:EXIT code=0\n"
    assert unikernel_exit(_timing(log=exited, status=1)) is None
    assert unikernel_exit(_timing(log=exited, status=0)) is not None  # a reset after the marker
    crashed = _timing(log=b"D2U:ENTER\nD2U:CRASH signal=11 addr=0x0 rip=0x401000 cause=read\n")
    assert "crash" in (
        unikernel_exit(dataclasses.replace(crashed, status=(139 << 1 | 1) & 0xFF)) or ""
    )
    assert unikernel_exit(_timing(log=b"D2U:ENTER\nD2U:EXIT code=3\n", status=7)) is not None
    assert unikernel_exit(_timing(log=b"D2U:ENTER\n", status=1)) is not None  # no exit line


def test_linux_and_floor_exits_are_checked() -> None:
    """Linux's /init exit code comes from its panic line; the floor's from QEMU's status."""
    ok = b"hello\r\nKernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\r\n"
    assert linux_exit(_timing(output=ok)) is None
    assert linux_exit(_timing(output=ok.replace(b"0x00000000", b"0x00000100"))) is not None
    assert linux_exit(_timing(output=b"hello\r\n")) is not None
    assert floor_exit(_timing(status=1)) is None and floor_exit(_timing(status=0)) is not None
