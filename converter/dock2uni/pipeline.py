"""The only place that knows the order of the stages; commands call these functions.

acquire -> unpack -> (run spec) -> analyse -> plan -> link -> package -> run
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.activity import activity
from dock2uni.analyse import analyse
from dock2uni.analyse.exec_cover import unseen_programs_reason
from dock2uni.analyse.model import Analysis
from dock2uni.context import Context
from dock2uni.errors import ElfError
from dock2uni.fs.store import DamagedStoreError
from dock2uni.link import LinkResult, link_image
from dock2uni.oci.sources import parse_source
from dock2uni.plan import Plan, plan
from dock2uni.runnable import problems
from dock2uni.runspec import Overrides, RunSpec, run_spec
from dock2uni.slim import closure_selection
from dock2uni.slim.report import cpio_size
from dock2uni.slim.traced import SlimOptions, convert_slim
from dock2uni.slim.workload import Workload
from dock2uni.support import SupportTable, load_support_table
from dock2uni.unpack import UnpackedImage, unpack

T = TypeVar("T")


def _recovering(ctx: Context, attempt: Callable[[], T]) -> T:
    """Run ``attempt``; if it met a damaged cache entry (which the store removed), run
    it once more: the unpack stage then finds the content missing and reads the layer
    again. A second damaged entry is reported (OutputError, exit 15)."""
    try:
        return attempt()
    except DamagedStoreError as exc:
        ctx.note(f"dock2uni: warning: {exc.message}; reading the image again")
        return attempt()


@dataclass(frozen=True, kw_only=True)
class Inspected:
    """An image acquired, unpacked and resolved into what would run."""

    unpacked: UnpackedImage
    spec: RunSpec


def inspect_image(
    source_text: str,
    options: AcquireOptions,
    ctx: Context,
    overrides: Overrides | None = None,
) -> Inspected:
    """acquire -> unpack -> run spec."""
    source = parse_source(source_text)

    def attempt() -> Inspected:
        image = acquire(source, options, ctx)
        unpacked = unpack(image, ctx)
        return Inspected(unpacked=unpacked, spec=run_spec(unpacked, overrides))

    return _recovering(ctx, attempt)


def planned_syscalls(analysis: Analysis) -> tuple[frozenset[str], bool, str]:
    """(syscalls found, whether the set is complete, why the plan links what it links)."""
    names = frozenset(analysis.syscall_names())
    if analysis.unknown_sites:
        return (
            names,
            False,
            (
                f"all families: {len(analysis.unknown_sites)} syscall site(s) with a number "
                "the analysis could not recover"
            ),
        )
    if analysis.errors:
        return names, False, f"all families: {len(analysis.errors)} file(s) could not be analysed"
    return names, True, f"families implementing the {len(names)} syscalls the program can reach"


def convert_image(
    source_text: str,
    output: Path,
    options: AcquireOptions,
    ctx: Context,
    *,
    overrides: Overrides | None = None,
    rootfs_policy: str = "default",
    separate_initrd: bool = False,
    add_files: tuple[str, ...] = (),
    slim: SlimOptions | None = None,
    keep_symbols: bool = False,
    compress: bool | None = None,
) -> tuple[Inspected, Plan, LinkResult]:
    """acquire -> unpack -> run spec -> analyse -> plan -> link + package (``slim``: the
    workloads of convert --slim, slim/traced.py)."""
    return _recovering(
        ctx,
        lambda: _convert_once(
            source_text,
            output,
            options,
            ctx,
            overrides=overrides,
            rootfs_policy=rootfs_policy,
            separate_initrd=separate_initrd,
            add_files=add_files,
            slim=slim,
            keep_symbols=keep_symbols,
            compress=compress,
        ),
    )


def _convert_once(
    source_text: str,
    output: Path,
    options: AcquireOptions,
    ctx: Context,
    *,
    overrides: Overrides | None,
    rootfs_policy: str,
    separate_initrd: bool,
    add_files: tuple[str, ...],
    slim: SlimOptions | None = None,
    keep_symbols: bool = False,
    compress: bool | None = None,
) -> tuple[Inspected, Plan, LinkResult]:
    inspected = inspect_image(source_text, options, ctx, overrides)
    the_plan, linked = convert_inspected(
        inspected,
        output,
        ctx,
        rootfs_policy=rootfs_policy,
        separate_initrd=separate_initrd,
        add_files=add_files,
        slim=slim,
        keep_symbols=keep_symbols,
        compress=compress,
    )
    return inspected, the_plan, linked


def refuse_if_cannot_start(inspected: Inspected, analysis: Analysis) -> None:
    """An image whose entrypoint execve or the loader would refuse is not converted
    (runnable.py): the ElfError names every reason, the first one's hint helps."""
    found = problems(inspected.unpacked.tree, inspected.spec, analysis)
    if found:
        raise ElfError(
            "the image cannot run: " + "; ".join(p.message for p in found),
            hint=found[0].hint,
        )


def warn_missing(missing: tuple[str, ...], support: SupportTable, ctx: Context) -> None:
    """Say which reachable syscalls the library OS lacks. Calls whose failure their callers
    expect (an audit note in the .def: a fallback, Docker's seccomp or capabilities refuse
    them too) are not a risk, so they are counted apart rather than named as one."""
    if not missing:
        return
    expected = [n for n in missing if n in support.audit_notes]
    risky = [n for n in missing if n not in support.audit_notes]
    also = f"; {len(expected)} more fail as their callers expect" if expected else ""
    if risky:
        shown = ", ".join(risky[:6]) + (", ..." if len(risky) > 6 else "")
        ctx.note(
            f"dock2uni: warning: the program can reach {len(risky)} syscall(s) the "
            f"library OS lacks ({shown}){also}; `dock2uni audit` says who calls them"
        )
    else:
        ctx.note(
            f"dock2uni: note: {len(expected)} syscall(s) the program can reach fail here as "
            "their callers expect (a fallback, or refused in a container too); `dock2uni "
            "audit` lists them"
        )


def convert_inspected(
    inspected: Inspected,
    output: Path,
    ctx: Context,
    *,
    rootfs_policy: str = "default",
    separate_initrd: bool = False,
    add_files: tuple[str, ...] = (),
    slim: SlimOptions | None = None,
    any_command: bool = False,
    keep_symbols: bool = False,
    compress: bool | None = None,
) -> tuple[Plan, LinkResult]:
    """analyse -> plan -> link + package, for an image already inspected; ``add_files``
    are kept by the closure policy whatever its rules say (docs/slim.md). ``any_command``:
    the image will also run commands named only at run time (`dock2uni run SOURCE --
    CMD` reuses one conversion), so whole families are linked, not the analysed
    syscalls alone (docs/per-image-link.md)."""
    image = inspected.unpacked.image
    with activity(ctx, f"analysing {inspected.spec.exec_path or 'the entrypoint'}"):
        analysis = analyse(inspected.unpacked, inspected.spec, ctx)
    refuse_if_cannot_start(inspected, analysis)
    syscalls, complete, reason = planned_syscalls(analysis)
    unseen = unseen_programs_reason(
        analysis, inspected.spec, inspected.unpacked.tree, inspected.unpacked.store
    )
    if unseen:
        # A program we did not analyse could need any family (docs/exec.md).
        reason = f"all families: {unseen}" if complete else f"{reason}; {unseen}"
        complete = False
        ctx.note(f"dock2uni: note: every shim family is linked: {unseen}")
    support = load_support_table()
    the_plan = plan(
        inspected.spec,
        support,
        syscalls=syscalls,
        complete=complete,
        families_reason=reason,
        hostname=image.manifest_digest.split(":", 1)[1][:12],
        rootfs_policy=rootfs_policy,
    )
    if any_command:
        the_plan = dataclasses.replace(the_plan, syscalls=None)
    if keep_symbols:
        the_plan = dataclasses.replace(the_plan, keep_symbols=True)
    if compress is not None:
        the_plan = dataclasses.replace(the_plan, compress_rootfs=compress)
    warn_missing(the_plan.missing, support, ctx)
    if rootfs_policy == "slim":
        linked = convert_slim(
            inspected.unpacked, inspected.spec, the_plan, analysis, output=output, ctx=ctx,
            slim=slim or SlimOptions(workloads=(Workload(None),)),
            add_files=add_files, separate_initrd=separate_initrd,
        )  # fmt: skip
        return the_plan, linked
    selection = estimate = None
    if rootfs_policy in ("closure", "default"):
        with activity(ctx, "selecting the files the program can reach"):
            closure = closure_selection(
                inspected.unpacked.tree,
                inspected.unpacked.store,
                inspected.spec,
                analysis,
                argv=the_plan.argv,
                exec_path=the_plan.exec_path,
                workdir=the_plan.workdir,
                uid=the_plan.uid,
                add_files=add_files if rootfs_policy == "closure" else (),
            )
        if rootfs_policy == "closure":
            selection = closure
        else:  # the default stays; the estimate lets convert suggest the closure (part 5)
            estimate = {"bytes": cpio_size(closure.entries), "entries": len(closure.entries)}
    linked = link_image(
        inspected.unpacked,
        the_plan,
        output,
        ctx,
        separate_initrd=separate_initrd,
        selection=selection,
        closure_estimate=estimate,
    )
    return the_plan, linked
