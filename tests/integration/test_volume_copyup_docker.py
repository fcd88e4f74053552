"""Copy-up against Docker: a new named volume, and the anonymous one of an image VOLUME, hold
the same tree (names, kinds, modes, owners, contents, link targets, hardlinks, file times) when
dock2uni fills it from the converted image as when a real private dockerd fills it from
the same image. No guest boots: both volumes are host directories, compared on the host.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.volmount import resolve
from dock2uni.volstore import VolumeStore
from dock2uni.volumes import VolumeRequest
from tests.infra.dockerd import Dockerd
from tests.volimage import busybox_with, data_layer, dockerd_with

pytestmark = [pytest.mark.docker, pytest.mark.fixtures]
TAG = "d2u/voldata:latest"
CONFIG = {"Volumes": {"/data": {}}}


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_with(tmp_path_factory.mktemp("vol") / "layout", data_layer(), CONFIG)


@pytest.fixture(scope="module")
def dockerd(layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    with dockerd_with(layout, TAG, tmp_path_factory.mktemp("save")) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def uni(layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("voluni")
    out = tmp / "data.uni"
    convert_image(
        f"oci:{layout}:latest", out, AcquireOptions(), Context(cache_dir=tmp / "c", quiet=True)
    )
    return out


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry below and including ``root``: kind+mode, owner, size or target, mtime,
    and which entries share an inode (hardlinks, by the first name seen)."""
    out: dict[str, tuple[object, ...]] = {}
    first: dict[int, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *sorted(dirnames), *sorted(filenames)]:
            if name == "." and Path(dirpath) != root:
                continue
            p = Path(dirpath) / name if name != "." else root
            st = p.lstat()
            rel = str(p.relative_to(root))
            what: object = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            if stat.S_ISREG(st.st_mode):
                what = p.read_bytes()
            link = first.setdefault(st.st_ino, rel) if stat.S_ISREG(st.st_mode) else rel
            # Docker's copy (continuity's CopyDir) sets a directory's times before filling
            # it, so they end up the time of the copy; ours keep the image's
            # (docs/volumes-run.md). Files' times are compared.
            mtime = int(st.st_mtime) if stat.S_ISREG(st.st_mode) else None
            out[rel] = (oct(st.st_mode), st.st_uid, st.st_gid, what, mtime, link)
    return out


def docker_volume(dockerd: Dockerd, name: str) -> Path:
    path = dockerd.docker("volume", "inspect", "-f", "{{.Mountpoint}}", name).stdout.strip()
    return Path(path)


def test_a_new_named_volume_is_filled_as_docker_fills_it(
    dockerd: Dockerd, uni: Path, tmp_path: Path
) -> None:
    dockerd.docker("run", "--rm", "--network", "none", "-v", "named:/data", TAG, "true")
    (ours,) = resolve(
        [VolumeRequest(kind="volume", source="named", target="/data")],
        image=uni,
        initrd=None,
        declared=(),
        covered=(),
        store=VolumeStore(tmp_path),
    )
    theirs = snapshot(docker_volume(dockerd, "named"))
    assert snapshot(ours.source) == theirs
    assert len(theirs) == 8  # the root and the 7 entries of the image's /data


def test_a_destination_through_a_symlink_is_resolved_as_docker_does(
    dockerd: Dockerd, uni: Path, tmp_path: Path
) -> None:
    dockerd.docker("run", "--rm", "--network", "none", "-v", "via:/app/data", TAG, "true")
    (ours,) = resolve(
        [VolumeRequest(kind="volume", source="via", target="/app/data")],
        image=uni,
        initrd=None,
        declared=(),
        covered=(),
        store=VolumeStore(tmp_path),
    )
    assert snapshot(ours.source) == snapshot(docker_volume(dockerd, "via"))


def test_the_image_volume_gets_an_anonymous_volume_filled_the_same_way(
    dockerd: Dockerd, uni: Path, tmp_path: Path
) -> None:
    cid = dockerd.docker("create", "--network", "none", TAG, "true").stdout.strip()
    try:
        dockerd.docker("start", "-a", cid)
        mounts = dockerd.docker(
            "inspect", "-f", "{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}", cid
        ).stdout.split()
        assert mounts[1] == "/data" and len(mounts[0]) == 64
        theirs = snapshot(docker_volume(dockerd, mounts[0]))
    finally:
        dockerd.docker("rm", "-v", cid)
    (ours,) = resolve(
        [], image=uni, initrd=None, declared=("/data",), covered=(), store=VolumeStore(tmp_path)
    )
    assert ours.anonymous and ours.name is not None and len(ours.name) == 64
    assert snapshot(ours.source) == theirs
