"""`dock2uni run`'s container options (runargs.py): parsing as `docker run` parses them,
the kernel command-line words they become (docs/console-protocol.md), and the options
refused with an error naming them (exit 2, before the image is even looked at)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from dock2uni.run import RunOptions, kernel_cmdline
from dock2uni.runargs import (
    RunUsageError,
    check_name,
    check_tmpfs,
    check_user,
    check_workdir,
    container_env,
    read_env_file,
    refuse,
)


def words(options: RunOptions) -> dict[str, list[bytes]]:
    """The d2u.* words of the kernel command line, base64 values decoded and split."""
    out: dict[str, list[bytes]] = {}
    for word in kernel_cmdline(options).split():
        key, _, value = word.partition("=")
        if key in ("d2u.cmd", "d2u.env", "d2u.entrypoint", "d2u.workdir", "d2u.user", "d2u.tmpfs"):
            raw = base64.b64decode(value)
            out[key] = raw.split(b"\0") if raw else []
    return out


def test_words_for_each_option() -> None:
    got = words(
        RunOptions(
            cmd=("hi",),
            entrypoint=("/bin/echo",),
            workdir="/etc",
            user="nobody:mail",
            tmpfs=("/run", "/var/cache"),
            read_only=True,
        )
    )
    assert got == {
        "d2u.cmd": [b"hi"],
        "d2u.entrypoint": [b"/bin/echo"],
        "d2u.workdir": [b"/etc"],
        "d2u.user": [b"nobody:mail"],
        "d2u.tmpfs": [b"/run", b"/var/cache"],
    }


def test_no_words_without_the_options_and_an_empty_entrypoint_resets() -> None:
    assert words(RunOptions()) == {}
    assert "d2u.readonly" not in kernel_cmdline(RunOptions())
    assert " d2u.readonly=1" in kernel_cmdline(RunOptions(read_only=True))
    assert words(RunOptions(entrypoint=())) == {"d2u.entrypoint": []}
    assert "d2u.entrypoint= " in kernel_cmdline(RunOptions(entrypoint=())) + " "


def test_env_file_as_docker_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_text('# comment\n\n   A=1\nB="q"\nC=\nHOSTVAR\nMISSING\nD=x=y\n')
    host = {"HOSTVAR": "from host"}
    assert read_env_file(str(path), host) == ["A=1", 'B="q"', "C=", "HOSTVAR=from host", "D=x=y"]


def test_flags_come_after_env_files_so_they_win(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_text("A=file\nB=file\n")
    got = container_env(["A=flag", "HOSTVAR", "GONE"], [str(path)], {"HOSTVAR": "h"})
    assert got == ("A=file", "B=file", "A=flag", "HOSTVAR=h")


@pytest.mark.parametrize(
    ("line", "says"),
    [("=x", "expected KEY=VALUE"), ("A B=1", "contains whitespaces")],
)
def test_bad_env_lines(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "env"
    path.write_text(line + "\n")
    with pytest.raises(RunUsageError, match=says) as info:
        read_env_file(str(path), {})
    assert info.value.option == "--env-file"


def test_env_file_missing_or_not_text(tmp_path: Path) -> None:
    with pytest.raises(RunUsageError, match="cannot read"):
        read_env_file(str(tmp_path / "none"), {})
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(RunUsageError, match="not UTF-8"):
        read_env_file(str(tmp_path / "bin"), {})


def test_workdir() -> None:
    assert check_workdir(None) is None
    assert check_workdir("/srv//app/") == "/srv/app"
    with pytest.raises(RunUsageError, match="needs to be an absolute path"):
        check_workdir("app")


@pytest.mark.parametrize(
    "text", ["0", "65534:65534", "nobody", "nobody:mail", "www-data", "1000:g"]
)
def test_user_forms_accepted(text: str) -> None:
    assert check_user(text) == text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "expected USER"),
        (":0", "expected USER"),
        ("0:", "expected USER"),
        ("4294967295", "out of range"),
        ("1:99999999999", "out of range"),
        ("a b", "not a valid name"),
        ("x:y:z", "not a valid name"),
    ],
)
def test_user_forms_refused(text: str, says: str) -> None:
    with pytest.raises(RunUsageError, match=says):
        check_user(text)


def test_tmpfs() -> None:
    assert check_tmpfs(["/run/", "/var//cache"]) == ("/run", "/var/cache")
    for bad, says in [
        ("run", "absolute"),
        ("/run:size=64m", "mount options"),
        ("/", "cannot be a tmpfs"),
        ("/proc/x", "cannot be a tmpfs"),
    ]:
        with pytest.raises(RunUsageError, match=says):
            check_tmpfs([bad])


def test_name() -> None:
    check_name(None)
    check_name("web-1.a_b")
    for bad in ("-x", "a", "a b", "ä1"):
        with pytest.raises(RunUsageError, match="invalid container name"):
            check_name(bad)


def test_refusals_name_the_option() -> None:
    refuse(False)
    with pytest.raises(RunUsageError) as info:
        refuse(True)
    assert info.value.option == "--detach"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-v", "/tmp:/proc"], "the library OS provides /proc itself"),
        (["-v", "/tmp:/data:z"], "SELinux relabelling does not apply"),
        (["--mount", "type=bind,src=rel,dst=/b"], "is not an absolute path"),
        (["-v", "/a:/data", "--tmpfs", "/data"], "Duplicate mount point: /data"),
        (["-d"], "detached containers are not supported"),
        (["-w", "rel"], "needs to be an absolute path"),
        (["-u", "a b"], "not a valid name"),
        (["--tmpfs", "/run:size=1m"], "mount options"),
        (["--name", "-x"], "invalid container name"),
        (["--env-file", "/nonexistent/env"], "cannot read"),
        (["--privileged"], "No such option: --privileged"),
    ],
)
def test_cli_refuses_with_exit_2_before_looking_at_the_image(args: list[str], says: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dock2uni", "run", "/nonexistent.uni", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("dock2uni: error: ") and says in proc.stderr
