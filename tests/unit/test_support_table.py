"""The syscall support table (shims/*/*.def) is consistent with Linux and with the C build."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dock2uni import paths
from dock2uni.support import DefSyntaxError, load_support_table, parse_def
from dock2uni.syscalls import linux_table
from tests.conftest import need


def test_every_def_line_parses_without_duplicates() -> None:
    """All families load; no syscall number appears twice (the loader rejects that)."""
    table = load_support_table()
    assert table.families, "no shims/<family>/<family>.def found"
    nrs = [e.nr for e in table.entries]
    assert len(nrs) == len(set(nrs))


def test_numbers_and_names_agree_with_linux_x86_64() -> None:
    """Every entry's number has exactly that name in asm/unistd_64.h."""
    linux = linux_table()
    for e in load_support_table().entries:
        assert linux.get(e.nr) == e.name, f"{e.source}: {e.nr} is {linux.get(e.nr)!r}, not {e.name}"


def test_every_non_full_entry_has_a_note() -> None:
    """PARTIAL, STUB and ERR entries say what is missing or returned."""
    for e in load_support_table().entries:
        if e.level != "FULL":
            assert e.note.strip(), f"{e.source}: {e.level} entry {e.name} needs a note"


def test_entries_are_in_number_order_within_each_family() -> None:
    """One entry per line, in syscall-number order, as docs/shims.md says."""
    for path in sorted(paths.SHIMS.glob("*/*.def")):
        entries, _ = parse_def(path.read_text(), family=path.parent.name, filename=str(path))
        nrs = [e.nr for e in entries]
        assert nrs == sorted(nrs), path


@pytest.mark.parametrize(
    "line",
    [
        'SHIM(1, write, MAYBE, sys_write, "")',
        'SHIM(1 write FULL sys_write "")',
        'SHIM_ERR(165, mount, 42, "x")',
        "int x = 1;",
        'SHIM(1, write, FULL, sys_write, "") trailing',
    ],
)
def test_the_parser_rejects_what_it_does_not_understand(line: str) -> None:
    """A line the grammar does not accept is an error, never skipped."""
    with pytest.raises(DefSyntaxError):
        parse_def(f"/* t.def: test */\n{line}\n", family="t", filename="t.def")


def test_every_handler_is_defined_in_the_built_archive() -> None:
    """Each FULL/PARTIAL/STUB handler named in a .def is a defined symbol of shims.a."""
    archive = paths.LIBOS_BUILD / "shims.a"
    if not archive.exists() or shutil.which("nm") is None:
        need("boot", "shims.a is not built (make libos) or nm is missing")
    out = subprocess.run(
        ["nm", "--defined-only", str(archive)], capture_output=True, text=True, check=True
    ).stdout
    defined = {line.split()[-1] for line in out.splitlines() if len(line.split()) == 3}
    for e in load_support_table().entries:
        if e.handler:
            assert e.handler in defined, f"{e.source}: handler {e.handler} is not defined"
    for fam in load_support_table().families:
        assert f"shim_family_{fam}" in defined


def test_unknown_family_file_names_are_refused(tmp_path: Path) -> None:
    """A table must be named after its directory (shims/fs/fs.def)."""
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "other.def").write_text("/* x */\n")
    with pytest.raises(DefSyntaxError):
        load_support_table(tmp_path)


def test_docs_support_matrix_is_current() -> None:
    """docs/support-matrix.md equals what `make support-matrix` generates from the .def files."""
    from dock2uni.audit import render_support_matrix

    doc = paths.REPO / "docs" / "support-matrix.md"
    assert doc.read_text() == render_support_matrix(load_support_table(), "markdown"), (
        "docs/support-matrix.md is stale: run `make support-matrix`"
    )


def test_audit_lines_say_how_callers_use_a_failing_call() -> None:
    """rseq (glibc falls back) carries an audit line; rt_sigreturn, a real shim now, needs
    none; a malformed audit line is an error, not a silently skipped comment."""
    from dock2uni.support import parse_audit_notes

    notes = load_support_table().audit_notes
    assert notes["rseq"].kind == "fallback" and "glibc" in notes["rseq"].reason
    assert "rt_sigreturn" not in notes
    assert load_support_table().by_name()["rt_sigreturn"].level == "FULL"
    with pytest.raises(DefSyntaxError):
        parse_audit_notes('/* audit: rseq sometimes "x" */', filename="t.def")


def test_container_audit_lines_sit_on_calls_docker_refuses_with_eperm() -> None:
    """A `container` audit line marks a call Docker's default seccomp profile (or a missing
    capability) refuses: the entry fails with Docker's EPERM. Every audit line names a call
    that fails here (an audit line on a working call would say nothing)."""
    table = load_support_table()
    by_name = table.by_name()
    container = {n for n, note in table.audit_notes.items() if note.kind == "container"}
    assert {
        "mount",
        "umount2",
        "reboot",
        "init_module",
        "clock_settime",
        "sethostname",
    } <= container
    assert {"setns", "unshare", "keyctl", "add_key", "swapon", "pivot_root", "syslog"} <= container
    for name in container:
        assert by_name[name].level == "ERR" and by_name[name].errno == "EPERM", name
    for name, note in table.audit_notes.items():
        assert name not in by_name or by_name[name].level == "ERR", (name, note.source)
    # chroot is allowed in Docker (CAP_SYS_CHROOT is a default capability): a real shim.
    assert by_name["chroot"].level == "PARTIAL" and "chroot" not in table.audit_notes


def test_container_audit_line_makes_the_call_partial_with_its_reason() -> None:
    """The audit counts a container-refused call as partial, saying why."""
    from dock2uni.analyse.model import Analysis, Caller, SyscallUse
    from dock2uni.audit import build_report

    table = load_support_table()
    mount = table.by_name()["mount"]
    caller = Caller(binary="busybox", function="sub_1", via_dlopen=False)
    use = SyscallUse(nr=mount.nr, name="mount", callers=(caller,))
    analysis = Analysis(argv=("/bin/sh",), exec_path="/bin/sh", exec_kind="elf", syscalls=(use,))
    report = build_report(analysis, table)
    (status,) = [s for s in report.syscalls if s.name == "mount"]
    assert status.status == "partial"
    assert "a Docker container refuses it too" in status.note and "EPERM" in status.note


def test_event_family_is_linked_only_for_its_syscalls() -> None:
    """eventfd, timerfd and signalfd calls bring in the event family; other programs do not."""
    table = load_support_table()
    for name in ("eventfd", "eventfd2", "timerfd_create", "timerfd_settime", "signalfd4"):
        assert "event" in table.families_for(["read", name]), name
    assert "event" not in table.families_for(["read", "write", "poll", "rt_sigprocmask"])


def test_net_family_is_linked_only_for_socket_calls() -> None:
    """A program that calls any socket syscall gets the net family; others do not."""
    table = load_support_table()
    for name in ("socket", "socketpair", "accept4", "recvmmsg", "sendmmsg", "getsockopt"):
        assert "net" in table.families_for(["read", name]), name
    assert "net" not in table.families_for(["read", "write", "poll", "epoll_wait", "sendfile"])
    levels = {e.name: e.level for e in table.entries if e.family == "net"}
    assert len(levels) == 18 and all(lv in ("FULL", "PARTIAL") for lv in levels.values())
