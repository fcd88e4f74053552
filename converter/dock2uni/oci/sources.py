"""SOURCE strings, named with the transports users know from skopeo (containers-transports(5)).

    REF | docker://REF          registry
    docker-daemon:REF           local Docker Engine
    docker-archive:PATH[:REF]   `docker save` output
    oci:DIR[:REF]               OCI image layout directory
    oci-archive:PATH[:REF]      tar of an OCI image layout

A path may itself contain ':'; the longest prefix that exists on disk is the path
and the rest is the reference inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dock2uni.errors import ImageNotFoundError, InvalidReferenceError

REGISTRY = "docker"
DAEMON = "docker-daemon"
DOCKER_ARCHIVE = "docker-archive"
OCI_LAYOUT = "oci"
OCI_ARCHIVE = "oci-archive"

_PATH_TRANSPORTS = (DOCKER_ARCHIVE, OCI_LAYOUT, OCI_ARCHIVE)
TRANSPORTS = (REGISTRY, DAEMON, *_PATH_TRANSPORTS)


@dataclass(frozen=True, kw_only=True)
class ImageSource:
    """A parsed SOURCE argument."""

    transport: str
    text: str  # as the user wrote it
    ref: str | None = None  # image reference, tag or ref name inside the source
    path: Path | None = None  # for the path transports

    def __str__(self) -> str:
        return self.text


def _split_path(transport: str, rest: str) -> tuple[Path, str | None]:
    if not rest:
        raise InvalidReferenceError(f"{transport}: needs a path, e.g. {transport}:./image.tar")
    want_dir = transport == OCI_LAYOUT
    # Try the whole string first, then shorter prefixes ending before each ':'.
    cuts = [len(rest)] + [i for i in range(len(rest) - 1, 0, -1) if rest[i] == ":"]
    for cut in cuts:
        candidate = Path(rest[:cut])
        if candidate.is_dir() if want_dir else candidate.is_file():
            ref = rest[cut + 1 :] if cut < len(rest) else None
            return candidate, (ref or None)
    kind = "directory" if want_dir else "file"
    raise ImageNotFoundError(
        f"{transport}: no such {kind}: {rest}",
        hint=f"Check the path; write {transport}:PATH or {transport}:PATH:REF.",
    )


def parse_source(text: str) -> ImageSource:
    """Parse SOURCE into an ImageSource (paths must exist; registry refs are checked later)."""
    if not text:
        raise InvalidReferenceError("empty SOURCE")
    if text.startswith("docker://"):
        image_ref = text[len("docker://") :]
        if not image_ref:
            raise InvalidReferenceError("docker:// needs an image reference")
        return ImageSource(transport=REGISTRY, text=text, ref=image_ref)
    transport, sep, rest = text.partition(":")
    if sep and transport == DAEMON:
        if not rest:
            raise InvalidReferenceError("docker-daemon: needs an image reference or ID")
        return ImageSource(transport=DAEMON, text=text, ref=rest)
    if sep and transport in _PATH_TRANSPORTS:
        path, ref = _split_path(transport, rest)
        return ImageSource(transport=transport, text=text, ref=ref, path=path)
    return ImageSource(transport=REGISTRY, text=text, ref=text)
