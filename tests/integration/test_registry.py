"""Pull through Debian's real docker-registry: open, TLS, htpasswd and bearer-token modes.

Images are built with fixtures/ocibuild.py and pushed with skopeo; dock2uni pulls
them with ``acquire(parse_source(...), AcquireOptions(...), ctx)``.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from fixtures.ocibuild import (
    LAYER_TYPES,
    OCI_CONFIG,
    OCI_MANIFEST,
    Image,
    Layer,
    LayoutWriter,
    canonical_json,
    sha256,
    write_layout,
)

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.context import Context
from dock2uni.errors import (
    AuthenticationError,
    Dock2UniError,
    ImageNotFoundError,
    IntegrityError,
    RegistryError,
    UnsupportedImageError,
)
from dock2uni.model import AcquiredImage, Platform
from dock2uni.oci.sources import parse_source
from tests.conftest import need
from tests.infra.cutproxy import CuttingProxy
from tests.infra.registry import Registry, assert_cache_clean, missing_tools
from tests.infra.tokenserver import TokenServer

pytestmark = pytest.mark.registry

ALICE_PASSWORD = "alice-Pa55word-never-printed"
BOB_PASSWORD = "bob-Pa55word-never-printed"
BOB_IDENTITY_TOKEN = "bob-identity-token-never-printed"
INSECURE = AcquireOptions(tls_verify=False)


def _need_registry(*, htpasswd: bool = False) -> None:
    reason = missing_tools(htpasswd=htpasswd)
    if reason:
        need("registry", reason)


def _root_layer(tag: str) -> Layer:
    return (
        Layer()
        .dir("etc")
        .file("etc/os-release", f"ID=dock2uni-test\nVARIANT={tag}\n")
        .dir("bin")
        .file("bin/app", b"\x7fELF" + tag.encode() * 50, mode=0o755)
        .symlink("bin/sh", "/bin/app")
    )


def _image(tag: str, compression: str = "gzip", **kw: Any) -> Image:
    top = Layer().file("app/data.txt", f"payload of {tag}\n" * 20)
    return Image(
        layers=[_root_layer(tag), top],
        config={"Entrypoint": ["/bin/app"], "Env": ["PATH=/bin"]},
        compression=compression,
        **kw,
    )


def _attestation(writer: LayoutWriter, subject: dict[str, Any]) -> dict[str, Any]:
    """A BuildKit-style attestation manifest: platform unknown/unknown, in-toto layer."""
    statement = canonical_json({"_type": "https://in-toto.io/Statement/v0.1", "subject": []})
    layer = writer.blob(statement, "application/vnd.in-toto+json")
    config = writer.blob(
        canonical_json(
            {
                "architecture": "unknown",
                "os": "unknown",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [sha256(statement)]},
            }
        ),
        OCI_CONFIG,
    )
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
    desc = writer.blob(canonical_json(manifest), OCI_MANIFEST)
    desc["platform"] = {"architecture": "unknown", "os": "unknown"}
    desc["annotations"] = {
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": subject["digest"],
    }
    return desc


def _multiplatform_layout(dest: Path) -> dict[str, str]:
    """An index: attestation first, then linux/amd64, then linux/arm64/v8."""
    writer = LayoutWriter(dest)
    amd64 = writer.image(_image("multi-amd64"))
    arm64 = writer.image(_image("multi-arm64", architecture="arm64", variant="v8"))
    index = writer.index([_attestation(writer, amd64), amd64, arm64])
    writer.finish({"1": index})
    return {"index": index["digest"], "amd64": amd64["digest"], "arm64": arm64["digest"]}


@pytest.fixture(scope="module")
def open_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Registry, dict[str, str]]]:
    """An anonymous registry holding single images (gzip, zstd, tar), an index and victims."""
    _need_registry()
    root = tmp_path_factory.mktemp("registry-open")
    registry = Registry(root / "registry", mode="open").start()
    try:
        layout = root / "single"
        digests = write_layout(
            layout, {c: _image(f"single-{c}", c) for c in ("gzip", "zstd", "tar")}
        )
        for compression in ("gzip", "zstd", "tar"):
            registry.push(layout, compression, f"single:{compression}")
        multi = _multiplatform_layout(root / "multi")
        registry.push(root / "multi", "1", "multi:1")
        victims = write_layout(
            root / "victims",
            {"layer": _image("tamper-layer"), "manifest": _image("tamper-manifest")},
        )
        registry.push(root / "victims", "layer", "tamper-layer:1")
        registry.push(root / "victims", "manifest", "tamper-manifest:1")
        yield (
            registry,
            {
                **{f"single:{c}": d for c, d in digests.items()},
                **{f"multi:{k}": d for k, d in multi.items()},
                "tamper-layer": victims["layer"],
                "tamper-manifest": victims["manifest"],
            },
        )
    finally:
        registry.stop()


@pytest.fixture(autouse=True)
def _no_user_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's ~/.docker/config.json or containers auth.json,
    and run in a scratch cwd."""
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg-runtime"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)


def expect(cls: type[Dock2UniError], code: int, fn: Callable[[], object]) -> Dock2UniError:
    """Run fn, which must raise exactly ``cls`` with exit code ``code``."""
    with pytest.raises(Dock2UniError) as info:
        fn()
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert info.value.exit_code == code
    return info.value


def assert_no_secrets(secrets: list[str], exc: BaseException | None, *texts: str) -> None:
    """None of the secrets (or their base64 forms) appear in the error or the outputs."""
    haystack = list(texts)
    if exc is not None:
        haystack += [
            str(exc),
            repr(exc),
            getattr(exc, "hint", ""),
            "".join(traceback.format_exception(exc)),
        ]
    forms = set(secrets)
    for secret in secrets:
        forms.add(base64.b64encode(secret.encode()).decode())
    blob = "\n".join(haystack)
    for needle in forms:
        assert needle not in blob, "a secret leaked into a message"


def check_scratch_clean(tmp_path: Path, cache_dir: Path) -> None:
    """Nothing but verified cache blobs was written (the cwd and config dirs stay empty)."""
    for leftover in ("cwd", "docker-config"):
        path = tmp_path / leftover
        if path.exists():
            assert not any(p for p in path.iterdir() if p.name != "config.json"), leftover
    assert_cache_clean(cache_dir, cache_dir)


def read_layers(image: AcquiredImage) -> None:
    """Every layer stream verifies to EOF and decompresses to its diff_id."""
    for layer in image.layers:
        with layer.open() as stream:
            data = stream.read()
        assert sha256(data) == layer.descriptor.digest
        assert len(data) == layer.descriptor.size
        media = layer.descriptor.media_type
        if media.endswith("+gzip"):
            tar = gzip.decompress(data)
        elif media.endswith("+zstd"):
            tar = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
        else:
            tar = data
        assert sha256(tar) == layer.diff_id


# --- open registry --------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["gzip", "zstd", "tar"])
def test_pull_single_image(
    open_registry: tuple[Registry, dict[str, str]],
    compression: str,
    ctx: Context,
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    """A single-platform image pulls with its exact manifest, config and layers."""
    registry, digests = open_registry
    image = acquire(parse_source(f"docker://{registry.host}/single:{compression}"), INSECURE, ctx)
    assert image.manifest_digest == digests[f"single:{compression}"]
    assert image.transport == "docker"
    assert image.reference == f"{registry.host}/single:{compression}"
    assert image.source == f"docker://{registry.host}/single:{compression}"
    assert image.index_digest is None
    assert sha256(image.manifest_bytes) == image.manifest_digest
    assert sha256(image.config_bytes) == image.config_digest
    assert image.config["config"]["Entrypoint"] == ["/bin/app"]
    assert image.platform == Platform(os="linux", architecture="amd64")
    assert [la.descriptor.media_type for la in image.layers] == [LAYER_TYPES[compression]] * 2
    assert [la.diff_id for la in image.layers] == image.config["rootfs"]["diff_ids"]
    read_layers(image)
    check_scratch_clean(tmp_path, cache_dir)


def test_pull_bare_reference(open_registry: tuple[Registry, dict[str, str]], ctx: Context) -> None:
    """A bare REF (no docker:// prefix) goes to the registry too."""
    registry, digests = open_registry
    image = acquire(parse_source(f"{registry.host}/single:gzip"), INSECURE, ctx)
    assert image.manifest_digest == digests["single:gzip"]


def test_pull_by_digest(open_registry: tuple[Registry, dict[str, str]], ctx: Context) -> None:
    """name@digest and name:tag@digest both fetch exactly the pinned manifest."""
    registry, digests = open_registry
    pinned = digests["single:zstd"]
    image = acquire(parse_source(f"docker://{registry.host}/single@{pinned}"), INSECURE, ctx)
    assert image.manifest_digest == pinned
    assert image.reference == f"{registry.host}/single@{pinned}"
    # The digest wins over a tag that names another image.
    image = acquire(parse_source(f"{registry.host}/single:gzip@{pinned}"), INSECURE, ctx)
    assert image.manifest_digest == pinned
    read_layers(image)


def test_multiplatform_default_is_linux_amd64(
    open_registry: tuple[Registry, dict[str, str]], ctx: Context
) -> None:
    """From an index whose first entry is an attestation, the default picks linux/amd64."""
    registry, digests = open_registry
    image = acquire(parse_source(f"docker://{registry.host}/multi:1"), INSECURE, ctx)
    assert image.index_digest == digests["multi:index"]
    assert image.manifest_digest == digests["multi:amd64"]
    assert image.platform == Platform(os="linux", architecture="amd64")
    read_layers(image)


def test_multiplatform_arm64(open_registry: tuple[Registry, dict[str, str]], ctx: Context) -> None:
    """--platform linux/arm64 picks the arm64 entry of the same index."""
    registry, digests = open_registry
    options = AcquireOptions(tls_verify=False, platform=Platform.parse("linux/arm64"))
    image = acquire(parse_source(f"docker://{registry.host}/multi:1"), options, ctx)
    assert image.manifest_digest == digests["multi:arm64"]
    assert image.platform == Platform(os="linux", architecture="arm64", variant="v8")
    read_layers(image)


def test_multiplatform_missing_platform_lists_available(
    open_registry: tuple[Registry, dict[str, str]], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """No entry for linux/s390x: UnsupportedImageError naming the real platforms only."""
    registry, _ = open_registry
    options = AcquireOptions(tls_verify=False, platform=Platform.parse("linux/s390x"))
    exc = expect(
        UnsupportedImageError,
        11,
        lambda: acquire(parse_source(f"docker://{registry.host}/multi:1"), options, ctx),
    )
    assert "linux/amd64" in exc.message and "linux/arm64/v8" in exc.message
    assert "unknown" not in exc.message
    check_scratch_clean(tmp_path, cache_dir)


def test_unknown_tag_and_repository(
    open_registry: tuple[Registry, dict[str, str]], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """A missing tag, repository or digest is ImageNotFoundError (exit 3)."""
    registry, _ = open_registry
    for ref in (
        f"{registry.host}/single:no-such-tag",
        f"{registry.host}/no/such/repo:1",
        f"{registry.host}/single@sha256:{'0' * 64}",
    ):
        expect(ImageNotFoundError, 3, lambda ref=ref: acquire(parse_source(ref), INSECURE, ctx))
    check_scratch_clean(tmp_path, cache_dir)


def test_second_pull_downloads_no_blob(
    open_registry: tuple[Registry, dict[str, str]], ctx: Context
) -> None:
    """The registry's access log shows no blob GET for a pull whose blobs are cached."""
    registry, _ = open_registry
    source = parse_source(f"docker://{registry.host}/multi:1")
    before = len(registry.blob_gets())
    first = acquire(source, INSECURE, ctx)
    fetched = registry.blob_gets()[before:]
    assert len(fetched) == 1 + len(first.layers)  # config + layers
    second = acquire(source, INSECURE, ctx)
    assert registry.blob_gets()[before + len(fetched) :] == []
    assert second.manifest_digest == first.manifest_digest
    read_layers(second)


def test_plain_http_needs_insecure(
    open_registry: tuple[Registry, dict[str, str]], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """Without --insecure, a plain-HTTP registry (even on 127.0.0.1) is refused with a hint."""
    registry, _ = open_registry
    exc = expect(
        RegistryError,
        8,
        lambda: acquire(
            parse_source(f"docker://{registry.host}/single:gzip"), AcquireOptions(), ctx
        ),
    )
    assert "TLS" in exc.message
    assert "--insecure" in exc.hint
    check_scratch_clean(tmp_path, cache_dir)


def test_tampered_layer_in_registry_storage(
    open_registry: tuple[Registry, dict[str, str]], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """A layer whose stored bytes were altered is IntegrityError, and never cached."""
    registry, digests = open_registry
    manifest = json.loads(registry.blob_path(digests["tamper-layer"]).read_bytes())
    victim = manifest["layers"][1]["digest"]
    path = registry.blob_path(victim)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    exc = expect(
        IntegrityError,
        5,
        lambda: acquire(parse_source(f"docker://{registry.host}/tamper-layer:1"), INSECURE, ctx),
    )
    assert victim in exc.message or victim[:19] in exc.message
    assert not (cache_dir / "blobs" / "sha256" / victim.split(":")[1]).exists()
    check_scratch_clean(tmp_path, cache_dir)


def test_tampered_manifest_in_registry_storage(
    open_registry: tuple[Registry, dict[str, str]], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """A manifest altered in storage no longer matches Docker-Content-Digest: IntegrityError."""
    registry, digests = open_registry
    path = registry.blob_path(digests["tamper-manifest"])
    doc = json.loads(path.read_bytes())
    doc["annotations"] = {"evil": "yes"}
    path.write_bytes(canonical_json(doc))
    exc = expect(
        IntegrityError,
        5,
        lambda: acquire(parse_source(f"docker://{registry.host}/tamper-manifest:1"), INSECURE, ctx),
    )
    assert "Docker-Content-Digest" in exc.message
    check_scratch_clean(tmp_path, cache_dir)


# --- TLS with a self-signed certificate ----------------------------------------------


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An HTTPS registry with a throwaway self-signed certificate."""
    _need_registry()
    root = tmp_path_factory.mktemp("registry-tls")
    registry = Registry(root / "registry", mode="open", tls=True).start()
    try:
        write_layout(root / "layout", {"1": _image("tls")})
        registry.push(root / "layout", "1", "tls:1")
        yield registry
    finally:
        registry.stop()


def test_self_signed_tls_refused_by_default(
    tls_registry: Registry, ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """An unverifiable certificate is RegistryError with the --insecure hint."""
    exc = expect(
        RegistryError,
        8,
        lambda: acquire(parse_source(f"docker://{tls_registry.host}/tls:1"), AcquireOptions(), ctx),
    )
    assert "certificate verify failed" in exc.message
    assert "--insecure" in exc.hint
    check_scratch_clean(tmp_path, cache_dir)


def test_self_signed_tls_with_insecure(tls_registry: Registry, ctx: Context) -> None:
    """--tls-verify=false talks HTTPS without verification (no plain-HTTP fallback needed)."""
    err = io.StringIO()
    debug_ctx = Context(cache_dir=ctx.cache_dir, quiet=True, debug=True, stderr=err)
    image = acquire(parse_source(f"docker://{tls_registry.host}/tls:1"), INSECURE, debug_ctx)
    read_layers(image)
    assert "GET https://" in err.getvalue() and "GET http://" not in err.getvalue()


# --- htpasswd (Basic) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry with htpasswd (bcrypt) Basic auth and one image."""
    _need_registry(htpasswd=True)
    root = tmp_path_factory.mktemp("registry-basic")
    registry = Registry(root / "registry", mode="htpasswd", users={"alice": ALICE_PASSWORD}).start()
    try:
        write_layout(root / "layout", {"1": _image("basic")})
        registry.push(root / "layout", "1", "private/app:1", creds=("alice", ALICE_PASSWORD))
        yield registry
    finally:
        registry.stop()


def _debug_ctx(ctx: Context) -> tuple[Context, io.StringIO]:
    err = io.StringIO()
    return Context(cache_dir=ctx.cache_dir, quiet=False, debug=True, stderr=err), err


def test_basic_auth_with_creds(basic_registry: Registry, ctx: Context) -> None:
    """--creds USER:PASSWORD pulls from an htpasswd registry; nothing secret is printed."""
    debug_ctx, err = _debug_ctx(ctx)
    options = AcquireOptions(tls_verify=False, creds=("alice", ALICE_PASSWORD))
    image = acquire(
        parse_source(f"docker://{basic_registry.host}/private/app:1"), options, debug_ctx
    )
    read_layers(image)
    assert_no_secrets([ALICE_PASSWORD, f"alice:{ALICE_PASSWORD}"], None, err.getvalue())


def test_basic_auth_with_authfile(basic_registry: Registry, ctx: Context, tmp_path: Path) -> None:
    """--authfile pointing at a config.json with an `auths` entry (base64 user:password)."""
    authfile = tmp_path / "auth.json"
    token = base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()
    authfile.write_text(json.dumps({"auths": {basic_registry.host: {"auth": token}}}))
    options = AcquireOptions(tls_verify=False, authfile=authfile)
    image = acquire(parse_source(f"docker://{basic_registry.host}/private/app:1"), options, ctx)
    read_layers(image)


def test_basic_auth_from_containers_auth_json(
    basic_registry: Registry, ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `skopeo login` writes ($XDG_RUNTIME_DIR/containers/auth.json) is used, and
    $REGISTRY_AUTH_FILE comes before it (containers-auth.json(5) order)."""
    token = base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()
    good = json.dumps({"auths": {basic_registry.host: {"auth": token}}})
    runtime = tmp_path / "xdg-runtime" / "containers"
    runtime.mkdir(parents=True)
    (runtime / "auth.json").write_text(good)
    image = acquire(parse_source(f"docker://{basic_registry.host}/private/app:1"), INSECURE, ctx)
    read_layers(image)

    wrong = base64.b64encode(b"alice:not-the-password").decode()
    override = tmp_path / "registry-auth.json"
    override.write_text(json.dumps({"auths": {basic_registry.host: {"auth": wrong}}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(override))
    fresh = Context(cache_dir=tmp_path / "other-cache", quiet=True)
    exc = expect(
        AuthenticationError,
        4,
        lambda: acquire(
            parse_source(f"docker://{basic_registry.host}/private/app:1"), INSECURE, fresh
        ),
    )
    assert str(override) in str(exc)
    assert_no_secrets([ALICE_PASSWORD, "not-the-password"], exc)


def test_basic_auth_with_docker_config_and_credential_helper(
    basic_registry: Registry, ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOCKER_CONFIG's credHelpers runs docker-credential-<name> (via docker.auth)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-dock2uni-test"
    answer = json.dumps(
        {"ServerURL": basic_registry.host, "Username": "alice", "Secret": ALICE_PASSWORD}
    )
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        f'read server; [ "$server" = "{basic_registry.host}" ] || exit 1\n'
        f"echo '{answer}'\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    config_dir = Path(os.environ["DOCKER_CONFIG"])
    (config_dir / "config.json").write_text(
        json.dumps({"credHelpers": {basic_registry.host: "dock2uni-test"}})
    )
    image = acquire(parse_source(f"docker://{basic_registry.host}/private/app:1"), INSECURE, ctx)
    read_layers(image)


def test_basic_auth_wrong_password(
    basic_registry: Registry, ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """A wrong password is AuthenticationError (exit 4) that shows neither password."""
    debug_ctx, err = _debug_ctx(ctx)
    wrong = "wrong-Pa55word-never-printed"
    options = AcquireOptions(tls_verify=False, creds=("alice", wrong))
    exc = expect(
        AuthenticationError,
        4,
        lambda: acquire(
            parse_source(f"docker://{basic_registry.host}/private/app:1"), options, debug_ctx
        ),
    )
    assert "alice" in exc.message
    assert_no_secrets([wrong, ALICE_PASSWORD, f"alice:{wrong}"], exc, err.getvalue())
    check_scratch_clean(tmp_path, cache_dir)


def test_basic_auth_without_credentials(
    basic_registry: Registry, ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """No credentials anywhere (empty DOCKER_CONFIG): AuthenticationError with a login hint."""
    exc = expect(
        AuthenticationError,
        4,
        lambda: acquire(
            parse_source(f"docker://{basic_registry.host}/private/app:1"), INSECURE, ctx
        ),
    )
    assert "docker login" in exc.hint
    check_scratch_clean(tmp_path, cache_dir)


def test_missing_authfile(basic_registry: Registry, ctx: Context, tmp_path: Path) -> None:
    """--authfile naming a file that does not exist is an AuthenticationError, not a fallback."""
    options = AcquireOptions(tls_verify=False, authfile=tmp_path / "nope.json")
    expect(
        AuthenticationError,
        4,
        lambda: acquire(
            parse_source(f"docker://{basic_registry.host}/private/app:1"), options, ctx
        ),
    )


# --- bearer tokens ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Registry, TokenServer]]:
    """A registry delegating auth to the test token server (RS256 JWT, x5c header)."""
    _need_registry()
    root = tmp_path_factory.mktemp("registry-token")
    tokens = TokenServer(
        root, users={"bob": BOB_PASSWORD}, identity_tokens={BOB_IDENTITY_TOKEN: "bob"}
    ).start()
    registry = Registry(root / "registry", mode="token", token_server=tokens)
    try:
        registry.start()
        write_layout(root / "layout", {"1": _image("token")})
        registry.push(root / "layout", "1", "team/app:1", creds=("bob", BOB_PASSWORD))
        yield registry, tokens
    finally:
        registry.stop()
        tokens.stop()


def test_token_auth_with_creds(token_registry: tuple[Registry, TokenServer], ctx: Context) -> None:
    """Basic credentials go to the (same-host) realm; the Bearer token pulls the image."""
    registry, tokens = token_registry
    seen = len(tokens.requests)
    debug_ctx, err = _debug_ctx(ctx)
    options = AcquireOptions(tls_verify=False, creds=("bob", BOB_PASSWORD))
    image = acquire(parse_source(f"docker://{registry.host}/team/app:1"), options, debug_ctx)
    read_layers(image)
    mine = tokens.requests[seen:]
    assert mine and all(r.authorization and r.authorization.startswith("Basic ") for r in mine)
    assert mine[0].query["scope"] == ["repository:team/app:pull"]
    assert_no_secrets([BOB_PASSWORD, *tokens.issued], None, err.getvalue())


def test_token_auth_with_identity_token(
    token_registry: tuple[Registry, TokenServer], ctx: Context, tmp_path: Path
) -> None:
    """An `identitytoken` from config.json is exchanged with an OAuth2 refresh_token POST."""
    registry, tokens = token_registry
    seen = len(tokens.requests)
    authfile = tmp_path / "config.json"
    authfile.write_text(
        json.dumps({"auths": {registry.host: {"identitytoken": BOB_IDENTITY_TOKEN}}})
    )
    options = AcquireOptions(tls_verify=False, authfile=authfile)
    image = acquire(parse_source(f"docker://{registry.host}/team/app:1"), options, ctx)
    read_layers(image)
    assert [r.method for r in tokens.requests[seen:]][:1] == ["POST"]


def test_token_auth_anonymous_denied(
    token_registry: tuple[Registry, TokenServer], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """An anonymous token without pull rights ends in AuthenticationError, not a 401 loop."""
    registry, tokens = token_registry
    seen = len(tokens.requests)
    exc = expect(
        AuthenticationError,
        4,
        lambda: acquire(parse_source(f"docker://{registry.host}/team/app:1"), INSECURE, ctx),
    )
    assert "anonymous" in exc.message
    assert len(tokens.requests) - seen <= 3  # probe token + one refresh, bounded
    assert_no_secrets(tokens.issued, exc)
    check_scratch_clean(tmp_path, cache_dir)


def test_token_auth_wrong_password(
    token_registry: tuple[Registry, TokenServer], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """The token server's 401 is AuthenticationError; neither password nor token leaks."""
    registry, tokens = token_registry
    debug_ctx, err = _debug_ctx(ctx)
    wrong = "wrong-bob-Pa55word"
    options = AcquireOptions(tls_verify=False, creds=("bob", wrong))
    exc = expect(
        AuthenticationError,
        4,
        lambda: acquire(parse_source(f"docker://{registry.host}/team/app:1"), options, debug_ctx),
    )
    assert "token server" in exc.message
    assert_no_secrets([wrong, BOB_PASSWORD, *tokens.issued], exc, err.getvalue())
    check_scratch_clean(tmp_path, cache_dir)


def test_cli_inspect_bare_reference(
    open_registry: tuple[Registry, dict[str, str]], tmp_path: Path
) -> None:
    """`dock2uni inspect HOST:PORT/NAME:TAG --insecure` through the CLI prints the pinned digest."""
    import subprocess
    import sys

    registry, digests = open_registry
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dock2uni",
            "inspect",
            f"{registry.host}/single:gzip",
            "--insecure",
            "-f",
            "json",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["digest"] == digests["single:gzip"] and doc["transport"] == "docker"


# --- broken transfers, through a proxy that cuts them ------------------------------------


@pytest.fixture(scope="module")
def big_layer_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Registry, str, int]]:
    """A registry holding one image whose layer is ~1 MiB of incompressible bytes."""
    _need_registry()
    root = tmp_path_factory.mktemp("registry-big")
    registry = Registry(root / "registry", mode="open").start()
    try:
        payload = os.urandom(1 << 20)
        image = Image(layers=[Layer().file("data.bin", payload)], config={"Cmd": ["/x"]})
        digests = write_layout(root / "big", {"1": image})
        registry.push(root / "big", "1", "big:1")
        manifest = json.loads((root / "big/blobs/sha256" / digests["1"].split(":")[1]).read_bytes())
        layer = manifest["layers"][0]
        yield registry, layer["digest"], layer["size"]
    finally:
        registry.stop()


def _layer_gets(proxy: CuttingProxy, digest: str) -> list[tuple[str, int, bool]]:
    return [
        (r.range_header, r.body_bytes, r.cut) for r in proxy.relayed if digest in r.request_line
    ]


def test_broken_layer_download_resumes_with_a_range_request(
    big_layer_registry: tuple[Registry, str, int], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """The real registry answers the range request: only the missing bytes cross again."""
    registry, digest, size = big_layer_registry
    host, port = registry.host.rsplit(":", 1)
    with CuttingProxy((host, int(port)), digest, cut_after=300_000) as proxy:
        image = acquire(parse_source(f"docker://{proxy.host}/big:1"), INSECURE, ctx)
    read_layers(image)
    gets = _layer_gets(proxy, digest)
    assert gets[0] == ("", 300_000, True)
    assert [g[0] for g in gets[1:]] == [f"bytes={300_000}-"]  # resumed exactly there
    assert sum(g[1] for g in gets) == size  # no byte fetched twice
    check_scratch_clean(tmp_path, cache_dir)


def test_broken_layer_download_starts_over_when_range_is_ignored(
    big_layer_registry: tuple[Registry, str, int], ctx: Context, tmp_path: Path, cache_dir: Path
) -> None:
    """Behind a proxy that drops Range, the 200 answer is the whole layer again."""
    registry, digest, size = big_layer_registry
    host, port = registry.host.rsplit(":", 1)
    with CuttingProxy((host, int(port)), digest, cut_after=300_000, drop_range=True) as proxy:
        image = acquire(parse_source(f"docker://{proxy.host}/big:1"), INSECURE, ctx)
    read_layers(image)
    gets = _layer_gets(proxy, digest)
    assert [g[1] for g in gets] == [300_000, size]
    check_scratch_clean(tmp_path, cache_dir)
