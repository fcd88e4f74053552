"""The QEMU stderr matcher (qemu_stderr.py) on QEMU's real fatal messages, and the accel request."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dock2uni.accel import AccelUsageError, requested
from dock2uni.qemu_stderr import EXIT_ACCEL, fatal_cause, fatal_in, match_fatal

# As issue 8 quotes it, from a host whose KVM fails at the kernel's FPU set-up.
ISSUE_TEXT = """KVM internal error. Suberror: 1
...
emulation failure
RIP=ffffffff80107430 ... CPL=0
Code=... db e3 <0f> ae 55 dc 31 c0 b9 00 01 00 c0 ...
"""

# What QEMU 7.2 prints on this project's CI host: at start (-cpu max) and with no /dev/kvm.
MSR_TEXT = (
    "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n"
    "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: "
    "Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n"
)
NO_KVM_TEXT = (
    "Could not access KVM kernel module: No such file or directory\n"
    "qemu-system-x86_64: -accel kvm: failed to initialize kvm: No such file or directory\n"
)


def test_issue_text_is_fatal_at_its_first_line() -> None:
    assert fatal_in(ISSUE_TEXT) == ("KVM internal error", "KVM internal error. Suberror: 1")
    assert match_fatal("emulation failure") == "KVM emulation failure"
    for harmless in ("RIP=ffffffff80107430 ... CPL=0", "...", "Code=... db e3 <0f> ae 55 dc"):
        assert match_fatal(harmless) is None


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        (MSR_TEXT, "KVM refused a model-specific register"),
        (NO_KVM_TEXT, "KVM is not accessible"),
        ("error: kvm run failed Bad address\n", "KVM could not run the virtual CPU"),
        ("KVM: entry failed, hardware error 0x80000021\n", "KVM entry failed"),
    ],
)
def test_other_fatal_messages(text: str, meaning: str) -> None:
    found = fatal_in(text)
    assert found is not None and found[0] == meaning


@pytest.mark.parametrize(
    "line",
    [
        "qemu-system-x86_64: warning: host doesn't support requested feature: "
        "CPUID.01H:ECX.pni [bit 0]",
        "qemu-system-x86_64: terminating on signal 15 from pid 18636 (timeout)",
        "qemu: module ui-ui-gtk not found, do you want to install qemu-system-gui package?",
        "qemu-system-x86_64: cannot set up guest memory 'microvm.ram': Cannot allocate memory",
    ],
)
def test_ordinary_qemu_lines_are_not_fatal(line: str) -> None:
    assert match_fatal(line) is None


def test_cause_is_one_line_with_a_tcg_hint() -> None:
    found = fatal_in(ISSUE_TEXT)
    assert found is not None
    cause, hint = fatal_cause(found, "kvm")
    assert "\n" not in cause and "KVM internal error. Suberror: 1" in cause
    assert "--accel tcg" in hint
    assert EXIT_ACCEL not in (0, 1, 2, 124, 125, 126, 127)


def test_flag_wins_over_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCK2UNI_ACCEL", "kvm")
    assert requested("tcg") == ("tcg", "--accel")
    assert requested(None) == ("kvm", "DOCK2UNI_ACCEL")
    monkeypatch.delenv("DOCK2UNI_ACCEL")
    assert requested(None) == ("auto", "the default")


def test_invalid_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCK2UNI_ACCEL", "hvf")
    with pytest.raises(AccelUsageError) as info:
        requested(None)
    assert info.value.source == "DOCK2UNI_ACCEL"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--accel", "xen"], {}, "--accel"),
        ([], {"DOCK2UNI_ACCEL": "fast"}, "DOCK2UNI_ACCEL"),
    ],
)
def test_invalid_accel_is_a_usage_error(args: list[str], env: dict[str, str], named: str) -> None:
    """Exit 2 before anything else happens (the image need not even exist)."""
    proc = subprocess.run(
        [sys.executable, "-m", "dock2uni", "run", "/nonexistent.uni", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and "auto, kvm, tcg" in proc.stderr
