"""dock2uni-runtime's command line without an engine: hostile config.json values are refused
with `dock2uni-runtime: error:` (and an error line in --log, which the shim quotes) before
anything is converted or started; runc's answers for unknown ids, signals and commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dock2uni.runtime.lifecycle import parse_signal
from dock2uni.runtime.spec import BindVolume, host_memory, parse

RUNTIME = [sys.executable, "-m", "dock2uni.runtime.cli"]


def _config(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": {
            "args": ["hello"],
            "env": ["PATH=/bin"],
            "cwd": "/",
            "user": {"uid": 0, "gid": 0},
        },
        "root": {"path": "rootfs"},
        "hostname": "h",
        "linux": {"namespaces": [{"type": "network"}]},
    }
    for key, value in changes.items():
        target = doc
        *parents, last = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return doc


def _bind(dest: str, source: str, *options: str) -> dict[str, Any]:
    return {"destination": dest, "type": "bind", "source": source,
            "options": ["rbind", "rprivate", *options]}  # fmt: skip


def _runtime(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RUNTIME, "--root", str(tmp_path / "state"), "--log", str(tmp_path / "log.json"),
         "--log-format", "json", "--cache-dir", str(tmp_path / "cache"), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _create(tmp_path: Path, doc: dict[str, Any] | str) -> subprocess.CompletedProcess[str]:
    bundle = tmp_path / "bundle"
    bundle.mkdir(exist_ok=True)
    (bundle / "rootfs").mkdir(exist_ok=True)
    text = doc if isinstance(doc, str) else json.dumps(doc)
    (bundle / "config.json").write_text(text)
    return _runtime(
        tmp_path, "create", "--bundle", str(bundle), "--pid-file", str(bundle / "pid"), "c1"
    )


HOSTILE = [
    ({"process.args": []}, "process.args is empty"),
    ({"process.args": [""]}, "process.args is empty"),
    ({"process.args": "hello"}, "process.args must be a list of strings"),
    ({"process": None}, "process is missing"),
    ({"process.cwd": "relative/dir"}, "process.cwd 'relative/dir' is not an absolute path"),
    ({"process.cwd": "/../../etc"}, "process.cwd '/../../etc' contains '..'"),
    ({"process.env": ["NOEQUALS"]}, "process.env[0] 'NOEQUALS' is not KEY=VALUE"),
    ({"process.user.uid": -1}, "process.user.uid is -1"),
    ({"process.user.uid": "0"}, "process.user.uid must be an integer"),
    ({"process.user.additionalGids": 5}, "additionalGids must be a list of integers"),
    ({"process.user.additionalGids": [0, -1]}, "additionalGids[1] is -1"),
    ({"process.user.additionalGids": list(range(65))}, "has 65 groups, more than 64"),
    ({"process.terminal": "yes"}, "process.terminal must be true or false"),
    ({"root.path": "../../../etc"}, "root.path '../../../etc' escapes the bundle"),
    ({"root.path": "missing"}, "does not exist or is not a directory"),
    ({"root": None}, "root is missing"),
    ({"root.readonly": "yes"}, "root.readonly must be true or false"),
    ({"linux.resources": {"memory": {"limit": 1024}}}, "guest RAM must be between 16 MiB"),
    ({"linux.resources": {"memory": {"limit": 1 << 60}}}, "guest RAM must be between 16 MiB"),
    ({"linux.resources": {"memory": {"limit": "1g"}}}, "memory.limit must be an integer"),
    ({"mounts": [{"destination": "data", "type": "bind", "source": "/tmp"}]},
     "'data' is not an absolute path"),
    ({"mounts": [{"destination": "/a/../../x", "type": "bind", "source": "/"}]}, "contains '..'"),
    ({"mounts": [_bind("/data", "tmp")]}, "mounts[0].source 'tmp' is not an absolute path"),
    ({"mounts": [_bind("/data", "/tmp/../etc")]}, "mounts[0].source '/tmp/../etc' contains '..'"),
    ({"mounts": [_bind("/data", "/nonexistent-d2u")]}, "/nonexistent-d2u does not exist"),
    ({"mounts": [_bind("/data", "/etc/passwd")]}, "a single file cannot be shared"),
    ({"mounts": [_bind("/data", "/tmp", "rshared")]}, "option 'rshared' is not supported"),
    ({"mounts": [_bind("/", "/tmp")]}, "/ cannot be a mount point of the unikernel"),
    ({"mounts": [_bind("/proc/x", "/tmp")]}, "/proc/x cannot be a mount point"),
    ({"mounts": [_bind("/d", "/tmp"), _bind("/d/", "/var")]}, "/d is mounted twice"),
    ({"mounts": [{"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                  "options": ["nosuid", "size=65536k"]}]}, "option 'size=65536k' is not supported"),
    ({"mounts": [_bind(f"/v{i}", "/tmp") for i in range(9)]},
     "9 bind mounts are more than the 8 volumes"),
    ({"mounts": [{"destination": "/n", "type": "nfs", "source": "h:/x"}]},
     "nfs mount on /n is not supported"),
    ({"hostname": "a b"}, "hostname 'a b' is not a host name"),
    ({"hooks": {"prestart": [{"path": "relative"}]}}, "hooks.prestart[0].path 'relative'"),
    ({"process.terminal": True}, "no --console-socket was given"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_config_is_refused(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    proc = _create(tmp_path, _config(**changes))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("dock2uni-runtime: error: "), proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    last = json.loads((tmp_path / "log.json").read_text().splitlines()[-1])
    assert last["level"] == "error" and message in last["msg"]
    # Nothing was created: no state, no pid file.
    assert not (tmp_path / "state" / "c1").exists()
    assert not (tmp_path / "bundle" / "pid").exists()


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '"x"'])
def test_config_that_is_not_an_object(tmp_path: Path, text: str) -> None:
    proc = _create(tmp_path, text)
    assert proc.returncode == 1
    assert "config.json" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_fields_are_ignored_as_the_spec_requires(tmp_path: Path) -> None:
    """config.md: readers MUST ignore unknown properties; the error comes from the empty
    rootfs (no program), not from the extra fields."""
    doc = _config(**{"x-unknown": {"deep": [1]}, "process.x-unknown": 1, "linux.seccomp": {}})
    proc = _create(tmp_path, doc)
    assert proc.returncode == 1
    assert 'exec: "hello": executable file not found in $PATH' in proc.stderr


def test_missing_config(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = _runtime(tmp_path, "create", "--bundle", str(tmp_path / "empty"), "c1")
    assert proc.returncode == 1 and "config.json does not exist" in proc.stderr


@pytest.mark.parametrize("command", [["state", "nope"], ["start", "nope"], ["kill", "nope", "9"],
                                     ["delete", "nope"], ["ps", "nope"]])  # fmt: skip
def test_unknown_container_does_not_exist(tmp_path: Path, command: list[str]) -> None:
    proc = _runtime(tmp_path, *command)
    assert proc.returncode == 1
    assert "container nope does not exist" in proc.stderr  # the shim matches "does not exist"


def test_delete_force_of_unknown_container_succeeds(tmp_path: Path) -> None:
    assert _runtime(tmp_path, "delete", "--force", "nope").returncode == 0


@pytest.mark.parametrize("bad_id", ["../x", "a/b", ".", ".."])
def test_hostile_ids_are_refused(tmp_path: Path, bad_id: str) -> None:
    proc = _runtime(tmp_path, "state", bad_id)
    assert proc.returncode == 1 and "invalid container id" in proc.stderr


@pytest.mark.parametrize("command", ["exec", "pause", "resume", "update", "checkpoint", "events"])
def test_unsupported_commands_are_refused_clearly(tmp_path: Path, command: str) -> None:
    proc = _runtime(tmp_path, command, "--some-flag", "c1")
    assert proc.returncode == 1
    assert f"dock2uni-runtime: error: {command} is not supported" in proc.stderr


def test_features_and_version(tmp_path: Path) -> None:
    features = json.loads(
        subprocess.run([*RUNTIME, "features"], capture_output=True, text=True, check=True).stdout
    )
    assert features["ociVersionMin"] <= features["ociVersionMax"]
    assert "prestart" in features["hooks"]
    version = subprocess.run([*RUNTIME, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("dock2uni-runtime version ") and "spec: " in version.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = _runtime(tmp_path, "create")
    assert proc.returncode == 2 and proc.stderr.startswith("dock2uni-runtime: error:")


SIGNALS = [("9", 9), ("KILL", 9), ("SIGTERM", 15), ("sigquit", 3), ("28", 28), ("WINCH", 28)]


@pytest.mark.parametrize(("text", "number"), SIGNALS)
def test_signal_forms(text: str, number: int) -> None:
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["0", "65", "SIGNOPE", "-9", ""])
def test_bad_signals(text: str) -> None:
    with pytest.raises(Exception, match="invalid signal"):
        parse_signal(text)


def test_memory_bound_is_the_host() -> None:
    assert host_memory() > 16 << 20


def test_additional_gids_become_the_supplementary_groups(tmp_path: Path) -> None:
    """Docker lists the primary gid first in process.user.additionalGids; the guest gets
    exactly that list, and without it the gid alone."""
    from dock2uni.runtime.spec import parse

    (tmp_path / "rootfs").mkdir()
    doc = _config(**{"process.user": {"uid": 65534, "gid": 65534, "additionalGids": [65534, 4]}})
    assert parse(tmp_path, doc).groups == (65534, 4)
    assert parse(tmp_path, _config()).groups == ()


def test_bind_tmpfs_and_readonly_root_become_volumes_and_kernel_words(tmp_path: Path) -> None:
    """What `docker run -v HOST:/data:ro --tmpfs /scratch --read-only` writes in config.json."""
    (tmp_path / "rootfs").mkdir()
    host = tmp_path / "host"
    host.mkdir()
    doc = _config(
        mounts=[
            {"destination": "/proc", "type": "proc", "source": "proc"},
            _bind("/data", str(host), "ro"),
            _bind("/var/lib/x", str(host)),
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
             "options": ["rw", "nosuid", "nodev", "noexec", "relatime"]},
        ],
        **{"root.readonly": True},
    )  # fmt: skip
    cs = parse(tmp_path, doc)
    assert cs.volumes == (
        BindVolume(source=str(host), destination="/data", readonly=True),
        BindVolume(source=str(host), destination="/var/lib/x", readonly=False),
    )
    assert (cs.tmpfs, cs.readonly, cs.ignored_mounts) == (("/scratch",), True, ("/proc",))
