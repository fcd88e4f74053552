"""convert, inspect IMAGE.uni and run through the CLI: rootfs embedded or as --initrd."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

pytestmark = pytest.mark.boot
D2U = [sys.executable, "-m", "dock2uni"]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*D2U, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("initrd", [False, True], ids=["embedded", "initrd"])
def test_convert_inspect_run(initrd: bool, tmp_path: Path, accel: str, boot_timeout: float) -> None:
    """The image records its source, argv, families and sizes; it boots either way."""
    cache = str(tmp_path / "cache")
    out = tmp_path / "busybox.uni"
    source = f"oci:{fixture_layout('busybox')}:latest"
    args = ["convert", source, "-o", str(out), "--cache-dir", cache, "--format", "json"]
    made = cli(*args, *(["--initrd"] if initrd else []))
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert (summary["initrd"] is not None) == initrd
    assert summary["schema_version"] == 1 and "schemaVersion" not in made.stdout

    meta = json.loads(cli("inspect", str(out), "--format", "json").stdout)
    assert next(iter(meta)) == "schema_version" and "schemaVersion" not in meta
    assert meta["source"] == source and meta["digest"].startswith("sha256:")
    assert meta["argv"] == ["sh"] and meta["exec_path"] == "/bin/sh"
    assert meta["families"] and meta["sizes"]["kernel"] > 0 and meta["sizes"]["rootfs"] > 0
    assert meta["rootfs"]["embedded"] is (not initrd)
    if initrd:
        assert Path(summary["initrd"]).stat().st_size == meta["sizes"]["rootfs"]
        assert out.stat().st_size < meta["sizes"]["rootfs"]  # the rootfs is not inside

    ran = cli(
        "run",
        str(out),
        "--accel",
        accel,
        "--timeout",
        str(boot_timeout),
        "--cache-dir",
        cache,
        "--",
        "sh",
        "-c",
        "echo $((6*7)); exit 3",
    )
    assert (ran.returncode, ran.stdout) == (3, "42\n"), ran.stderr


def test_rootfs_policy_full_keeps_what_default_drops(tmp_path: Path) -> None:
    """--rootfs full keeps documentation and dpkg state that the default policy drops."""
    source = f"oci:{fixture_layout('python')}:latest"
    cache = str(tmp_path / "cache")
    sizes = {}
    for policy in ("default", "full"):
        out = tmp_path / f"{policy}.uni"
        made = cli(
            "convert",
            source,
            "-o",
            str(out),
            "--rootfs",
            policy,
            "--cache-dir",
            cache,
            "--initrd",
            "--format",
            "json",
        )
        assert made.returncode == 0, made.stderr
        meta = json.loads(made.stdout)["metadata"]
        sizes[policy] = meta["rootfs"]
    dropped = sizes["default"]["dropped"]
    assert {"documentation", "package-manager state"} <= set(dropped)
    assert sizes["full"]["dropped"] == {}
    assert sizes["full"]["entries"] > sizes["default"]["entries"]
