"""`dock2uni run SOURCE` as `docker run IMAGE`: converted on first use, cached by digest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni import runsource
from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.uni import read_metadata

pytestmark = pytest.mark.boot


def test_run_of_an_oci_source_converts_once_then_boots(
    tmp_path: Path, accel: str, boot_timeout: float
) -> None:
    """The first run converts (and says so), the second boots the cached image at once."""
    cache = tmp_path / "cache"
    argv = [sys.executable, "-m", "dock2uni", "run", f"oci:{fixture_layout('busybox')}"]
    argv += ["--accel", accel, "--timeout", str(boot_timeout), "--cache-dir", str(cache)]
    argv += ["--", "sh", "-c", "echo $((6*7)); exit 5"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert (first.returncode, first.stdout) == (5, "42\n"), first.stderr
    assert "for its first run" in first.stderr
    cached = list((cache / "run").glob("*.uni"))
    assert len(cached) == 1
    second = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert (second.returncode, second.stdout) == (5, "42\n"), second.stderr
    assert "for its first run" not in second.stderr
    assert list((cache / "run").glob("*.uni")) == cached


def test_a_relative_cache_directory_converts_and_runs(
    tmp_path: Path, accel: str, boot_timeout: float
) -> None:
    """`convert --cache-dir cb` and `run` with DOCK2UNI_CACHE=rc1 work from the directory
    they are given in (both failed with exit 14, "rootfs.S: file not found", before)."""
    env = dict(os.environ)
    env.pop("DOCK2UNI_CACHE", None)
    d2u = [sys.executable, "-m", "dock2uni"]
    source = f"oci:{fixture_layout('busybox')}"
    made = subprocess.run(
        [*d2u, "convert", source, "-o", "bb.uni", "--cache-dir", "cb"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    for image in ("bb.uni", source):
        ran = subprocess.run(
            [*d2u, "run", image, "--accel", accel, "--timeout", str(boot_timeout), "--",
             "echo", "hi"],
            capture_output=True, text=True, cwd=tmp_path, env={**env, "DOCK2UNI_CACHE": "rc1"},
            timeout=600, check=False,
        )  # fmt: skip
        assert (ran.returncode, ran.stdout) == (0, "hi\n"), ran.stderr
    assert (tmp_path / "cb").is_dir() and (tmp_path / "rc1" / "run").is_dir()


def test_an_initrd_image_without_its_cpio_names_the_missing_file(
    tmp_path: Path, boot_ctx: Context
) -> None:
    """convert --initrd, then lose the .cpio: run says which file is missing (it booted an
    empty filesystem and reported "program not found", 127, before)."""
    uni = tmp_path / "bb.uni"
    source = f"oci:{fixture_layout('busybox')}:latest"
    convert_image(source, uni, AcquireOptions(), boot_ctx, separate_initrd=True)
    cpio = tmp_path / "bb.uni.cpio"
    cpio.unlink()
    argv = [sys.executable, "-m", "dock2uni", "run", str(uni), "--accel", "tcg", "--", "true"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 125, proc.stderr
    assert str(cpio) in proc.stderr and "dock2uni: hint:" in proc.stderr


def test_the_conversion_run_caches_links_whole_families(tmp_path: Path) -> None:
    """`run SOURCE -- ANY COMMAND` reuses one conversion, so it links whole families; a
    convert of the same image links only the syscalls its command can reach."""
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    source = f"oci:{fixture_layout('hello-static-musl')}:latest"
    cached = runsource.cached_uni(source, AcquireOptions(), ctx)
    assert read_metadata(cached)["syscalls"] is None
    converted = tmp_path / "hello.uni"
    convert_image(source, converted, AcquireOptions(), ctx)
    assert "exit_group" in read_metadata(converted)["syscalls"]
