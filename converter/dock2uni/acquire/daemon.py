"""``docker-daemon:REF``: export an image from a local Docker Engine, read it as docker-archive.

Interface:
  * ``acquire_daemon(source, options, ctx)``.
The only module that imports docker-py. The export (`docker save` of one image) is
streamed into ``ctx.cache_dir/daemon/<image id>.tar`` (written under a temporary name,
renamed when complete) and reused while the daemon reports the same image ID; every
byte is still verified when read. For the legacy `docker save` format Docker's image
ID is the config digest, so the exported config must hash to it.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dock2uni.acquire.archive import normalise_ref, read_docker_archive
from dock2uni.acquire.layout import TarIndex
from dock2uni.context import Context
from dock2uni.errors import (
    DockerUnavailableError,
    ImageNotFoundError,
    IntegrityError,
    InvalidImageError,
    InvalidReferenceError,
    UnsafeLayerError,
)
from dock2uni.fs.cachedir import subdir
from dock2uni.model import AcquiredImage
from dock2uni.oci.digest import parse_digest
from dock2uni.oci.sources import ImageSource

if TYPE_CHECKING:
    from dock2uni.acquire import AcquireOptions

CHUNK = 1 << 20
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
PROBE_TIMEOUT = 10.0


def _unavailable(exc: BaseException) -> DockerUnavailableError:
    host = os.environ.get("DOCKER_HOST")
    where = f"DOCKER_HOST={host}" if host else f"DOCKER_HOST is unset, so {DEFAULT_SOCKET}"
    return DockerUnavailableError(
        f"no Docker daemon answered ({where}): {str(exc)[:300]}",
        hint="Start dockerd or point DOCKER_HOST at its socket; without a daemon, "
        "`docker save IMAGE -o img.tar` elsewhere and use docker-archive:img.tar, "
        "or pull from a registry with docker://REF.",
    )


def _probe_unix_socket() -> None:
    """Fail early, and cleanly, when DOCKER_HOST's unix socket does not accept connections.

    docker-py leaks the socket of a failed unix connect (transport/unixconn.py), so
    the common "no daemon here" case is detected before docker-py is involved.
    """
    host = os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    if not host.startswith("unix://"):
        return  # tcp:// and ssh:// are left to docker-py
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(PROBE_TIMEOUT)
        try:
            sock.connect(host.removeprefix("unix://"))
        except OSError as exc:
            raise _unavailable(exc) from None


def _connect() -> Any:
    import docker
    import requests

    _probe_unix_socket()
    try:
        return docker.from_env(version="auto")  # negotiate: Debian 12's daemon is API 1.41
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise _unavailable(exc) from None


def _find_image(client: Any, ref: str) -> Any:
    import docker
    import requests

    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        raise ImageNotFoundError(
            f"docker-daemon: the daemon has no image {ref!r}",
            hint="Build or pull it first (`docker images` lists what the daemon has), "
            "or use docker://REF to pull from a registry.",
        ) from None
    except docker.errors.APIError as exc:
        if exc.status_code == 400:
            raise InvalidReferenceError(
                f"docker-daemon: the daemon rejected {ref!r}: {exc.explanation}"
            ) from None
        raise _unavailable(exc) from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise _unavailable(exc) from None


def _export(client: Any, image: Any, ref: str, ctx: Context, *, reuse: bool = True) -> Path:
    """The image's `docker save` tar in the cache, exported now unless already there
    (a cached export is untrusted: the caller checks it is the daemon's image)."""
    import docker
    import requests

    _, hexpart = parse_digest(image.id, what="image ID from the daemon")
    directory = subdir(ctx.cache_dir, "daemon")  # a symlink there: OutputError
    target = directory / f"{hexpart}.tar"
    if reuse and target.is_file() and not target.is_symlink():
        ctx.log_debug(f"docker-daemon: reusing the export {target}")
        return target
    named: bool | str = ref if ref in image.tags else True
    size = image.attrs.get("Size") if isinstance(image.attrs, dict) else None
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".export-", suffix=".tar")
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            ctx.progress(
                desc=f"export {ref[:40]}", total=size if isinstance(size, int) else None
            ) as bar,
        ):
            for chunk in image.save(chunk_size=CHUNK, named=named):
                out.write(chunk)
                bar.update(len(chunk))
        os.replace(tmp, target)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise _unavailable(exc) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def acquire_daemon(source: ImageSource, options: AcquireOptions, ctx: Context) -> AcquiredImage:
    """``docker-daemon:REF`` (a name, name:tag, name@digest or image ID)."""
    ref = source.ref
    if not ref:
        raise InvalidReferenceError("docker-daemon: needs an image reference or ID")
    client = _connect()
    try:
        image = _find_image(client, ref)
        try:
            acquired = _read_export(_export(client, image, ref, ctx), image, source, options, ctx)
        except (IntegrityError, InvalidImageError, UnsafeLayerError) as exc:
            # A cached export that is not the daemon's image (damaged, or planted in
            # the cache) is exported again once; a fresh one failing is the error.
            ctx.note(f"dock2uni: warning: cached export of {ref}: {exc.message}; exporting again")
            fresh = _export(client, image, ref, ctx, reuse=False)
            acquired = _read_export(fresh, image, source, options, ctx)
    finally:
        client.close()
    return dataclasses.replace(acquired, reference=_reference(ref, image, acquired.reference))


def _read_export(
    path: Path, image: Any, source: ImageSource, options: AcquireOptions, ctx: Context
) -> AcquiredImage:
    """Read an export and check it is the image the daemon named (by its ID)."""
    index = TarIndex(
        path, what=f"docker-daemon export of {source.ref}", max_members=ctx.limits.max_entries
    )
    acquired = read_docker_archive(
        index,
        ref=None,
        options=options,
        source_name=source.text,
        transport=source.transport,
        ctx=ctx,
    )
    # The classic store's ID is the config digest; the containerd store's is the digest
    # of the manifest or index the export's index.json names.
    names = {acquired.config_digest, acquired.manifest_digest, acquired.index_digest}
    if image.id not in names:
        raise IntegrityError(
            f"docker-daemon: the export of {source.ref} is image {acquired.config_digest}, "
            f"but the daemon calls the image {image.id}"
        )
    return acquired


def _reference(ref: str, image: Any, exported: str | None) -> str | None:
    """REF normalised if it names the image; for an image ID, the tag the export carries."""
    try:
        wanted = normalise_ref(ref)
    except InvalidReferenceError:
        return exported
    tags = set()
    for tag in image.tags:
        try:
            tags.add(normalise_ref(tag))
        except InvalidReferenceError:
            continue
    return wanted if wanted in tags or "@" in ref else exported
