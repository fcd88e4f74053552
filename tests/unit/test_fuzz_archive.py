"""Fuzz: `docker save` archives (legacy and Docker 25 formats), their manifest.json included."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import dockersave
from fixtures.ocibuild import Image, Layer, write_layout
from hypothesis import strategies as st

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.context import Context, Limits
from dock2uni.oci.sources import parse_source
from tests.fuzzing import byte_mutants, fuzz, json_mutants

pytestmark = pytest.mark.fuzz


def members(tmp_path: Path) -> list[dockersave.Members]:
    image = Image(
        layers=[Layer().file("bin/app", b"\x7fELF", mode=0o755), Layer().file("etc/x", "x")],
        config={"Entrypoint": ["/bin/app"]},
    )
    layout = tmp_path / "layout"
    write_layout(layout, {"latest": image})
    return [
        dockersave.legacy_members(layout, "latest", "app:1"),
        dockersave.legacy_members(layout, "latest", "app:1", gzip_layers=True),
        dockersave.docker25_members(layout, "latest", "app:1"),
    ]


def test_fuzz_docker_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = members(tmp_path)
    tars = [
        dockersave.write_tar(tmp_path / f"seed{i}.tar", m).read_bytes() for i, m in enumerate(seeds)
    ]
    manifests = [m["manifest.json"] for m in seeds]
    assert all(isinstance(m, bytes) for m in manifests)
    ctx = Context(cache_dir=tmp_path / "cache", limits=Limits(max_layers=64), quiet=True)
    target = tmp_path / "fuzz.tar"

    def read(choice: tuple[int, bytes]) -> None:
        kind, data = choice
        if kind < len(seeds):  # a structurally mutated manifest.json in a well-formed tar
            dockersave.write_tar(target, {**seeds[kind], "manifest.json": data})
        else:  # a byte-mutated tar
            target.write_bytes(data)
        image = acquire(parse_source(f"docker-archive:{target}"), AcquireOptions(), ctx)
        for layer in image.layers:
            with layer.open() as f:
                while f.read(1 << 16):
                    pass

    strategy = st.one_of(
        st.tuples(st.integers(0, len(seeds) - 1), json_mutants(manifests)),  # type: ignore[arg-type]
        st.tuples(st.just(len(seeds)), byte_mutants(tars)),
    )
    fuzz("docker-archive", strategy, read, capsys=capsys)
