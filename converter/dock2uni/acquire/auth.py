"""Registry credentials and authentication logic: lookup, challenges, tokens (no HTTP here).

Interface (used by acquire/registry.py, which does the HTTP):
  * ``find_credentials(domain, creds=, authfile=)``: --creds, else --authfile, else
    the containers-tools auth files (``containers_auth_files()``: what ``skopeo login``
    and ``podman login`` write), else Docker's own lookup (DOCKER_CONFIG or
    ~/.docker/config.json, credHelpers > credsStore > auths). Every file is read
    through docker-py's ``docker.auth`` (the formats are the same), the only place
    besides acquire/daemon.py that imports docker-py.
  * ``parse_challenges(header)``: RFC 7235 WWW-Authenticate parsing.
  * ``token_request(...)``: the GET/POST to send to a Bearer realm, with the
    policy on when credentials may go there (see ``may_send_credentials``).
  * ``parse_token_response(...)``: ``token`` or ``access_token``, ``expires_in``.

Secrets never appear in a message, an exception or a repr: ``Credentials`` hides
them, and errors name the registry and the user at most.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from dock2uni.errors import AuthenticationError, RegistryError

DEFAULT_TOKEN_LIFETIME = 60  # seconds, distribution token.md: "defaults to 60 seconds"
TOKEN_REFRESH_MARGIN = 5  # refresh this many seconds before the token expires
MAX_TOKEN_BYTES = 64 * 1024  # a token response is small; anything larger is refused
CLIENT_ID = "dock2uni"
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # visible ASCII: no header injection


@dataclass(frozen=True)
class Credentials:
    """A username and a secret (password, or an identity token when ``identity_token``)."""

    username: str
    secret: str = field(repr=False)
    identity_token: bool = False
    origin: str = ""  # where they came from, for messages: "--creds", a file path...

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, secret=<redacted>, origin={self.origin!r})"


def basic_header(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _from_docker_authconfig(entry: dict[str, Any], origin: str) -> Credentials | None:
    # docker-py returns lower-case keys from `auths` and capitalised ones from helpers.
    token = entry.get("IdentityToken") or entry.get("identitytoken")
    user = entry.get("username") or entry.get("Username")
    password = entry.get("password") or entry.get("Password")
    if isinstance(token, str) and token:
        return Credentials(
            username=str(user or "<token>"), secret=token, identity_token=True, origin=origin
        )
    if isinstance(user, str) and user and isinstance(password, str):
        return Credentials(username=user, secret=password, origin=origin)
    return None


def _docker_lookup(domain: str, config_path: Path | None) -> Credentials | None:
    import docker.auth  # only here: credential lookup, no daemon needed
    import docker.errors

    origin = str(config_path) if config_path else "the Docker config (DOCKER_CONFIG or ~/.docker)"
    try:
        with warnings.catch_warnings():
            # docker-py warns when a configured credential helper is not installed;
            # the lookup then fails below with a proper error instead.
            warnings.simplefilter("ignore")
            config = docker.auth.load_config(config_path=str(config_path) if config_path else None)
            entry = docker.auth.resolve_authconfig(config, registry=domain)
    except docker.errors.DockerException as exc:
        # The message of a helper failure can contain what the helper printed;
        # name only the class to stay on the safe side.
        raise AuthenticationError(
            f"cannot read credentials for {domain} from {origin} ({type(exc).__name__})",
            hint="Check the file and any credHelpers/credsStore program it names "
            "(docker-credential-*), or pass --creds USER:PASSWORD.",
        ) from None
    except (binascii.Error, ValueError, UnicodeDecodeError, OSError):
        raise AuthenticationError(
            f"malformed credentials for {domain} in {origin}",
            hint="The 'auth' entry must be base64 of USER:PASSWORD; run `docker login` again.",
        ) from None
    if not entry:
        return None
    return _from_docker_authconfig(dict(entry), origin)


def containers_auth_files(env: Mapping[str, str] | None = None) -> list[Path]:
    """The containers-tools auth files that exist, in containers-auth.json(5) order:
    $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, then
    ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json."""
    env = os.environ if env is None else env
    candidates: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        candidates.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(env["XDG_RUNTIME_DIR"]) / "containers/auth.json")
    config_home = env.get("XDG_CONFIG_HOME") or (
        str(Path(env["HOME"]) / ".config") if env.get("HOME") else ""
    )
    if config_home:
        candidates.append(Path(config_home) / "containers/auth.json")
    return [p for p in dict.fromkeys(candidates) if p.is_file()]


def find_credentials(
    domain: str, *, creds: tuple[str, str] | None, authfile: Path | None
) -> Credentials | None:
    """Credentials for ``domain`` (e.g. docker.io, localhost:5000), or None for anonymous."""
    if creds is not None:
        return Credentials(username=creds[0], secret=creds[1], origin="--creds")
    if authfile is not None:
        if not authfile.is_file():
            raise AuthenticationError(
                f"--authfile {authfile}: no such file",
                hint="Point --authfile at a Docker config.json (as written by `docker login`).",
            )
        return _docker_lookup(domain, authfile)
    for path in containers_auth_files():
        found = _docker_lookup(domain, path)
        if found is not None:
            return found
    return _docker_lookup(domain, None)


# --- WWW-Authenticate -------------------------------------------------------------

_TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class Challenge:
    """One challenge: scheme in lower case and its parameters (names in lower case)."""

    scheme: str
    params: dict[str, str]


def _read_token(text: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(text) and text[i] in _TCHARS:
        i += 1
    return text[start:i], i


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    i += 1  # opening quote
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value (RFC 7235) into challenges; junk ends the parse."""
    out: list[Challenge] = []
    current: Challenge | None = None
    i, n = 0, len(header)
    while i < n:
        while i < n and header[i] in " \t,":
            i += 1
        name, i = _read_token(header, i)
        if not name:
            break
        while i < n and header[i] in " \t":
            i += 1
        if i < n and header[i] == "=":
            # auth-param of the current challenge
            i += 1
            while i < n and header[i] in " \t":
                i += 1
            if i < n and header[i] == '"':
                value, i = _read_quoted(header, i)
            else:
                value, i = _read_token(header, i)
            if current is not None:
                current.params.setdefault(name.lower(), value)
        else:
            current = Challenge(scheme=name.lower(), params={})
            out.append(current)
    return out


def pick_challenge(challenges: list[Challenge]) -> Challenge | None:
    """Prefer Bearer (scoped, short-lived) over Basic; ignore schemes we do not speak."""
    for wanted in ("bearer", "basic"):
        for c in challenges:
            if c.scheme == wanted:
                return c
    return None


# --- Bearer tokens ----------------------------------------------------------------


def _netloc(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, host, port


def may_send_credentials(realm: str, *, registry_host: str, registry_plain_http: bool) -> bool:
    """Whether our credentials may go to a token realm.

    Over HTTPS, yes (the realm is who the registry says authenticates for it).
    Over plain HTTP only to the registry's own host name (any port), and only if
    the user already chose plain HTTP for that registry with --insecure: a
    cleartext realm elsewhere would hand the password to whoever is on the path.
    """
    scheme, host, _ = _netloc(realm)
    if scheme == "https":
        return True
    return registry_plain_http and host == registry_host.lower()


@dataclass(frozen=True)
class TokenRequest:
    """An HTTP request to a token realm, ready to send."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    form: dict[str, str] | None = field(default=None, repr=False)
    with_credentials: bool = False


def token_request(
    challenge: Challenge,
    *,
    scope: str,
    creds: Credentials | None,
    registry_host: str,
    registry_plain_http: bool,
) -> TokenRequest:
    """Build the realm request of the token flow (distribution token.md, oauth.md)."""
    realm = challenge.params.get("realm", "")
    scheme, host, _ = _netloc(realm) if realm else ("", "", 0)
    if scheme not in ("http", "https") or not host:
        raise RegistryError(
            f"registry {registry_host} sent a Bearer challenge without a usable realm "
            f"({realm[:100]!r})",
            hint="The registry's token authentication is misconfigured; contact its operator.",
        )
    if urlsplit(realm).username is not None:
        raise RegistryError(
            f"registry {registry_host} sent a token realm with embedded credentials",
            hint="The registry's token authentication is misconfigured; contact its operator.",
        )
    service = challenge.params.get("service")
    scopes = [scope]
    extra_scope = challenge.params.get("scope")
    if extra_scope and extra_scope != scope:
        scopes.append(extra_scope)
    send_creds = creds is not None and may_send_credentials(
        realm, registry_host=registry_host, registry_plain_http=registry_plain_http
    )
    if send_creds and creds is not None and creds.identity_token:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": creds.secret,
            "client_id": CLIENT_ID,
        }
        if service:
            form["service"] = service
        form["scope"] = " ".join(scopes)
        return TokenRequest(method="POST", url=realm, headers={}, form=form, with_credentials=True)
    query: list[tuple[str, str]] = []
    if service:
        query.append(("service", service))
    query.extend(("scope", s) for s in scopes)
    headers: dict[str, str] = {}
    if send_creds and creds is not None:
        query.append(("account", creds.username))
        headers["Authorization"] = basic_header(creds)
    sep = "&" if urlsplit(realm).query else "?"
    url = realm + (sep + urlencode(query) if query else "")
    return TokenRequest(method="GET", url=url, headers=headers, with_credentials=send_creds)


@dataclass(frozen=True)
class Token:
    """A bearer token and when (on our clock) it stops being usable."""

    value: str = field(repr=False)
    expires_at: float

    def fresh(self, now: float) -> bool:
        return now < self.expires_at


def parse_token_response(body: bytes, *, now: float, realm_host: str) -> Token:
    """Read ``token`` or ``access_token`` and ``expires_in`` from a token response."""
    bad = RegistryError(
        f"token server {realm_host} sent an unusable token response",
        hint="The registry's token server is misbehaving; try again later or contact its operator.",
    )
    if len(body) > MAX_TOKEN_BYTES:
        raise bad
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad from None
    if not isinstance(doc, dict):
        raise bad
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not _TOKEN_CHARS.fullmatch(value):
        raise bad
    lifetime = doc.get("expires_in")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        lifetime = DEFAULT_TOKEN_LIFETIME
    margin = min(TOKEN_REFRESH_MARGIN, lifetime / 10)
    return Token(value=value, expires_at=now + lifetime - margin)
