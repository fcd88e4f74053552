"""Shared test policy: markers, the skip-or-fail rule for real infrastructure, contexts.

A test that needs QEMU, the Docker daemon or the registry calls ``need(...)`` when
the tool is missing: it skips locally, but fails when the matching
DOCK2UNI_REQUIRE_* variable is 1 (CI sets them), so CI never hides a broken tier.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dock2uni.context import Context, Limits

REPO = Path(__file__).resolve().parent.parent

REQUIRE_VARS = {
    "docker": "DOCK2UNI_REQUIRE_DOCKER",
    "registry": "DOCK2UNI_REQUIRE_REGISTRY",
    "boot": "DOCK2UNI_REQUIRE_BOOT",
}


def need(kind: str, reason: str) -> None:
    """Skip for a missing tool, or fail if DOCK2UNI_REQUIRE_<KIND>=1."""
    var = REQUIRE_VARS[kind]
    if os.environ.get(var) == "1":
        pytest.fail(f"{reason} (and {var}=1 makes this a failure)", pytrace=False)
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
