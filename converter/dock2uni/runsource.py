"""`dock2uni run SOURCE`: which argument is a local .uni file, and the cached conversion
of any other image source (the `docker run IMAGE` experience: convert on first use).

A conversion is cached under ``<cache>/run/`` by the image's manifest digest, its
platform, the dock2uni version and the library OS build, so a new digest or a rebuilt
library OS converts again and anything else boots at once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from dock2uni import __version__
from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.errors import ImageNotFoundError, InvalidReferenceError
from dock2uni.fs.cachedir import is_regular, subdir
from dock2uni.libos_build import ensure_libos
from dock2uni.uni import is_uni_file

LOCAL_PREFIXES = ("/", "./", "../", "~")
LIBOS_STAMPED = ("entry.o", "libos.a", "shims.a", "link.ld")


def local_file(source: str) -> Path | None:
    """The file ``source`` names, absolute; None for an image reference. An argument
    ending in .uni or written as a path is always local: a missing one is
    ImageNotFoundError at once, never a registry lookup of a name like ``app.uni``."""
    path = Path(os.path.expanduser(source))
    if path.is_file():
        if not is_uni_file(path):
            raise InvalidReferenceError(
                f"{source} is a file but not a unikernel image",
                hint=f"For a `docker save` archive write docker-archive:{source}, for an OCI "
                f"archive oci-archive:{source}.",
            )
        return Path(os.path.abspath(path))
    if source.endswith(".uni") or source.startswith(LOCAL_PREFIXES):
        raise ImageNotFoundError(
            f"{source}: no such file",
            hint="Check the path; `dock2uni convert SOURCE -o FILE.uni` writes an image file, "
            "and an image in a registry is named without a path (e.g. busybox:latest).",
        )
    return None


def _libos_stamp(ctx: Context) -> str:
    libos = ensure_libos(ctx)
    stamps = [str((libos / a).stat().st_mtime_ns) for a in LIBOS_STAMPED if (libos / a).exists()]
    return ",".join(stamps)


def cached_uni(source: str, options: AcquireOptions, ctx: Context) -> Path:
    """The .uni file of image ``source``, converted now unless the cache has it."""
    from dock2uni.pipeline import convert_inspected, inspect_image

    inspected = inspect_image(source, options, ctx)
    image = inspected.unpacked.image
    key = "|".join((image.manifest_digest, str(image.platform), __version__, _libos_stamp(ctx)))
    name = image.manifest_digest.split(":", 1)[-1][:24]
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    out = subdir(ctx.cache_dir, "run") / f"{name}-{digest}.uni"
    if is_regular(out):
        ctx.log_debug(f"run: {source} is {image.manifest_digest}, cached as {out}")
        return out
    ctx.note(f"dock2uni: converting {source} ({image.manifest_digest[:19]}) for its first run")
    # mkstemp creates the partial file with O_EXCL: a name planted in the cache is never
    # followed; the conversion writes into that file, the rename publishes it.
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    os.close(fd)
    partial = Path(name)
    try:
        convert_inspected(inspected, partial, ctx)
        os.replace(partial, out)  # atomic: a concurrent or interrupted run sees all or nothing
    finally:
        partial.unlink(missing_ok=True)
    return out
