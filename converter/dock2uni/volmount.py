"""Volume requests -> host directories, and the QEMU arguments and kernel word that serve them.

The contract with the kernel (docs/volumes.md, docs/volumes-run.md): volume N is QEMU's
``-fsdev local,id=d2uvolN,path=HOST,security_model=MODEL[,readonly=on]`` with a
``virtio-9p-device`` tagged ``d2uvolN``, and one kernel word ``d2u.vol=`` lists
``TAG:rw|ro:GUESTPATH`` items (b64_nul_joined). MODEL is ``passthrough`` when we are
root (the guest's owners land on the host, as a Docker bind mount shows them), else
``none`` (files stay the invoking user's, as rootless Docker's).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dock2uni.copyup import copy_up
from dock2uni.errors import RunError
from dock2uni.volstore import VolumeStore
from dock2uni.volumes import KERNEL_TREES, VolumeRequest

TAG_PREFIX = "d2uvol"
# The kernel serves this many virtio-9p devices (libos/drivers/virtio_9p.c MAX_9P); a 9th
# would be a boot failure naming a tag the user never wrote, so it is refused before.
MAX_VOLUMES = 8


@dataclass(frozen=True, kw_only=True)
class HostVolume:
    """A host directory the guest gets at ``target``."""

    source: Path
    target: str
    readonly: bool = False
    name: str | None = None  # the volume's name (None: a bind mount)
    anonymous: bool = False  # made for this run: `--rm` removes it


def security_model() -> str:
    return "passthrough" if os.geteuid() == 0 else "none"


def qemu_args(volumes: Sequence[HostVolume]) -> list[str]:
    args: list[str] = []
    model = security_model()
    for n, vol in enumerate(volumes):
        path = str(vol.source)
        if "," in path:  # QEMU's option syntax doubles a comma inside a value
            path = path.replace(",", ",,")
        ro = ",readonly=on" if vol.readonly else ""
        args += [
            "-fsdev", f"local,id={TAG_PREFIX}{n},path={path},security_model={model}{ro}",
            "-device", f"virtio-9p-device,fsdev={TAG_PREFIX}{n},mount_tag={TAG_PREFIX}{n}",
        ]  # fmt: skip
    return args


def kernel_items(volumes: Sequence[HostVolume]) -> list[str]:
    """The ``d2u.vol`` items, ``TAG:MODE:GUESTPATH`` (the path last: it may hold ':')."""
    return [
        f"{TAG_PREFIX}{n}:{'ro' if v.readonly else 'rw'}:{v.target}" for n, v in enumerate(volumes)
    ]


def image_volumes(meta: dict[str, object]) -> tuple[str, ...]:
    """The image's declared VOLUMEs kept in its metadata (link.py), normalised; paths a
    volume cannot take (the root, the kernel's trees) are dropped as Docker's
    daemon would refuse them."""
    raw = meta.get("volumes")
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if not isinstance(item, str) or not item.startswith("/") or "\0" in item:
            continue
        norm = "/" + posixpath.normpath(item).lstrip("/")
        if norm == "/" or any(norm == t or norm.startswith(t + "/") for t in KERNEL_TREES):
            continue
        if norm not in out:
            out.append(norm)
    return tuple(out)


def check_count(
    given: int, requests: Sequence[VolumeRequest], declared: Sequence[str], covered: Iterable[str]
) -> None:
    """Refuse more volumes than the kernel serves, counting the image's VOLUMEs that
    would get one."""  # fmt: skip
    taken = set(covered) | {r.target for r in requests}
    total = given + len(requests) + len([t for t in declared if t not in taken])
    if total > MAX_VOLUMES:
        raise RunError(
            f"{total} volumes (with the image's VOLUMEs) are more than the {MAX_VOLUMES} "
            "the unikernel can mount",
            hint="Share a parent directory with one -v, or cover an image VOLUME with --tmpfs.",
        )


def _bind(request: VolumeRequest) -> HostVolume:
    assert request.source is not None
    path = Path(request.source)
    if not path.exists() and not path.is_symlink() and request.create_source:
        try:  # docker run -v makes a missing host directory (as root, 0755)
            path.mkdir(parents=True, mode=0o755)
        except OSError as exc:
            raise RunError(
                f"cannot create the host directory {path} for -v: {exc.strerror}",
                hint="Create it yourself, or pick a writable place.",
            ) from None
    if not path.exists():
        raise RunError(
            f'invalid mount config for type "bind": bind source path does not exist: {path}',
            hint="Create the directory first (--mount never makes it; -v does).",
        )
    if not path.is_dir():
        raise RunError(
            f"the bind source {path} is not a directory: a single file cannot be shared "
            "with the guest yet (9p serves directories)",
            hint="Bind the directory that holds it, or COPY the file into the image.",
        )
    return HostVolume(source=path.resolve(), target=request.target, readonly=request.readonly)


def resolve(
    requests: Iterable[VolumeRequest],
    *,
    image: Path,
    initrd: Path | None,
    declared: Sequence[str],
    covered: Iterable[str],
    store: VolumeStore,
    dry_run: bool = False,
) -> tuple[HostVolume, ...]:
    """Host directories for ``requests`` and for the image's ``declared`` VOLUMEs no
    request (or --tmpfs, in ``covered``) takes. New empty volumes are filled from the
    image first. ``dry_run``: nothing is made; anonymous volumes get a placeholder name."""
    out: list[HostVolume] = []
    taken = set(covered)
    todo = list(requests)
    taken |= {r.target for r in todo}
    todo += [
        VolumeRequest(kind="anonymous", source=None, target=t) for t in declared if t not in taken
    ]
    try:
        for request in todo:
            out.append(_one(request, image=image, initrd=initrd, store=store, dry_run=dry_run))
    except BaseException:
        remove_anonymous(out, store)  # made for this run, which will not happen
        raise
    return tuple(out)


def _one(
    request: VolumeRequest, *, image: Path, initrd: Path | None, store: VolumeStore, dry_run: bool
) -> HostVolume:
    if request.kind == "bind":
        return _bind(request) if not dry_run else _bind_shown(request)
    anonymous = request.kind == "anonymous"
    name = request.source if not anonymous else secrets.token_hex(32)
    assert name is not None
    if dry_run:  # shown where it would be, nothing made
        data = store.root / ("<anonymous>" if anonymous else name) / "_data"
    else:
        data, _ = store.create(name, anonymous=anonymous)
        try:
            if request.copy_up:
                with store.filling(name):
                    copy_up(image, initrd, request.target, data)
        except BaseException:
            if anonymous:
                store.remove(name)
            raise
        data = data.resolve()
    return HostVolume(
        source=data,
        target=request.target,
        readonly=request.readonly,
        name=name,
        anonymous=anonymous,
    )


def _bind_shown(request: VolumeRequest) -> HostVolume:
    return HostVolume(
        source=Path(request.source or ""), target=request.target, readonly=request.readonly
    )


def remove_anonymous(volumes: Iterable[HostVolume], store: VolumeStore) -> None:
    """`run --rm`: the anonymous volumes this run made go with it, as Docker's do."""
    for vol in volumes:
        if vol.anonymous and vol.name is not None and store.exists(vol.name):
            with contextlib.suppress(RunError):  # best effort: never hides how the run ended
                store.remove(vol.name)
