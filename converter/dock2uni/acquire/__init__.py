"""Stage 1, acquire: any image source -> AcquiredImage (manifest, config, verified layers).

Interface:
  * ``acquire(source, options, ctx)`` dispatches on the transport of a parsed SOURCE.
Each transport lives in its own module; only ``daemon`` imports docker-py and only
``registry`` talks HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dock2uni.context import Context
from dock2uni.model import DEFAULT_PLATFORM, AcquiredImage, Platform
from dock2uni.oci import sources


@dataclass(frozen=True, kw_only=True)
class AcquireOptions:
    """How to fetch: target platform, TLS policy and credentials."""

    platform: Platform = DEFAULT_PLATFORM
    tls_verify: bool = True  # False: plain HTTP / unverified TLS (--insecure)
    creds: tuple[str, str] | None = None  # --creds USER:PASSWORD
    authfile: Path | None = None  # --authfile (a Docker config.json)
    extra: dict[str, str] = field(default_factory=dict)


def acquire(source: sources.ImageSource, options: AcquireOptions, ctx: Context) -> AcquiredImage:
    """Fetch the image named by ``source``; every byte is verified before use."""
    if source.transport == sources.REGISTRY:
        from dock2uni.acquire.registry import acquire_registry

        return acquire_registry(source, options, ctx)
    if source.transport == sources.DAEMON:
        from dock2uni.acquire.daemon import acquire_daemon

        return acquire_daemon(source, options, ctx)
    if source.transport == sources.DOCKER_ARCHIVE:
        from dock2uni.acquire.archive import acquire_docker_archive

        return acquire_docker_archive(source, options, ctx)
    if source.transport == sources.OCI_LAYOUT:
        from dock2uni.acquire.layout import acquire_oci_layout

        return acquire_oci_layout(source, options, ctx)
    if source.transport == sources.OCI_ARCHIVE:
        from dock2uni.acquire.layout import acquire_oci_archive

        return acquire_oci_archive(source, options, ctx)
    raise AssertionError(f"unknown transport {source.transport}")
