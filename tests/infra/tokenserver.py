"""A small bearer-token server for registry tests: checks Basic credentials, issues RS256 JWTs.

Speaks distribution's token protocol (docs/spec/auth/token.md, oauth.md) on
127.0.0.1 over plain HTTP:
  * ``GET /token?service=S&scope=repository:NAME:ACTIONS`` with optional Basic
    credentials: a known user gets the actions asked for, an anonymous caller gets
    ``anonymous_actions`` (none by default, like a private repository), a wrong
    password gets 401.
  * ``POST /token`` with ``grant_type=refresh_token`` (an identity token from a
    Docker config.json) works the same way.
Tokens are JWTs signed with a throwaway RSA key; the header carries the
self-signed certificate in ``x5c``, and the registry's ``rootcertbundle`` holds that
same certificate, which is what distribution 2.8 needs to trust it.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_self_signed(
    common_name: str, *, san_ip: str | None = None
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A throwaway RSA key and a self-signed certificate (CA:true) for it."""
    import ipaddress

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if san_ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]),
            critical=False,
        )
    cert = builder.sign(key, hashes.SHA256())
    return key, cert


@dataclass
class TokenRequestLog:
    """What the token server saw in one request."""

    method: str
    query: dict[str, list[str]]
    authorization: str | None
    form: dict[str, list[str]] = field(default_factory=dict)


class TokenServer:
    """Issues registry tokens; records every request and every token it issued."""

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str],
        service: str = "dock2uni-test-registry",
        issuer: str = "dock2uni-test-issuer",
        identity_tokens: dict[str, str] | None = None,
        anonymous_actions: tuple[str, ...] = (),
        response_fields: tuple[str, ...] = ("token",),
        expires_in: int | None = 300,
    ) -> None:
        self.users = users
        self.service = service
        self.issuer = issuer
        self.identity_tokens = identity_tokens or {}
        self.anonymous_actions = anonymous_actions
        self.response_fields = response_fields
        self.expires_in = expires_in
        self.requests: list[TokenRequestLog] = []
        self.issued: list[str] = []
        self._key, self._cert = make_self_signed("dock2uni test token issuer")
        self.cert_path = workdir / "token-issuer.pem"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def realm(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/token"

    def start(self) -> TokenServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._handle(self, form={})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                owner._handle(self, form=form)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- protocol -------------------------------------------------------------------

    def _user(
        self, handler: BaseHTTPRequestHandler, form: dict[str, list[str]]
    ) -> str | bool | None:
        """The authenticated user, None for anonymous, False for bad credentials."""
        if form:
            if form.get("grant_type") != ["refresh_token"]:
                return False
            token = (form.get("refresh_token") or [""])[0]
            return self.identity_tokens.get(token, False)
        header = handler.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        if self.users.get(user) != password:
            return False
        return user

    def _handle(self, handler: BaseHTTPRequestHandler, *, form: dict[str, list[str]]) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        self.requests.append(
            TokenRequestLog(
                method=handler.command,
                query=query,
                authorization=handler.headers.get("Authorization"),
                form=form,
            )
        )
        user = self._user(handler, form)
        if user is False:
            self._reply(handler, 401, {"details": "incorrect username or password"})
            return
        scopes = (form.get("scope") or [""])[0].split() if form else query.get("scope", [])
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            granted = wanted if user else [a for a in wanted if a in self.anonymous_actions]
            access.append({"type": kind, "name": name, "actions": granted})
        token = self.sign(subject=str(user or ""), access=access)
        body: dict[str, Any] = {field_name: token for field_name in self.response_fields}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        body["issued_at"] = datetime.datetime.now(datetime.UTC).isoformat()
        self._reply(handler, 200, body)

    def sign(self, *, subject: str, access: list[dict[str, Any]]) -> str:
        """An RS256 JWT the registry accepts for ``access``."""
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 600,
            "nbf": now - 30,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{_b64url(signature)}"
        self.issued.append(token)
        return token

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
