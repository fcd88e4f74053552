"""Stage plan (pure, no I/O): which syscalls to link and how to start the program.

The syscalls come from the analysed syscall set and the support table: when the set
is complete, only the handlers of those syscalls are linked (with what they need of
the library OS, docs/per-image-link.md); when it is not known completely (no
analysis, or call sites whose number could not be recovered), every entry of every
family is linked, because a missing handler would turn a working call into ENOSYS
at run time.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from dock2uni.errors import ElfError
from dock2uni.runspec import RunSpec
from dock2uni.support import SupportTable

ROOTFS_POLICIES = ("default", "full", "closure", "slim")


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What the link stage builds."""

    families: tuple[str, ...]
    families_reason: str  # why these families (for reports)
    missing: tuple[str, ...]  # syscalls the program uses that the library OS lacks
    argv: tuple[str, ...]
    entrypoint_argc: int
    exec_path: str
    env: tuple[str, ...]
    workdir: str
    uid: int
    gid: int
    hostname: str
    rootfs_policy: str
    stop_signal: str | None = None  # the image's StopSignal, kept for the tools that stop it
    exposed_ports: tuple[str, ...] = ()  # the image's EXPOSE ("80/tcp"), for `run -P`
    groups: tuple[int, ...] = ()  # supplementary groups (runspec.UserSpec); () is (gid,)
    volumes: tuple[str, ...] = ()  # the image's VOLUMEs: `run` gives each an anonymous volume
    # The syscalls whose table entries (and handlers) are linked, by name; None: every
    # entry of ``families`` (the set is not complete, or a plan dock2uni builds itself).
    syscalls: tuple[str, ...] | None = None
    # The kernel's symbol table in the .uni (`convert --keep-symbols`): nothing reads it at
    # run time, so images leave it out unless a developer wants `nm`/`addr2line` on them.
    keep_symbols: bool = False
    # Store the rootfs files LZ4-packed (`convert --compress/--no-compress`); None: the
    # policy decides (link.compresses: on for closure and slim).
    compress_rootfs: bool | None = None

    @classmethod
    def tiny(
        cls, exec_path: str, families: tuple[str, ...], reason: str, hostname: str = "probe"
    ) -> Plan:
        """A root-run program with no arguments or environment: the plan of the images
        dock2uni builds for itself (the accelerator probe, the EXECFAIL probe) and of
        bench/image_size's kernel-only images."""
        return cls(
            families=families,
            families_reason=reason,
            missing=(),
            argv=(exec_path,),
            entrypoint_argc=1,
            exec_path=exec_path,
            env=(),
            workdir="/",
            uid=0,
            gid=0,
            hostname=hostname,
            rootfs_policy="full",
        )


def plan(
    spec: RunSpec,
    support: SupportTable,
    *,
    syscalls: Set[str] | None,
    complete: bool = True,
    families_reason: str = "",
    hostname: str,
    rootfs_policy: str = "default",
) -> Plan:
    """Decide families and the start-up of the program described by ``spec``.

    ``syscalls`` is what the analysis found (None: not analysed); ``complete`` is False
    when it may have missed calls (sites with unrecovered numbers, unreadable files)."""
    if rootfs_policy not in ROOTFS_POLICIES:
        raise ValueError(f"unknown rootfs policy {rootfs_policy!r}")
    if spec.exec_path is None or spec.exec_kind == "missing":
        raise ElfError(
            f"the program {spec.argv[0]!r} is not in the image",
            hint="Check the image's Entrypoint/Cmd, or pass --entrypoint '[\"/path/prog\"]'.",
        )
    argv, exec_path = spec.argv, spec.exec_path
    entry_argc = spec.entrypoint_argc
    if spec.exec_kind == "script":
        # Do what Linux's binfmt_script does, at convert time: run the interpreter
        # with its optional argument, then the script path, then the arguments.
        if not spec.interpreter:
            raise ElfError(f"{exec_path}: the #! line names no interpreter")
        argv = (*spec.interpreter, exec_path, *spec.argv[1:])
        exec_path = spec.interpreter[0]
        entry_argc = entry_argc + len(spec.interpreter) if entry_argc else 0
    elif spec.exec_kind != "elf":
        raise ElfError(f"{exec_path} is neither an ELF binary nor a #! script")

    table = support.by_name()
    known = set(syscalls or ())
    missing = tuple(sorted(n for n in known if n not in table or table[n].level == "ERR"))
    if syscalls is None or not complete:
        # A call we cannot see could need any family: linking one too few would turn
        # a working call into ENOSYS at run time.
        families = support.families
        reason = families_reason or "all families: the program's syscalls were not analysed"
        linked = None
    else:
        families = support.families_for(known)
        reason = families_reason or f"families implementing the {len(known)} syscalls"
        linked = tuple(sorted(n for n in known if n in table))
    return Plan(
        families=families,
        families_reason=reason,
        missing=missing,
        argv=argv,
        entrypoint_argc=entry_argc,
        exec_path=exec_path,
        env=spec.env,
        workdir=spec.workdir,
        uid=spec.user.uid,
        gid=spec.user.gid,
        groups=spec.user.groups,
        hostname=hostname,
        rootfs_policy=rootfs_policy,
        stop_signal=spec.stop_signal,
        exposed_ports=spec.exposed_ports,
        volumes=spec.volumes,
        syscalls=linked,
    )
