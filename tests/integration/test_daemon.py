"""docker-daemon: against a real private dockerd: docker load, docker build, export, errors."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.build import fixture_archive, fixture_layout

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.context import Context
from dock2uni.errors import Dock2UniError, DockerUnavailableError, ImageNotFoundError
from dock2uni.oci.sources import parse_source
from dock2uni.unpack import unpack
from tests.conftest import need
from tests.infra.dockerd import Dockerd, private_dockerd, unavailable_reason

BUILT_TAG = "d2u-test/app:1"
# The Cmd uses shell builtins only: without fork/exec (a later issue), `sh -c` can run
# builtins but not external programs.
BUILT_CMD = 'read -r m < /app/marker && echo "$GREETING $m in $PWD"'
DOCKERFILE = f"""\
FROM busybox:latest
RUN mkdir -p /app && echo built-by-dockerd > /app/marker
WORKDIR /app
ENV GREETING=hello
EXPOSE 8080/tcp
ENTRYPOINT ["/bin/sh", "-c"]
CMD {json.dumps([BUILT_CMD])}
"""


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    """A private dockerd for the whole session (skips, or fails under DOCK2UNI_REQUIRE_DOCKER=1)."""
    reason = unavailable_reason()
    if reason:
        need("docker", reason)
    try:
        with private_dockerd() as daemon:
            yield daemon
    except RuntimeError as exc:
        if "dockerd" not in str(exc):
            raise
        need("docker", f"cannot start a private dockerd: {exc}")


@pytest.fixture(scope="session")
def built_image(dockerd: Dockerd, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`docker load` the busybox fixture, then `docker build` a small image FROM it."""
    dockerd.docker("load", "-i", str(fixture_archive("busybox-docker-legacy")))
    context = tmp_path_factory.mktemp("build-context")
    (context / "Dockerfile").write_text(DOCKERFILE)
    dockerd.docker("build", "--network=none", "-t", BUILT_TAG, str(context))
    return BUILT_TAG


@pytest.fixture
def daemon_env(dockerd: Dockerd, monkeypatch: pytest.MonkeyPatch) -> Dockerd:
    """Point docker-py (through DOCKER_HOST) at the private daemon for one test."""
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.setenv("DOCKER_CONFIG", str(dockerd.root / "client"))
    return dockerd


def _files_of(layer_bytes: bytes) -> dict[str, bytes]:
    """Regular files of an (uncompressed) layer tar, read in memory."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(layer_bytes)) as tar:
        for member in tar:
            if member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                out[member.name] = data.read()
    return out


@pytest.mark.docker
def test_acquire_image_built_by_dockerd(
    built_image: str, daemon_env: Dockerd, ctx: Context
) -> None:
    """The image `docker build` made comes back with its config, layers and the RUN's file."""
    image = acquire(parse_source(f"docker-daemon:{built_image}"), AcquireOptions(), ctx)
    assert image.transport == "docker-daemon"
    assert image.reference == "docker.io/d2u-test/app:1"
    config = image.config["config"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"]
    assert config["Cmd"] == [BUILT_CMD]
    assert config["WorkingDir"] == "/app"
    assert "GREETING=hello" in config["Env"]
    assert "8080/tcp" in config["ExposedPorts"]
    inspected = json.loads(daemon_env.docker("image", "inspect", built_image).stdout)[0]
    assert image.config_digest == inspected["Id"]

    busybox = acquire(parse_source(f"oci:{fixture_layout('busybox')}"), AcquireOptions(), ctx)
    assert image.layers[0].diff_id == busybox.layers[0].diff_id
    layers = []
    for layer in image.layers:
        with layer.open() as f:
            layers.append(f.read())
    assert _files_of(layers[-1])["app/marker"] == b"built-by-dockerd\n"


@pytest.mark.docker
def test_archive_written_by_the_real_docker_save(
    built_image: str, dockerd: Dockerd, ctx: Context, tmp_path: Path
) -> None:
    """docker-archive: on what `docker save` of the test daemon wrote (not fixtures/
    dockersave.py): the daemon's own image ID, layer diff IDs, config and the RUN's file."""
    archive = tmp_path / "saved.tar"
    dockerd.docker("save", "-o", str(archive), built_image)
    inspected = json.loads(dockerd.docker("image", "inspect", built_image).stdout)[0]
    image = acquire(parse_source(f"docker-archive:{archive}"), AcquireOptions(), ctx)
    assert image.config_digest == inspected["Id"]
    assert [layer.diff_id for layer in image.layers] == inspected["RootFS"]["Layers"]
    assert image.config["config"]["Cmd"] == [BUILT_CMD]
    with image.layers[-1].open() as f:
        assert _files_of(f.read())["app/marker"] == b"built-by-dockerd\n"
    unpacked = unpack(image, ctx)
    assert unpacked.tree.lookup("/app/marker") is not None


@pytest.mark.docker
def test_second_acquire_reuses_the_export(
    built_image: str, daemon_env: Dockerd, ctx: Context
) -> None:
    """The export is cached by image ID, so a second acquire does not save again."""
    source = parse_source(f"docker-daemon:{built_image}")
    first = acquire(source, AcquireOptions(), ctx)
    exports = sorted((ctx.cache_dir / "daemon").iterdir())
    assert [p.suffix for p in exports] == [".tar"]
    stamp = exports[0].stat().st_mtime_ns
    second = acquire(source, AcquireOptions(), ctx)
    assert second.config_digest == first.config_digest
    assert exports[0].stat().st_mtime_ns == stamp


@pytest.mark.docker
def test_image_id_is_accepted(built_image: str, daemon_env: Dockerd, ctx: Context) -> None:
    """docker-daemon:<image ID> works and reports the tag the export carries."""
    image_id = daemon_env.docker("image", "inspect", "-f", "{{.Id}}", built_image).stdout.strip()
    image = acquire(parse_source(f"docker-daemon:{image_id}"), AcquireOptions(), ctx)
    assert image.config_digest == image_id
    assert image.reference == "docker.io/d2u-test/app:1"


@pytest.mark.docker
def test_missing_image(daemon_env: Dockerd, ctx: Context) -> None:
    """An image the daemon does not have is 'image not found' (exit 3)."""
    with pytest.raises(Dock2UniError) as info:
        acquire(parse_source("docker-daemon:d2u-test/absent:9"), AcquireOptions(), ctx)
    assert type(info.value) is ImageNotFoundError
    assert info.value.exit_code == 3
    assert not (ctx.cache_dir / "daemon").exists() or not any((ctx.cache_dir / "daemon").iterdir())


def test_no_daemon_names_docker_host(
    monkeypatch: pytest.MonkeyPatch, ctx: Context, tmp_path: Path
) -> None:
    """DOCKER_HOST at a socket nobody listens on: exit 7, naming DOCKER_HOST and alternatives."""
    host = f"unix://{tmp_path}/nobody-here.sock"
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(Dock2UniError) as info:
        acquire(parse_source("docker-daemon:busybox:latest"), AcquireOptions(), ctx)
    err = info.value
    assert type(err) is DockerUnavailableError
    assert err.exit_code == 7
    assert "DOCKER_HOST" in err.message and host in err.message
    assert "docker-archive:" in err.hint and "docker://" in err.hint
    assert not any(ctx.cache_dir.iterdir())


def test_cli_converts_and_boots_the_docker_built_image(
    built_image: str, daemon_env: Dockerd, tmp_path: Path
) -> None:
    """The CI step after `docker build`: inspect and convert docker-daemon:TAG, then boot it."""
    import shutil
    import subprocess
    import sys

    d2u = [sys.executable, "-m", "dock2uni"]
    cache = str(tmp_path / "cache")
    source = f"docker-daemon:{BUILT_TAG}"
    inspected = subprocess.run(
        [*d2u, "inspect", source, "-f", "json", "--cache-dir", cache],
        capture_output=True,
        text=True,
        check=False,
    )
    assert inspected.returncode == 0, inspected.stderr
    doc = json.loads(inspected.stdout)
    assert doc["argv"] == ["/bin/sh", "-c", BUILT_CMD] and doc["workdir"] == "/app"
    assert doc["exposed_ports"] == ["8080/tcp"] and "GREETING=hello" in doc["env"]

    out = tmp_path / "app.uni"
    made = subprocess.run(
        [*d2u, "convert", source, "-o", str(out), "--cache-dir", cache],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    if shutil.which("qemu-system-x86_64") is None:
        need("boot", "qemu-system-x86_64 is not installed")
    ran = subprocess.run(
        [*d2u, "run", str(out), "--timeout", "120", "--cache-dir", cache],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (ran.returncode, ran.stdout) == (0, "hello built-by-dockerd in /app\n"), ran.stderr
