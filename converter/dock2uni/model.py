"""Frozen values passed between pipeline stages (acquire -> unpack -> analyse -> ...).

Stages never import each other; they exchange these objects through pipeline.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dock2uni.errors import InvalidReferenceError


@dataclass(frozen=True, kw_only=True)
class Platform:
    """An OCI platform: os/architecture[/variant]."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]`` (crane's --platform syntax, without :osversion)."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidReferenceError(
                f"invalid platform {text!r}",
                hint="Write the platform as OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm/v7.",
            )
        return cls(
            os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None
        )

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


DEFAULT_PLATFORM = Platform(os="linux", architecture="amd64")


@dataclass(frozen=True, kw_only=True)
class Descriptor:
    """An OCI content descriptor (image-spec descriptor.md)."""

    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.platform:
            out["platform"] = str(self.platform)
        return out


# Opens a fresh stream of a layer's *compressed* bytes. Sources wrap it so that the
# bytes are checked against the descriptor's size and digest: reading past the
# declared size, or reaching EOF with a wrong digest, raises IntegrityError.
BlobOpener = Callable[[], BinaryIO]


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One filesystem layer: its descriptor, the digest of its tar (diff_id), and its bytes."""

    descriptor: Descriptor
    diff_id: str
    open: BlobOpener = field(repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class AcquiredImage:
    """What every image source produces: the same value whatever the transport.

    ``manifest`` and ``config`` are the parsed JSON documents (already validated);
    the ``*_bytes`` fields hold the exact bytes their digests were checked on.
    For a legacy ``docker save`` archive, which has no manifest of its own, the
    manifest is synthesised and ``manifest_digest`` is its digest.
    """

    source: str  # the SOURCE string as the user gave it, normalised
    transport: str  # docker, docker-daemon, docker-archive, oci, oci-archive
    reference: str | None  # normalised image reference, when the source has one
    manifest_digest: str
    manifest_media_type: str
    manifest: Mapping[str, Any] = field(repr=False)
    manifest_bytes: bytes = field(repr=False)
    config_digest: str
    config: Mapping[str, Any] = field(repr=False)
    config_bytes: bytes = field(repr=False)
    layers: tuple[Layer, ...]
    platform: Platform
    index_digest: str | None = None  # the index/manifest list the manifest was chosen from
