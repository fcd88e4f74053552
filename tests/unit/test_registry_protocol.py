"""Registry client against scripted HTTP servers, for answers a real registry cannot give.

Lying headers, broken bodies, cross-host redirects, odd challenges and token
servers are scripted with the stdlib http.server in a thread; normal behaviour is
tested against the real docker-registry in tests/integration/test_registry.py.
Every bad-input case checks the exact error class and exit code, that no secret
leaks, and that nothing but verified blobs was written.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fixtures.ocibuild import (
    LAYER_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Layer,
    canonical_json,
    compress,
    sha256,
)

from dock2uni.acquire import AcquireOptions
from dock2uni.acquire.auth import (
    Challenge,
    Credentials,
    containers_auth_files,
    find_credentials,
    may_send_credentials,
    parse_challenges,
    parse_token_response,
    pick_challenge,
)
from dock2uni.acquire.blobcache import BlobCache
from dock2uni.acquire.registry import RetryPolicy, acquire_registry, redact_url
from dock2uni.context import Context, Limits
from dock2uni.errors import (
    AuthenticationError,
    Dock2UniError,
    ImageNotFoundError,
    IntegrityError,
    InvalidImageError,
    RegistryError,
    UnsupportedImageError,
)
from dock2uni.model import AcquiredImage, Descriptor
from dock2uni.oci.sources import parse_source
from tests.infra.registry import assert_cache_clean

PASSWORD = "unit-Pa55word-never-printed"
CREDS = ("carol", PASSWORD)
BASIC = "Basic " + base64.b64encode(f"carol:{PASSWORD}".encode()).decode()
DEFAULT_SECRETS = (PASSWORD, BASIC.split()[1])

# --- a scripted HTTP server ---------------------------------------------------------


@dataclass
class Reply:
    """What the scripted server sends back."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_length: int | None = None  # a lying Content-Length (then the connection closes)
    endless: bool = False  # a chunked body that never ends


@dataclass
class Seen:
    """One request the scripted server received."""

    method: str
    path: str
    headers: dict[str, str]


App = Callable[[Seen], Reply]
Checker = Callable[..., None]  # the check_clean fixture
ENDLESS_CAP = 256 << 20  # the server gives up after this much, so a broken client can't hang


class Scripted:
    """An HTTP/1.1 server on 127.0.0.1 whose answers come from ``app``."""

    def __init__(self, app: App | None = None) -> None:
        self.app: App = app or (lambda seen: Reply(404))
        self.seen: list[Seen] = []
        self.sent_endless = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                # A TLS ClientHello (the --insecure HTTPS attempt): hang up at once
                # instead of waiting for a request line that never comes.
                try:
                    first = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    return
                if first in (b"", b"\x16"):
                    return
                super().handle()

            def do_GET(self) -> None:
                owner._serve(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        seen = Seen(handler.command, handler.path, dict(handler.headers.items()))
        self.seen.append(seen)
        reply = self.app(seen)
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.endless:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            chunk = b"\0" * 65536
            framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
            try:
                while self.sent_endless < ENDLESS_CAP:
                    handler.wfile.write(framed)
                    self.sent_endless += len(chunk)
            except OSError:
                pass
            handler.close_connection = True
            return
        length = len(reply.body) if reply.content_length is None else reply.content_length
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(reply.body)
        if reply.content_length is not None:
            handler.close_connection = True


@pytest.fixture
def servers() -> Iterator[Callable[..., Scripted]]:
    """Start scripted servers on demand; all stop after the test."""
    started: list[Scripted] = []

    def start(app: App | None = None) -> Scripted:
        server = Scripted(app)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --- a small image and a registry app serving it ------------------------------------


@dataclass
class FakeImage:
    """Bytes of a one-layer OCI image: layer, config, manifest."""

    layer: bytes
    config: bytes
    manifest: bytes

    @classmethod
    def build(
        cls, *, layer_urls: list[str] | None = None, extra: dict[str, Any] | None = None
    ) -> FakeImage:
        tar = Layer().file("hello.txt", "hello from a scripted registry\n").tar_bytes()
        layer = compress(tar, "gzip")
        config = canonical_json(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
            }
        )
        layer_desc: dict[str, Any] = {
            "mediaType": LAYER_TYPES["gzip"],
            "digest": sha256(layer),
            "size": len(layer),
        }
        if layer_urls:
            layer_desc["urls"] = layer_urls
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [layer_desc],
            **(extra or {}),
        }
        return cls(layer=layer, config=config, manifest=canonical_json(manifest))

    @property
    def layer_digest(self) -> str:
        return sha256(self.layer)

    @property
    def config_digest(self) -> str:
        return sha256(self.config)

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest)


def manifest_reply(body: bytes, media_type: str = OCI_MANIFEST, **headers: str) -> Reply:
    return Reply(
        200, {"Content-Type": media_type, "Docker-Content-Digest": sha256(body), **headers}, body
    )


def error_reply(status: int, code: str, message: str = "", **headers: str) -> Reply:
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return Reply(status, {"Content-Type": "application/json", **headers}, body)


def registry_app(
    image: FakeImage,
    *,
    name: str = "app",
    tag: str = "1",
    overrides: dict[str, Reply | App] | None = None,
    authorized: Callable[[Seen], bool] | None = None,
    challenge: str = 'Basic realm="scripted"',
) -> App:
    """Serve ``image`` like a registry would, with per-path overrides and optional auth."""
    routes: dict[str, Reply | App] = {
        "/v2/": Reply(200, {"Content-Type": "application/json"}, b"{}"),
        f"/v2/{name}/manifests/{tag}": manifest_reply(image.manifest),
        f"/v2/{name}/manifests/{image.manifest_digest}": manifest_reply(image.manifest),
        f"/v2/{name}/blobs/{image.config_digest}": Reply(200, {}, image.config),
        f"/v2/{name}/blobs/{image.layer_digest}": Reply(200, {}, image.layer),
    }
    routes.update(overrides or {})

    def app(seen: Seen) -> Reply:
        if authorized is not None and not authorized(seen):
            return error_reply(
                401, "UNAUTHORIZED", "authentication required", **{"WWW-Authenticate": challenge}
            )
        route = routes.get(seen.path.split("?", 1)[0])
        if route is None:
            return error_reply(404, "NAME_UNKNOWN", "repository name not known to registry")
        return route(seen) if callable(route) else route

    return app


# --- pulling, expectations ----------------------------------------------------------


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the client asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    """Three tries, backoff 0.25 s doubling, Retry-After capped at 5 s; no real sleeping."""
    return RetryPolicy(
        attempts=3, base_delay=0.25, max_delay=1.0, max_retry_after=5.0, sleep=sleeps.append
    )


@pytest.fixture(autouse=True)
def _scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer Docker config; a scratch cwd that must stay empty."""
    (tmp_path / "docker-config").mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg-runtime"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")


def pull(
    server: Scripted, ctx: Context, policy: RetryPolicy, ref: str = "app:1", **options: Any
) -> AcquiredImage:
    source = parse_source(f"docker://{server.host}/{ref}")
    return acquire_registry(source, AcquireOptions(tls_verify=False, **options), ctx, policy=policy)


def expect(cls: type[Dock2UniError], code: int, fn: Callable[[], object]) -> Dock2UniError:
    """fn raises exactly ``cls`` with exit code ``code``."""
    with pytest.raises(Dock2UniError) as info:
        fn()
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert info.value.exit_code == code
    return info.value


def assert_clean(
    tmp_path: Path,
    cache_dir: Path,
    exc: BaseException | None = None,
    secrets: tuple[str, ...] = DEFAULT_SECRETS,
) -> None:
    """Only verified blobs were written, and no secret is in the error."""
    assert list((tmp_path / "cwd").iterdir()) == []
    assert list((tmp_path / "docker-config").iterdir()) == []
    assert_cache_clean(cache_dir, cache_dir)
    if exc is not None:
        text = "\n".join(
            [
                str(exc),
                repr(exc),
                getattr(exc, "hint", ""),
                "".join(traceback.format_exception(exc)),
            ]
        )
        for secret in secrets:
            assert secret not in text


@pytest.fixture
def check_clean(tmp_path: Path, cache_dir: Path) -> Checker:
    """``check_clean(exc=None, secrets=...)``: assert_clean for this test's directories."""

    def check(exc: BaseException | None = None, secrets: tuple[str, ...] = DEFAULT_SECRETS) -> None:
        assert_clean(tmp_path, cache_dir, exc, secrets)

    return check


def read_all(image: AcquiredImage) -> None:
    for layer in image.layers:
        with layer.open() as stream:
            assert sha256(stream.read()) == layer.descriptor.digest


# --- happy paths with adversarial twists --------------------------------------------


def test_scripted_image_pulls(
    servers: Callable[..., Scripted], ctx: Context, policy: RetryPolicy
) -> None:
    """The scripted registry itself is a valid registry (so the failures below mean something)."""
    image = FakeImage.build()
    server = servers(registry_app(image))
    pulled = pull(server, ctx, policy)
    assert pulled.manifest_digest == image.manifest_digest
    read_all(pulled)


def test_429_then_success_honours_retry_after(
    servers: Callable[..., Scripted], ctx: Context, policy: RetryPolicy, sleeps: list[float]
) -> None:
    """429 TOOMANYREQUESTS with Retry-After: 2 waits 2 s once, then succeeds."""
    image = FakeImage.build()
    answers = iter([error_reply(429, "TOOMANYREQUESTS", "slow down", **{"Retry-After": "2"})])
    path = "/v2/app/manifests/1"
    server = servers(
        registry_app(
            image, overrides={path: lambda seen: next(answers, manifest_reply(image.manifest))}
        )
    )
    pulled = pull(server, ctx, policy)
    assert pulled.manifest_digest == image.manifest_digest
    assert sleeps == [2.0]
    assert server.paths().count(path) == 2


def test_retry_after_is_capped(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    sleeps: list[float],
    check_clean: Checker,
) -> None:
    """A Retry-After of an hour is capped; persistent 429 ends in RegistryError (exit 8)."""
    image = FakeImage.build()
    server = servers(
        registry_app(
            image,
            overrides={
                "/v2/app/manifests/1": error_reply(
                    429, "TOOMANYREQUESTS", "", **{"Retry-After": "3600"}
                )
            },
        )
    )
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    assert "rate-limiting" in exc.message
    assert sleeps == [5.0, 5.0]
    check_clean(exc)


def test_503_retries_then_gives_up(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    sleeps: list[float],
    check_clean: Checker,
) -> None:
    """A registry that keeps answering 503 is tried 3 times with backoff, then RegistryError."""
    image = FakeImage.build()
    path = f"/v2/app/blobs/{image.layer_digest}"
    server = servers(registry_app(image, overrides={path: Reply(503, {}, b"busy")}))
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    assert "503" in exc.message
    assert server.paths().count(path) == 3
    assert sleeps == [0.25, 0.5]
    check_clean(exc)


def test_connection_refused_is_retried_then_registry_error(
    ctx: Context, policy: RetryPolicy, sleeps: list[float], check_clean: Checker
) -> None:
    """Nobody listening: bounded retries, then RegistryError naming host:port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = parse_source(f"docker://127.0.0.1:{port}/app:1")
    exc = expect(
        RegistryError,
        8,
        lambda: acquire_registry(source, AcquireOptions(tls_verify=False), ctx, policy=policy),
    )
    assert f"127.0.0.1:{port}" in exc.message and "Connection refused" in exc.message
    assert sleeps == [0.25, 0.5]
    check_clean(exc)


def test_cross_host_redirect_drops_authorization(
    servers: Callable[..., Scripted], ctx: Context, policy: RetryPolicy
) -> None:
    """A blob 307 to another host:port arrives there without the Authorization header."""
    image = FakeImage.build()
    storage = servers(lambda seen: Reply(200, {}, image.layer))
    same_host = f"/v2/app/moved/{image.config_digest}"
    server = servers(
        registry_app(
            image,
            overrides={
                f"/v2/app/blobs/{image.layer_digest}": Reply(
                    307, {"Location": f"http://{storage.host}/bucket/layer?X-Signature=abc"}
                ),
                f"/v2/app/blobs/{image.config_digest}": Reply(307, {"Location": same_host}),
                same_host: Reply(200, {}, image.config),
            },
            authorized=lambda seen: seen.headers.get("Authorization") == BASIC,
        )
    )
    pulled = pull(server, ctx, policy, creds=CREDS)
    read_all(pulled)
    assert [s.path for s in storage.seen] == ["/bucket/layer?X-Signature=abc"]
    assert "Authorization" not in storage.seen[0].headers
    # Within the registry's own host:port the header stays (the server demanded it).
    assert same_host in server.paths()


def test_redirect_loop_is_bounded(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A blob that redirects to itself forever is RegistryError after a few hops."""
    image = FakeImage.build()
    path = f"/v2/app/blobs/{image.layer_digest}"
    server = servers(registry_app(image, overrides={path: Reply(302, {"Location": path})}))
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    assert "redirects" in exc.message
    assert server.paths().count(path) <= 6
    check_clean(exc)


def test_redirect_to_other_scheme_refused(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A redirect to file:// (or any non-HTTP scheme) is refused."""
    image = FakeImage.build()
    server = servers(
        registry_app(
            image,
            overrides={
                f"/v2/app/blobs/{image.layer_digest}": Reply(
                    302, {"Location": "file:///etc/passwd"}
                )
            },
        )
    )
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    assert "scheme" in exc.message
    check_clean(exc)


# --- manifests ----------------------------------------------------------------------


def test_content_type_differs_from_media_type(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """An OCI manifest served as a Docker manifest list is InvalidImageError (exit 10)."""
    image = FakeImage.build()
    server = servers(
        registry_app(
            image,
            overrides={
                "/v2/app/manifests/1": manifest_reply(
                    image.manifest, "application/vnd.docker.distribution.manifest.list.v2+json"
                )
            },
        )
    )
    exc = expect(InvalidImageError, 10, lambda: pull(server, ctx, policy))
    assert "does not match" in exc.message
    check_clean(exc)


def test_docker_content_digest_mismatch(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A Docker-Content-Digest header that does not hash the body is IntegrityError (exit 5)."""
    image = FakeImage.build()
    server = servers(
        registry_app(
            image,
            overrides={
                "/v2/app/manifests/1": manifest_reply(
                    image.manifest, **{"Docker-Content-Digest": "sha256:" + "1" * 64}
                )
            },
        )
    )
    exc = expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    assert "Docker-Content-Digest" in exc.message
    check_clean(exc)


def test_malformed_docker_content_digest(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A Docker-Content-Digest with a path in it is a protocol error, never used."""
    image = FakeImage.build()
    server = servers(
        registry_app(
            image,
            overrides={
                "/v2/app/manifests/1": manifest_reply(
                    image.manifest, **{"Docker-Content-Digest": "sha256:../../../etc/passwd"}
                )
            },
        )
    )
    expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    check_clean()


def test_pinned_digest_mismatch(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """name@digest answered with another manifest (and no header) is IntegrityError."""
    image, other = FakeImage.build(), FakeImage.build(extra={"annotations": {"x": "y"}})
    server = servers(
        registry_app(
            image,
            overrides={
                f"/v2/app/manifests/{image.manifest_digest}": Reply(
                    200, {"Content-Type": OCI_MANIFEST}, other.manifest
                )
            },
        )
    )
    exc = expect(
        IntegrityError, 5, lambda: pull(server, ctx, policy, ref=f"app@{image.manifest_digest}")
    )
    assert "pinned" in exc.message
    check_clean(exc)


def test_ambiguous_manifest_and_index(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A document with both `manifests` and `layers` (CVE-2021-41190) is InvalidImageError."""
    image = FakeImage.build(extra={"manifests": []})
    server = servers(registry_app(image))
    exc = expect(InvalidImageError, 10, lambda: pull(server, ctx, policy))
    assert "ambiguous" in exc.message
    check_clean(exc)


def test_schema1_manifest(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A Docker schema 1 manifest is UnsupportedImageError (exit 11)."""
    body = json.dumps({"schemaVersion": 1, "name": "app", "tag": "1", "fsLayers": []}).encode()
    server = servers(
        registry_app(
            FakeImage.build(),
            overrides={
                "/v2/app/manifests/1": manifest_reply(
                    body, "application/vnd.docker.distribution.manifest.v1+prettyjws"
                )
            },
        )
    )
    expect(UnsupportedImageError, 11, lambda: pull(server, ctx, policy))
    check_clean()


def test_foreign_layer_url_is_never_fetched(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A layer with `urls` is UnsupportedImageError and its URL gets no request at all."""
    attacker = servers(lambda seen: Reply(200, {}, b"gotcha"))
    image = FakeImage.build(layer_urls=[f"http://{attacker.host}/layer.tar.gz"])
    server = servers(
        registry_app(image, authorized=lambda s: s.headers.get("Authorization") == BASIC)
    )
    exc = expect(UnsupportedImageError, 11, lambda: pull(server, ctx, policy, creds=CREDS))
    assert "foreign" in exc.message
    assert attacker.seen == []
    check_clean(exc)


def test_oversized_manifest_is_cut_off(
    servers: Callable[..., Scripted], cache_dir: Path, policy: RetryPolicy, check_clean: Checker
) -> None:
    """An endless manifest body stops at the JSON size limit: InvalidImageError."""
    ctx = Context(cache_dir=cache_dir, limits=Limits(max_json_bytes=4096), quiet=True)
    server = servers(
        registry_app(
            FakeImage.build(),
            overrides={
                "/v2/app/manifests/1": Reply(200, {"Content-Type": OCI_MANIFEST}, endless=True)
            },
        )
    )
    exc = expect(InvalidImageError, 10, lambda: pull(server, ctx, policy))
    assert "limit" in exc.message
    check_clean(exc)


def test_index_entry_with_wrong_bytes(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A child manifest whose bytes do not match the index's descriptor is IntegrityError."""
    image, other = FakeImage.build(), FakeImage.build(extra={"annotations": {"evil": "1"}})
    index = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": image.manifest_digest,
                    "size": len(image.manifest),
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
    )
    server = servers(
        registry_app(
            image,
            overrides={
                "/v2/app/manifests/1": manifest_reply(index, OCI_INDEX),
                f"/v2/app/manifests/{image.manifest_digest}": manifest_reply(other.manifest),
            },
        )
    )
    expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    check_clean()


def test_manifest_not_found(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """MANIFEST_UNKNOWN is ImageNotFoundError (exit 3)."""
    server = servers(
        registry_app(
            FakeImage.build(),
            overrides={
                "/v2/app/manifests/1": error_reply(404, "MANIFEST_UNKNOWN", "manifest unknown")
            },
        )
    )
    expect(ImageNotFoundError, 3, lambda: pull(server, ctx, policy))
    check_clean()


# --- blobs ----------------------------------------------------------------------------


def _blob_case(
    servers: Callable[..., Scripted], reply: Callable[[FakeImage], Reply]
) -> tuple[Scripted, FakeImage]:
    image = FakeImage.build()
    return servers(
        registry_app(image, overrides={f"/v2/app/blobs/{image.layer_digest}": reply(image)})
    ), image


def test_blob_one_byte_longer(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
    cache_dir: Path,
) -> None:
    """A layer body one byte longer than its descriptor is IntegrityError and not cached."""
    server, image = _blob_case(servers, lambda img: Reply(200, {}, img.layer + b"!"))
    exc = expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    assert "more than" in exc.message
    assert not BlobCache(cache_dir / "blobs").path(image.layer_digest).exists()
    check_clean(exc)


def test_blob_one_byte_shorter(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A layer body one byte short of its descriptor is IntegrityError (truncated)."""
    server, _ = _blob_case(servers, lambda img: Reply(200, {}, img.layer[:-1]))
    exc = expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    assert "truncated" in exc.message
    check_clean(exc)


def test_blob_same_size_wrong_content(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """Right size, wrong bytes: IntegrityError on the digest."""
    server, _ = _blob_case(servers, lambda img: Reply(200, {}, bytes(len(img.layer))))
    exc = expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    assert "digest" in exc.message
    check_clean(exc)


def test_endless_blob_is_capped(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A never-ending chunked body is cut off just past the descriptor size."""
    server, _ = _blob_case(servers, lambda img: Reply(200, {}, endless=True))
    expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    assert server.sent_endless < 64 << 20  # the client hung up long before the server's cap
    check_clean()


def test_content_length_larger_than_body(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    sleeps: list[float],
    check_clean: Checker,
) -> None:
    """Content-Length promises more than is sent: a broken transfer, retried, then RegistryError."""
    server, image = _blob_case(
        servers, lambda img: Reply(200, {}, img.layer[:-10], content_length=len(img.layer))
    )
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    assert "broke off" in exc.message
    assert server.paths().count(f"/v2/app/blobs/{image.layer_digest}") == 3
    check_clean(exc)


def _cut_then(rest: Callable[[FakeImage, Seen], Reply]) -> Callable[[FakeImage], App]:
    """A layer route: the first GET breaks off halfway, later ones answer ``rest``."""

    def route(img: FakeImage) -> App:
        def app(seen: Seen) -> Reply:
            if "Range" not in seen.headers and "range" not in seen.headers:
                half = len(img.layer) // 2
                return Reply(200, {}, img.layer[:half], content_length=len(img.layer))
            return rest(img, seen)

        return app

    return route


def _range_of(seen: Seen) -> str:
    return seen.headers.get("Range") or seen.headers.get("range") or ""


def test_broken_transfer_resumes_where_it_stopped(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    sleeps: list[float],
    check_clean: Checker,
    cache_dir: Path,
) -> None:
    """Cut off halfway, the layer is asked for again from the first missing byte (206)."""

    def rest(img: FakeImage, seen: Seen) -> Reply:
        start = int(_range_of(seen).removeprefix("bytes=").rstrip("-"))
        last, size = len(img.layer) - 1, len(img.layer)
        return Reply(206, {"Content-Range": f"bytes {start}-{last}/{size}"}, img.layer[start:])

    server, image = _blob_case(servers, _cut_then(rest))
    pull(server, ctx, policy)
    gets = [s for s in server.seen if s.path == f"/v2/app/blobs/{image.layer_digest}"]
    assert [_range_of(s) for s in gets] == ["", f"bytes={len(image.layer) // 2}-"]
    assert len(sleeps) == 1
    cached = BlobCache(cache_dir / "blobs").path(image.layer_digest)
    assert cached.read_bytes() == image.layer
    check_clean()


def test_server_ignoring_range_sends_everything_again(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
    cache_dir: Path,
) -> None:
    """A 200 to the range request is the whole blob: the partial copy is thrown away."""
    server, image = _blob_case(servers, _cut_then(lambda img, seen: Reply(200, {}, img.layer)))
    pull(server, ctx, policy)
    assert BlobCache(cache_dir / "blobs").path(image.layer_digest).read_bytes() == image.layer
    check_clean()


def test_body_complete_but_connection_lost_needs_no_second_request(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
    cache_dir: Path,
) -> None:
    """Every byte arrived, then the connection broke (Content-Length promised more): the
    blob verifies as it is; no range starting at its size (a 416) is asked for."""
    server, image = _blob_case(
        servers, lambda img: Reply(200, {}, img.layer, content_length=len(img.layer) + 10)
    )
    pull(server, ctx, policy)
    assert server.paths().count(f"/v2/app/blobs/{image.layer_digest}") == 1
    assert BlobCache(cache_dir / "blobs").path(image.layer_digest).read_bytes() == image.layer
    check_clean()


def test_wrong_content_range_is_refused(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A 206 for another range than the one asked for is a RegistryError, nothing cached."""

    def rest(img: FakeImage, seen: Seen) -> Reply:
        size = len(img.layer)
        return Reply(206, {"Content-Range": f"bytes 0-{size - 1}/{size}"}, img.layer)

    server, _ = _blob_case(servers, _cut_then(rest))
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    assert "Content-Range" in exc.message
    check_clean(exc)


def test_content_length_smaller_than_descriptor(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """Content-Length and body shorter than the descriptor: IntegrityError (header not trusted)."""
    server, _ = _blob_case(
        servers, lambda img: Reply(200, {}, img.layer, content_length=len(img.layer) - 5)
    )
    expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    check_clean()


def test_transport_compressed_blob_refused(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A blob sent with Content-Encoding: gzip (we asked for identity) is RegistryError."""
    server, _ = _blob_case(servers, lambda img: Reply(200, {"Content-Encoding": "gzip"}, img.layer))
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    assert "gzip" in exc.message
    check_clean(exc)


def test_config_with_wrong_bytes(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A config blob that does not match its descriptor is IntegrityError and not cached."""
    image = FakeImage.build()
    server = servers(
        registry_app(
            image,
            overrides={
                f"/v2/app/blobs/{image.config_digest}": Reply(
                    200, {}, image.config.replace(b"amd64", b"arm64")
                )
            },
        )
    )
    expect(IntegrityError, 5, lambda: pull(server, ctx, policy))
    check_clean()


def test_blob_missing(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """BLOB_UNKNOWN for a layer is ImageNotFoundError with a re-push hint."""
    server, _ = _blob_case(servers, lambda img: error_reply(404, "BLOB_UNKNOWN", "blob unknown"))
    exc = expect(ImageNotFoundError, 3, lambda: pull(server, ctx, policy))
    assert "push it again" in exc.hint
    check_clean(exc)


# --- authentication -------------------------------------------------------------------


class TokenApp:
    """A scripted token server: records requests, answers with ``body`` or a status."""

    def __init__(self, body: dict[str, Any] | None = None, status: int = 200) -> None:
        self.body = body
        self.status = status
        self.issued: list[str] = []

    def __call__(self, seen: Seen) -> Reply:
        if self.status != 200:
            return Reply(self.status, {"Content-Type": "application/json"}, b"{}")
        token = f"tok-{len(self.issued) + 1}-secretvalue"
        self.issued.append(token)
        body = self.body if self.body is not None else {"token": token}
        data = json.dumps(body).encode().replace(b"$TOKEN", token.encode())
        return Reply(200, {"Content-Type": "application/json"}, data)


def _bearer_registry(
    servers: Callable[..., Scripted],
    tokens: TokenApp,
    *,
    realm_host: str = "127.0.0.1",
    accept: Callable[[str], bool] | None = None,
    image: FakeImage | None = None,
) -> tuple[Scripted, Scripted]:
    token_server = servers(tokens)
    realm = f"http://{realm_host}:{token_server.port}/token"
    check = accept or (lambda value: value in {f"Bearer {t}" for t in tokens.issued})
    server = servers(
        registry_app(
            image or FakeImage.build(),
            authorized=lambda seen: check(seen.headers.get("Authorization", "")),
            challenge=f'Bearer realm="{realm}",service="scripted"',
        )
    )
    return server, token_server


def test_token_with_only_access_token(
    servers: Callable[..., Scripted], ctx: Context, policy: RetryPolicy
) -> None:
    """A token response carrying only `access_token` (OAuth2 style) is accepted."""
    tokens = TokenApp(body={"access_token": "$TOKEN", "expires_in": 300})
    server, token_server = _bearer_registry(servers, tokens)
    read_all(pull(server, ctx, policy))
    assert len(token_server.seen) == 1
    assert "scope=repository%3Aapp%3Apull" in token_server.seen[0].path


def test_token_refreshed_when_expired(
    servers: Callable[..., Scripted], ctx: Context, sleeps: list[float]
) -> None:
    """expires_in is honoured: once our clock passes it, a new token is fetched up front."""
    now = [0.0]

    def clock() -> float:
        now[0] += 40.0  # every look at the clock is 40 s later
        return now[0]

    policy = RetryPolicy(attempts=3, base_delay=0.25, sleep=sleeps.append, clock=clock)
    tokens = TokenApp(body={"token": "$TOKEN", "expires_in": 60})
    server, token_server = _bearer_registry(servers, tokens)
    read_all(pull(server, ctx, policy))
    assert len(token_server.seen) >= 3
    statuses_401 = [s for s in server.seen if s.headers.get("Authorization") is None]
    assert len(statuses_401) == 1  # only the first /v2/ probe went without a token


def test_token_revoked_mid_pull_is_refreshed_once(
    servers: Callable[..., Scripted], ctx: Context, policy: RetryPolicy
) -> None:
    """A 401 on a token we thought valid triggers exactly one new token, then success."""
    tokens = TokenApp()
    uses_of_first = [0]

    def accept(value: str) -> bool:
        # Only the newest token is valid, and tok-1 is revoked after two uses.
        if not tokens.issued or value != f"Bearer {tokens.issued[-1]}":
            return False
        if value.startswith("Bearer tok-1-"):
            uses_of_first[0] += 1
            return uses_of_first[0] <= 2
        return True

    server, token_server = _bearer_registry(servers, tokens, accept=accept)
    read_all(pull(server, ctx, policy))
    assert len(token_server.seen) == 2


def test_401_loop_ends_in_authentication_error(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A registry that rejects every token: AuthenticationError after one retry, no loop."""
    tokens = TokenApp()
    server, token_server = _bearer_registry(servers, tokens, accept=lambda value: False)
    exc = expect(AuthenticationError, 4, lambda: pull(server, ctx, policy, creds=CREDS))
    assert len(token_server.seen) <= 2
    assert len(server.seen) <= 3
    check_clean(exc, secrets=(PASSWORD, BASIC.split()[1], *tokens.issued))


def test_token_server_refuses_credentials(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """The token server's 401 is AuthenticationError naming the user, not the password."""
    server, _ = _bearer_registry(servers, TokenApp(status=401))
    exc = expect(AuthenticationError, 4, lambda: pull(server, ctx, policy, creds=CREDS))
    assert "carol" in exc.message
    check_clean(exc)


def test_token_server_garbage(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A token response without a token is RegistryError."""
    server, _ = _bearer_registry(servers, TokenApp(body={"expires_in": 60}))
    expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    check_clean()


def test_token_with_header_injection(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """A token containing CR/LF is refused instead of being put in a header."""
    server, _ = _bearer_registry(servers, TokenApp(body={"token": "abc\r\nX-Evil: 1"}))
    expect(RegistryError, 8, lambda: pull(server, ctx, policy))
    check_clean()


def test_bearer_challenge_without_realm(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """Bearer with no realm cannot be answered: RegistryError."""
    server = servers(
        registry_app(
            FakeImage.build(), authorized=lambda s: False, challenge='Bearer service="scripted"'
        )
    )
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy, creds=CREDS))
    assert "realm" in exc.message
    check_clean(exc)


def test_realm_on_other_host_over_http_gets_no_credentials(
    servers: Callable[..., Scripted], ctx: Context, policy: RetryPolicy
) -> None:
    """A cleartext realm on another host name (localhost vs 127.0.0.1) is asked anonymously."""
    tokens = TokenApp()
    server, token_server = _bearer_registry(servers, tokens, realm_host="localhost")
    read_all(pull(server, ctx, policy, creds=CREDS))
    assert token_server.seen
    assert all("Authorization" not in s.headers for s in token_server.seen)
    assert all("account=" not in s.path for s in token_server.seen)


def test_realm_on_same_host_gets_credentials(
    servers: Callable[..., Scripted], ctx: Context, policy: RetryPolicy
) -> None:
    """A realm on the registry's own host name (another port) gets the Basic credentials."""
    tokens = TokenApp()
    server, token_server = _bearer_registry(servers, tokens, realm_host="127.0.0.1")
    read_all(pull(server, ctx, policy, creds=CREDS))
    assert [s.headers.get("Authorization") for s in token_server.seen] == [BASIC]


def test_realm_elsewhere_refusing_anonymous_explains_why(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """When the withheld credentials were needed, the hint says why they were withheld."""
    server, _ = _bearer_registry(servers, TokenApp(status=401), realm_host="localhost")
    exc = expect(AuthenticationError, 4, lambda: pull(server, ctx, policy, creds=CREDS))
    assert "did not send your credentials" in exc.hint
    check_clean(exc)


def test_basic_challenge_without_credentials(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """401 Basic and no credentials anywhere: AuthenticationError at once."""
    server = servers(registry_app(FakeImage.build(), authorized=lambda s: False))
    expect(AuthenticationError, 4, lambda: pull(server, ctx, policy))
    assert len(server.seen) == 1
    check_clean()


def test_unsupported_challenge(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """401 with only a Negotiate challenge: AuthenticationError naming the limitation."""
    server = servers(
        registry_app(FakeImage.build(), authorized=lambda s: False, challenge="Negotiate")
    )
    exc = expect(AuthenticationError, 4, lambda: pull(server, ctx, policy, creds=CREDS))
    assert "scheme" in exc.message
    check_clean(exc)


def test_403_is_authentication_error(
    servers: Callable[..., Scripted],
    ctx: Context,
    policy: RetryPolicy,
    check_clean: Checker,
) -> None:
    """DENIED (403) on the manifest is AuthenticationError."""
    server = servers(
        registry_app(
            FakeImage.build(),
            overrides={
                "/v2/app/manifests/1": error_reply(
                    403, "DENIED", "requested access to the resource is denied"
                )
            },
        )
    )
    expect(AuthenticationError, 4, lambda: pull(server, ctx, policy))
    check_clean()


def test_registry_echoing_secrets_is_scrubbed(
    servers: Callable[..., Scripted], cache_dir: Path, policy: RetryPolicy, check_clean: Checker
) -> None:
    """A hostile error body quoting our Authorization never reaches messages or --debug output."""
    image = FakeImage.build()
    err = io.StringIO()
    ctx = Context(cache_dir=cache_dir, quiet=False, debug=True, stderr=err)

    def echo(seen: Seen) -> Reply:
        return error_reply(
            400, "DENIED", f"you sent {seen.headers.get('Authorization')} {PASSWORD}"
        )

    server = servers(
        registry_app(
            image,
            overrides={"/v2/app/manifests/1": echo},
            authorized=lambda s: s.headers.get("Authorization") == BASIC,
        )
    )
    exc = expect(RegistryError, 8, lambda: pull(server, ctx, policy, creds=CREDS))
    assert "<redacted>" in exc.message
    check_clean(exc)
    assert PASSWORD not in err.getvalue() and BASIC.split()[1] not in err.getvalue()


# --- pure helpers -----------------------------------------------------------------------


def test_parse_challenges() -> None:
    """WWW-Authenticate: several challenges, quoted commas, escapes, junk."""
    got = parse_challenges(
        'Basic realm="r", Bearer realm="https://a/t",service="s",'
        'scope="repository:x/y:pull,push", error="insufficient_scope"'
    )
    assert [c.scheme for c in got] == ["basic", "bearer"]
    assert got[1].params["scope"] == "repository:x/y:pull,push"
    assert parse_challenges('Bearer realm="a\\"b"')[0].params["realm"] == 'a"b'
    assert parse_challenges("") == []
    assert parse_challenges('=== "') == []
    assert pick_challenge(got) == Challenge("bearer", got[1].params)
    assert pick_challenge(parse_challenges("Negotiate, NTLM")) is None


def test_credentials_policy_for_realms() -> None:
    """Credentials go to HTTPS realms; to cleartext realms only on the registry's host, insecure."""
    assert may_send_credentials(
        "https://auth.example/token", registry_host="r.example", registry_plain_http=False
    )
    assert not may_send_credentials(
        "http://auth.example/token", registry_host="r.example", registry_plain_http=True
    )
    assert not may_send_credentials(
        "http://r.example:5001/token", registry_host="r.example", registry_plain_http=False
    )
    assert may_send_credentials(
        "http://R.example:5001/token", registry_host="r.example", registry_plain_http=True
    )


def test_token_lifetime() -> None:
    """No expires_in means 60 s; tokens are refreshed a little before they expire."""
    assert parse_token_response(b'{"token": "abc"}', now=100.0, realm_host="t").expires_at == 155.0
    assert (
        parse_token_response(
            b'{"token": "abc", "expires_in": 10}', now=0.0, realm_host="t"
        ).expires_at
        == 9.0
    )
    assert (
        parse_token_response(b'{"token": "a", "access_token": "b"}', now=0.0, realm_host="t").value
        == "a"
    )


def test_retry_delays() -> None:
    """Backoff doubles up to its cap; Retry-After (seconds or HTTP date) wins, capped."""
    p = RetryPolicy(base_delay=0.5, max_delay=4.0, max_retry_after=30.0)
    assert [p.delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert p.delay(1, "7") == 7.0
    assert p.delay(1, "99999") == 30.0
    assert p.delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert p.delay(2, "soon") == 1.0


def test_secrets_stay_out_of_reprs_and_urls() -> None:
    """Credentials' repr hides the secret; redact_url drops user info and query strings."""
    creds = Credentials(username="u", secret=PASSWORD, origin="--creds")
    assert PASSWORD not in repr(creds)
    assert redact_url("https://u:p@host:5000/v2/x?X-Amz-Signature=s") == "https://host:5000/v2/x"


def test_blob_cache_never_keeps_bad_content(tmp_path: Path) -> None:
    """store() with wrong bytes leaves neither the blob nor a temp file behind."""
    cache = BlobCache(tmp_path / "blobs")
    data = b"good bytes"
    desc = Descriptor(media_type="x", digest=sha256(data), size=len(data))
    with pytest.raises(IntegrityError):
        cache.store(desc, io.BytesIO(b"bad! bytes"), what="blob")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    cache.store(desc, io.BytesIO(data), what="blob")
    assert cache.has(desc) and cache.read(desc, what="blob") == data
    cache.path(desc.digest).write_bytes(b"rotten byte")  # damaged later, same size + 1
    assert not cache.has(desc)
    cache.path(desc.digest).write_bytes(b"rotten b!!")  # same size, wrong content
    assert cache.read(desc, what="blob") is None and not cache.path(desc.digest).exists()


# --- credential lookup (docker.auth) ----------------------------------------------------


def _write_config(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def test_authfile_auths_and_identity_token(tmp_path: Path) -> None:
    """`auths` entries give user and password; an `identitytoken` is marked as such."""
    auth = base64.b64encode(f"carol:{PASSWORD}".encode()).decode()
    path = _write_config(
        tmp_path,
        {"auths": {"r.example:5000": {"auth": auth}, "t.example": {"identitytoken": "idtok"}}},
    )
    creds = find_credentials("r.example:5000", creds=None, authfile=path)
    assert creds is not None and (creds.username, creds.secret) == ("carol", PASSWORD)
    assert not creds.identity_token
    token = find_credentials("t.example", creds=None, authfile=path)
    assert token is not None and token.identity_token and token.secret == "idtok"
    assert find_credentials("other.example", creds=None, authfile=path) is None


def test_docker_config_env_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --authfile, $DOCKER_CONFIG/config.json is read (docker-py's lookup order)."""
    auth = base64.b64encode(b"dave:pw-from-docker-config").decode()
    _write_config(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": auth}}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    creds = find_credentials("docker.io", creds=None, authfile=None)
    assert creds is not None and creds.username == "dave"
    explicit = find_credentials("docker.io", creds=("erin", "x"), authfile=None)
    assert explicit is not None and explicit.username == "erin"  # --creds wins


@pytest.mark.parametrize(
    "doc",
    [
        {"auths": {"r.example": {"auth": "!!not-base64!!"}}},
        {"auths": {"r.example": {"auth": base64.b64encode(b"no-colon").decode()}}},
        {"credHelpers": {"r.example": "dock2uni-no-such-helper"}},
    ],
    ids=["bad-base64", "no-colon", "missing-helper"],
)
def test_broken_credential_config(tmp_path: Path, doc: dict[str, Any]) -> None:
    """A malformed authfile or a missing credential helper is AuthenticationError (exit 4)."""
    path = _write_config(tmp_path, doc)
    exc = expect(
        AuthenticationError,
        4,
        lambda: find_credentials("r.example", creds=None, authfile=path),
    )
    assert "r.example" in exc.message


def test_containers_auth_files_order(tmp_path: Path) -> None:
    """$REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR, then $XDG_CONFIG_HOME (or ~/.config);
    files that do not exist are skipped."""
    explicit = tmp_path / "explicit.json"
    runtime = tmp_path / "run" / "containers" / "auth.json"
    config = tmp_path / "home" / ".config" / "containers" / "auth.json"
    for path in (explicit, runtime, config):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    env = {
        "REGISTRY_AUTH_FILE": str(explicit),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "HOME": str(tmp_path / "home"),
    }
    assert containers_auth_files(env) == [explicit, runtime, config]
    runtime.unlink()
    assert containers_auth_files(env | {"XDG_CONFIG_HOME": str(tmp_path / "nowhere")}) == [explicit]
