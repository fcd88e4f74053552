"""`dock2uni run -v/--mount` end to end: the guest reads and writes host directories through
the kernel's 9p client, compared with `docker run` of the same image on a private dockerd
(stdout, the guest's error messages and the exit code), and the data is on the host after
the run: bind mounts rw and :ro (EROFS, host file unchanged), a named volume filled from
the image and kept across runs, the anonymous volume of an image VOLUME (--rm removes
it), a non-root -u user writing where the image let it and refused where it did not,
rename, fsync and a large file, and redis's dump surviving a restart of the unikernel.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.volstore import VolumeStore
from tests.infra.dockerd import Dockerd
from tests.volimage import busybox_with, data_layer, dockerd_with

pytestmark = pytest.mark.boot
TAG = "d2u/voldata:latest"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {"Volumes": {"/data": {}}}
    return busybox_with(tmp_path_factory.mktemp("vol") / "layout", data_layer(), config)


@pytest.fixture(scope="module")
def uni(layout: Path, boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("voluni") / "data.uni"
    convert_image(f"oci:{layout}:latest", out, AcquireOptions(), boot_ctx)
    return out


@pytest.fixture(scope="module")
def dockerd(layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    with dockerd_with(layout, TAG, tmp_path_factory.mktemp("save")) as daemon:
        yield daemon


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """dock2uni's data directory for one test (DOCK2UNI_DATA)."""
    return tmp_path / "d2u"


def d2u_run(
    image: Path, accel: str, data: Path, options: list[str], args: list[str]
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dock2uni", "run", "--accel", accel, *options, str(image)]
    env = {**os.environ, "DOCK2UNI_DATA": str(data)}
    return subprocess.run(
        [*argv, "--", *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )


def docker_run(
    dockerd: Dockerd, options: list[str], args: list[str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", *options, TAG, *args],
        env=dockerd.env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def guest_stderr(text: str) -> str:
    """The program's stderr: without dock2uni's own lines (library OS log, notes)."""
    return "".join(line for line in text.splitlines(True) if not line.startswith("dock2uni:"))


def same_as_docker(
    dockerd: Dockerd, uni: Path, accel: str, data: Path, options: list[str], args: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run both; stdout, the program's stderr and the exit code must match Docker's."""
    theirs = docker_run(dockerd, options, args)  # with --rm
    ours = d2u_run(uni, accel, data, ["--rm", *options], args)
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode), (
        f"dock2uni stderr:\n{ours.stderr}\ndocker stderr:\n{theirs.stderr}"
    )
    assert guest_stderr(ours.stderr) == theirs.stderr
    return ours


def host_dir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "h.txt").write_text("from the host\n")
    return path


def test_bind_rw_reads_and_writes_the_host_directory(
    dockerd: Dockerd, uni: Path, accel: str, data: Path, tmp_path: Path
) -> None:
    script = (
        "cat /h/h.txt; echo guest > /h/g.txt; mkdir /h/d; echo x > /h/d/f; mv /h/d/f /h/d/g;"
        " ln -s g.txt /h/l; rm /h/h.txt; ls /h /h/d; stat -c '%n %a %u %g %s' /h/g.txt /h/d"
    )
    for side in ("docker-side", "dock2uni-side"):
        host = host_dir(tmp_path, side)
        if side == "docker-side":
            got = docker_run(dockerd, ["-v", f"{host}:/h"], ["sh", "-c", script])
            expected = got
        else:
            got = d2u_run(uni, accel, data, ["-v", f"{host}:/h"], ["sh", "-c", script])
            assert (got.stdout, got.returncode) == (expected.stdout, 0), got.stderr
        # On the host afterwards: what the guest wrote, renamed and removed.
        assert (host / "g.txt").read_text() == "guest\n"
        assert (host / "d" / "g").read_text() == "x\n" and not (host / "d" / "f").exists()
        assert os.readlink(host / "l") == "g.txt" and not (host / "h.txt").exists()
        assert (host / "g.txt").stat().st_uid == os.geteuid()  # root's, as the guest's


def test_bind_read_only_refuses_writes_with_erofs(
    dockerd: Dockerd, uni: Path, accel: str, data: Path, tmp_path: Path
) -> None:
    host = host_dir(tmp_path, "ro")
    script = (
        "cat /h/h.txt; echo x > /h/h.txt; echo $?; touch /h/new; echo $?; mkdir /h/d;"
        " echo $?; rm /h/h.txt; echo $?; mv /h/h.txt /h/m; echo $?; cat /h/h.txt"
    )
    same_as_docker(dockerd, uni, accel, data, ["-v", f"{host}:/h:ro"], ["sh", "-c", script])
    same_as_docker(
        dockerd, uni, accel, data,
        ["--mount", f"type=bind,src={host},dst=/h,readonly"], ["sh", "-c", "echo y > /h/y"],
    )  # fmt: skip
    assert os.listdir(host) == ["h.txt"] and (host / "h.txt").read_text() == "from the host\n"


def test_a_named_volume_is_filled_from_the_image_and_kept_across_runs(
    dockerd: Dockerd, uni: Path, accel: str, data: Path
) -> None:
    look = "stat -c '%n %a %u %g' /data /data/hello.txt /data/sub; cat /data/hello.txt"
    same_as_docker(dockerd, uni, accel, data, ["-v", "kept:/data"], ["sh", "-c", look])
    write = ["sh", "-c", "echo persisted > /data/p; echo more >> /data/hello.txt"]
    same_as_docker(dockerd, uni, accel, data, ["-v", "kept:/data"], write)
    read = ["sh", "-c", "cat /data/p /data/hello.txt"]
    got = same_as_docker(dockerd, uni, accel, data, ["-v", "kept:/data"], read)
    assert got.stdout == "persisted\nhello from the image\nmore\n"
    volume = VolumeStore(data).path("kept")
    assert (volume / "p").read_text() == "persisted\n"


def test_the_image_volume_gets_an_anonymous_volume(
    dockerd: Dockerd, uni: Path, accel: str, data: Path
) -> None:
    look = ["sh", "-c", "stat -c '%n %a %u %g' /data /data/hello.txt; echo new > /data/new"]
    same_as_docker(dockerd, uni, accel, data, [], look)  # --rm: Docker removes it too
    store = VolumeStore(data)
    assert store.list() == []
    kept = d2u_run(uni, accel, data, [], look)  # without --rm it stays, as Docker's does
    assert kept.returncode == 0, kept.stderr
    (info,) = store.list()
    assert info.anonymous and len(info.name) == 64
    assert (info.mountpoint / "new").read_text() == "new\n"
    # A -v on the same path replaces it: no anonymous volume then.
    assert d2u_run(uni, accel, data, ["-v", "other:/data"], ["true"]).returncode == 0
    assert sorted(i.name for i in store.list()) == sorted([info.name, "other"])


def test_rm_removes_the_anonymous_volumes_it_made(uni: Path, accel: str, data: Path) -> None:
    got = d2u_run(uni, accel, data, ["--rm", "-v", "/scratch"], ["sh", "-c", "ls /data"])
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["abs", "hard", "hello.txt", "link", "setuid", "sub"]
    assert VolumeStore(data).list() == []


def test_a_non_root_user_writes_where_the_image_let_it(
    dockerd: Dockerd, uni: Path, accel: str, data: Path, tmp_path: Path
) -> None:
    """/data is user's (1000) in the image, so in a new volume; a root-owned 0755 host
    directory refuses user with EACCES, as Linux refuses it under Docker."""
    host = host_dir(tmp_path, "rootowned")
    script = (
        "id; echo mine > /data/mine; stat -c '%n %a %u %g' /data/mine; cat /data/sub/deep;"
        " echo $?; echo x > /h/x; echo $?; cat /h/h.txt"
    )
    options = ["-u", "user", "-v", "users:/data", "-v", f"{host}:/h"]
    same_as_docker(dockerd, uni, accel, data, options, ["sh", "-c", script])
    mine = VolumeStore(data).path("users") / "mine"
    assert (mine.stat().st_uid, mine.stat().st_gid) == (1000, 1000)
    assert not (host / "x").exists()


def test_fsync_rename_and_a_large_file(uni: Path, accel: str, data: Path, tmp_path: Path) -> None:
    host = host_dir(tmp_path, "big")
    script = (
        "dd if=/dev/urandom of=/h/big.tmp bs=65536 count=96 2>/dev/null &&"
        " mv /h/big.tmp /h/big && sync && md5sum /h/big"
    )
    got = d2u_run(uni, accel, data, ["-v", f"{host}:/h"], ["sh", "-c", script])
    assert got.returncode == 0, got.stderr
    digest = hashlib.md5((host / "big").read_bytes(), usedforsecurity=False).hexdigest()
    assert got.stdout == f"{digest}  /h/big\n" and (host / "big").stat().st_size == 96 * 65536
    assert not (host / "big.tmp").exists()


def test_a_missing_destination_parent_is_made_and_a_bad_one_fails_the_boot(
    uni: Path, accel: str, data: Path, tmp_path: Path
) -> None:
    host = host_dir(tmp_path, "deep")
    got = d2u_run(uni, accel, data, ["-v", f"{host}:/a/b/c"], ["cat", "/a/b/c/h.txt"])
    assert (got.stdout, got.returncode) == ("from the host\n", 0), got.stderr
    bad = d2u_run(uni, accel, data, ["-v", f"{host}:/bin/busybox/x"], ["true"])
    assert bad.returncode == 125 and "d2u.vol" in bad.stderr and "/bin/busybox/x" in bad.stderr


# ---------------------------------------------------------------- redis


def _resp(port: int, *args: str) -> bytes:
    """One command over RESP; the raw reply (b"" when the server closed: SHUTDOWN)."""
    msg = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(msg)
        return s.recv(65536)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_uni(boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("redis") / "redis.uni"
    convert_image(f"oci:{fixture_layout('redis')}:latest", out, AcquireOptions(), boot_ctx)
    return out


def _start_redis(
    image: Path, accel: str, data: Path, host: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    argv = [sys.executable, "-m", "dock2uni", "run", "--accel", accel,
            "-p", f"127.0.0.1:{port}:6379", "-v", f"{host}:/data", str(image), "--",
            "redis-server", "--dir", "/data", "--save", "", "--appendonly", "no",
            "--protected-mode", "no"]  # fmt: skip
    env = {**os.environ, "DOCK2UNI_DATA": str(data)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if _resp(port, "PING") == b"+PONG\r\n":
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    out = proc.communicate()[0].decode(errors="replace")
    pytest.fail(f"redis did not answer PING:\n{out[-3000:]}")


def test_redis_dump_survives_a_restart_with_the_same_volume(
    redis_uni: Path, accel: str, data: Path, tmp_path: Path
) -> None:
    host = tmp_path / "redis-data"
    host.mkdir()
    proc, port = _start_redis(redis_uni, accel, data, host)
    try:
        assert _resp(port, "SET", "survivor", "still here") == b"+OK\r\n"
        _resp(port, "SHUTDOWN", "SAVE")  # saves /data/dump.rdb, then exits 0
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert (host / "dump.rdb").read_bytes().startswith(b"REDIS")
    proc, port = _start_redis(redis_uni, accel, data, host)
    try:
        assert _resp(port, "GET", "survivor") == b"$10\r\nstill here\r\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.communicate()


def test_library_callers_leave_no_anonymous_volume(boot: Any, uni: Path, data: Path) -> None:
    """RunOptions removes the anonymous volumes it made unless told to keep them (the CLI
    keeps them without --rm, as Docker)."""
    done = boot(uni, ("sh", "-c", "cat /data/hello.txt"), data_dir=data)
    assert done.stdout == b"hello from the image\n", done.describe()
    assert VolumeStore(data).list() == []
    kept = boot(uni, ("true",), data_dir=data, remove_anonymous=False)
    assert kept.result.exit_code == 0 and len(VolumeStore(data).list()) == 1
