"""Every failure a user can act on, each with its own exit code and a hint.

Library code raises these and never prints or exits; only ``cli.main`` turns
them into one line saying what happened, one saying what to do, and the exit
code. The table is documented in docs/exit-codes.md; a unit test keeps the two
in step, so codes stay unique and stable for CI scripts.
"""

from __future__ import annotations

# Exit codes shared by every command. 0 ok, 1 unexpected, 2 usage (click's).
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2


class Dock2UniError(Exception):
    """Base class: a failure with a message, a hint and an exit code."""

    exit_code = EXIT_UNEXPECTED
    default_hint = "Re-run with --debug for details and report the problem if it persists."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class ImageNotFoundError(Dock2UniError):
    """The image, tag, digest, file or directory named by SOURCE does not exist."""

    exit_code = 3
    default_hint = "Check the image name and tag (or the path), e.g. with `skopeo inspect`."


class AuthenticationError(Dock2UniError):
    """The registry refused our credentials, or demanded some we do not have."""

    exit_code = 4
    default_hint = (
        "Log in with `docker login REGISTRY`, pass --creds USER:PASSWORD, "
        "or point --authfile at a config.json that has credentials."
    )


class IntegrityError(Dock2UniError):
    """Content did not match its digest or size (manifest, config, layer, diff_id)."""

    exit_code = 5
    default_hint = (
        "The image content is corrupt or was tampered with; pull it again from a trusted source."
    )


class UnsafeLayerError(Dock2UniError):
    """A layer tries something a safe unpack refuses (escape, illegal entry, bad whiteout)."""

    exit_code = 6
    default_hint = "The image contains a malformed or malicious layer; do not use it."


class DockerUnavailableError(Dock2UniError):
    """No Docker daemon answered."""

    exit_code = 7
    default_hint = (
        "Start the daemon or set DOCKER_HOST to its socket; or use `docker save` with "
        "docker-archive:PATH, or pull from a registry with docker://REF."
    )


class RegistryError(Dock2UniError):
    """The registry failed, spoke the protocol wrongly, or could not be reached."""

    exit_code = 8
    default_hint = (
        "Check the registry address and your network; for a plain-HTTP registry "
        "pass --insecure (alias --tls-verify=false)."
    )


class InvalidReferenceError(Dock2UniError):
    """SOURCE, an image reference or a digest string is malformed."""

    exit_code = 9
    default_hint = (
        "Use one of: REF, docker://REF, docker-daemon:REF, docker-archive:PATH[:REF], "
        "oci:DIR[:REF], oci-archive:PATH[:REF] (see `dock2uni inspect --help`)."
    )


class InvalidImageError(Dock2UniError):
    """A manifest, index, config or layout document is malformed or contradictory."""

    exit_code = 10
    default_hint = "The image metadata is malformed; rebuild or re-export the image."


class UnsupportedImageError(Dock2UniError):
    """A well-formed image that dock2uni cannot use (platform, media type, schema 1...)."""

    exit_code = 11
    default_hint = (
        "Pick another platform with --platform, or rebuild the image as OCI or Docker v2."
    )


class LimitExceededError(Dock2UniError):
    """Input exceeds a safety limit (decompressed size, entry count, path depth...)."""

    exit_code = 12
    default_hint = (
        "If the image is trusted and really this large, raise the limit "
        "(--max-image-size, --max-entries)."
    )


class ElfError(Dock2UniError):
    """A binary the pipeline needs is not an ELF it can use."""

    exit_code = 13
    default_hint = "dock2uni runs x86-64 Linux ELF binaries; check the image's entrypoint."


class BuildError(Dock2UniError):
    """Building or linking the unikernel failed (toolchain missing, link error)."""

    exit_code = 14
    default_hint = "Run `make setup` to install the toolchain, then try again with --debug."


class OutputError(Dock2UniError):
    """The output file cannot be written, or a .uni file is not one dock2uni wrote."""

    exit_code = 15
    default_hint = "Check the path, its directory and their permissions, and the free space."


class SlimError(Dock2UniError):
    """`convert --slim`: the workload failed on the full image, or the slim image failed
    verification (its outputs differ), so nothing was written."""

    exit_code = 16
    default_hint = (
        "Keep the missing files with --add-file PATH, give a workload that exercises the "
        "program (--slim-cmd, --slim-probe), or use --rootfs closure or the default policy."
    )


class AuditGateError(Dock2UniError):
    """`dock2uni audit --fail-on ...`: the verdict is at or below the gate (CI failure)."""

    exit_code = 20
    default_hint = "See the report; pass --fail-on never to report without failing."


class AuditBrokenError(Dock2UniError):
    """`dock2uni audit`: the main program could not be analysed, so there is no verdict."""

    exit_code = 21
    default_hint = (
        "The report says which file failed; check the cache directory and the image, "
        "re-run with --debug, and report it if the program is a valid x86-64 ELF."
    )


class RunError(Dock2UniError):
    """QEMU is missing or the VM could not be started (docker run's 125)."""

    exit_code = 125
    default_hint = "Install QEMU (`make setup`) and check --mem and --accel."


ALL_ERRORS: tuple[type[Dock2UniError], ...] = (
    ImageNotFoundError,
    AuthenticationError,
    IntegrityError,
    UnsafeLayerError,
    DockerUnavailableError,
    RegistryError,
    InvalidReferenceError,
    InvalidImageError,
    UnsupportedImageError,
    LimitExceededError,
    ElfError,
    BuildError,
    OutputError,
    SlimError,
    AuditGateError,
    AuditBrokenError,
    RunError,
)
