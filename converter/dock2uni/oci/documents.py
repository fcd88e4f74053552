"""Parse and validate index, manifest and config documents, and resolve one image.

Every image source (registry, OCI layout, archives) hands its root document to
``resolve_image`` together with a ``ContentSource`` that can fetch further blobs;
the walk index -> manifest -> config -> layers, and every check on the way, is
therefore the same for all of them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from dock2uni.context import Context
from dock2uni.errors import (
    IntegrityError,
    InvalidImageError,
    LimitExceededError,
    UnsupportedImageError,
)
from dock2uni.model import AcquiredImage, BlobOpener, Descriptor, Layer, Platform
from dock2uni.oci import mediatypes as mt
from dock2uni.oci.digest import check_document_digest, digest_bytes, verify_bytes

MAX_INDEX_DEPTH = 4  # nested indexes we follow before calling the image malformed


class ContentSource(Protocol):
    """Fetches blobs of one image source by descriptor."""

    def read_document(self, desc: Descriptor, *, what: str) -> bytes:
        """Return the blob's bytes, verified against desc (size, then digest)."""
        ...

    def layer_opener(self, desc: Descriptor) -> BlobOpener:
        """Return an opener of the blob's bytes, verified while streaming."""
        ...


class OpeningContentSource:
    """A ContentSource over anything that can open a blob, verified, by descriptor.

    Subclasses implement ``open_blob`` (returning a stream that checks size and digest,
    see oci.digest.verifying); documents are bounded before they are read."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def open_blob(self, desc: Descriptor, what: str) -> BinaryIO:
        raise NotImplementedError

    def read_document(self, desc: Descriptor, *, what: str) -> bytes:
        limit = self.ctx.limits.max_json_bytes
        if desc.size > limit:
            raise InvalidImageError(
                f"{what}: document of {desc.size} bytes exceeds the {limit} limit"
            )
        with self.open_blob(desc, what) as f:
            return f.read()

    def layer_opener(self, desc: Descriptor) -> BlobOpener:
        def open_layer() -> BinaryIO:
            return self.open_blob(desc, f"layer {desc.digest[:19]}")

        return open_layer


@dataclass(frozen=True, kw_only=True)
class RootDocument:
    """The first document of a source: an index or a manifest, with what we know of it."""

    data: bytes
    digest: str  # of data; checked by the caller against any pinned digest
    media_type: str | None  # from Content-Type or the pointing descriptor, if any
    what: str  # for messages, e.g. "manifest of localhost:5000/app:1"


def load_json(data: bytes, *, what: str, ctx: Context) -> dict[str, Any]:
    """Parse a JSON object document, bounded in size and nesting."""
    if len(data) > ctx.limits.max_json_bytes:
        raise InvalidImageError(
            f"{what}: document of {len(data)} bytes exceeds the {ctx.limits.max_json_bytes} limit"
        )
    try:
        doc = json.loads(data)
    except RecursionError:
        raise InvalidImageError(f"{what}: JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidImageError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InvalidImageError(f"{what}: expected a JSON object")
    return doc


def _platform_of(raw: object, *, what: str) -> Platform | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidImageError(f"{what}: platform is not an object")
    os_, arch = raw.get("os"), raw.get("architecture")
    if not isinstance(os_, str) or not isinstance(arch, str):
        raise InvalidImageError(f"{what}: platform needs string os and architecture")
    variant = raw.get("variant")
    return Platform(
        os=os_, architecture=arch, variant=variant if isinstance(variant, str) else None
    )


def parse_descriptor(raw: object, *, what: str, ctx: Context) -> Descriptor:
    """Validate one descriptor object (types, digest grammar, size bounds, inline data)."""
    if not isinstance(raw, dict):
        raise InvalidImageError(f"{what}: descriptor is not an object")
    media_type = raw.get("mediaType")
    if not isinstance(media_type, str) or not media_type:
        raise InvalidImageError(f"{what}: descriptor has no mediaType")
    digest = check_document_digest(raw.get("digest"), what=what)
    size = raw.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidImageError(f"{what}: descriptor size {size!r} is not a non-negative integer")
    if size > ctx.limits.max_blob_bytes:
        raise LimitExceededError(
            f"{what}: blob of {size} bytes exceeds the {ctx.limits.max_blob_bytes} byte limit"
        )
    urls = raw.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise InvalidImageError(f"{what}: urls must be a list of strings")
    annotations = raw.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise InvalidImageError(f"{what}: annotations must be an object")
    if "data" in raw:
        # Embedded content (image-spec descriptor.md): must match size and digest.
        try:
            inline = base64.b64decode(raw["data"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise InvalidImageError(f"{what}: descriptor data is not base64") from None
        verify_bytes(inline, digest=digest, size=size, what=f"{what} (inline data)")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        urls=tuple(urls),
        annotations={str(k): str(v) for k, v in annotations.items()},
        platform=_platform_of(raw.get("platform"), what=what),
    )


def document_kind(doc: Mapping[str, Any], *, hint: str | None, what: str) -> str:
    """Classify a document as "index" or "manifest", refusing ambiguous or foreign ones."""
    schema = doc.get("schemaVersion")
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise InvalidImageError(f"{what}: mediaType is not a string")  # before a set lookup
    if schema == 1 or declared in mt.SCHEMA1_TYPES or hint in mt.SCHEMA1_TYPES:
        raise UnsupportedImageError(
            f"{what}: Docker schema 1 manifests are not supported",
            hint="Re-push the image with a current Docker or skopeo (schema 2 or OCI).",
        )
    if schema != 2:
        raise InvalidImageError(f"{what}: schemaVersion must be 2, not {schema!r}")
    has_manifests = "manifests" in doc
    has_image_parts = "layers" in doc or "config" in doc
    if has_manifests and has_image_parts:
        # CVE-2021-41190: a document that parses as both an index and a manifest.
        raise InvalidImageError(
            f"{what}: ambiguous document has both 'manifests' and 'layers'/'config'"
        )
    if declared and hint and declared != hint:
        raise InvalidImageError(
            f"{what}: mediaType {declared!r} does not match the announced type {hint!r}"
        )
    media_type = declared or hint
    if media_type in mt.INDEX_TYPES:
        kind = "index"
    elif media_type in mt.MANIFEST_TYPES:
        kind = "manifest"
    elif media_type is None:
        kind = "index" if has_manifests else "manifest"
    else:
        raise UnsupportedImageError(f"{what}: unsupported document type {media_type!r}")
    if (kind == "index" and has_image_parts) or (kind == "manifest" and has_manifests):
        raise InvalidImageError(f"{what}: content does not match its media type {media_type!r}")
    return kind


def _is_attestation(desc: Descriptor) -> bool:
    if desc.annotations.get(mt.ANNOTATION_DOCKER_REFERENCE_TYPE) == "attestation-manifest":
        return True
    p = desc.platform
    return p is not None and p.os == "unknown" and p.architecture == "unknown"


def platform_matches(candidate: Platform | None, wanted: Platform) -> bool:
    """OCI matching: os and architecture equal; a requested variant must be equal too."""
    if candidate is None:
        return False
    if candidate.os != wanted.os or candidate.architecture != wanted.architecture:
        return False
    return wanted.variant is None or candidate.variant == wanted.variant


def select_manifest(
    index: Mapping[str, Any], *, wanted: Platform, what: str, ctx: Context
) -> Descriptor:
    """Pick the first runnable entry for ``wanted`` (image-index.md: first match wins)."""
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise InvalidImageError(f"{what}: 'manifests' is not a list")
    available: list[str] = []
    for i, raw in enumerate(entries):
        desc = parse_descriptor(raw, what=f"{what} manifests[{i}]", ctx=ctx)
        if desc.media_type not in mt.INDEX_TYPES | mt.MANIFEST_TYPES:
            continue  # unknown entries MUST NOT be an error (image-index.md)
        if _is_attestation(desc):
            continue
        if desc.platform is not None:
            available.append(str(desc.platform))
        if desc.media_type in mt.INDEX_TYPES and desc.platform is None:
            return desc  # a nested index without platform: look inside it
        if platform_matches(desc.platform, wanted):
            return desc
    listed = ", ".join(dict.fromkeys(available)) or "none"
    raise UnsupportedImageError(
        f"{what}: no manifest for platform {wanted} (available: {listed})",
        hint="Choose one of the available platforms with --platform; dock2uni targets linux/amd64.",
    )


def parse_layers_and_config(
    manifest: Mapping[str, Any], *, what: str, ctx: Context
) -> tuple[Descriptor, list[Descriptor]]:
    """Validate a manifest's config and layer descriptors."""
    config = parse_descriptor(manifest.get("config"), what=f"{what} config", ctx=ctx)
    if config.media_type not in mt.CONFIG_TYPES:
        raise UnsupportedImageError(
            f"{what}: config type {config.media_type!r} is not a container image "
            f"(an OCI artifact?)",
            hint="Point dock2uni at a container image, not an artifact.",
        )
    raw_layers = manifest.get("layers")
    if not isinstance(raw_layers, list):
        raise InvalidImageError(f"{what}: 'layers' is not a list")
    if not raw_layers:
        raise InvalidImageError(f"{what}: the image has no layers, so no filesystem")
    if len(raw_layers) > ctx.limits.max_layers:
        raise LimitExceededError(
            f"{what}: {len(raw_layers)} layers (limit {ctx.limits.max_layers})",
            hint="Docker itself refuses images of more than 125 layers; do not use this one.",
        )
    layers = []
    for i, raw in enumerate(raw_layers):
        desc = parse_descriptor(raw, what=f"{what} layers[{i}]", ctx=ctx)
        if desc.media_type not in mt.LAYER_COMPRESSION:
            raise UnsupportedImageError(
                f"{what}: layer {i} has unsupported media type {desc.media_type!r}",
                hint="dock2uni reads tar, tar+gzip and tar+zstd layers (no encrypted layers).",
            )
        if desc.media_type in mt.FOREIGN_LAYER_TYPES or desc.urls:
            raise UnsupportedImageError(
                f"{what}: layer {i} is a foreign layer, to be fetched from "
                f"{', '.join(desc.urls) or 'elsewhere'}",
                hint="dock2uni never downloads layers from foreign URLs; re-push the image "
                "with its layers included.",
            )
        layers.append(desc)
    return config, layers


def parse_config(
    data: bytes, *, n_layers: int, wanted: Platform, what: str, ctx: Context
) -> dict[str, Any]:
    """Validate an image config: rootfs, diff_ids and platform."""
    config = load_json(data, what=what, ctx=ctx)
    rootfs = config.get("rootfs")
    if not isinstance(rootfs, dict):
        raise InvalidImageError(f"{what}: missing rootfs section")
    if rootfs.get("type") != "layers":
        raise InvalidImageError(f"{what}: rootfs.type must be 'layers', not {rootfs.get('type')!r}")
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list):
        raise InvalidImageError(f"{what}: rootfs.diff_ids is not a list")
    for i, d in enumerate(diff_ids):
        check_document_digest(d, what=f"{what} diff_ids[{i}]")
    if len(diff_ids) != n_layers:
        raise InvalidImageError(
            f"{what}: {len(diff_ids)} diff_ids for {n_layers} layers in the manifest"
        )
    os_, arch = config.get("os"), config.get("architecture")
    if (
        isinstance(os_, str)
        and isinstance(arch, str)
        and (os_ != wanted.os or arch != wanted.architecture)
    ):
        raise UnsupportedImageError(
            f"{what}: the image is for {os_}/{arch}, not {wanted}",
            hint="Pull or build the linux/amd64 variant of the image.",
        )
    inner = config.get("config")
    if inner is not None and not isinstance(inner, dict):
        raise InvalidImageError(f"{what}: 'config' section is not an object")
    return config


def resolve_image(
    source: ContentSource,
    root: RootDocument,
    *,
    wanted: Platform,
    source_name: str,
    transport: str,
    reference: str | None,
    ctx: Context,
) -> AcquiredImage:
    """Walk index -> manifest -> config and return the image, every step verified."""
    data, digest, media_type, what = root.data, root.digest, root.media_type, root.what
    index_digest: str | None = None
    for _depth in range(MAX_INDEX_DEPTH + 1):
        doc = load_json(data, what=what, ctx=ctx)
        kind = document_kind(doc, hint=media_type, what=what)
        if kind == "manifest":
            break
        index_digest = index_digest or digest
        desc = select_manifest(doc, wanted=wanted, what=what, ctx=ctx)
        what = f"manifest {desc.digest[:19]}"
        data = source.read_document(desc, what=what)
        digest, media_type = desc.digest, desc.media_type
    else:
        raise InvalidImageError(f"{what}: indexes nested more than {MAX_INDEX_DEPTH} deep")

    manifest_media_type = doc.get("mediaType") or media_type or mt.OCI_MANIFEST
    config_desc, layer_descs = parse_layers_and_config(doc, what=what, ctx=ctx)
    config_bytes = source.read_document(config_desc, what=f"config {config_desc.digest[:19]}")
    config = parse_config(
        config_bytes,
        n_layers=len(layer_descs),
        wanted=wanted,
        what=f"config {config_desc.digest[:19]}",
        ctx=ctx,
    )
    diff_ids = config["rootfs"]["diff_ids"]
    layers = tuple(
        Layer(descriptor=d, diff_id=diff_ids[i], open=source.layer_opener(d))
        for i, d in enumerate(layer_descs)
    )
    platform = Platform(
        os=str(config.get("os") or wanted.os),
        architecture=str(config.get("architecture") or wanted.architecture),
        variant=config.get("variant") if isinstance(config.get("variant"), str) else None,
    )
    return AcquiredImage(
        source=source_name,
        transport=transport,
        reference=reference,
        manifest_digest=digest,
        manifest_media_type=str(manifest_media_type),
        manifest=doc,
        manifest_bytes=data,
        config_digest=config_desc.digest,
        config=config,
        config_bytes=config_bytes,
        layers=layers,
        platform=platform,
        index_digest=index_digest,
    )


def root_from_bytes(data: bytes, *, media_type: str | None, what: str) -> RootDocument:
    """A RootDocument for bytes we hold (its digest computed here)."""
    return RootDocument(data=data, digest=digest_bytes(data), media_type=media_type, what=what)


def check_pinned(root: RootDocument, pinned: str | None) -> None:
    """A reference pinned by digest must get exactly that document."""
    if pinned is None:
        return
    alg = pinned.split(":", 1)[0]
    actual = digest_bytes(root.data, alg)
    if actual != pinned:
        raise IntegrityError(
            f"{root.what}: content digest {actual} does not match the pinned {pinned}"
        )
