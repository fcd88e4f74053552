"""Pull an image from a registry over the OCI distribution API (the only module that talks HTTP).

Interface:
  * ``acquire_registry(source, options, ctx)`` -> AcquiredImage, for ``docker://REF``
    and bare ``REF`` sources. Every layer is downloaded into the blob cache
    (acquire/blobcache.py) before it returns; ``Layer.open`` reads from the cache
    and verifies size and digest again.
  * ``RegistryClient``: the HTTP half (probe, auth, retries, redirects, status
    mapping), usable on its own by tests with their own ``RetryPolicy``.

Rules this module keeps (docs/image-sources.md explains them):
  * HTTPS, verified, unless options.tls_verify is False (--insecure): then HTTPS
    without verification, falling back to plain HTTP.
  * Redirects are followed by hand; ``Authorization`` is only ever sent to the
    host:port (and scheme) it was meant for, never to a redirect target elsewhere.
  * 429 and 500/502/503/504 and connection failures are retried a bounded number of
    times with exponential backoff, honouring a capped Retry-After.
  * One re-authentication per request: a second 401 is an AuthenticationError.
  * Nothing the registry says is trusted: sizes and digests come from the
    descriptors (Content-Length is ignored), and reads are capped at the size.
  * No secret (password, token) appears in an error or in --debug output.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, cast
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from dock2uni.acquire import AcquireOptions
from dock2uni.acquire.auth import (
    MAX_TOKEN_BYTES,
    Challenge,
    Credentials,
    Token,
    basic_header,
    find_credentials,
    parse_challenges,
    parse_token_response,
    pick_challenge,
    token_request,
)
from dock2uni.acquire.blobcache import BlobCache
from dock2uni.context import Context
from dock2uni.errors import (
    AuthenticationError,
    Dock2UniError,
    ImageNotFoundError,
    IntegrityError,
    InvalidImageError,
    InvalidReferenceError,
    RegistryError,
)
from dock2uni.model import AcquiredImage, BlobOpener, Descriptor
from dock2uni.oci import mediatypes as mt
from dock2uni.oci.digest import digest_bytes, parse_digest, verify_bytes
from dock2uni.oci.documents import RootDocument, check_pinned, resolve_image
from dock2uni.oci.reference import Reference, parse_reference
from dock2uni.oci.sources import ImageSource

USER_AGENT = "dock2uni/0.1"
CONNECT_TIMEOUT = 10.0  # seconds
READ_TIMEOUT = 60.0  # seconds between bytes, not for the whole body
MAX_REDIRECTS = 5
MAX_ERROR_BODY = 16 * 1024  # bytes of an error response we read for its message
CHUNK = 1 << 20
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TLS_HINT = (
    "If the registry serves plain HTTP or a self-signed certificate, pass --insecure "
    "(alias --tls-verify=false); for a private CA set REQUESTS_CA_BUNDLE."
)
_NETWORK_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry 429/5xx answers and network failures."""

    attempts: int = 5  # tries per request in total
    base_delay: float = 0.5  # seconds before the 2nd try; doubles each time
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # cap on a server's Retry-After
    sleep: Callable[[float], object] = time.sleep
    clock: Callable[[], float] = time.monotonic  # for token lifetimes

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after:
            seconds = _parse_retry_after(retry_after)
            if seconds is not None:
                return max(0.0, min(seconds, self.max_retry_after))
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


RETRY_POLICY = RetryPolicy()


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return float(when.timestamp() - time.time())


@dataclass(frozen=True)
class Origin:
    """scheme, host and port: the boundary an Authorization header never crosses."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        default = 443 if parts.scheme == "https" else 80
        return cls(parts.scheme, (parts.hostname or "").lower(), port or default)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def redact_url(url: str) -> str:
    """A URL fit for messages: no user info, no query (presigned URLs carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def _reason(exc: BaseException) -> str:
    """A short cause of a network failure, without URLs (they may carry secrets)."""
    text = str(exc)
    m = re.search(r"\[SSL: [A-Z0-9_]+\] ([^(')\"]+)", text)
    if m:
        return f"TLS error: {m.group(1).strip()}"
    for marker in (
        "certificate verify failed",
        "Connection refused",
        "Connection reset",
        "Connection aborted",
        "timed out",
        "Name or service not known",
        "Temporary failure in name resolution",
        "No route to host",
        "IncompleteRead",
        "Connection broken",
    ):
        if marker in text:
            return marker
    return type(exc).__name__


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    value = content_type.split(";", 1)[0].strip().lower()
    # A generic type says nothing about which manifest kind the server means.
    return None if value in ("", "application/json", "application/octet-stream") else value


@dataclass
class PullStats:
    """What one pull cost; reported with --debug."""

    requests: int = 0
    blobs_downloaded: int = 0
    bytes_downloaded: int = 0
    blobs_cached: int = 0
    blobs_resumed: int = 0  # transfers continued with a range request after breaking off


@dataclass
class _Secrets:
    """Every secret this client holds, so registry-supplied text can be scrubbed of them."""

    values: set[str] = field(default_factory=set)

    def add(self, *values: str) -> None:
        self.values.update(v for v in values if len(v) >= 4)

    def scrub(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "<redacted>")
        return text


class RegistryClient:
    """HTTP to one repository of one registry: probe, auth, retries, redirects, errors."""

    def __init__(
        self,
        ref: Reference,
        options: AcquireOptions,
        ctx: Context,
        *,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.ref = ref
        self.ctx = ctx
        self.options = options
        self.policy = policy or RETRY_POLICY
        self.host = ref.api_host
        self.scope = f"repository:{ref.path}:pull"
        self.base: str | None = None  # scheme://host, chosen by probe()
        self.stats = PullStats()
        self._session = requests.Session()
        self._session.trust_env = False  # no ~/.netrc credentials sent behind our back
        self._verify: bool | str = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            if options.tls_verify
            else False
        )
        self._creds: Credentials | None = None
        self._creds_loaded = False
        self._auth_header: str | None = None
        self._token: Token | None = None
        self._challenge: Challenge | None = None
        self._secrets = _Secrets()

    # --- plumbing -----------------------------------------------------------------

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def origin(self) -> Origin:
        assert self.base is not None
        return Origin.of(self.base)

    @property
    def plain_http(self) -> bool:
        return self.base is not None and self.base.startswith("http://")

    def url(self, path: str) -> str:
        assert self.base is not None
        return f"{self.base}/v2/{self.ref.path}/{path}"

    def _credentials(self) -> Credentials | None:
        if not self._creds_loaded:
            self._creds = find_credentials(
                self.ref.domain, creds=self.options.creds, authfile=self.options.authfile
            )
            self._creds_loaded = True
            if self._creds is not None:
                self._secrets.add(self._creds.secret, basic_header(self._creds).split(" ", 1)[1])
        return self._creds

    def _send_once(
        self, method: str, url: str, headers: dict[str, str], form: dict[str, str] | None
    ) -> tuple[requests.Response, str]:
        """One request, following redirects by hand; Authorization stays on its origin."""
        start = Origin.of(url)
        for _hop in range(MAX_REDIRECTS + 1):
            here = Origin.of(url)
            sent = dict(headers)
            if here != start:
                sent.pop("Authorization", None)
                if form is not None:
                    # A token POST carries an identity token in its body: never forward it.
                    raise RegistryError(
                        f"{start} redirected a credential-bearing token request to {here}",
                        hint="The registry's token server is misconfigured or hostile.",
                    )
            self.stats.requests += 1
            with warnings.catch_warnings():
                # --insecure: the user asked for unverified TLS; no warning per request.
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                resp = self._session.request(
                    method,
                    url,
                    headers=sent,
                    data=form,
                    stream=True,
                    allow_redirects=False,
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                    verify=self._verify,
                    proxies=requests.utils.get_environ_proxies(url),
                )
            self.ctx.log_debug(f"{method} {redact_url(url)} -> {resp.status_code}")
            location = resp.headers.get("Location")
            if resp.status_code not in REDIRECT_STATUSES or not location:
                return resp, url
            resp.close()
            target = urljoin(url, location)
            scheme = urlsplit(target).scheme
            if scheme not in ("http", "https"):
                raise RegistryError(
                    f"{here} redirected to an unsupported URL scheme {scheme!r}",
                    hint="The registry is misconfigured or hostile; contact its operator.",
                )
            if scheme == "http" and urlsplit(url).scheme == "https" and self.options.tls_verify:
                raise RegistryError(
                    f"{here} redirected from HTTPS to plain HTTP ({redact_url(target)})",
                    hint="Refusing a TLS downgrade; pass --insecure only if you trust the network.",
                )
            if resp.status_code == 303:
                method, form = "GET", None
            url = target
        raise RegistryError(
            f"more than {MAX_REDIRECTS} redirects from {start}",
            hint="The registry is misconfigured (a redirect loop?); contact its operator.",
        )

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        what: str,
        form: dict[str, str] | None = None,
        attempts: int | None = None,
    ) -> tuple[requests.Response, str]:
        """A request with retries on network errors, 429 and 5xx; returns (response, final URL)."""
        limit = attempts or self.policy.attempts
        attempt = 0
        while True:
            attempt += 1
            try:
                resp, final = self._send_once(method, url, headers, form)
            except requests.exceptions.SSLError as exc:
                reason = _reason(exc)
                if "wrong version number" in reason:
                    reason += " (does it speak plain HTTP?)"
                raise RegistryError(
                    f"TLS connection to {Origin.of(url)} failed for {what}: {reason}",
                    hint=TLS_HINT,
                ) from None
            except _NETWORK_ERRORS as exc:
                if attempt >= limit:
                    raise RegistryError(
                        f"cannot reach {Origin.of(url)} for {what}: {_reason(exc)} "
                        f"(tried {attempt} times)"
                    ) from None
                self._wait(attempt, None, f"{_reason(exc)} from {Origin.of(url)}")
                continue
            if resp.status_code not in RETRY_STATUSES:
                return resp, final
            summary = self._error_summary(resp)
            retry_after = resp.headers.get("Retry-After")
            resp.close()
            if attempt >= limit:
                if resp.status_code == 429:
                    raise RegistryError(
                        f"{Origin.of(final)} is rate-limiting requests for {what} "
                        f"(HTTP 429{summary}; tried {attempt} times)",
                        hint="Wait a while and try again, or log in (authenticated pulls "
                        "usually get a higher limit).",
                    )
                raise RegistryError(
                    f"{Origin.of(final)} failed for {what}: HTTP {resp.status_code}{summary} "
                    f"(tried {attempt} times)",
                    hint="The registry has a problem; try again later.",
                )
            self._wait(attempt, retry_after, f"HTTP {resp.status_code} from {Origin.of(final)}")

    def _wait(self, attempt: int, retry_after: str | None, why: str) -> None:
        delay = self.policy.delay(attempt, retry_after)
        self.ctx.log_debug(f"{why}; retrying in {delay:.1f}s")
        self.policy.sleep(delay)

    def _error_summary(self, resp: requests.Response) -> str:
        """``: CODE message`` from a distribution error body, scrubbed of our secrets."""
        return self._error_info(resp)[1]

    def _error_info(self, resp: requests.Response) -> tuple[str, str]:
        """The first error code of a distribution error body, and ``: CODE message``."""
        try:
            body = resp.raw.read(MAX_ERROR_BODY, decode_content=False)
        except (*_NETWORK_ERRORS, OSError):
            return "", ""
        try:
            first = json.loads(body)["errors"][0]
            code, message = str(first.get("code", "")), str(first.get("message", ""))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
            return "", ""
        # Scrub before cutting, so no prefix of a secret survives the cut.
        text = self._secrets.scrub(f"{code} {message}".strip())
        text = "".join(c for c in text if c.isprintable())[:200]
        return code, f": {text}" if text else ""

    # --- authentication -----------------------------------------------------------

    def _headers(self, accept: str | None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if accept:
            headers["Accept"] = accept
        if self._token is not None and not self._token.fresh(self.policy.clock()):
            assert self._challenge is not None
            self.ctx.log_debug("bearer token expired; fetching a new one")
            self._fetch_token(self._challenge)
        if self._auth_header:
            headers["Authorization"] = self._auth_header
        return headers

    def _authenticate(self, resp: requests.Response) -> None:
        """Answer a 401 from the registry: set Basic credentials or fetch a Bearer token."""
        challenge = pick_challenge(parse_challenges(resp.headers.get("WWW-Authenticate", "")))
        if challenge is None:
            raise AuthenticationError(
                f"registry {self.origin} demands authentication with a scheme dock2uni "
                "does not support (only Basic and Bearer)",
            )
        creds = self._credentials()
        if challenge.scheme == "basic":
            if creds is None or creds.identity_token:
                raise AuthenticationError(
                    f"registry {self.origin} requires a user name and password for {self.ref.name}"
                )
            self._auth_header = basic_header(creds)
            return
        self._challenge = challenge
        self._fetch_token(challenge)

    def _fetch_token(self, challenge: Challenge) -> None:
        creds = self._credentials()
        req = token_request(
            challenge,
            scope=self.scope,
            creds=creds,
            registry_host=self.origin.host,
            registry_plain_http=self.plain_http,
        )
        realm = Origin.of(req.url)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **req.headers}
        resp, _ = self._send(req.method, req.url, headers, what="a token", form=req.form)
        with contextlib.closing(resp):
            if resp.status_code in (401, 403):
                who = (
                    f"the credentials of {creds.username!r} (from {creds.origin})"
                    if (creds and req.with_credentials)
                    else "anonymous access"
                )
                hint = None
                if creds is not None and not req.with_credentials:
                    hint = (
                        f"dock2uni did not send your credentials to the token server {realm} "
                        "because it is plain HTTP on another host (see docs/image-sources.md)."
                    )
                raise AuthenticationError(
                    f"token server {realm} refused {who} for {self.ref.name}", hint=hint
                )
            if resp.status_code != 200:
                raise RegistryError(
                    f"token server {realm} answered HTTP {resp.status_code}"
                    f"{self._error_summary(resp)}",
                    hint="The registry's token server is failing; try again later.",
                )
            body = self._read_capped(resp, MAX_TOKEN_BYTES, what=f"token response of {realm}")
        token = parse_token_response(body, now=self.policy.clock(), realm_host=str(realm))
        self._secrets.add(token.value)
        self._token = token
        self._auth_header = f"Bearer {token.value}"

    # --- requests to the registry -------------------------------------------------

    def request(
        self,
        url: str,
        *,
        what: str,
        accept: str | None = None,
        attempts: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """GET from the registry with auth; a second 401 raises AuthenticationError."""
        reauthenticated = False
        while True:
            resp, final = self._send(
                "GET",
                url,
                {**self._headers(accept), **(headers or {})},
                what=what,
                attempts=attempts,
            )
            if resp.status_code != 401 or Origin.of(final) != self.origin:
                return resp
            if reauthenticated:
                summary = self._error_summary(resp)
                resp.close()
                creds = self._creds
                who = f"user {creds.username!r} (from {creds.origin})" if creds else "anonymous"
                raise AuthenticationError(
                    f"registry {self.origin} refused {who} access to {self.ref.name}{summary}"
                )
            try:
                self._authenticate(resp)
            finally:
                resp.close()
            reauthenticated = True

    def probe(self) -> None:
        """GET /v2/: choose the scheme, check it is a registry, authenticate early."""
        schemes = ["https"] if self.options.tls_verify else ["https", "http"]
        for scheme in schemes:
            self.base = f"{scheme}://{self.host}"
            fallback = scheme == "https" and not self.options.tls_verify
            try:
                # With --insecure an HTTPS failure is expected for a plain-HTTP
                # registry: try it once, then fall back without backoff.
                resp = self.request(
                    f"{self.base}/v2/", what="the API check", attempts=1 if fallback else None
                )
            except RegistryError as exc:
                if fallback:
                    self.ctx.log_debug(f"{exc.message}; trying plain HTTP")
                    continue
                raise
            with contextlib.closing(resp):
                if resp.status_code == 200:
                    return
                self.check_status(resp, what="the API check /v2/")
                raise RegistryError(
                    f"{self.origin} answered HTTP {resp.status_code} to /v2/; "
                    "it does not look like a registry",
                )
        raise AssertionError("unreachable")

    def check_status(self, resp: requests.Response, *, what: str, blob: bool = False) -> None:
        """Raise the matching error for a non-200 answer (the body is read for its message)."""
        status = resp.status_code
        if status == 200:
            return
        code, summary = self._error_info(resp)
        resp.close()
        at_registry = Origin.of(resp.url) == self.origin if resp.url else True
        if status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
            if blob:
                raise ImageNotFoundError(
                    f"{what}: the registry has no such blob{summary}",
                    hint="The image in the registry is incomplete; push it again.",
                )
            raise ImageNotFoundError(f"{what}: not found on {self.origin}{summary}")
        if status in (401, 403) and at_registry:
            who = f"user {self._creds.username!r}" if self._creds else "anonymous"
            raise AuthenticationError(f"{what}: registry {self.origin} denied {who}{summary}")
        where = Origin.of(resp.url) if resp.url else self.origin
        raise RegistryError(f"{what}: {where} answered HTTP {status}{summary}")

    def _read_capped(self, resp: requests.Response, limit: int, *, what: str) -> bytes:
        """Read a body, but never more than ``limit`` + 1 bytes (callers judge the excess)."""
        if resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
            raise RegistryError(
                f"{what}: the server sent a {resp.headers['Content-Encoding']}-encoded body "
                "although dock2uni asked for identity",
            )
        chunks: list[bytes] = []
        total = 0
        try:
            while total <= limit:
                chunk = resp.raw.read(min(CHUNK, limit + 1 - total), decode_content=False)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        except _NETWORK_ERRORS as exc:
            raise RegistryError(f"{what}: download broke off: {_reason(exc)}") from None
        return b"".join(chunks)

    def fetch_root(self) -> RootDocument:
        """The manifest or index the reference names, checked against every digest we know."""
        ref = self.ref
        what = f"manifest of {ref}"
        resp = self.request(
            self.url(f"manifests/{ref.manifest_ref}"), what=what, accept=mt.MANIFEST_ACCEPT
        )
        self.check_status(resp, what=what)
        with contextlib.closing(resp):
            limit = self.ctx.limits.max_json_bytes
            data = self._read_capped(resp, limit, what=what)
            if len(data) > limit:
                raise InvalidImageError(f"{what}: document larger than the {limit} byte limit")
            header = resp.headers.get("Docker-Content-Digest")
            content_type = resp.headers.get("Content-Type")
        if header:
            try:
                alg, _ = parse_digest(header.strip(), what="Docker-Content-Digest")
            except InvalidReferenceError:
                raise RegistryError(
                    f"{what}: the registry sent a malformed Docker-Content-Digest header"
                ) from None
            if digest_bytes(data, alg) != header.strip():
                raise IntegrityError(
                    f"{what}: content does not match the registry's Docker-Content-Digest "
                    f"{header.strip()[:80]}"
                )
        root = RootDocument(
            data=data,
            digest=ref.digest or digest_bytes(data),
            media_type=_media_type(content_type),
            what=what,
        )
        check_pinned(root, ref.digest)
        return root

    def fetch_document(self, desc: Descriptor, *, what: str) -> bytes:
        """A manifest (by digest) or a config blob, bounded by its size and verified."""
        if desc.media_type in mt.INDEX_TYPES | mt.MANIFEST_TYPES:
            accept = mt.MANIFEST_ACCEPT
            if desc.media_type not in accept:
                accept = f"{accept}, {desc.media_type}"
            resp = self.request(self.url(f"manifests/{desc.digest}"), what=what, accept=accept)
            self.check_status(resp, what=what)
        else:
            resp = self.request(self.url(f"blobs/{desc.digest}"), what=what)
            self.check_status(resp, what=what, blob=True)
        with contextlib.closing(resp):
            data = self._read_capped(resp, desc.size, what=what)
        verify_bytes(data, digest=desc.digest, size=desc.size, what=what)
        return data

    def download_blob(self, desc: Descriptor, cache: BlobCache, *, what: str) -> None:
        """Stream one blob into the cache. A transfer that breaks off is retried from
        where it stopped (``Range: bytes=N-``) when the server answers 206 with that
        range, else from the start; ``policy.attempts`` transfers at most."""
        url = self.url(f"blobs/{desc.digest}")
        responses = [self._open_blob(url, desc, 0, what=what)[0]]
        attempt = 1

        def resume(offset: int, exc: BaseException) -> tuple[BinaryIO, int]:
            nonlocal attempt
            if not isinstance(exc, _NETWORK_ERRORS):
                raise exc
            if attempt >= self.policy.attempts:
                raise RegistryError(
                    f"{what}: download broke off after {offset} of {desc.size} bytes: "
                    f"{_reason(exc)} (tried {attempt} times)"
                ) from None
            if offset >= desc.size:
                # Every byte arrived and only the end of the body was lost: nothing to
                # ask for (a range starting at the size would be a 416).
                return cast(BinaryIO, io.BytesIO()), offset
            self._wait(attempt, None, f"{what}: {_reason(exc)} after {offset} bytes")
            attempt += 1
            resp, start = self._open_blob(url, desc, offset, what=what)
            responses.append(resp)
            if start:
                self.stats.blobs_resumed += 1
            self.ctx.log_debug(f"{what}: continuing at byte {start}")
            return _RawBody.of(resp), start

        try:
            with self.ctx.progress(desc=what, total=desc.size) as bar:
                cache.store(
                    desc, _RawBody.of(responses[0]), what=what, progress=bar.update, resume=resume
                )
        finally:
            for resp in responses:
                resp.close()
        self.stats.blobs_downloaded += 1
        self.stats.bytes_downloaded += desc.size

    def _open_blob(
        self, url: str, desc: Descriptor, offset: int, *, what: str
    ) -> tuple[requests.Response, int]:
        """GET a blob from ``offset`` on; the answer and where its body starts: ``offset``
        for a 206 with exactly the rest, 0 for a 200 (the whole blob)."""
        headers = {"Range": f"bytes={offset}-"} if offset else None
        resp = self.request(url, what=what, headers=headers)
        if offset and resp.status_code == 206:
            got = resp.headers.get("Content-Range", "")
            want = f"bytes {offset}-{desc.size - 1}/"
            if not got.startswith(want) or got[len(want) :] not in (str(desc.size), "*"):
                resp.close()
                raise RegistryError(
                    f"{what}: asked for bytes {offset}- of {desc.size} and got "
                    f"Content-Range {got[:80]!r}",
                    hint="The registry (or a proxy in front of it) mishandles range requests.",
                )
            return resp, offset
        self.check_status(resp, what=what, blob=True)
        return resp, 0


class _RawBody:
    """The undecoded body of a response as a minimal binary stream."""

    def __init__(self, resp: requests.Response) -> None:
        encoding = resp.headers.get("Content-Encoding", "identity").lower()
        if encoding not in ("", "identity"):
            raise RegistryError(
                f"the server sent a {encoding}-encoded blob although dock2uni asked for identity"
            )
        self._raw = resp.raw

    @classmethod
    def of(cls, resp: requests.Response) -> BinaryIO:
        # Duck-typed: VerifyingReader only calls read() and close().
        return cast(BinaryIO, cls(resp))

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._raw.read(None if n < 0 else n, decode_content=False)
        return data

    def close(self) -> None:
        self._raw.close()


class RegistryContent:
    """documents.ContentSource over a registry, backed by the blob cache."""

    def __init__(self, client: RegistryClient, cache: BlobCache) -> None:
        self.client = client
        self.cache = cache
        self.layers: list[Descriptor] = []

    def read_document(self, desc: Descriptor, *, what: str) -> bytes:
        limit = self.client.ctx.limits.max_json_bytes
        if desc.size > limit:
            raise InvalidImageError(
                f"{what}: document of {desc.size} bytes exceeds the {limit} limit"
            )
        cached = self.cache.read(desc, what=what)
        if cached is not None:
            self.client.stats.blobs_cached += 1
            return cached
        data = self.client.fetch_document(desc, what=what)
        self.cache.put(desc, data, what=what)
        return data

    def layer_opener(self, desc: Descriptor) -> BlobOpener:
        self.layers.append(desc)
        cache = self.cache
        what = f"layer {desc.digest}"

        def open_layer() -> BinaryIO:
            if not cache.has(desc):
                raise RegistryError(
                    f"{what} is no longer in the blob cache {cache.root}",
                    hint="Something removed the cache while dock2uni ran; run the command again.",
                )
            return cache.open(desc, what=what)

        return open_layer

    def download_layers(self) -> None:
        """Fetch every layer not yet cached, so later stages never touch the network."""
        for i, desc in enumerate(self.layers):
            if self.cache.has(desc):
                self.client.stats.blobs_cached += 1
                continue
            self.client.download_blob(
                desc, self.cache, what=f"layer {i + 1}/{len(self.layers)} {desc.digest[:19]}"
            )


@contextlib.contextmanager
def _client(
    ref: Reference, options: AcquireOptions, ctx: Context, policy: RetryPolicy | None
) -> Iterator[RegistryClient]:
    client = RegistryClient(ref, options, ctx, policy=policy)
    try:
        yield client
    except Dock2UniError as exc:
        # Registry-supplied text may end up in messages; it must not echo our secrets.
        exc.message = client._secrets.scrub(exc.message)
        exc.hint = client._secrets.scrub(exc.hint)
        exc.args = (exc.message,)
        raise
    finally:
        client.close()


def acquire_registry(
    source: ImageSource,
    options: AcquireOptions,
    ctx: Context,
    *,
    policy: RetryPolicy | None = None,
) -> AcquiredImage:
    """Pull ``source`` (docker://REF or REF): manifest, config and every layer, verified."""
    if not source.ref:
        raise InvalidReferenceError(f"{source.text!r}: no image reference")
    ref = parse_reference(source.ref)
    cache = BlobCache(ctx.cache_dir / "blobs")
    with _client(ref, options, ctx, policy) as client:
        client.probe()
        root = client.fetch_root()
        content = RegistryContent(client, cache)
        image = resolve_image(
            content,
            root,
            wanted=options.platform,
            source_name=f"docker://{ref}",
            transport="docker",
            reference=str(ref),
            ctx=ctx,
        )
        content.download_layers()
        s = client.stats
        ctx.log_debug(
            f"{ref}: {s.requests} requests, {s.blobs_downloaded} blobs downloaded "
            f"({s.bytes_downloaded} bytes), {s.blobs_cached} from the cache"
        )
        return image
