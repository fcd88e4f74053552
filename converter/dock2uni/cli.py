"""The `dock2uni` command line: thin typer commands over pipeline.py.

Only ``main`` prints errors and chooses exit codes: a Dock2UniError becomes one
line saying what happened, one saying what to do, and its exit code (see
docs/exit-codes.md); anything else is a bug (exit 1), shown with a traceback
only under --debug. Machine output (--format json) goes to stdout only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import signal
import sys
import traceback
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer.exceptions import TyperException

from dock2uni import __version__
from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context, Limits, default_cache_dir
from dock2uni.errors import EXIT_UNEXPECTED, EXIT_USAGE, Dock2UniError, OutputError
from dock2uni.model import DEFAULT_PLATFORM, Platform

if TYPE_CHECKING:
    from dock2uni.network import Network, Published
    from dock2uni.runargs import ContainerOptions
    from dock2uni.slim.traced import SlimOptions

app = typer.Typer(
    name="dock2uni",
    help="Convert container images into bootable unikernels, and audit them for migration.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts contain [brackets], which are not markup
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


# -- options shared by the commands that read images ---------------------------------------

SourceArg = Annotated[
    str,
    typer.Argument(
        metavar="SOURCE",
        help="REF | docker://REF | docker-daemon:REF | docker-archive:PATH[:REF] | "
        "oci:DIR[:REF] | oci-archive:PATH[:REF]",
        show_default=False,
    ),
]
PlatformOpt = Annotated[
    str, typer.Option("--platform", help="Image platform OS/ARCH[/VARIANT] to select.")
]
InsecureOpt = Annotated[
    bool,
    typer.Option("--insecure", help="Allow plain HTTP and unverified TLS to the registry."),
]
TlsVerifyOpt = Annotated[
    str,
    typer.Option(
        "--tls-verify",
        metavar="true|false",
        help="Verify TLS; --tls-verify=false (skopeo's spelling) is the same as --insecure.",
    ),
]
CredsOpt = Annotated[
    str | None,
    typer.Option("--creds", help="Registry credentials USER:PASSWORD.", show_default=False),
]
AuthfileOpt = Annotated[
    Path | None,
    typer.Option("--authfile", help="Docker config.json with registry credentials."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notes.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Diagnostics, tracebacks on errors.")]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Cache of blobs and file contents [default: $DOCK2UNI_CACHE or ~/.cache/dock2uni].",
        show_default=False,
    ),
]
MaxSizeOpt = Annotated[
    int | None,
    typer.Option(
        "--max-image-size",
        help="Limit on the decompressed size of all layers, in bytes.",
        show_default=False,
    ),
]
MaxEntriesOpt = Annotated[
    int | None,
    typer.Option("--max-entries", help="Limit on tar entries over all layers.", show_default=False),
]


def make_context(
    *,
    quiet: bool,
    debug: bool,
    cache_dir: Path | None,
    max_size: int | None,
    max_entries: int | None,
) -> Context:
    _state["debug"] = _state["debug"] or debug
    limits = Limits()
    if max_size is not None:
        limits = dataclasses.replace(
            limits,
            max_image_bytes=max_size,
            max_layer_bytes=min(max_size, limits.max_layer_bytes),
        )
    if max_entries is not None:
        limits = dataclasses.replace(limits, max_entries=max_entries)
    return Context(
        cache_dir=absolute(cache_dir or default_cache_dir()),
        limits=limits,
        quiet=quiet,
        debug=debug,
    )


def absolute(path: Path) -> Path:
    """Every path option and variable is made absolute once, here at the CLI edge: later
    stages run tools (the assembler, analysis workers) in other directories, where a
    relative path would name another file or none."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def writable_output(output: Path) -> Path:
    """The absolute output path; its directory must exist (a typo must not create a tree)."""
    output = absolute(output)
    if not output.parent.is_dir():
        raise OutputError(
            f"cannot write {output}: directory {output.parent} does not exist",
            hint=f"Create it first (mkdir -p {output.parent}) or choose another --output.",
        )
    if output.is_dir():
        raise OutputError(
            f"cannot write {output}: it is a directory",
            hint="Name the file to write, e.g. --output app.uni.",
        )
    return output


def parse_bool(text: str, option: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise typer.BadParameter(f"expected true or false, not {text!r}", param_hint=option)


def make_acquire_options(
    *, platform: str, insecure: bool, tls_verify: str, creds: str | None, authfile: Path | None
) -> AcquireOptions:
    user_pass: tuple[str, str] | None = None
    if creds is not None:
        user, sep, password = creds.partition(":")
        if not sep or not user:
            raise typer.BadParameter(
                "expected USER:PASSWORD, e.g. alice:secret", param_hint="--creds"
            )
        user_pass = (user, password)
    return AcquireOptions(
        platform=Platform.parse(platform) if platform else DEFAULT_PLATFORM,
        tls_verify=parse_bool(tls_verify, "--tls-verify") and not insecure,
        creds=user_pass,
        authfile=absolute(authfile) if authfile is not None else None,
    )


def image_session(
    *,
    platform: str,
    insecure: bool,
    tls_verify: str,
    creds: str | None,
    authfile: Path | None,
    quiet: bool,
    debug: bool,
    cache_dir: Path | None,
    max_image_size: int | None,
    max_entries: int | None,
) -> tuple[Context, AcquireOptions]:
    """The Context and AcquireOptions of a command that reads an image SOURCE."""
    ctx = make_context(
        quiet=quiet,
        debug=debug,
        cache_dir=cache_dir,
        max_size=max_image_size,
        max_entries=max_entries,
    )
    options = make_acquire_options(
        platform=platform, insecure=insecure, tls_verify=tls_verify, creds=creds, authfile=authfile
    )
    return ctx, options


def version_callback(value: bool) -> None:
    if value:
        print(f"dock2uni {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """dock2uni: container image -> bootable unikernel."""
    _state["debug"] = debug


@app.command()
def inspect(
    source: SourceArg,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.text,
    explain: ExplainOpt = False,
    platform: PlatformOpt = str(DEFAULT_PLATFORM),
    insecure: InsecureOpt = False,
    tls_verify: TlsVerifyOpt = "true",
    creds: CredsOpt = None,
    authfile: AuthfileOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    cache_dir: CacheOpt = None,
    max_image_size: MaxSizeOpt = None,
    max_entries: MaxEntriesOpt = None,
) -> None:
    """Show an image's digest, platform, command, environment, user, ports and layers
    (or, for a .uni file, what it was built from)."""
    from dock2uni.runsource import local_file
    from dock2uni.uni import read_metadata

    if (path := local_file(source)) is not None:
        meta = read_metadata(path)
        if output_format is OutputFormat.json:
            from dock2uni.convert_report import metadata_json

            sys.stdout.write(json.dumps(metadata_json(meta), indent=2) + "\n")
        else:
            from dock2uni.convert_report import explain_lines, metadata_text

            sys.stdout.write(metadata_text(meta) + (explain_lines(meta) if explain else ""))
        return
    ctx, options = image_session(
        platform=platform,
        insecure=insecure,
        tls_verify=tls_verify,
        creds=creds,
        authfile=authfile,
        quiet=quiet,
        debug=debug,
        cache_dir=cache_dir,
        max_image_size=max_image_size,
        max_entries=max_entries,
    )
    from dock2uni.inspect_report import inspect_json, inspect_text
    from dock2uni.pipeline import inspect_image

    result = inspect_image(source, options, ctx)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(inspect_json(result), indent=2) + "\n")
    else:
        sys.stdout.write(inspect_text(result))


def parse_json_argv(text: str | None, option: str) -> tuple[str, ...] | None:
    """--entrypoint/--cmd take a JSON array of strings (Dockerfile exec form)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise typer.BadParameter(
            'expected a JSON array of strings, e.g. \'["/app", "-v"]\'', param_hint=option
        )
    return tuple(value)


def parse_env(items: list[str] | None) -> tuple[str, ...]:
    for item in items or []:
        if "=" not in item or item.startswith("="):
            raise typer.BadParameter(f"expected KEY=VALUE, not {item!r}", param_hint="--env")
    return tuple(items or [])


def parse_mem(text: str) -> int:
    """Sizes like 64M, 1G, 512K; a bare number is MiB (as QEMU's -m)."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t) << 20
    except ValueError:
        raise typer.BadParameter(
            f"expected a size like 64M or 1G, not {text!r}", param_hint="--mem"
        ) from None


class RootfsPolicy(StrEnum):
    default = "default"
    full = "full"
    closure = "closure"


def parse_slim(
    slim: bool,
    cmds: list[str] | None,
    probes: list[str] | None,
    timeout: float,
    rootfs: RootfsPolicy,
) -> SlimOptions | None:
    """convert's --slim options, checked before any image is read."""
    from dock2uni.slim.traced import SlimOptions
    from dock2uni.slim.workload import WorkloadUsageError, workloads

    if not slim:
        for name, given in (("--slim-cmd", cmds), ("--slim-probe", probes)):
            if given:
                raise typer.BadParameter("only with --slim", param_hint=name)
        return None
    if rootfs is RootfsPolicy.full:
        raise typer.BadParameter("--slim keeps the closure and what runs", param_hint="--rootfs")
    if not timeout > 0:
        raise typer.BadParameter("must be more than 0 seconds", param_hint="--slim-timeout")
    try:
        return SlimOptions(workloads=workloads(cmds or [], probes or []), timeout=timeout)
    except WorkloadUsageError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.option) from None


ExplainOpt = Annotated[
    bool,
    typer.Option(
        "--explain",
        help="Also list every kept path with the reason it is kept (--rootfs closure, --slim).",
    ),
]


@app.command()
def convert(
    source: SourceArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The unikernel image to write (.uni).")
    ],
    entrypoint: Annotated[
        str | None,
        typer.Option("--entrypoint", help='Override Entrypoint, JSON: \'["/app", "-v"]\'.'),
    ] = None,
    cmd: Annotated[
        str | None, typer.Option("--cmd", help="Override Cmd, JSON array of strings.")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="Set KEY=VALUE (repeatable).")
    ] = None,
    rootfs: Annotated[
        RootfsPolicy,
        typer.Option(
            "--rootfs",
            help="default: drop docs, man pages, unused locales, "
            "package-manager state; full: keep every file; closure: keep only what the "
            "entrypoint can reach (docs/slim.md).",
        ),
    ] = RootfsPolicy.default,
    explain: ExplainOpt = False,
    add_file: Annotated[
        list[str] | None,
        typer.Option(
            "--add-file",
            metavar="PATH",
            help="With --rootfs closure: also keep this image path (a directory with its "
            "contents); repeatable.",
            show_default=False,
        ),
    ] = None,
    slim: Annotated[
        bool,
        typer.Option(
            "--slim",
            help="Boot the image with a file-access tracer, keep what the workload touched "
            "plus the closure, and write it only if the workload's outputs are unchanged "
            "(docs/slim.md).",
        ),
    ] = False,
    slim_cmd: Annotated[
        list[str] | None,
        typer.Option(
            "--slim-cmd",
            metavar="'ARGS'",
            help="With --slim: a workload: ARGS replace the image's Cmd for one traced "
            "and one verifying boot, as `run -- ARGS`; '' is the image's own command; "
            "repeatable [default: the image's command].",
            show_default=False,
        ),
    ] = None,
    slim_probe: Annotated[
        list[str] | None,
        typer.Option(
            "--slim-probe",
            metavar="http://:PORT/PATH|tcp://:PORT/BYTES",
            help="With --slim: GET this from the server the image starts (tcp: send "
            "the percent-encoded BYTES, read the answer until the server closes); the "
            "answers are verified; repeatable.",
            show_default=False,
        ),
    ] = None,
    slim_timeout: Annotated[
        float,
        typer.Option("--slim-timeout", help="With --slim: seconds each boot may take."),
    ] = 300.0,
    initrd: Annotated[
        bool,
        typer.Option("--initrd", help="Write the rootfs as OUTPUT.cpio instead of embedding it."),
    ] = False,
    compress: Annotated[
        bool | None,
        typer.Option(
            "--compress/--no-compress",
            help="Store the rootfs files LZ4-compressed, decompressed by the guest on first "
            "use [default: on for --rootfs closure and --slim, off otherwise].",
            show_default=False,
        ),
    ] = None,
    keep_symbols: Annotated[
        bool,
        typer.Option(
            "--keep-symbols",
            help="Keep the kernel's symbol table in the image (for nm/addr2line on a panic "
            "address; nothing reads it at run time).",
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Summary format.")
    ] = OutputFormat.text,
    platform: PlatformOpt = str(DEFAULT_PLATFORM),
    insecure: InsecureOpt = False,
    tls_verify: TlsVerifyOpt = "true",
    creds: CredsOpt = None,
    authfile: AuthfileOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    cache_dir: CacheOpt = None,
    max_image_size: MaxSizeOpt = None,
    max_entries: MaxEntriesOpt = None,
) -> None:
    """Pull, analyse and link an image into one bootable unikernel file."""
    from dock2uni.runspec import Overrides

    output = writable_output(output)
    slim_options = parse_slim(slim, slim_cmd, slim_probe, slim_timeout, rootfs)
    if add_file and rootfs is not RootfsPolicy.closure and not slim:
        raise typer.BadParameter(
            "only the closure policy and --slim select files", param_hint="--add-file"
        )
    overrides = Overrides(
        entrypoint=parse_json_argv(entrypoint, "--entrypoint"),
        cmd=parse_json_argv(cmd, "--cmd"),
        env=parse_env(env),
    )
    ctx, options = image_session(
        platform=platform,
        insecure=insecure,
        tls_verify=tls_verify,
        creds=creds,
        authfile=authfile,
        quiet=quiet,
        debug=debug,
        cache_dir=cache_dir,
        max_image_size=max_image_size,
        max_entries=max_entries,
    )
    from dock2uni.convert_report import convert_json, convert_text
    from dock2uni.pipeline import convert_image

    _, _, linked = convert_image(
        source,
        output,
        options,
        ctx,
        overrides=overrides,
        rootfs_policy="slim" if slim else rootfs.value,
        separate_initrd=initrd,
        add_files=tuple(add_file or ()),
        slim=slim_options,
        keep_symbols=keep_symbols,
        compress=compress,
    )
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(convert_json(linked), indent=2) + "\n")
    else:
        sys.stdout.write(convert_text(linked, explain=explain))


@app.command()
def run(
    source: Annotated[
        str,
        typer.Argument(
            metavar="IMAGE.uni|SOURCE",
            help="A file from `convert`, or any image SOURCE (converted on first use, "
            "cached by digest). A name ending in .uni or an existing file is always local.",
            show_default=False,
        ),
    ],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[-- ARGS...]",
            help="Replace the image's Cmd, like docker run.",
            show_default=False,
        ),
    ] = None,
    mem: Annotated[
        str | None,
        typer.Option(
            "--mem",
            "--memory",
            "-m",
            help="Guest memory, e.g. 64M [default: the image's recommendation].",
            show_default=False,
        ),
    ] = None,
    accel: Annotated[
        str | None,
        typer.Option(
            "--accel",
            help="auto (KVM if the probe program runs under it, else TCG), kvm or tcg "
            "[default: $DOCK2UNI_ACCEL, else auto].",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", help="Stop the guest after S seconds (exit code 124).", show_default=False
        ),
    ] = None,
    stop_timeout: Annotated[
        float,
        typer.Option(
            "--stop-timeout",
            help="Seconds the application has to exit after a forwarded SIGTERM, SIGINT, "
            "SIGQUIT or the image's StopSignal; then the guest is killed (exit 137).",
        ),
    ] = 10.0,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            "-e",
            help="Set KEY=VALUE, or KEY to pass the host's value (repeatable).",
            show_default=False,
        ),
    ] = None,
    env_file: Annotated[
        list[str] | None,
        typer.Option(
            "--env-file",
            metavar="FILE",
            help="Read KEY=VALUE lines (as docker run; -e wins; repeatable).",
            show_default=False,
        ),
    ] = None,
    workdir: Annotated[
        str | None,
        typer.Option(
            "--workdir",
            "-w",
            metavar="DIR",
            help="Working directory of the program (absolute; made when missing).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            "-u",
            metavar="USER[:GROUP]",
            help="Run as this user: names or ids, resolved in the image's /etc/passwd and "
            "/etc/group.",
            show_default=False,
        ),
    ] = None,
    entrypoint: Annotated[
        str | None,
        typer.Option(
            "--entrypoint",
            metavar="PROGRAM",
            help="Replace the image's Entrypoint (and clear its Cmd; ARGS follow it); '' "
            "resets it.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="A name for the container: checked as docker checks it and shown by "
            "--debug; nothing else uses it (no container registry; the host name stays "
            "--hostname's).",
            show_default=False,
        ),
    ] = None,
    rm: Annotated[
        bool,
        typer.Option(
            "--rm",
            help="Remove the anonymous volumes this run made when it ends (the run leaves "
            "nothing else behind).",
        ),
    ] = False,
    tmpfs: Annotated[
        list[str] | None,
        typer.Option(
            "--tmpfs",
            metavar="PATH",
            help="Make PATH an empty writable directory (mode 1777) at boot (repeatable).",
            show_default=False,
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="Make the root filesystem read-only (EROFS) except /dev, /dev/shm and the "
            "--tmpfs directories, as docker run.",
        ),
    ] = False,
    volume: Annotated[
        list[str] | None,
        typer.Option(
            "--volume",
            "-v",
            metavar="[SRC:]DST[:ro|rw]",
            help="A host directory (SRC absolute; made when missing), a named volume "
            "(SRC a name; made and filled from the image on first use) or, DST alone, an "
            "anonymous volume at DST (repeatable; docs/volumes-run.md).",
            show_default=False,
        ),
    ] = None,
    mount: Annotated[
        list[str] | None,
        typer.Option(
            "--mount",
            metavar="type=bind|volume|tmpfs,source=SRC,target=DST[,readonly]",
            help="A volume as docker run --mount gives it (repeatable).",
            show_default=False,
        ),
    ] = None,
    detach: Annotated[
        bool,
        typer.Option("--detach", "-d", help="Refused: runs stay in the foreground."),
    ] = False,
    strace: Annotated[
        bool, typer.Option("--strace", help="Log every syscall of the guest on stderr.")
    ] = False,
    initrd: Annotated[
        Path | None,
        typer.Option(
            "--initrd",
            help="Rootfs written by convert --initrd [default: IMAGE.uni.cpio if it exists].",
            show_default=False,
        ),
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive", "-i", help="Forward stdin to the guest (else it is at end of file)."
        ),
    ] = False,
    tty: Annotated[
        bool,
        typer.Option(
            "--tty",
            "-t",
            help="Give the guest a terminal (fds 0-2 one tty, stderr on stdout), as docker run -t.",
        ),
    ] = False,
    publish: Annotated[
        list[str] | None,
        typer.Option(
            "--publish",
            "-p",
            metavar="[IP:][HOST:]GUEST[/tcp|/udp]",
            help="Publish a guest port on the host, like docker run -p (repeatable; HOST "
            "left out: a free port; no IP: every IPv4 address of the host).",
            show_default=False,
        ),
    ] = None,
    publish_all: Annotated[
        bool,
        typer.Option(
            "--publish-all",
            "-P",
            help="Publish every port the image EXPOSEs on a free host port; the mapping is "
            "printed on stderr as `docker port` prints it.",
        ),
    ] = False,
    network: Annotated[
        str | None,
        typer.Option(
            "--network",
            metavar="none|user",
            help="user: a NIC on QEMU's user network (the host is 10.0.2.2); none: no NIC "
            "[default: user when ports are published, else none].",
            show_default=False,
        ),
    ] = None,
    hostname: Annotated[
        str | None,
        typer.Option(
            "--hostname",
            help="The guest's host name [default: a random 12-digit hex id, like docker].",
            show_default=False,
        ),
    ] = None,
    dns: Annotated[
        list[str] | None,
        typer.Option(
            "--dns",
            metavar="IP",
            help="A DNS server for the guest's resolv.conf (repeatable) "
            "[default with --network user: 10.0.2.3, QEMU's DNS proxy].",
            show_default=False,
        ),
    ] = None,
    add_host: Annotated[
        list[str] | None,
        typer.Option(
            "--add-host",
            metavar="NAME:IP",
            help="Add a line to the guest's /etc/hosts (repeatable; IP host-gateway is the "
            "host, 10.0.2.2).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the QEMU command line (kernel command line included) and the "
            "published ports, and exit without booting.",
        ),
    ] = False,
    platform: PlatformOpt = str(DEFAULT_PLATFORM),
    insecure: InsecureOpt = False,
    tls_verify: TlsVerifyOpt = "true",
    creds: CredsOpt = None,
    authfile: AuthfileOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    cache_dir: CacheOpt = None,
    max_image_size: MaxSizeOpt = None,
    max_entries: MaxEntriesOpt = None,
) -> None:
    """Boot a unikernel under QEMU (converting an image SOURCE first, like docker run);
    exit with the application's exit code."""
    from dock2uni.accel import AccelUsageError, requested
    from dock2uni.run import RunOptions, Stopped, hint_for, run_image, stop_on_signals
    from dock2uni.runsource import cached_uni, local_file

    try:
        accel_request, accel_source = requested(accel)
    except AccelUsageError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.source) from None

    # Every option is checked before the image is looked at: usage errors come first.
    mem_bytes = parse_mem(mem) if mem else None
    if not stop_timeout >= 0:  # also refuses NaN
        raise typer.BadParameter("must be 0 or more seconds", param_hint="--stop-timeout")
    opts = parse_container_options(
        env=env or [],
        env_files=env_file or [],
        workdir=workdir,
        user=user,
        name=name,
        tmpfs=tmpfs or [],
        volumes=volume or [],
        mounts=mount or [],
        detach=detach,
    )
    net = parse_network(
        mode=network,
        publish=publish or [],
        publish_all=publish_all,
        hostname=hostname,
        dns=dns or [],
        add_hosts=add_host or [],
    )
    ctx, acquire_options = image_session(
        platform=platform,
        insecure=insecure,
        tls_verify=tls_verify,
        creds=creds,
        authfile=authfile,
        quiet=quiet,
        debug=debug,
        cache_dir=cache_dir,
        max_image_size=max_image_size,
        max_entries=max_entries,
    )
    ctx.log_debug(f"accelerator requested: {accel_request} (from {accel_source})")
    if name is not None:
        ctx.log_debug(f"container name: {name}")
    try:
        # A signal during the first run's conversion stops it cleanly too (no partial
        # image is left in the cache).
        with stop_on_signals():
            image = local_file(source) or cached_uni(source, acquire_options, ctx)
            if initrd is None:
                candidate = image.with_name(image.name + ".cpio")
                initrd = candidate if candidate.exists() else None
            else:
                initrd = absolute(initrd)
            options = RunOptions(
                mem=mem_bytes,
                accel=accel_request,
                timeout=timeout,
                cmd=tuple(args) if args else None,
                env=opts.env,
                entrypoint=None if entrypoint is None else ((entrypoint,) if entrypoint else ()),
                workdir=opts.workdir,
                user=opts.user,
                tmpfs=opts.tmpfs,
                read_only=read_only,
                volumes=opts.volumes,
                remove_anonymous=rm,
                strace=strace,
                initrd=initrd,
                tty=tty,
                forward_signals=True,
                stop_timeout=stop_timeout,
                network=net,
            )
            if dry_run:
                from dock2uni.run import dry_run_argv

                argv, published = dry_run_argv(image, options, ctx, interactive=interactive)
                print_published(published)
                sys.stdout.write(shlex.join(argv) + "\n")
                return
            chosen = publish_all or any(p.host_port is None for p in net.ports)
            result = run_image(
                image,
                options,
                ctx,
                stdout=sys.stdout.buffer,
                stderr=sys.stderr,
                stdin=sys.stdin.buffer if interactive else None,
                guest_stderr=sys.stderr.buffer,
                on_published=print_published if chosen else None,
            )
    except Stopped as stop:
        # The guest and its QEMU are gone (boot's cleanup ran), or never started; exit as
        # a shell reports a command killed by that signal, as `docker run` does.
        ctx.log_debug(f"stopped by {stop}")
        if stop.signum == signal.SIGPIPE:  # nobody reads stdout: do not flush into it again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(128 + stop.signum) from None
    ctx.log_debug(f"accelerator {result.accel}, {result.seconds:.3f} s, status {result.status}")
    if result.cause:
        print(f"dock2uni: error: {result.cause}", file=sys.stderr)
        # A hint the run found (e.g. which accelerator to use) beats the status's generic one.
        if (hint := result.hint or hint_for(result.status)) is not None:
            print(f"dock2uni: hint: {hint}", file=sys.stderr)
    raise typer.Exit(result.exit_code)


def parse_container_options(
    *,
    env: list[str],
    env_files: list[str],
    workdir: str | None,
    user: str | None,
    name: str | None,
    tmpfs: list[str],
    volumes: list[str],
    mounts: list[str],
    detach: bool,
) -> ContainerOptions:
    """`run`'s container options (runargs.py); a bad or unsupported one is a usage error
    naming it (exit 2)."""
    from dock2uni.runargs import (
        ContainerOptions,
        RunUsageError,
        check_name,
        check_tmpfs,
        check_user,
        check_volumes,
        check_workdir,
        container_env,
        refuse,
    )

    try:
        refuse(detach)
        check_name(name)
        requests, all_tmpfs = check_volumes(volumes, mounts, check_tmpfs(tmpfs))
        return ContainerOptions(
            env=container_env(env, env_files),
            workdir=check_workdir(workdir),
            user=check_user(user),
            tmpfs=all_tmpfs,
            volumes=requests,
        )
    except RunUsageError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.option) from None


def parse_network(
    *,
    mode: str | None,
    publish: list[str],
    publish_all: bool,
    hostname: str | None,
    dns: list[str],
    add_hosts: list[str],
) -> Network:
    """`run`'s network options as a Network; a bad one is a usage error (exit 2)."""
    from dock2uni.network import NetUsageError, make_network

    try:
        return make_network(
            mode=mode,
            publish=publish,
            publish_all=publish_all,
            hostname=hostname,
            dns=dns,
            add_hosts=add_hosts,
        )
    except NetUsageError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.option) from None


def print_published(published: Sequence[Published]) -> None:
    """The published ports on stderr, one `docker port` line each (stdout is the guest's)."""
    for port in published:
        for line in port.docker_port_lines():
            print(line, file=sys.stderr)
    sys.stderr.flush()


class AuditFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


class MatrixFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class FailOn(StrEnum):
    unsupported = "unsupported"
    partial = "partial"
    never = "never"


@app.command()
def audit(
    source: SourceArg,
    output_format: Annotated[
        AuditFormat,
        typer.Option("--format", "-f", help="Report format (sarif: GitHub code scanning)."),
    ] = AuditFormat.text,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Exit 20 when the verdict is at least this bad (CI gate)."),
    ] = FailOn.unsupported,
    trace: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Also run the entrypoint natively under strace -f in a "
            "throwaway chroot and compare (needs root and strace).",
        ),
    ] = False,
    trace_seconds: Annotated[
        float, typer.Option("--trace-seconds", help="How long --trace lets the program run.")
    ] = 10.0,
    complete: Annotated[
        bool,
        typer.Option(
            "--complete",
            help="Also report the upper bound: every function of every analysed file "
            "taken as reachable; --fail-on then judges the worse verdict.",
        ),
    ] = False,
    entrypoint: Annotated[
        str | None,
        typer.Option("--entrypoint", help="Override Entrypoint, JSON array of strings."),
    ] = None,
    cmd: Annotated[
        str | None, typer.Option("--cmd", help="Override Cmd, JSON array of strings.")
    ] = None,
    platform: PlatformOpt = str(DEFAULT_PLATFORM),
    insecure: InsecureOpt = False,
    tls_verify: TlsVerifyOpt = "true",
    creds: CredsOpt = None,
    authfile: AuthfileOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    cache_dir: CacheOpt = None,
    max_image_size: MaxSizeOpt = None,
    max_entries: MaxEntriesOpt = None,
) -> None:
    """Migration audit: which syscalls the image's program can make that the library OS lacks."""
    from dock2uni.runspec import Overrides

    overrides = Overrides(
        entrypoint=parse_json_argv(entrypoint, "--entrypoint"), cmd=parse_json_argv(cmd, "--cmd")
    )
    ctx, options = image_session(
        platform=platform,
        insecure=insecure,
        tls_verify=tls_verify,
        creds=creds,
        authfile=authfile,
        quiet=quiet,
        debug=debug,
        cache_dir=cache_dir,
        max_image_size=max_image_size,
        max_entries=max_entries,
    )
    from dock2uni.audit import run_audit
    from dock2uni.pipeline import inspect_image

    inspected = inspect_image(source, options, ctx, overrides)
    run_audit(
        inspected.unpacked,
        inspected.spec,
        ctx,
        out=sys.stdout,
        fmt=output_format.value,
        fail_on=fail_on.value,
        source=source,
        trace=trace,
        trace_seconds=trace_seconds,
        complete=complete,
    )


@app.command("support-matrix")
def support_matrix(
    output_format: Annotated[
        MatrixFormat, typer.Option("--format", "-f", help="Output format.")
    ] = MatrixFormat.text,
) -> None:
    """Print the library OS's syscall support table (from shims/*/*.def)."""
    from dock2uni.audit import render_support_matrix
    from dock2uni.support import load_support_table

    sys.stdout.write(render_support_matrix(load_support_table(), output_format.value))


@app.command(
    "runtime",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def runtime(ctx: typer.Context) -> None:
    """The OCI runtime for Docker and containerd (runc's command line; also installed as
    dock2uni-runtime): `dock2uni runtime --help`, docs/oci-runtime.md."""
    from dock2uni.runtime.cli import main as runtime_main

    runtime_main(list(ctx.args))


def _add_volume_commands() -> None:
    from dock2uni.volcli import volume_app

    app.add_typer(volume_app, name="volume")


_add_volume_commands()


def report_error(exc: Dock2UniError) -> NoReturn:
    print(f"dock2uni: error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"dock2uni: hint: {exc.hint}", file=sys.stderr)
    sys.exit(exc.exit_code)


def report_usage_error(exc: TyperException) -> NoReturn:
    """A bad option or argument, in the same two lines as every other error (exit 2)."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # bare `dock2uni`: the help, as before
        print(exc.format_message(), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    print(f"dock2uni: error: {exc.format_message()}", file=sys.stderr)
    ctx = getattr(exc, "ctx", None)
    where = getattr(ctx, "command_path", None) or "dock2uni"
    print(f"dock2uni: hint: see `{where} --help` for the options.", file=sys.stderr)
    sys.exit(getattr(exc, "exit_code", EXIT_USAGE))


def main() -> None:
    """Console entry point: run the app and turn failures into messages and exit codes.

    typer runs in non-standalone mode, so usage errors (exit 2) come back here and are
    printed as `dock2uni: error:` plus a hint like every other failure."""
    try:
        code = app(standalone_mode=False)
    except Dock2UniError as exc:
        if _state["debug"]:
            traceback.print_exc()
        report_error(exc)
    except TyperException as exc:
        report_usage_error(exc)
    except (typer.Abort, KeyboardInterrupt):
        print(file=sys.stderr)
        sys.exit(128 + signal.SIGINT)
    except Exception as exc:
        if _state["debug"] or "--debug" in sys.argv:
            traceback.print_exc()
        print(f"dock2uni: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(
            "dock2uni: hint: this is a bug; re-run with --debug and report the output.",
            file=sys.stderr,
        )
        sys.exit(EXIT_UNEXPECTED)
    sys.exit(code if isinstance(code, int) else 0)
