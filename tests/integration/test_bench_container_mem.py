"""docker-daemon: bench/container_mem.py measures what a container charges (a command, a server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench import container_mem
from bench.peers import docker
from fixtures.build import fixture_layout

from tests.conftest import need

MIB = 1 << 20


@pytest.fixture(scope="module")
def peer() -> Iterator[docker.DockerPeer]:
    if (why := docker.unavailable_reason()) is not None:
        need("docker", why)
    with docker.docker() as daemon:
        yield daemon


def _leftover_cgroups() -> list[Path]:
    return list(container_mem.CGROUP_ROOT.glob("**/d2u-bench-mem-*"))


def test_a_command_that_allocates_is_charged_for_it(peer: docker.DockerPeer) -> None:
    tag = peer.load(fixture_layout("python"), "d2u-test/python:latest")
    touch = "b = bytearray({n} << 20); print(len(b))"
    small = container_mem.peak_memory(peer, tag, ("python3", "-c", touch.format(n=1)), None)
    large = container_mem.peak_memory(peer, tag, ("python3", "-c", touch.format(n=96)), None)
    # bytearray() zero-fills, so all 96 MiB are touched; the rest is the interpreter and runc.
    assert large - small + 2 * MIB >= 96 * MIB, (small, large)
    assert large < small + 128 * MIB, (small, large)
    assert not _leftover_cgroups()


def test_a_failing_command_is_an_error(peer: docker.DockerPeer) -> None:
    tag = peer.load(fixture_layout("python"), "d2u-test/python:latest")
    with pytest.raises(RuntimeError, match="exit 3"):
        container_mem.peak_memory(peer, tag, ("python3", "-c", "raise SystemExit(3)"), None)
    assert not _leftover_cgroups()


def test_a_server_is_measured_once_it_answers_its_probe(peer: docker.DockerPeer) -> None:
    tag = peer.load(fixture_layout("nginx"), "d2u-test/nginx:latest")
    used = container_mem.peak_memory(peer, tag, None, "http://:80/")
    assert 0 < used < 256 * MIB
    assert not _leftover_cgroups()
    names = container_mem.docker_cli(peer, "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert not [n for n in names if n.startswith("d2u-bench-mem-")], names
