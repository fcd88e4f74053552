"""--trace: strace log attribution, materialising a tree, and a traced run vs the static set."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dock2uni.analyse import analyse
from dock2uni.audit.materialise import materialise
from dock2uni.audit.trace import can_trace, compare, parse_strace, trace_entrypoint
from dock2uni.context import Context
from dock2uni.runspec import run_spec
from tests.conftest import need
from tests.imagetree import HostImage, compile_c, image_with, unpacked_from

LOG = """\
100 unshare(CLONE_NEWNS) = 0
100 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = 101
101 execve("/usr/bin/mount", ["mount"], 0x7ff /* 3 vars */) = 0
101 mount("proc", "/r/proc", "proc", 0, NULL) = 0
101 +++ exited with 0 +++
100 chroot("/r") = 0
100 execve("/bin/prog", ["prog"], 0x7ff /* 1 var */) = 0
100 brk(NULL) = 0x55d2
100 clone3({flags=CLONE_VM|CLONE_THREAD, ...} <unfinished ...>
102 set_robust_list(0x7f, 24) = 0
100 <... clone3 resumed>, 88) = 102
102 futex(0x7f, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>
100 restart_syscall(<... resuming interrupted read ...>) = 0
102 <... futex resumed>) = 0
100 exit_group(0) = ?
"""


def test_strace_log_attribution() -> None:
    """Only the program's calls count: not the launcher's, the mount child's, or its execve."""
    counts = parse_strace(LOG.splitlines())
    assert set(counts) == {"brk", "clone3", "set_robust_list", "futex", "exit_group"}
    assert counts["futex"] == 2  # the call and its resumption are one name each line


NS_LOG = """\
200 clone(child_stack=NULL, flags=SIGCHLD) = 201
201 clone(child_stack=NULL, flags=SIGCHLD) = 1 /* 202 in strace's PID NS */
202 chroot("/r") = 0
202 execve("/bin/prog", ["prog"], 0x7ff /* 1 var */) = 0
202 clone(child_stack=NULL, flags=SIGCHLD) = 3 /* 204 in strace's PID NS */
204 getppid() = 2
202 wait4(-1, NULL, 0, NULL) = 3
"""


def test_strace_log_attribution_across_the_pid_namespace() -> None:
    """Forks inside the PID namespace are followed by strace's translated pid, not the inner one."""
    counts = parse_strace(NS_LOG.splitlines())
    assert counts == {"clone": 1, "getppid": 1, "wait4": 1}


def test_compare_reports_misses_loudly() -> None:
    """Observed-but-not-predicted syscalls are listed; recall and ratio are computed."""
    outcome = compare({"read": 3, "write": 1, "inotify_init1": 1}, ["read", "write", "close"])
    assert outcome.missed == ["inotify_init1"]
    assert outcome.recall == round(2 / 3, 4) and outcome.ratio == 1.0


def test_materialise_keeps_links_and_never_follows_them(tmp_path: Path) -> None:
    """Symlinks are written verbatim (even escaping ones), files copied, setuid bits dropped."""
    img = HostImage(tmp_path / "store")
    img.add_bytes("/bin/tool", b"#!/bin/sh\n", 0o4755)
    img.add_symlink("/bin/escape", "/../../../etc/shadow")
    img.add_symlink("/lib64", "/lib")
    img.add_bytes("/lib/x", b"x")
    root = materialise(img.tree, img.store, tmp_path / "root")
    assert os.readlink(root / "bin/escape") == "/../../../etc/shadow"
    assert (root / "bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert (root / "bin/tool").stat().st_mode & 0o7777 == 0o755
    assert os.readlink(root / "lib64") == "/lib" and (root / "lib/x").is_file()
    assert (root / "tmp").is_dir() and (root / "proc").is_dir()


@pytest.mark.parametrize("variant", ["static", "pie"])
def test_traced_entrypoint_is_within_the_static_set(tmp_path: Path, variant: str) -> None:
    """A real traced run of the image's entrypoint: every observed syscall was predicted."""
    if (why := can_trace()) is not None:
        need("trace", f"cannot trace here: {why}")
    exe = compile_c("direct_syscall", variant, tmp_path)
    img = image_with({"/usr/bin/prog": exe}, tmp_path / "store")
    unpacked = unpacked_from(img, {"Env": ["PATH=/usr/bin"], "Cmd": ["prog"]})
    spec = run_spec(unpacked)
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    analysis = analyse(unpacked, spec, ctx)
    outcome = trace_entrypoint(unpacked.tree, unpacked.store, spec, analysis, ctx, seconds=20)
    assert outcome.observed, outcome.note
    assert {"personality", "getcpu", "sched_yield"} <= set(outcome.observed)
    assert outcome.missed == [] and outcome.recall == 1.0
    assert "execve" not in outcome.observed and "chroot" not in outcome.observed


def test_trace_is_skipped_cleanly_without_the_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without strace the outcome says why instead of failing."""
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    img = HostImage(tmp_path / "store")
    img.add_bytes("/prog", b"\x7fELF")
    unpacked = unpacked_from(img, {"Cmd": ["/prog"]})
    spec = run_spec(unpacked)
    from dock2uni.analyse.model import Analysis

    outcome = trace_entrypoint(
        unpacked.tree,
        unpacked.store,
        spec,
        Analysis(argv=spec.argv, exec_path="/prog", exec_kind="elf"),
        Context(cache_dir=tmp_path, quiet=True),
    )
    assert outcome.note.startswith("trace skipped") and not outcome.observed
