"""Shared test policy: markers, the skip-or-fail rule for real infrastructure, contexts.

A test that needs something the machine may lack (QEMU, the Docker daemon, the registry,
root, strace, a host tool it compares against) calls ``need(kind, reason)``: it skips
locally, but fails when the kind's DOCK2UNI_REQUIRE_<KIND> variable, or
DOCK2UNI_REQUIRE_ALL, is 1 (CI sets them), so CI never hides a broken tier. This is the
only way to skip: ``tests/unit/test_skips.py`` fails on any other skip in the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dock2uni.context import Context, Limits

REPO = Path(__file__).resolve().parent.parent

REQUIRE_ALL = "DOCK2UNI_REQUIRE_ALL"
REQUIRE_VARS = {
    "docker": "DOCK2UNI_REQUIRE_DOCKER",  # a private dockerd (tests/infra/dockerd.py)
    "registry": "DOCK2UNI_REQUIRE_REGISTRY",  # docker-registry, skopeo, umoci
    "boot": "DOCK2UNI_REQUIRE_BOOT",  # QEMU and a built library OS
    "trace": "DOCK2UNI_REQUIRE_TRACE",  # strace under root in fresh namespaces (can_trace)
    "strace": "DOCK2UNI_REQUIRE_STRACE",  # strace alone, unprivileged
    "root": "DOCK2UNI_REQUIRE_ROOT",  # a native run as root (the Linux side of a guest case)
    "chroot": "DOCK2UNI_REQUIRE_CHROOT",  # native chroot(8) comparisons, which need root
    "hosttool": "DOCK2UNI_REQUIRE_HOSTTOOL",  # a host program a test compares against
    "kvmhost": "DOCK2UNI_REQUIRE_KVMHOST",  # what this host's /dev/kvm does (see below)
}
# Kinds that name a property of the host no setup can install: whether /dev/kvm exists,
# and whether it runs programs or fails as on issue 8's paravirtual host. Each such test
# has a twin that runs on the other kind of host (tests/boot/test_accel.py), so
# DOCK2UNI_REQUIRE_ALL does not turn them into failures; only their own variable does.
HOST_KINDS = frozenset({"kvmhost"})


def need(kind: str, reason: str) -> None:
    """Skip for something missing, or fail if DOCK2UNI_REQUIRE_<KIND> or _ALL is 1."""
    var = REQUIRE_VARS[kind]
    for required in (var,) if kind in HOST_KINDS else (var, REQUIRE_ALL):
        if os.environ.get(required) == "1":
            pytest.fail(f"{reason} (and {required}=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A private dock2uni cache for one test."""
    path = tmp_path / "cache"
    path.mkdir()
    return path


@pytest.fixture
def ctx(cache_dir: Path) -> Context:
    """A quiet Context with a private cache and default limits."""
    return Context(cache_dir=cache_dir, limits=Limits(), quiet=True)


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Volumes made by the tests' runs (an image's VOLUME gets an anonymous one, as under
    Docker) go to a directory of the session, never the user's ~/.local/share/dock2uni;
    subprocesses (`dock2uni run`, the runtime under dockerd) inherit it. Tests that look
    at a data directory set DOCK2UNI_DATA themselves."""
    path = tmp_path_factory.mktemp("dock2uni-data")
    os.environ["DOCK2UNI_DATA"] = str(path)
    return path
