"""`dock2uni run`'s network options through the real CLI: usage errors (exit 2), a host
port really in use (exit 125 before QEMU starts), `--dry-run`'s exact QEMU command and
kernel command line, `-P` with the nginx fixture's EXPOSE, and the metadata it comes from."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

D2U = [sys.executable, "-m", "dock2uni"]
WORDS = re.compile(r"^epoch=\d+ seed=[0-9a-f]{32} d2u\.stdio=pipes d2u\.hostsig=6 (.*)$")


def d2u(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--cache-dir", str(cache)] if cache is not None else []
    return subprocess.run([*D2U, *args, *extra], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run-net-cache")


@pytest.fixture(scope="module")
def nginx_uni(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Path:
    out = tmp_path_factory.mktemp("nginx") / "nginx.uni"
    proc = d2u("convert", f"oci:{fixture_layout('nginx-serve')}", "-o", str(out), "-q", cache=cache)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def held_port() -> Iterator[int]:
    """A TCP port really in use on the host: a listening socket on every address."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-p", "80/sctp"], "Invalid value for --publish: '80/sctp': protocol 'sctp'"),
        (["-p", "99999:80"], "Invalid value for --publish: '99999:80': ports are 1-65535"),
        (["-p", "[::1]:8080:80"], "IPv4 only"),
        (["--network", "host"], "Invalid value for --network: 'host'"),
        (["--network", "none", "-P"], "without a network"),
        (["--hostname", "no_underscores"], "Invalid value for --hostname"),
        (["--dns", "resolver"], "Invalid value for --dns"),
        (["--add-host", "db"], "Invalid value for --add-host"),
    ],
)
def test_bad_network_options_are_usage_errors(args: list[str], says: str, tmp_path: Path) -> None:
    """Checked before the image is looked at: the image file need not exist."""
    proc = d2u("run", str(tmp_path / "missing.uni"), *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("dock2uni: error: ") and says in lines[0], proc.stderr
    assert lines[1].startswith("dock2uni: hint: see `") and "run --help`" in lines[1]
    assert "Traceback" not in proc.stderr


def test_the_metadata_records_the_exposed_ports(nginx_uni: Path) -> None:
    doc = json.loads(d2u("inspect", str(nginx_uni), "--format", "json").stdout)
    assert doc["exposed_ports"] == ["80/tcp"]
    assert "Ports:       80/tcp" in d2u("inspect", str(nginx_uni)).stdout


def dry_run(uni: Path, *args: str) -> tuple[list[str], list[str], str]:
    """(QEMU argv, the kernel command line's network words, stderr) of `run --dry-run`."""
    proc = d2u("run", str(uni), "--dry-run", "--accel", "tcg", *args)
    assert proc.returncode == 0, proc.stderr
    argv = shlex.split(proc.stdout)
    m = WORDS.match(argv[argv.index("-append") + 1])
    assert m, argv
    return argv, m.group(1).split(), proc.stderr


def test_dry_run_prints_the_exact_qemu_command_with_the_nic(nginx_uni: Path) -> None:
    argv, words, err = dry_run(
        nginx_uni, "-p", "127.0.0.1:18080:80", "-p", "5353:53/udp", "--hostname", "web1",
        "--dns", "9.9.9.9", "--add-host", "db:host-gateway",
    )  # fmt: skip
    assert words == [
        "d2u.net=user",
        "d2u.ip=10.0.2.15/24",
        "d2u.gw=10.0.2.2",
        "d2u.dns=9.9.9.9",
        "d2u.host=db:10.0.2.2",
        "d2u.hostname=web1",
    ]
    # tcp: QEMU listens on a private loopback port, `dock2uni run` on 18080 (forward.py).
    assert re.fullmatch(
        r"user,id=n0,net=10\.0\.2\.0/24,host=10\.0\.2\.2,dns=10\.0\.2\.3,"
        r"hostfwd=tcp:127\.0\.0\.1:\d+-10\.0\.2\.15:80,hostfwd=udp::5353-10\.0\.2\.15:53",
        argv[-5],
    ), argv[-5]
    assert argv[-6:] == [
        "-netdev",
        argv[-5],
        "-device",
        "virtio-net-device,netdev=n0",
        "-global",
        "virtio-mmio.force-legacy=false",
    ]
    assert argv[argv.index("-M") + 1] == "microvm,x-option-roms=off"
    assert argv[argv.index("-kernel") + 1] == str(nginx_uni)
    # --dry-run reports every mapping (a run only those with a host port it chose).
    assert err == "80/tcp -> 127.0.0.1:18080\n53/udp -> 0.0.0.0:5353\n"


def test_no_ports_no_nic(nginx_uni: Path) -> None:
    argv, words, _ = dry_run(nginx_uni)
    assert words[0] == "d2u.net=none" and re.fullmatch(r"d2u\.hostname=[0-9a-f]{12}", words[1])
    assert len(words) == 2
    assert "-netdev" not in argv and not any("virtio-net" in a for a in argv)
    # --network user without ports: a NIC and no forwards (the guest can connect out).
    argv, words, _ = dry_run(nginx_uni, "--network", "user")
    assert words[:4] == [
        "d2u.net=user",
        "d2u.ip=10.0.2.15/24",
        "d2u.gw=10.0.2.2",
        "d2u.dns=10.0.2.3",
    ]
    assert argv[argv.index("-netdev") + 1] == (
        "user,id=n0,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3"
    )


def test_publish_all_publishes_nginx_expose_on_a_free_port(nginx_uni: Path) -> None:
    """-P: port 80 (the image's EXPOSE) on a free host port, printed as `docker port` does."""
    argv, words, err = dry_run(nginx_uni, "-P")
    # Every IPv4 and IPv6 address, as `docker port` shows a port docker publishes.
    m = re.fullmatch(r"80/tcp -> 0\.0\.0\.0:(\d+)\n80/tcp -> \[::\]:(\d+)\n", err)
    assert m and m.group(1) == m.group(2), err
    port = int(m.group(1))
    assert 1024 <= port <= 65535
    netdev = argv[argv.index("-netdev") + 1]
    assert re.search(r",hostfwd=tcp:127\.0\.0\.1:\d+-10\.0\.2\.15:80$", netdev), netdev
    assert words[0] == "d2u.net=user"
    # -p GUEST alone: a free host port too, reported the same way.
    _, _, err = dry_run(nginx_uni, "-p", "8080")
    assert re.fullmatch(r"8080/tcp -> 0\.0\.0\.0:(\d+)\n8080/tcp -> \[::\]:\1\n", err), err


def test_a_host_port_in_use_fails_before_qemu_starts(nginx_uni: Path, held_port: int) -> None:
    proc = d2u("run", str(nginx_uni), "--accel", "tcg", "-p", f"{held_port}:80")
    assert proc.returncode == 125, proc.stderr
    assert proc.stderr.splitlines() == [
        f"dock2uni: error: cannot publish port 80/tcp: host port 0.0.0.0:{held_port}/tcp is "
        "already in use",
        f"dock2uni: hint: Stop what uses that port (`ss -ltnup 'sport = :{held_port}'` shows "
        "it), publish on another host port (-p OTHER:80), or leave the host port out (-p 80) "
        "to get a free one.",
    ]
    assert proc.stdout == ""  # nothing booted: no console output, no library OS log
    # --dry-run checks the ports too.
    proc = d2u("run", str(nginx_uni), "--dry-run", "--accel", "tcg", "-p", f"{held_port}:80")
    assert proc.returncode == 125 and "already in use" in proc.stderr
