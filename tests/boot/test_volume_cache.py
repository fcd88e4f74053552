"""A volume's cached vnodes are bounded (docs/volumes.md, "A bounded cache"): a guest walks
a host tree of 20,000 files twice (tests/guest/volume.c, MODE walk) with one file open and
its cwd inside; every st_ino is the host's and the same both times, the open file, the cwd
and ".." still work, and the kernel's free memory does not shrink with the tree. With a
cache of a few nodes (d2u.volcache=), nodes are dropped and walked again all the time: the
volume tests' main and racing programs, and renames across a deep path, behave as on Linux.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.boot.conftest import Booted
from tests.boot.test_volumes import compared, make_tree, native, volume_options

pytestmark = pytest.mark.boot
DIRS, FILES = 20, 1000
# What the walks may take from MemFree, in KiB. Bounded, the cache keeps at most 4096
# unused nodes (about 1.5 MiB); unbounded it kept all 20,000 (measured in the docs).
MEM_GROWTH_MAX_KB = 6144


def make_walk_tree(root: Path) -> int:
    """tree/dNN/eNNNN plus d00/keep (held open) and d00/hardlink (a second name of d01/e0001);
    returns the host's sum of st_ino ^ st_size over the files, as the guest sums them."""
    tree = root / "tree"
    for d in range(DIRS):
        sub = tree / f"d{d:02d}"
        sub.mkdir(parents=True)
        for f in range(FILES):
            (sub / f"e{f:04d}").write_bytes(b"x" * (f % 7))
    (tree / "d00" / "keep").write_text("keep\n")
    os.link(tree / "d01" / "e0001", tree / "d00" / "hardlink")
    total = 0
    for sub in tree.iterdir():
        for path in sub.iterdir():
            st = path.lstat()
            total += st.st_ino ^ st.st_size
    return total % (1 << 64)


def fields(out: bytes, tag: str) -> list[int]:
    for line in out.decode(errors="replace").splitlines():
        if line.startswith(tag + " "):
            return [int(v) for v in line.split()[1:]]
    raise AssertionError(f"no {tag} line in {out[-2000:]!r}")


def small_cache(host: Path, nodes: int) -> dict[str, tuple[str, ...]]:
    """volume_options with d2u.volcache=nodes."""
    opts = volume_options(host)
    return {**opts, "extra_cmdline": (*opts["extra_cmdline"], f"d2u.volcache={nodes}")}


@pytest.mark.parametrize("nodes", [None, 16])
def test_walking_a_big_tree_keeps_memory_bounded(
    guest_root: Path, volume_uni: Path, nodes: int | None, boot: object, tmp_path: Path
) -> None:
    host = tmp_path / "vol"
    host.mkdir()
    host_sum = make_walk_tree(host)
    files = DIRS * FILES + 2

    # Linux first: the program's own checks (cwd, "..", the open file, hard link) hold there.
    nat = subprocess.run(
        [str(guest_root / "guest" / "glibc" / "volume"), "walk", str(host)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert nat.returncode == 0 and b"0 failed" in nat.stdout, (
        nat.stdout.decode() + nat.stderr.decode()
    )
    assert fields(nat.stdout, "WALK") == [files, files]
    assert fields(nat.stdout, "SUM") == [host_sum]

    opts = small_cache(host, nodes) if nodes else volume_options(host)
    booted: Booted = boot(volume_uni, ("walk", "/data"), timeout=600, **opts)  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert b"0 failed" in booted.stdout and booted.result.exit_code == 0, booted.describe()
    assert fields(booted.stdout, "WALK") == [files, files], booted.describe()
    # Every st_ino the guest saw is the host's (and the two walks matched: "same inodes").
    assert fields(booted.stdout, "SUM") == [host_sum], booted.describe()
    before, after = fields(booted.stdout, "MEM")
    assert before > 0 and after > 0, booted.describe()
    grew = before - after
    print(f"MemFree before {before} KiB, after {after} KiB: the walks took {grew} KiB")
    assert grew < MEM_GROWTH_MAX_KB, booted.describe()


@pytest.mark.parametrize("mode", ["main", "stress"])
def test_tiny_cache_behaves_as_linux(
    guest_root: Path, volume_uni: Path, mode: str, boot: object, tmp_path: Path
) -> None:
    """Eight cached nodes: links, renames, "..", removals and four racing processes see
    nodes dropped and looked up again between their calls, and still match Linux."""
    nat_dir = make_tree(tmp_path / "native" / "vol")
    nat = native(guest_root, mode, str(nat_dir))
    assert nat.returncode == 0, nat.stdout.decode() + nat.stderr.decode()
    host = make_tree(tmp_path / "host" / "vol")
    booted: Booted = boot(volume_uni, (mode, "/data"), timeout=600, **small_cache(host, 8))  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert compared(booted.stdout) == compared(nat.stdout), booted.describe()
    assert sorted(os.listdir(host)) == sorted(os.listdir(nat_dir))
    for line in booted.stdout.decode().splitlines():
        if line.startswith("STAT "):  # the host's inode numbers, though nodes came and went
            _, name, *kv = line.split()
            assert int(dict(f.split("=") for f in kv)["ino"]) == os.lstat(host / name).st_ino, line


def make_deep_tree(root: Path) -> Path:
    """s/file and t/l00/.../l15: 16 directories the guest has not looked up yet."""
    (root / "s").mkdir(parents=True)
    (root / "s" / "file").write_text("file\n")
    deep = root / "t"
    for i in range(16):
        deep = deep / f"l{i:02d}"
    deep.mkdir(parents=True)
    return deep


def test_tiny_cache_keeps_what_a_rename_holds(
    guest_root: Path, volume_uni: Path, boot: object, tmp_path: Path
) -> None:
    """rename and link hold the first path's directory, unreferenced, while they walk 17
    more: with 8 cached nodes it must not be freed meanwhile (its memory would be the
    next node's, and the rename would go to the wrong directory)."""
    nat_dir = tmp_path / "native"
    make_deep_tree(nat_dir)
    nat = native(guest_root, "deep", str(nat_dir))
    assert nat.returncode == 0 and b" 0 failed" in nat.stdout, (
        nat.stdout.decode() + nat.stderr.decode()
    )
    host = tmp_path / "host"
    deep = make_deep_tree(host)
    booted: Booted = boot(volume_uni, ("deep", "/data"), **small_cache(host, 8))  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout.splitlines() == nat.stdout.splitlines(), booted.describe()
    assert (host / "s" / "again").read_text() == "file\n" and (deep / "moved").stat().st_nlink == 2
