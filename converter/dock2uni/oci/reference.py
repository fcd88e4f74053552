"""Image references: parsing and normalisation with distribution's grammar.

``nginx`` -> ``docker.io/library/nginx:latest``; the first component is a registry
host iff it contains ``.`` or ``:``, is ``localhost``, or has upper-case letters
(distribution/reference ``splitDockerDomain``). Repository paths must be lower
case; tags are ``[\\w][\\w.-]{0,127}``; digests are validated by oci.digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dock2uni.errors import InvalidReferenceError
from dock2uni.oci.digest import parse_digest

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
# ASCII only: Go's \w (distribution's grammar) does not match non-ASCII letters.
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
LEGACY_DOCKER_HUB = "index.docker.io"


@dataclass(frozen=True, kw_only=True)
class Reference:
    """A normalised image reference."""

    domain: str  # registry host[:port] as written, docker.io for Docker Hub
    path: str  # repository path, e.g. library/nginx
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def api_host(self) -> str:
        """Host[:port] to talk to (Docker Hub's API lives on another host)."""
        return DOCKER_HUB_API if self.domain == DOCKER_HUB else self.domain

    @property
    def manifest_ref(self) -> str:
        """What to ask the registry for: the digest if pinned, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def _bad(text: str, why: str) -> InvalidReferenceError:
    return InvalidReferenceError(
        f"invalid image reference {text[:300]!r}: {why}",
        hint="Write it as [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. nginx:1.25 "
        "or localhost:5000/app:1.",
    )


def parse_reference(text: str) -> Reference:
    """Parse and normalise ``[domain/]path[:tag][@digest]``."""
    if not text or text != text.strip() or any(c.isspace() for c in text):
        raise _bad(text, "empty or contains whitespace")
    rest, at, digest = text.partition("@")
    if at:
        parse_digest(digest, what="image digest")
    else:
        digest = ""
    # A tag follows the last ':' after the last '/' (a ':' before it is a port).
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = ""
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise _bad(text, f"invalid tag {tag[:140]!r}")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, remainder
        if not _DOMAIN_RE.fullmatch(domain):
            raise _bad(text, f"invalid registry host {domain!r}")
        if domain == LEGACY_DOCKER_HUB:
            domain = DOCKER_HUB  # distribution's legacyDefaultDomain
    else:
        domain, path = DOCKER_HUB, rest
    if not path:
        raise _bad(text, "no repository name")
    if domain == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if path != path.lower():
        raise _bad(text, "repository names must be lower case")
    if not _PATH_RE.fullmatch(path):
        raise _bad(text, "invalid repository name")
    if len(f"{domain}/{path}") > MAX_NAME_LENGTH:
        raise _bad(text, f"name longer than {MAX_NAME_LENGTH} characters")
    if not tag and not digest:
        tag = DEFAULT_TAG
    return Reference(domain=domain, path=path, tag=tag or None, digest=digest or None)
