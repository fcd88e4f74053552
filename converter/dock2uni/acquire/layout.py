"""OCI image layouts: ``oci:DIR[:REF]`` (a directory) and ``oci-archive:PATH[:REF]`` (its tar).

Interface:
  * ``acquire_oci_layout`` / ``acquire_oci_archive(source, options, ctx)``.
  * ``resolve_layout(store, ...)``: oci-layout check, index.json, ref selection, then
    ``documents.resolve_image``; shared with Docker >= 25 ``docker save`` archives.
  * ``LayoutStore`` with ``DirectoryStore`` and ``ArchiveStore``: the files of a layout.
  * ``TarIndex``: the members of a tar file, indexed by our own header parser.
Nothing is extracted: blobs are read in place, by digest, through a reader that
checks size and digest (``oci.digest.verifying``). A blob path is built only from a
digest whose grammar was checked; symlinks on the way to a blob are refused, and
in an archive only regular-file members named exactly ``oci-layout``,
``index.json`` or ``blobs/<alg>/<hex>`` are used. A missing blob is an
InvalidImageError: the layout is incomplete (image-layout.md lets blobs live
elsewhere, but dock2uni needs every blob of the image it converts).
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from dock2uni.context import Context
from dock2uni.errors import (
    ImageNotFoundError,
    InvalidImageError,
    InvalidReferenceError,
    LimitExceededError,
    UnsafeLayerError,
)
from dock2uni.model import AcquiredImage, Descriptor
from dock2uni.oci import mediatypes as mt
from dock2uni.oci.digest import parse_digest, verifying
from dock2uni.oci.documents import (
    OpeningContentSource,
    RootDocument,
    document_kind,
    load_json,
    parse_descriptor,
    resolve_image,
    select_manifest,
)
from dock2uni.oci.sources import ImageSource

if TYPE_CHECKING:
    from dock2uni.acquire import AcquireOptions

LAYOUT_VERSION = "1.0.0"
CONTAINERD_IMAGE_NAME = "io.containerd.image.name"  # set by Docker >= 25 `docker save`
MAX_SMALL_FILE = 64 * 1024  # oci-layout
BLOCK = 512
MAX_TAR_EXTENSION = 1 << 20  # PAX / GNU long-name header payload

# Decides whether an index.json entry carries the name the user asked for.
RefMatcher = Callable[[str, Descriptor], bool]


# ------------------------------------------------------------------ stores


class LayoutStore(ABC):
    """The files of one OCI layout, wherever they live."""

    what: str  # for messages, e.g. "OCI layout ./img"

    @abstractmethod
    def read_file(self, name: str, *, limit: int) -> bytes | None:
        """A top-level file (oci-layout, index.json...); None when it does not exist."""

    @abstractmethod
    def open_blob(self, alg: str, hexpart: str) -> BinaryIO:
        """A raw stream of blobs/<alg>/<hex>; the caller verifies it."""


def _too_large(what: str, name: str, limit: int) -> InvalidImageError:
    return InvalidImageError(f"{what}: {name} is larger than the {limit} byte limit")


class DirectoryStore(LayoutStore):
    """A layout directory on disk; every component below the root is opened O_NOFOLLOW."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.what = f"OCI layout {root}"

    def _open(self, parts: list[str]) -> int | None:
        """An fd of the regular file root/parts..., None if missing; refuses symlinks."""
        try:
            dirfd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise ImageNotFoundError(f"{self.what}: cannot open the directory ({exc})") from None
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
                flags |= os.O_NONBLOCK if last else os.O_DIRECTORY  # a FIFO must not block us
                try:
                    fd = os.open(part, flags, dir_fd=dirfd)
                except FileNotFoundError:
                    return None
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and self._is_symlink(part, dirfd):
                        shown = "/".join(parts[: i + 1])
                        raise UnsafeLayerError(
                            f"{self.what}: {shown} is a symlink; refusing to follow it "
                            "out of the layout",
                            hint="Copy the image into a plain layout (e.g. `skopeo copy` to "
                            "oci:DIR) and try again.",
                        ) from None
                    if exc.errno == errno.ENOTDIR:
                        return None
                    raise InvalidImageError(f"{self.what}: cannot open {part} ({exc})") from None
                os.close(dirfd)
                dirfd = fd
            fd, dirfd = dirfd, -1
        finally:
            if dirfd >= 0:
                os.close(dirfd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise InvalidImageError(f"{self.what}: {'/'.join(parts)} is not a regular file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return fd

    @staticmethod
    def _is_symlink(name: str, dirfd: int) -> bool:
        try:
            return stat.S_ISLNK(os.lstat(name, dir_fd=dirfd).st_mode)
        except OSError:
            return False

    def read_file(self, name: str, *, limit: int) -> bytes | None:
        fd = self._open([name])
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise _too_large(self.what, name, limit)
        return data

    def open_blob(self, alg: str, hexpart: str) -> BinaryIO:
        fd = self._open(["blobs", alg, hexpart])
        if fd is None:
            raise _missing_blob(self.what, f"{alg}:{hexpart}")
        return os.fdopen(fd, "rb")


def _missing_blob(what: str, digest: str) -> InvalidImageError:
    return InvalidImageError(
        f"{what}: blob {digest} is missing",
        hint="The layout is incomplete (blobs stored elsewhere are not supported); "
        "re-export the image with all its blobs, e.g. `skopeo copy ... oci:DIR`.",
    )


class ArchiveStore(LayoutStore):
    """A layout inside a tar file, read in place through a TarIndex."""

    def __init__(self, index: TarIndex) -> None:
        self.index = index
        self.what = index.what

    def read_file(self, name: str, *, limit: int) -> bytes | None:
        member = self.index.regular(name)
        return None if member is None else self.index.read(member, limit=limit)

    def open_blob(self, alg: str, hexpart: str) -> BinaryIO:
        member = self.index.regular(f"blobs/{alg}/{hexpart}")
        if member is None:
            raise _missing_blob(self.what, f"{alg}:{hexpart}")
        return self.index.open(member)


# ------------------------------------------------------------------ tar index


@dataclass(frozen=True)
class TarMember:
    """Where one member's data lies in the archive."""

    name: str  # normalised: no leading "./", no trailing "/"
    kind: str  # file, dir, symlink, hardlink, other
    offset: int
    size: int
    linkname: str


def _cstr(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _number(field: bytes, *, what: str) -> int:
    """A numeric header field: octal text, or GNU base-256 (negative values refused)."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    if field[:1] == b"\xff":
        raise InvalidImageError(f"{what}: negative number in a tar header")
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise InvalidImageError(f"{what}: malformed tar header (not a tar archive?)") from None


def _pax_records(data: bytes, *, what: str) -> dict[str, str]:
    """PAX extended header records ``"<len> key=value\\n"``, each length checked."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        if not data[pos:].strip(b"\0"):
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        # A zero or overlong length would loop forever or read past the header (CVE-2019-20907).
        if length <= space - pos or pos + length > len(data) or data[pos + length - 1] != 0x0A:
            raise InvalidImageError(f"{what}: malformed PAX header in the archive")
        key, sep, value = data[space + 1 : pos + length - 1].partition(b"=")
        if not sep:
            raise InvalidImageError(f"{what}: malformed PAX record in the archive")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _normalise_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


_KINDS = {b"0": "file", b"\0": "file", b"7": "file", b"1": "hardlink", b"2": "symlink", b"5": "dir"}


class TarIndex:
    """Member names -> data offsets of an uncompressed tar, read once, never extracted.

    Our own header parser (not ``tarfile``): every header advances by at least one
    block, sizes are non-negative and must fit in the file, PAX records are length-
    checked, and the member count is bounded. Duplicated names are remembered so a
    reader can refuse an ambiguous archive instead of guessing which copy counts.
    """

    def __init__(self, path: Path, *, what: str, max_members: int) -> None:
        self.path = path
        self.what = what
        self.members: dict[str, TarMember] = {}
        self.duplicates: set[str] = set()
        try:
            with path.open("rb") as f:
                self._scan(f, os.fstat(f.fileno()).st_size, max_members)
        except IsADirectoryError:
            raise ImageNotFoundError(f"{what}: is a directory, not a tar archive") from None
        except FileNotFoundError:
            raise ImageNotFoundError(f"{what}: no such file") from None

    def _scan(self, f: BinaryIO, file_size: int, max_members: int) -> None:
        pos = 0
        pax: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None
        count = 0
        while True:
            f.seek(pos)
            header = f.read(BLOCK)
            if header == bytes(BLOCK):
                return  # the end-of-archive marker
            if len(header) < BLOCK:
                # No end marker: the archive was cut short, perhaps at a member boundary.
                raise InvalidImageError(f"{self.what}: truncated tar archive (no end marker)")
            if pos == 0 and header[:2] == b"\x1f\x8b":
                raise InvalidImageError(
                    f"{self.what}: the archive is gzip-compressed",
                    hint="dock2uni reads uncompressed tar archives; gunzip it first.",
                )
            self._check_checksum(header, pos)
            typeflag = header[156:157]
            size = _number(header[124:136], what=self.what)
            name = _cstr(header[0:100])
            if header[257:262] == b"ustar" and (prefix := _cstr(header[345:500])):
                name = f"{prefix}/{name}"
            linkname = _cstr(header[157:257])
            data_offset = pos + BLOCK
            if typeflag in (b"x", b"g", b"L", b"K"):
                if size > MAX_TAR_EXTENSION or data_offset + size > file_size:
                    raise InvalidImageError(f"{self.what}: oversized or truncated tar header")
                f.seek(data_offset)
                payload = f.read(size)
                if typeflag == b"x":
                    pax = _pax_records(payload, what=self.what)
                elif typeflag == b"L":
                    long_name = _cstr(payload)
                elif typeflag == b"K":
                    long_link = _cstr(payload)
                pos = data_offset + _blocks(size)
                continue
            name = pax.get("path", long_name if long_name is not None else name)
            linkname = pax.get("linkpath", long_link if long_link is not None else linkname)
            if "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError:
                    size = -1
                if size < 0:
                    raise InvalidImageError(f"{self.what}: malformed PAX size in the archive")
            pax, long_name, long_link = {}, None, None
            kind = _KINDS.get(typeflag, "other")
            # As tar does: only regular files (and unknown types) carry data blocks.
            span = size if kind in ("file", "other") else 0
            if data_offset + span > file_size:
                raise InvalidImageError(f"{self.what}: truncated tar archive")
            count += 1
            if count > max_members:
                raise LimitExceededError(
                    f"{self.what}: more than {max_members} members in the archive"
                )
            normalised = _normalise_name(name)
            if normalised in self.members:
                self.duplicates.add(normalised)
            self.members[normalised] = TarMember(
                name=normalised, kind=kind, offset=data_offset, size=span, linkname=linkname
            )
            pos = data_offset + _blocks(span)

    def _check_checksum(self, header: bytes, pos: int) -> None:
        stored = _number(header[148:156], what=self.what)
        unsigned = sum(header[:148]) + 8 * 0x20 + sum(header[156:])
        signed = sum(b - 256 if b > 127 else b for b in header[:148] + header[156:]) + 8 * 0x20
        if stored not in (unsigned, signed):
            raise InvalidImageError(
                f"{self.what}: not a tar archive (bad header checksum at offset {pos})"
            )

    def regular(self, name: str) -> TarMember | None:
        """The regular-file member ``name``; None if absent; refuses links and duplicates."""
        member = self.members.get(name)
        if member is None:
            return None
        if name in self.duplicates:
            raise InvalidImageError(
                f"{self.what}: {name} appears more than once in the archive (ambiguous)"
            )
        if member.kind in ("symlink", "hardlink"):
            raise UnsafeLayerError(
                f"{self.what}: {name} is a {member.kind} to {member.linkname[:200]!r}; "
                "refusing to follow links inside the archive"
            )
        if member.kind != "file":
            raise InvalidImageError(f"{self.what}: {name} is not a regular file")
        return member

    def open(self, member: TarMember) -> BinaryIO:
        """A raw stream of exactly the member's bytes."""
        f = self.path.open("rb")
        f.seek(member.offset)
        return io.BufferedReader(_Slice(f, member.size), 1 << 20)

    def read(self, member: TarMember, *, limit: int) -> bytes:
        if member.size > limit:
            raise _too_large(self.what, member.name, limit)
        with self.open(member) as f:
            return f.read()


def _blocks(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


class _Slice(io.RawIOBase):
    """``size`` bytes of a file from its current position, then EOF."""

    def __init__(self, raw: BinaryIO, size: int) -> None:
        super().__init__()
        self._raw = raw
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        chunk = self._raw.read(min(len(buffer), self._left))
        n = len(chunk)
        buffer[:n] = chunk
        self._left -= n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


# ------------------------------------------------------------------ content + resolution


class LayoutContent(OpeningContentSource):
    """A documents.ContentSource over a LayoutStore: every blob verified while read."""

    def __init__(self, store: LayoutStore, ctx: Context) -> None:
        super().__init__(ctx)
        self.store = store

    def open_blob(self, desc: Descriptor, what: str) -> BinaryIO:
        alg, hexpart = parse_digest(desc.digest, what=f"{what} digest")
        raw = self.store.open_blob(alg, hexpart)
        return verifying(raw, digest=desc.digest, size=desc.size, what=f"{self.store.what} {what}")


def oci_ref_matches(ref: str, desc: Descriptor) -> bool:
    """oci:DIR:REF names the entry whose org.opencontainers.image.ref.name is REF."""
    return desc.annotations.get(mt.ANNOTATION_REF_NAME) == ref


def _entry_name(desc: Descriptor) -> str | None:
    """What a user would call an index.json entry: containerd's full name, else ref.name."""
    return desc.annotations.get(CONTAINERD_IMAGE_NAME) or desc.annotations.get(
        mt.ANNOTATION_REF_NAME
    )


def check_layout_version(store: LayoutStore, ctx: Context) -> None:
    data = store.read_file("oci-layout", limit=MAX_SMALL_FILE)
    if data is None:
        raise InvalidImageError(
            f"{store.what}: not an OCI image layout (no oci-layout file)",
            hint="Point oci: at a directory written by skopeo, umoci or buildx "
            "(it holds oci-layout, index.json and blobs/).",
        )
    doc = load_json(data, what=f"{store.what} oci-layout", ctx=ctx)
    version = doc.get("imageLayoutVersion")
    if version != LAYOUT_VERSION:
        raise InvalidImageError(
            f"{store.what}: imageLayoutVersion {version!r} is not {LAYOUT_VERSION!r}",
            hint="dock2uni reads OCI image layouts version 1.0.0; re-export the image.",
        )


def _index_entries(store: LayoutStore, ctx: Context) -> tuple[list[Descriptor], list[Any]]:
    what = f"{store.what} index.json"
    data = store.read_file("index.json", limit=ctx.limits.max_json_bytes)
    if data is None:
        raise InvalidImageError(f"{store.what}: no index.json")
    doc = load_json(data, what=what, ctx=ctx)
    if document_kind(doc, hint=None, what=what) != "index":
        raise InvalidImageError(f"{what}: is not an image index")
    raw_entries = doc.get("manifests")
    if not isinstance(raw_entries, list):
        raise InvalidImageError(f"{what}: 'manifests' is not a list")
    descs = [
        parse_descriptor(raw, what=f"{what} manifests[{i}]", ctx=ctx)
        for i, raw in enumerate(raw_entries)
    ]
    return descs, raw_entries


def _describe(desc: Descriptor) -> str:
    name = _entry_name(desc)
    return name if name else f"<unnamed {desc.digest[:19]}>"


def select_entries(
    store: LayoutStore,
    descs: list[Descriptor],
    raw: list[Any],
    ref: str | None,
    matcher: RefMatcher,
) -> list[tuple[Descriptor, Any]]:
    """The index.json entries REF names (several only when they differ by platform)."""
    pairs = [
        (d, r)
        for d, r in zip(descs, raw, strict=True)
        if d.media_type in mt.INDEX_TYPES | mt.MANIFEST_TYPES
    ]
    available = ", ".join(dict.fromkeys(_describe(d) for d, _ in pairs)) or "none"
    if not pairs:
        raise ImageNotFoundError(f"{store.what}: contains no images")
    if ref is not None:
        chosen = [(d, r) for d, r in pairs if matcher(ref, d)]
        if not chosen:
            raise ImageNotFoundError(
                f"{store.what}: no image named {ref!r} (available: {available})",
                hint="Name one of the available images after the path, e.g. oci:DIR:latest.",
            )
        return chosen
    names = {_entry_name(d) for d, _ in pairs}
    if len(pairs) > 1 and len(names) > 1:
        raise InvalidReferenceError(
            f"{store.what}: holds several images ({available}); say which one",
            hint="Name one after the path, e.g. oci:DIR:NAME or docker-archive:PATH:REPO:TAG.",
        )
    return pairs


def resolve_layout(
    store: LayoutStore,
    *,
    ref: str | None,
    matcher: RefMatcher,
    options: AcquireOptions,
    source_name: str,
    transport: str,
    ctx: Context,
) -> AcquiredImage:
    """Check oci-layout, pick the image from index.json, and resolve it."""
    check_layout_version(store, ctx)
    descs, raw = _index_entries(store, ctx)
    chosen = select_entries(store, descs, raw, ref, matcher)
    if len(chosen) == 1:
        desc = chosen[0][0]
    else:
        desc = select_manifest(
            {"manifests": [r for _, r in chosen]},
            wanted=options.platform,
            what=f"{store.what} index.json",
            ctx=ctx,
        )
    content = LayoutContent(store, ctx)
    kind = "index" if desc.media_type in mt.INDEX_TYPES else "manifest"
    what = f"{store.what} {kind} {desc.digest[:19]}"
    data = content.read_document(desc, what=what)
    root = RootDocument(data=data, digest=desc.digest, media_type=desc.media_type, what=what)
    return resolve_image(
        content,
        root,
        wanted=options.platform,
        source_name=source_name,
        transport=transport,
        reference=_entry_name(desc) or ref,
        ctx=ctx,
    )


def _require_path(source: ImageSource) -> Path:
    if source.path is None:
        raise InvalidReferenceError(f"{source.transport}: needs a path")
    return source.path


def acquire_oci_layout(source: ImageSource, options: AcquireOptions, ctx: Context) -> AcquiredImage:
    """``oci:DIR[:REF]``."""
    store = DirectoryStore(_require_path(source))
    return resolve_layout(
        store,
        ref=source.ref,
        matcher=oci_ref_matches,
        options=options,
        source_name=source.text,
        transport=source.transport,
        ctx=ctx,
    )


def acquire_oci_archive(
    source: ImageSource, options: AcquireOptions, ctx: Context
) -> AcquiredImage:
    """``oci-archive:PATH[:REF]``: the layout is read inside the tar, never extracted."""
    path = _require_path(source)
    index = TarIndex(path, what=f"oci-archive {path}", max_members=ctx.limits.max_entries)
    return resolve_layout(
        ArchiveStore(index),
        ref=source.ref,
        matcher=oci_ref_matches,
        options=options,
        source_name=source.text,
        transport=source.transport,
        ctx=ctx,
    )
