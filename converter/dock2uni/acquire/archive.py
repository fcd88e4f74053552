"""`docker save` archives: ``docker-archive:PATH[:REF]``, in both formats Docker writes.

Interface:
  * ``acquire_docker_archive(source, options, ctx)``.
  * ``read_docker_archive(index, ref=..., ...)``: also used by the daemon source on its export.
Docker >= 25 archives (and the containerd image store's) are OCI layouts with an extra
manifest.json: when index.json is present the archive goes through ``layout.resolve_layout``
and REF is matched against the entries' image names. Legacy archives (moby image spec
v1.2) only have manifest.json = [{Config, RepoTags, Layers}]: there REF is compared with
each RepoTag after normalisation, and since there is no manifest one is synthesised
(config digest = sha256 of the config member; each layer's digest = sha256 of its
member, hashed once here; layer media type plain tar, as unpack sniffs compression
from magic bytes anyway). Member names in manifest.json must be plain relative names.
Everything cheap is checked before anything is hashed: the number of layer references
(``Limits.max_layers``), that each member exists and its size; a member referenced
several times is hashed once (a manifest.json naming one 64 MiB layer 2,000 times kept
the old code hashing for minutes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any, BinaryIO

from dock2uni.acquire.layout import (
    ArchiveStore,
    TarIndex,
    TarMember,
    resolve_layout,
)
from dock2uni.context import Context
from dock2uni.errors import (
    ImageNotFoundError,
    IntegrityError,
    InvalidImageError,
    InvalidReferenceError,
    LimitExceededError,
    UnsafeLayerError,
)
from dock2uni.model import AcquiredImage, Descriptor
from dock2uni.oci import mediatypes as mt
from dock2uni.oci.digest import verifying
from dock2uni.oci.documents import OpeningContentSource, resolve_image, root_from_bytes
from dock2uni.oci.reference import parse_reference
from dock2uni.oci.sources import ImageSource

if TYPE_CHECKING:
    from dock2uni.acquire import AcquireOptions

CONTAINERD_IMAGE_NAME = "io.containerd.image.name"
# Member names whose own name states the sha256 of their content.
_NAMED_BY_DIGEST = (
    re.compile(r"([a-f0-9]{64})\.json"),
    re.compile(r"blobs/sha256/([a-f0-9]{64})"),
)


def normalise_ref(text: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox:latest``; raises InvalidReferenceError."""
    return str(parse_reference(text))


def _same_image_name(ref: str, name: str | None) -> bool:
    if not name:
        return False
    if name == ref:
        return True
    try:
        return normalise_ref(name) == normalise_ref(ref)
    except InvalidReferenceError:
        return False


def docker_ref_matches(ref: str, desc: Descriptor) -> bool:
    """REF names the entry whose image name (or ref.name) is the same reference."""
    return _same_image_name(ref, desc.annotations.get(CONTAINERD_IMAGE_NAME)) or (
        _same_image_name(ref, desc.annotations.get(mt.ANNOTATION_REF_NAME))
    )


def acquire_docker_archive(
    source: ImageSource, options: AcquireOptions, ctx: Context
) -> AcquiredImage:
    """``docker-archive:PATH[:REF]``."""
    if source.path is None:
        raise InvalidReferenceError("docker-archive: needs a path")
    index = TarIndex(
        source.path, what=f"docker-archive {source.path}", max_members=ctx.limits.max_entries
    )
    return read_docker_archive(
        index,
        ref=source.ref,
        options=options,
        source_name=source.text,
        transport=source.transport,
        ctx=ctx,
    )


def read_docker_archive(
    index: TarIndex,
    *,
    ref: str | None,
    options: AcquireOptions,
    source_name: str,
    transport: str,
    ctx: Context,
) -> AcquiredImage:
    """One image of a `docker save` tar, whichever format it is in. REF is a tag, or
    skopeo's ``@N``: the Nth image (from 0) listed in manifest.json."""
    source_index = _source_index(ref)
    if source_index is not None:
        if index.regular("manifest.json") is None:
            raise InvalidReferenceError(
                f"{index.what}: @{source_index} picks an entry of manifest.json, "
                "which this archive does not have",
                hint="Name the image by its tag instead: docker-archive:PATH:REPO:TAG.",
            )
        if "index.json" in index.members and (tag := _tag_at(index, source_index, ctx)):
            # The same image as when picked by its tag, so the same manifest and digest:
            # the one index.json lists, not one synthesised from manifest.json.
            return resolve_layout(
                ArchiveStore(index),
                ref=tag,
                matcher=docker_ref_matches,
                options=options,
                source_name=source_name,
                transport=transport,
                ctx=ctx,
            )
        return _read_legacy(
            index,
            ref=None,
            source_index=source_index,
            options=options,
            source_name=source_name,
            transport=transport,
            ctx=ctx,
        )
    if ref is not None:
        normalise_ref(ref)  # a malformed REF is a usage error, whatever the archive holds
    if "index.json" in index.members:
        return resolve_layout(
            ArchiveStore(index),
            ref=ref,
            matcher=docker_ref_matches,
            options=options,
            source_name=source_name,
            transport=transport,
            ctx=ctx,
        )
    return _read_legacy(
        index, ref=ref, options=options, source_name=source_name, transport=transport, ctx=ctx
    )


# ------------------------------------------------------------------ legacy format


def _tag_at(index: TarIndex, source_index: int, ctx: Context) -> str | None:
    """The first tag of manifest.json's entry ``@source_index``, if it has one."""
    member = index.regular("manifest.json")
    assert member is not None
    entries = _parse_manifest_json(
        index.read(member, limit=ctx.limits.max_json_bytes), what=index.what
    )
    return _select_legacy(entries, None, what=index.what, source_index=source_index)[1]


_SOURCE_INDEX = re.compile(r"@([0-9]{1,6})")


def _source_index(ref: str | None) -> int | None:
    match = _SOURCE_INDEX.fullmatch(ref or "")
    return int(match.group(1)) if match else None


@dataclasses.dataclass(frozen=True)
class _LegacyEntry:
    config: str
    repo_tags: tuple[str, ...]
    layers: tuple[str, ...]

    def describe(self) -> str:
        return ", ".join(self.repo_tags) if self.repo_tags else f"<untagged {self.config[:24]}>"


def _parse_manifest_json(data: bytes, *, what: str) -> list[_LegacyEntry]:
    try:
        doc = json.loads(data)
    except (RecursionError, UnicodeDecodeError, ValueError):
        raise InvalidImageError(f"{what}: manifest.json is not valid JSON") from None
    if not isinstance(doc, list) or not doc:
        raise InvalidImageError(f"{what}: manifest.json must be a non-empty list of images")
    entries = []
    for i, raw in enumerate(doc):
        if not isinstance(raw, dict):
            raise InvalidImageError(f"{what}: manifest.json[{i}] is not an object")
        config = raw.get("Config")
        if not isinstance(config, str) or not config:
            raise InvalidImageError(f"{what}: manifest.json[{i}] has no Config")
        layers = raw.get("Layers")
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise InvalidImageError(f"{what}: manifest.json[{i}] Layers is not a list of names")
        tags = raw.get("RepoTags") or []
        if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
            raise InvalidImageError(f"{what}: manifest.json[{i}] RepoTags is not a list of tags")
        entries.append(_LegacyEntry(config=config, repo_tags=tuple(tags), layers=tuple(layers)))
    return entries


def _select_legacy(
    entries: list[_LegacyEntry], ref: str | None, *, what: str, source_index: int | None = None
) -> tuple[_LegacyEntry, str | None]:
    """The entry REF (or ``@source_index``) names, or the only one; and its normalised tag."""
    available = "; ".join(e.describe() for e in entries)
    if source_index is not None:
        if source_index >= len(entries):
            raise ImageNotFoundError(
                f"{what}: no image @{source_index}: manifest.json lists {len(entries)} "
                f"({available})",
                hint=f"Use @0 to @{len(entries) - 1}, or name a tag.",
            )
        entry = entries[source_index]
        return entry, _normalised_or_none(next(iter(entry.repo_tags), None))
    if ref is None:
        if len(entries) > 1:
            raise InvalidReferenceError(
                f"{what}: holds {len(entries)} images ({available}); say which one",
                hint="Name one after the path: docker-archive:PATH:REPO:TAG.",
            )
        entry = entries[0]
        tag = next(iter(entry.repo_tags), None)
        return entry, _normalised_or_none(tag)
    for entry in entries:
        for tag in entry.repo_tags:
            if _same_image_name(ref, tag):
                return entry, normalise_ref(tag)
    raise ImageNotFoundError(
        f"{what}: no image tagged {ref!r} (available: {available})",
        hint="Name one of the listed tags after the path: docker-archive:PATH:REPO:TAG.",
    )


def _normalised_or_none(tag: str | None) -> str | None:
    if tag is None:
        return None
    try:
        return normalise_ref(tag)
    except InvalidReferenceError:
        return None


def _member_name(name: str, *, what: str, field: str) -> str:
    """A manifest.json member name: relative, no '..', no empty or odd components."""
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\0" in name
        or "\\" in name
        or any(p in ("", "..") for p in parts)
    ):
        raise UnsafeLayerError(
            f"{what}: manifest.json {field} {name[:200]!r} is not a plain member name",
            hint="The archive tries to reach outside itself; do not use it.",
        )
    while name.startswith("./"):
        name = name[2:]
    return name


def _member(index: TarIndex, name: str, *, what: str, field: str) -> TarMember:
    member = index.regular(_member_name(name, what=what, field=field))
    if member is None:
        raise InvalidImageError(f"{what}: {field} {name[:200]!r} is not in the archive")
    return member


def _expected_digest(name: str) -> str | None:
    for pattern in _NAMED_BY_DIGEST:
        if m := pattern.fullmatch(name):
            return f"sha256:{m.group(1)}"
    return None


def _check_named_digest(name: str, actual: str, *, what: str) -> None:
    expected = _expected_digest(name)
    if expected is not None and expected != actual:
        raise IntegrityError(f"{what}: {name} has digest {actual}, not the one its name states")


def _hash_member(index: TarIndex, member: TarMember, bar: Any) -> str:
    hasher = hashlib.sha256()
    with index.open(member) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
            bar.update(len(chunk))
    return f"sha256:{hasher.hexdigest()}"


class _LegacyContent(OpeningContentSource):
    """A documents.ContentSource over archive members we hashed ourselves."""

    def __init__(self, index: TarIndex, members: dict[str, TarMember], ctx: Context) -> None:
        super().__init__(ctx)
        self.index = index
        self.members = members  # digest -> member

    def open_blob(self, desc: Descriptor, what: str) -> BinaryIO:
        member = self.members.get(desc.digest)
        if member is None:
            raise InvalidImageError(f"{self.index.what}: no member holds {desc.digest}")
        return verifying(
            self.index.open(member),
            digest=desc.digest,
            size=desc.size,
            what=f"{self.index.what} {what}",
        )


def _read_legacy(
    index: TarIndex,
    *,
    ref: str | None,
    source_index: int | None = None,
    options: AcquireOptions,
    source_name: str,
    transport: str,
    ctx: Context,
) -> AcquiredImage:
    what = index.what
    manifest_member = index.regular("manifest.json")
    if manifest_member is None:
        raise InvalidImageError(
            f"{what}: not a `docker save` archive (no manifest.json or index.json)",
            hint="Create it with `docker save IMAGE -o FILE.tar`; for an OCI layout tar "
            "use oci-archive:PATH.",
        )
    entries = _parse_manifest_json(
        index.read(manifest_member, limit=ctx.limits.max_json_bytes), what=what
    )
    entry, reference = _select_legacy(entries, ref, what=what, source_index=source_index)

    config_member = _member(index, entry.config, what=what, field="Config")
    config_bytes = index.read(config_member, limit=ctx.limits.max_json_bytes)
    config_digest = f"sha256:{hashlib.sha256(config_bytes).hexdigest()}"
    _check_named_digest(config_member.name, config_digest, what=what)

    if len(entry.layers) > ctx.limits.max_layers:
        raise LimitExceededError(
            f"{what}: manifest.json lists {len(entry.layers)} layers "
            f"(limit {ctx.limits.max_layers})",
            hint="Docker itself refuses images of more than 125 layers; do not use this one.",
        )
    layer_members = [_member(index, n, what=what, field="Layers entry") for n in entry.layers]
    distinct = {m.name: m for m in layer_members}
    for m in distinct.values():
        if m.size > ctx.limits.max_blob_bytes:
            raise LimitExceededError(
                f"{what}: layer {m.name} of {m.size} bytes exceeds the "
                f"{ctx.limits.max_blob_bytes} byte limit"
            )
    by_digest: dict[str, TarMember] = {config_digest: config_member}
    digest_of: dict[str, str] = {}  # member name -> digest: each member hashed once
    total = sum(m.size for m in distinct.values())
    with ctx.progress(desc="hashing layers", total=total) as bar:
        for name, m in distinct.items():
            digest = _hash_member(index, m, bar)
            _check_named_digest(m.name, digest, what=what)
            by_digest[digest] = m
            digest_of[name] = digest
    layer_descs = [
        {"mediaType": mt.OCI_LAYER_TAR, "digest": digest_of[m.name], "size": m.size}
        for m in layer_members
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layer_descs,
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    root = root_from_bytes(
        manifest_bytes, media_type=mt.OCI_MANIFEST, what=f"{what} (synthesised manifest)"
    )
    return resolve_image(
        _LegacyContent(index, by_digest, ctx),
        root,
        wanted=options.platform,
        source_name=source_name,
        transport=transport,
        reference=reference,
        ctx=ctx,
    )
