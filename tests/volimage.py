"""Test helper: the busybox fixture plus one layer and config changes, as an OCI layout.

The volume tests need an image with a populated data directory (owners, modes, set-id
bits, symlinks, hardlinks, times) and a declared VOLUME; the busybox fixture gives them
a shell and coreutils to look at it from the guest and under `docker run`. The fixture's
own layer blob is reused as is (real bytes, real digest), the new layer is a real tar.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fixtures import dockersave
from fixtures.build import fixture_layout
from fixtures.ocibuild import Image, Layer, PrebuiltLayer, write_layout

from tests.conftest import need
from tests.infra.dockerd import Dockerd, private_dockerd, unavailable_reason

DATA_MTIME = 1_600_000_000
PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n"


def data_layer() -> Layer:
    """/data as an image would ship it: owned by 1000:1000, files of several kinds."""
    own = {"uid": 1000, "gid": 1000, "mtime": DATA_MTIME}
    return (
        Layer()
        .dir("data", mode=0o750, **own)
        .file("data/hello.txt", "hello from the image\n", mode=0o640, **own)
        .file("data/setuid", "#!/bin/sh\n", mode=0o4755, uid=0, gid=0, mtime=DATA_MTIME)
        .dir("data/sub", mode=0o700, uid=999, gid=998, mtime=DATA_MTIME)
        .file("data/sub/deep", "deep\n", mode=0o600, uid=999, gid=998, mtime=DATA_MTIME)
        .symlink("data/link", "hello.txt", **own)
        .symlink("data/abs", "/etc/passwd", **own)
        .hardlink("data/hard", "data/hello.txt", mode=0o640, **own)
        .dir("app", mode=0o755)
        .symlink("app/data", "/data")  # a VOLUME path through a symlink
        .file("etc/passwd", PASSWD)
        .file("etc/group", GROUP)
        .dir("home", mode=0o755)
        .dir("home/user", mode=0o700, uid=1000, gid=1000)
    )


def busybox_with(dest: Path, layer: Layer, config: dict[str, Any]) -> Path:
    """An OCI layout at ``dest`` (ref latest): busybox's layer, then ``layer``, with
    busybox's config updated by ``config``."""
    base = fixture_layout("busybox")
    index = json.loads((base / "index.json").read_text())
    blobs = base / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    base_config = json.loads((blobs / manifest["config"]["digest"][7:]).read_text())
    prebuilt = [
        PrebuiltLayer(blob=blobs / desc["digest"][7:], media_type=desc["mediaType"], diff_id=diff)
        for desc, diff in zip(manifest["layers"], base_config["rootfs"]["diff_ids"], strict=True)
    ]
    merged = {**base_config["config"], **config}
    write_layout(dest, {"latest": Image(layers=[*prebuilt, layer], config=merged)})
    return dest


@contextmanager
def dockerd_with(layout: Path, tag: str, work: Path) -> Iterator[Dockerd]:
    """A private dockerd with ``layout`` loaded as ``tag`` (its `docker save` tar is written
    in ``work``); a skip through need() where no daemon can start."""
    reason = unavailable_reason()
    if reason:
        need("docker", reason)
    members = dockersave.docker25_members(layout, "latest", tag)
    archive = dockersave.write_tar(work / "image.tar", members)
    with private_dockerd() as daemon:
        daemon.docker("load", "-i", str(archive))
        yield daemon
