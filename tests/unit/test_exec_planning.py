"""What an entrypoint that can exec makes the plan link: the commands of its shell text are
analysed too, or every family is linked with the reason (analyse/commands.py, exec_cover.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dock2uni.analyse import analyse
from dock2uni.analyse.commands import entrypoint_commands
from dock2uni.analyse.exec_cover import unseen_programs_reason
from dock2uni.audit.report import build_report
from dock2uni.context import Context
from dock2uni.runspec import run_spec
from dock2uni.support import load_support_table
from tests.imagetree import HostImage, compile_c, image_with, unpacked_from

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hello (cannot exec) and runner (execv of its arguments), static: the execve site is
    in the program itself."""
    out = tmp_path_factory.mktemp("progs")
    return {
        "hello": compile_c("hello", "static", out),
        "runner": compile_c("runner", "static", out),
    }


def image(tmp: Path, programs: dict[str, Path], files: dict[str, bytes]) -> HostImage:
    """/bin/sh is a runner (a shell can exec); /usr/bin/hello and /usr/bin/runner."""
    img = image_with(
        {"/usr/bin/hello": programs["hello"], "/usr/bin/runner": programs["runner"]}, tmp / "store"
    )
    img.add_bytes("/bin/sh", programs["runner"].read_bytes())
    for path, data in files.items():
        img.add_bytes(path, data)
    return img


def reason_for(
    tmp: Path, programs: dict[str, Path], files: dict[str, bytes], config: dict[str, object]
) -> tuple[str | None, tuple[str, ...]]:
    img = image(tmp, programs, files)
    unpacked = unpacked_from(img, {"Env": [PATH], **config})
    spec = run_spec(unpacked)
    analysis = analyse(unpacked, spec, Context(cache_dir=tmp / "cache", quiet=True))
    return unseen_programs_reason(analysis, spec, img.tree, img.store), analysis.programs


def test_script_commands_are_parsed(tmp_path: Path, programs: dict[str, Path]) -> None:
    """Assignments, redirections, wrappers, find -exec, builtins and functions are read as a
    shell would; "$@" is the Cmd; $-words are only known at run time."""
    text = (
        "#!/bin/sh\nset -e\nsetup() { echo hi; }\nsetup\nFOO=1 hello --x >/dev/null 2>&1\n"
        'if [ -n "$X" ]; then nohup -- runner a; fi\nfind /etc -name x -exec hello {} \\;\n'
        'for f in /d/*.sh; do "$f"; done\nexec gosu app "$@"\n'
    )
    img = image(tmp_path, programs, {"/entry.sh": text.encode()})
    spec = run_spec(unpacked_from(img, {"Env": [PATH], "Entrypoint": ["/entry.sh"], "Cmd": ["x"]}))
    cmds = entrypoint_commands(img.tree, img.store, spec)
    assert cmds is not None
    assert cmds.programs == ["/usr/bin/hello", "/usr/bin/runner"]
    assert cmds.dynamic == ['"$f"'] and cmds.runs_cmd


def test_covered_script_keeps_the_analysed_families(
    tmp_path: Path, programs: dict[str, Path]
) -> None:
    """A script whose commands are all named, none of them exec'ing: its programs are analysed
    and nothing unseen can run."""
    files = {"/entry.sh": b'#!/bin/sh\nhello\nexec "$@"\n'}
    config = {"Entrypoint": ["/entry.sh"], "Cmd": ["hello"]}
    reason, analysed = reason_for(tmp_path, programs, files, config)
    assert reason is None
    assert analysed == ("/bin/sh", "/usr/bin/hello")


def test_script_running_a_program_that_execs(tmp_path: Path, programs: dict[str, Path]) -> None:
    """runner, which the script names, can exec what it was given: every family."""
    files = {"/entry.sh": b"#!/bin/sh\nrunner /usr/bin/hello\n"}
    reason, analysed = reason_for(tmp_path, programs, files, {"Entrypoint": ["/entry.sh"]})
    assert "/usr/bin/runner" in analysed
    assert reason == (
        "/usr/bin/runner, which the entrypoint runs, can execute other programs (execve)"
    )


def test_script_with_run_time_commands(tmp_path: Path, programs: dict[str, Path]) -> None:
    """The official images' loop over /docker-entrypoint.d: the commands are not in the text."""
    files = {"/entry.sh": b'#!/bin/sh\nfor f in /docker-entrypoint.d/*.sh; do "$f"; done\n'}
    reason, _ = reason_for(tmp_path, programs, files, {"Entrypoint": ["/entry.sh"]})
    assert reason == 'the entrypoint\'s shell runs commands named only at run time ("$f")'


def test_elf_that_execs(tmp_path: Path, programs: dict[str, Path]) -> None:
    """A program that can exec, not a shell text: what it runs cannot be named."""
    reason, _ = reason_for(tmp_path, programs, {}, {"Cmd": ["/usr/bin/runner", "/usr/bin/hello"]})
    assert reason == (
        "/usr/bin/runner can execute other programs (execve) that the analysis cannot name"
    )


def test_program_that_cannot_exec(tmp_path: Path, programs: dict[str, Path]) -> None:
    reason, _ = reason_for(tmp_path, programs, {}, {"Cmd": ["/usr/bin/hello"]})
    assert reason is None


def test_exec_is_no_warning_once_supported(tmp_path: Path, programs: dict[str, Path]) -> None:
    """execve is in the table: the exec finding is a note, which leaves the verdict alone;
    fork follows the table too."""
    img = image(tmp_path, programs, {})
    unpacked = unpacked_from(img, {"Env": [PATH], "Cmd": ["/usr/bin/runner"]})
    spec = run_spec(unpacked)
    analysis = analyse(unpacked, spec, Context(cache_dir=tmp_path / "cache", quiet=True))
    table = load_support_table()
    report = build_report(analysis, table)
    exec_finding = next(f for f in report.findings if f.id == "exec")
    assert exec_finding.severity == "note"
    assert "the program can execute other programs (execve)" not in report.reasons
    fork_supported = any(n in table.by_name() for n in ("fork", "vfork"))
    for f in report.findings:
        if f.id == "fork":
            assert f.severity == ("note" if fork_supported else "warning")
