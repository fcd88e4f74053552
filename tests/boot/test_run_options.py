"""`dock2uni run`'s container options (-w, -u, --entrypoint, --env-file, --tmpfs) as
`docker run` applies them: the busybox fixture booted through the real CLI, compared
with `docker run` of the same image on a private dockerd (stdout and exit code). The
options a unikernel refuses (-d, bad -v/--mount values) fail before anything boots.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures import dockersave
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from tests.conftest import need
from tests.infra.dockerd import Dockerd, private_dockerd, unavailable_reason

pytestmark = pytest.mark.boot
TAG = "busybox-runopts:latest"


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    reason = unavailable_reason()
    if reason:
        need("docker", reason)
    members = dockersave.docker25_members(fixture_layout("busybox"), "latest", TAG)
    archive = dockersave.write_tar(tmp_path_factory.mktemp("save") / "image.tar", members)
    with private_dockerd() as daemon:
        daemon.docker("load", "-i", str(archive))
        yield daemon


@pytest.fixture(scope="module")
def uni(boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runopts") / "busybox.uni"
    convert_image(f"oci:{fixture_layout('busybox')}:latest", out, AcquireOptions(), boot_ctx)
    return out


def docker_run(dockerd: Dockerd, options: list[str], args: list[str]) -> tuple[str, int]:
    proc = docker_proc(dockerd, options, args)
    return proc.stdout, proc.returncode


def docker_proc(
    dockerd: Dockerd, options: list[str], args: list[str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", *options, TAG, *args],
        env=dockerd.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def d2u_run(
    uni: Path, accel: str, options: list[str], args: list[str]
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dock2uni", "run", str(uni), "--accel", accel, *options]
    if args:
        argv += ["--", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


CASES = {
    "workdir": (["-w", "/etc"], ["pwd"]),
    "workdir-made": (["-w", "/srv/new/dir"], ["sh", "-c", "pwd; ls -ld . | cut -c1-10"]),
    "workdir-relative-program": (["-w", "/bin"], ["./echo", "relative"]),
    "user-ids": (["-u", "65534:65534"], ["sh", "-c", "id -u; id -g; echo $HOME"]),
    "user-id": (["-u", "65534:65534"], ["id"]),
    "user-id-name": (["-u", "nobody"], ["id"]),
    "root-id": ([], ["id"]),
    "user-name": (["-u", "nobody"], ["sh", "-c", "id -un; id -g; echo $HOME"]),
    "user-name-group": (["-u", "nobody:root"], ["sh", "-c", "id -u; id -gn; id"]),
    "user-uid-group-name": (["-u", "0:nogroup"], ["id"]),
    "user-uid-not-in-passwd": (["-u", "4242"], ["sh", "-c", "id -u; id -g; echo $HOME"]),
    "user-env-home-wins": (["-u", "nobody", "-e", "HOME=/x"], ["sh", "-c", "echo $HOME"]),
    "user-cannot-write-root": (["-u", "65534"], ["sh", "-c", "touch /etc/x; echo $?"]),
    "entrypoint": (["--entrypoint", "/bin/echo"], ["hi", "there"]),
    "entrypoint-path-search": (["--entrypoint", "echo"], ["searched"]),
    "entrypoint-no-args": (["--entrypoint", "echo"], []),
    "entrypoint-with-workdir": (["--entrypoint", "pwd", "-w", "/usr"], []),
    "tmpfs": (
        ["--tmpfs", "/etc/apt"],
        ["sh", "-c", "stat -c '%a %U' /etc/apt; ls -A /etc/apt; touch /etc/apt/x && echo ok"],
    ),
    "read-only": (
        ["--read-only"],
        [
            "sh",
            "-c",
            "touch /x; echo $?; mkdir /tmp/d; echo $?; echo a >> /etc/passwd; echo $?; "
            "rm /bin/ls; echo $?; chmod 0 /etc/passwd; echo $?; echo n > /dev/null; echo $?; "
            "echo h >> /etc/hosts; echo $?; touch /dev/shm/s; echo $?; test -w /; echo $?; "
            "head -1 /etc/passwd",
        ],
    ),
    "read-only-tmpfs": (
        ["--read-only", "--tmpfs", "/tmp", "-u", "nobody"],
        [
            "sh",
            "-c",
            "mkdir /tmp/d && touch /tmp/d/f && mv /tmp/d/f /tmp/g && ls /tmp; "
            "mv /tmp/g /g; echo $?; test -w /tmp; echo $?; test -w /etc; echo $?",
        ],
    ),
    "tmpfs-new": (
        ["--tmpfs", "/scratch", "-u", "nobody"],
        ["sh", "-c", "touch /scratch/f; ls /scratch"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_option_as_docker_run(case: str, uni: Path, accel: str, dockerd: Dockerd) -> None:
    options, args = CASES[case]
    want_out, want_code = docker_run(dockerd, options, args)
    assert want_out, "docker run printed nothing"
    got = d2u_run(uni, accel, options, args)
    assert (got.stdout, got.returncode) == (want_out, want_code), got.stderr[-2000:]


def test_env_file_as_docker_run(
    uni: Path, accel: str, dockerd: Dockerd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text(
        '# a comment\n\nA=1\n  B=two words\nC="quoted"\nFROM_HOST\nUNSET_ON_HOST\nD=file\n'
    )
    monkeypatch.setenv("FROM_HOST", "host value")
    monkeypatch.delenv("UNSET_ON_HOST", raising=False)
    options = ["--env-file", str(env_file), "-e", "D=flag"]
    args = ["sh", "-c", 'echo "$A|$B|$C|$FROM_HOST|${UNSET_ON_HOST-unset}|$D"']
    want = docker_run(dockerd, options, args)
    got = d2u_run(uni, accel, options, args)
    assert (got.stdout, got.returncode) == want, got.stderr[-2000:]
    assert got.stdout == '1|two words|"quoted"|host value|unset|flag\n'


def test_unknown_user_fails_as_docker_run(uni: Path, accel: str, dockerd: Dockerd) -> None:
    """Docker refuses the start (its daemon resolves the user); the guest does, exit 125."""
    want = docker_proc(dockerd, ["-u", "nosuchuser"], ["true"])
    got = d2u_run(uni, accel, ["-u", "nosuchuser"], ["true"])
    assert want.returncode != 0
    assert "unable to find user nosuchuser: no matching entries in passwd file" in want.stderr
    assert got.returncode == 125
    assert (
        "dock2uni: error: d2u.user: unable to find user nosuchuser: no matching entries in "
        "passwd file\ndock2uni: hint: Check -u against" in got.stderr
    )


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["-v", "/tmp:/sys/x"], "--volume"),
        (["--volume", "/tmp:data"], "--volume"),
        (["--mount", "type=bind,src=/tmp,dst=/data,bind-propagation=shared"], "--mount"),
        (["-d"], "--detach"),
        (["-w", "relative"], "--workdir"),
        (["-u", "a b"], "--user"),
        (["--tmpfs", "/run:size=1m"], "--tmpfs"),
        (["--name", "-bad"], "--name"),
        (["--env-file", "/nonexistent/env"], "--env-file"),
    ],
)
def test_refusals_name_the_option_and_exit_2(
    uni: Path, accel: str, options: list[str], says: str
) -> None:
    got = d2u_run(uni, accel, options, ["true"])
    assert got.returncode == 2, got.stderr
    assert says in got.stderr
    assert "D2U:" not in got.stderr and got.stdout == ""  # nothing booted


def test_name_rm_and_memory_are_accepted(uni: Path, accel: str) -> None:
    options = ["--debug", "--name", "web-1", "--rm", "--memory", "96m"]
    got = d2u_run(uni, accel, options, ["sh", "-c", "echo ok"])
    assert (got.stdout, got.returncode) == ("ok\n", 0), got.stderr
    assert "container name: web-1" in got.stderr
