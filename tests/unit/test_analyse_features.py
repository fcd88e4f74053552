"""Process-model checks that come from the image: scripts, users, nginx and redis configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dock2uni.analyse import analyse, programs_of
from dock2uni.analyse.features import script_ends_with_exec
from dock2uni.analyse.model import Analysis
from dock2uni.context import Context
from dock2uni.runspec import run_spec
from tests.imagetree import compile_c, image_with, unpacked_from

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dynamic hello program to stand in for real applications."""
    return compile_c("hello", "pie", tmp_path_factory.mktemp("hello"))


def audit(
    tmp: Path,
    files: dict[str, bytes],
    config: dict[str, object],
    hello: Path,
    programs: tuple[str, ...] = ("/usr/bin/hello",),
) -> Analysis:
    img = image_with({p: hello for p in programs}, tmp / "store")
    img.add_bytes("/bin/sh", hello.read_bytes())
    for path, data in files.items():
        img.add_bytes(path, data)
    unpacked = unpacked_from(img, {"Env": [PATH], **config})
    spec = run_spec(unpacked)
    return analyse(unpacked, spec, Context(cache_dir=tmp / "cache", quiet=True))


def ids(analysis: Analysis) -> set[str]:
    return {f.id for f in analysis.process.findings}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('#!/bin/sh\nset -e\nchown app /data\nexec "$@"\n', True),
        ('#!/bin/sh\nexec gosu app "$@"\n# trailing comment\n', True),
        ('#!/bin/sh\nexec "${@}"\n', True),
        ("#!/bin/sh\nhello\n", False),
        ('#!/bin/sh\nexec "$@"\necho after\n', False),
    ],
)
def test_script_exec_detection(text: str, expected: bool) -> None:
    """exec "$@" (or a helper before it) as the last command is recognised."""
    assert script_ends_with_exec(text) is expected


def test_script_entrypoint_with_exec_target(tmp_path: Path, hello: Path) -> None:
    """docker-entrypoint.sh ending in exec "$@": the shell and the Cmd program are analysed."""
    script = b'#!/bin/sh\nset -e\nexec "$@"\n'
    analysis = audit(
        tmp_path,
        {"/usr/local/bin/docker-entrypoint.sh": script},
        {"Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["hello"]},
        hello,
    )
    assert analysis.programs == ("/bin/sh", "/usr/bin/hello")
    finding = next(f for f in analysis.process.findings if f.id == "script-entrypoint")
    assert finding.severity == "note" and "replaces the shell" in finding.message


def test_script_without_exec_is_a_warning(tmp_path: Path, hello: Path) -> None:
    """A script that stays the parent of its commands needs fork and exec."""
    analysis = audit(
        tmp_path, {"/start.sh": b"#!/bin/sh\nhello\nhello\n"}, {"Entrypoint": ["/start.sh"]}, hello
    )
    finding = next(f for f in analysis.process.findings if f.id == "script-entrypoint")
    assert finding.severity == "warning"


def test_shell_form_command_names_its_program(tmp_path: Path, hello: Path) -> None:
    """Cmd as a string (shell form): the first word is analysed as the program it runs."""
    img = image_with({"/usr/bin/hello": hello}, tmp_path / "store")
    img.add_bytes("/bin/sh", hello.read_bytes())
    spec = run_spec(unpacked_from(img, {"Env": [PATH], "Cmd": "exec hello --flag"}))
    assert ("/usr/bin/hello", "exec-target") in programs_of(spec, img.tree, img.store)


def test_non_root_user(tmp_path: Path, hello: Path) -> None:
    """User 1000 is reported (the library OS has no users)."""
    analysis = audit(tmp_path, {}, {"Cmd": ["hello"], "User": "1000"}, hello)
    assert "user" in ids(analysis)


def test_nginx_master_process_and_daemon(tmp_path: Path, hello: Path) -> None:
    """nginx.conf without master_process/daemon off: two warnings; -g turns them off."""
    conf = b"user www-data;\nworker_processes auto;\nevents { worker_connections 768; }\n"
    on = audit(
        tmp_path / "on",
        {"/etc/nginx/nginx.conf": conf},
        {"Cmd": ["nginx"]},
        hello,
        programs=("/usr/sbin/nginx",),
    )
    assert {"nginx-master-process", "nginx-daemon"} <= ids(on)
    off = audit(
        tmp_path / "off",
        {"/etc/nginx/nginx.conf": conf},
        {"Cmd": ["nginx", "-g", "daemon off; master_process off;"]},
        hello,
        programs=("/usr/sbin/nginx",),
    )
    assert not {"nginx-master-process", "nginx-daemon"} & ids(off)


def test_redis_daemonize_and_save(tmp_path: Path, hello: Path) -> None:
    """redis.conf with daemonize yes and default saves: warnings; --save '' clears one."""
    conf = b"daemonize yes\nsave 900 1\nappendonly no\n"
    bad = audit(
        tmp_path / "bad",
        {"/etc/redis/redis.conf": conf},
        {"Cmd": ["redis-server", "/etc/redis/redis.conf"]},
        hello,
        programs=("/usr/bin/redis-server",),
    )
    assert {"redis-daemonize", "redis-save"} <= ids(bad)
    good = audit(
        tmp_path / "good",
        {},
        {"Cmd": ["redis-server", "--save", "", "--appendonly", "no"]},
        hello,
        programs=("/usr/bin/redis-server",),
    )
    assert not {"redis-daemonize", "redis-save", "redis-appendonly"} & ids(good)
