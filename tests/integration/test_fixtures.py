"""The fixture images: each builds, is acquirable, and is what docs/fixtures.md says it is."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from fixtures import debian
from fixtures.build import FIXTURES, fixture_archive, fixture_layout, layout_refs
from fixtures.handmade import MULTILAYER_EXPECTED, MULTILAYER_HARDLINKS

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.context import Context
from dock2uni.errors import UnsupportedImageError
from dock2uni.model import AcquiredImage, Platform
from dock2uni.oci.sources import parse_source
from tests.conftest import need

pytestmark = pytest.mark.fixtures

LAYOUTS = sorted(n for n, f in FIXTURES.items() if f.is_layout)
ARCHIVES = sorted(n for n, f in FIXTURES.items() if not f.is_layout)


def oci(
    name: str, ctx: Context, platform: Platform | None = None, ref: str | None = None
) -> AcquiredImage:
    options = AcquireOptions(platform=platform) if platform else AcquireOptions()
    tag = f":{ref}" if ref else ""
    return acquire(parse_source(f"oci:{fixture_layout(name)}{tag}"), options, ctx)


def layer_files(image: AcquiredImage) -> dict[str, tarfile.TarInfo | bytes]:
    """Every member of every layer (regular files as bytes), read in memory, never extracted."""
    out: dict[str, tarfile.TarInfo | bytes] = {}
    for layer in image.layers:
        with layer.open() as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar:
                reader = tar.extractfile(member) if member.isfile() else None
                out[member.name] = reader.read() if reader else member
    return out


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_layout_fixture_is_acquirable(name: str, ctx: Context) -> None:
    """Each OCI layout fixture builds and acquires via oci: (every ref of it) with a config
    that names an entrypoint."""
    refs = layout_refs(fixture_layout(name))
    assert refs
    for ref in refs if len(refs) > 1 else [None]:
        image = oci(name, ctx, ref=ref)
        assert image.platform == Platform(os="linux", architecture="amd64")
        config = image.config["config"]
        assert config.get("Entrypoint") or config.get("Cmd")
        assert any(e.startswith("PATH=") for e in config["Env"])
        for layer in image.layers:
            with layer.open() as f:
                while f.read(1 << 20):
                    pass  # reading to EOF verifies size and digest


@pytest.mark.parametrize("name", ARCHIVES)
def test_archives_match_the_busybox_layout(name: str, ctx: Context) -> None:
    """Every tar fixture acquires to the config digest of the busybox OCI layout."""
    transport = "oci-archive" if name.endswith("oci-archive") else "docker-archive"
    image = acquire(parse_source(f"{transport}:{fixture_archive(name)}"), AcquireOptions(), ctx)
    assert image.config_digest == oci("busybox", ctx).config_digest
    if transport == "docker-archive":
        assert image.reference == "docker.io/library/busybox:latest"


def test_debian_apps_share_the_debian_layer(ctx: Context) -> None:
    """nginx, redis and python are the Debian layer plus one layer of apt's changes."""
    base = oci("debian", ctx).layers
    assert len(base) == 1
    for name, program in (
        ("nginx", "usr/sbin/nginx"),
        ("redis", "usr/bin/redis-server"),
        ("python", "usr/bin/python3.11"),
    ):
        image = oci(name, ctx)
        assert [layer.descriptor.digest for layer in image.layers[:1]] == [
            base[0].descriptor.digest
        ]
        assert len(image.layers) == 2
        with (
            image.layers[1].open() as f,
            tarfile.open(fileobj=io.BytesIO(gzip.decompress(f.read()))) as tar,
        ):
            names = tar.getnames()
        assert program in names
        assert not [n for n in names if n.startswith(("var/lib/apt/lists/", "var/cache/apt/"))]
        assert "etc/resolv.conf" not in names
    nginx = oci("nginx", ctx).config["config"]
    assert nginx["Cmd"] == ["nginx", "-g", "daemon off; master_process off;"]
    assert "80/tcp" in nginx["ExposedPorts"]


def test_debian_layer_leaves_out_host_and_cache_files(ctx: Context) -> None:
    """The Debian layer has no apt lists, caches, logs, resolv.conf, and clamped mtimes."""
    image = oci("debian", ctx)
    with (
        image.layers[0].open() as f,
        tarfile.open(fileobj=io.BytesIO(gzip.decompress(f.read()))) as tar,
    ):
        members = tar.getmembers()
    names = {m.name for m in members}
    assert "usr/bin/bash" in names and "etc/passwd" in names
    assert "var/lib/apt/lists" in names and "dev" in names
    leaked = [n for n in names if n.startswith(("var/lib/apt/lists/", "var/cache/apt/", "dev/"))]
    assert leaked == []
    assert not [n for n in names if n.startswith("var/log/") and not n.endswith(("apt", "log"))]
    assert "etc/resolv.conf" not in names and "etc/hostname" not in names
    assert max(m.mtime for m in members) <= int(os.environ.get("SOURCE_DATE_EPOCH", "1700000000"))


def test_busybox_is_from_scratch_with_applet_links(ctx: Context) -> None:
    """busybox: one layer, /bin/busybox, /bin/sh -> /bin/busybox, passwd and a /tmp."""
    files = layer_files(oci("busybox", ctx))
    assert isinstance(files["bin/busybox"], bytes) and files["bin/busybox"][:4] == b"\x7fELF"
    sh = files["bin/sh"]
    assert isinstance(sh, tarfile.TarInfo) and sh.issym() and sh.linkname == "/bin/busybox"
    assert b"root:x:0:0" in files["etc/passwd"]  # type: ignore[operator]
    tmp = files["tmp"]
    assert isinstance(tmp, tarfile.TarInfo) and stat.S_IMODE(tmp.mode) == 0o1777


def has_interpreter(elf: bytes) -> bool:
    """Whether an ELF64 little-endian file has a PT_INTERP program header."""
    phoff = int.from_bytes(elf[0x20:0x28], "little")
    phentsize = int.from_bytes(elf[0x36:0x38], "little")
    phnum = int.from_bytes(elf[0x38:0x3A], "little")
    return any(
        int.from_bytes(elf[phoff + i * phentsize : phoff + i * phentsize + 4], "little") == 3
        for i in range(phnum)
    )


@pytest.mark.parametrize("flavour", ["static-glibc", "static-musl", "static-pie", "dynamic-glibc"])
def test_hello_programs_run(flavour: str, ctx: Context, tmp_path: Path) -> None:
    """The compiled programs in each hello-* image run and say hello (on this host)."""
    files = layer_files(oci(f"hello-{flavour}", ctx))
    for program in ("hello", "exitcode"):
        data = files[f"usr/local/bin/{program}"]
        assert isinstance(data, bytes)
        (tmp_path / program).write_bytes(data)
        (tmp_path / program).chmod(0o755)
    hello = subprocess.run([tmp_path / "hello"], capture_output=True, text=True, check=False)
    assert (hello.returncode, hello.stdout) == (0, "hello from dock2uni\n")
    assert subprocess.run([tmp_path / "exitcode", "42"], check=False).returncode == 42
    binary = files["usr/local/bin/hello"]
    assert isinstance(binary, bytes)
    assert has_interpreter(binary) == (flavour == "dynamic-glibc")
    if flavour == "dynamic-glibc":
        assert {"usr/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"} & set(files)


def test_multilayer_unpacks_as_documented(tmp_path: Path) -> None:
    """umoci (an independent implementation) unpacks multilayer to MULTILAYER_EXPECTED."""
    if shutil.which("umoci") is None:
        need("registry", "umoci is not installed (make setup installs it with skopeo)")
    rootfs = tmp_path / "rootfs"
    subprocess.run(
        [
            "umoci",
            "raw",
            "unpack",
            "--image",
            f"{fixture_layout('multilayer')}:latest",
            str(rootfs),
        ],
        check=True,
        capture_output=True,
    )
    found: dict[str, tuple[str, str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(rootfs))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("symlink", os.readlink(path), 0o777)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", "", stat.S_IMODE(st.st_mode))
            else:
                found[rel] = ("file", path.read_text(), stat.S_IMODE(st.st_mode))
    assert found == MULTILAYER_EXPECTED
    for a, b in MULTILAYER_HARDLINKS:
        assert (rootfs / a).stat().st_ino == (rootfs / b).stat().st_ino


def test_multiarch_index(ctx: Context) -> None:
    """multiarch: amd64 by default, arm64 on request, the attestation never selectable."""
    amd64 = oci("multiarch", ctx)
    arm64 = oci("multiarch", ctx, Platform(os="linux", architecture="arm64"))
    assert amd64.index_digest is not None and amd64.index_digest == arm64.index_digest
    assert arm64.platform == Platform(os="linux", architecture="arm64", variant="v8")
    assert b"hello from dock2uni" in layer_files(amd64)["usr/local/bin/hello"]  # type: ignore[operator]
    with pytest.raises(UnsupportedImageError) as info:
        oci("multiarch", ctx, Platform(os="unknown", architecture="unknown"))
    assert "linux/amd64" in info.value.message and "linux/arm64/v8" in info.value.message


@pytest.mark.parametrize(
    "name",
    [
        "multilayer",
        "busybox",
        "hello-static-musl",
        "multiarch",
        "nginx-official",
        "alpine-shaped",
        "redis-official",
        "distroless-shaped",
    ],
)
def test_rebuild_is_byte_identical(name: str, tmp_path: Path) -> None:
    """Building a fixture again gives the same index.json and blobs (deterministic)."""
    built = fixture_layout(name)
    again = tmp_path / name
    FIXTURES[name].build(again)
    assert (again / "index.json").read_bytes() == (built / "index.json").read_bytes()
    assert sorted(p.name for p in (again / "blobs/sha256").iterdir()) == sorted(
        p.name for p in (built / "blobs/sha256").iterdir()
    )


def test_diff_layer_whiteouts_and_type_changes(tmp_path: Path) -> None:
    """debian.diff_layer: deleted paths become whiteouts (topmost only), changes are kept."""
    base, derived = tmp_path / "base", tmp_path / "derived"
    for root in (base, derived):
        (root / "etc").mkdir(parents=True)
        (root / "etc/same").write_text("same")
    (base / "etc/changed").write_text("old")
    (derived / "etc/changed").write_text("new")
    (base / "gone/deep").mkdir(parents=True)
    (base / "gone/deep/file").write_text("x")
    (base / "etc/was-file").write_text("f")
    (derived / "etc/was-file").mkdir()
    (derived / "etc/was-file/inside").write_text("i")
    (derived / "etc/new").write_text("n")
    os.link(derived / "etc/new", derived / "etc/new-link")
    layer = debian.diff_layer(debian.snapshot(base), debian.snapshot(derived))
    entries = {e.path: e for e in layer.entries}
    assert set(entries) == {
        "etc",
        "etc/changed",
        "etc/new",
        "etc/new-link",
        "etc/was-file",
        "etc/was-file/inside",
        ".wh.gone",
    }
    assert entries["etc/new-link"].kind == "hardlink"
    assert entries["etc/new-link"].linkname == "etc/new"
    assert entries["etc/was-file"].kind == "dir"
