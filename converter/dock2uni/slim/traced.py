"""convert --slim: trace the workload on the full image, keep what it touched, verify, write.

1. The image is linked with the default policy and booted once per workload with the
   file-access tracer (d2u.fstrace=1, libos/fs/fstrace.c); each outcome (exit code,
   stdout, stderr, probe answers) is the reference.
2. The kept set is what the runs touched (slim/trace.py) plus the closure of
   --rootfs closure (slim/__init__.py).
3. The slim image is linked next to the output and booted with every workload again;
   it is written only if every outcome equals the reference. If not, once more with
   the files of the directories the program listed; then SlimError (exit 16) says
   what differed, and nothing is written.
The test hook DOCK2UNI_TEST_SLIM_DROP=PATH[:PATH...] removes paths from the kept set
(docs/slim.md), so the refusal can be tested.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dock2uni.accel import requested
from dock2uni.activity import activity
from dock2uni.analyse.model import Analysis
from dock2uni.context import Context
from dock2uni.errors import SlimError
from dock2uni.fs.policy import Selection
from dock2uni.link import LinkResult, link_image, work_dir
from dock2uni.plan import Plan
from dock2uni.run import select_accel
from dock2uni.runspec import RunSpec
from dock2uni.slim import closure_selection
from dock2uni.slim.trace import Trace
from dock2uni.slim.workload import Outcome, Workload, difference, run_workload
from dock2uni.unpack import UnpackedImage

DROP_HOOK = "DOCK2UNI_TEST_SLIM_DROP"
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True, kw_only=True)
class SlimOptions:
    """What convert --slim runs (slim/workload.py) and how long a boot may take."""

    workloads: tuple[Workload, ...]
    timeout: float = DEFAULT_TIMEOUT


def dropped_by_hook() -> tuple[str, ...]:
    """The test hook's paths (DOCK2UNI_TEST_SLIM_DROP, colon-separated)."""
    return tuple(p for p in os.environ.get(DROP_HOOK, "").split(":") if p.startswith("/"))


def convert_slim(
    unpacked: UnpackedImage,
    spec: RunSpec,
    spec_plan: Plan,
    analysis: Analysis,
    *,
    output: Path,
    ctx: Context,
    slim: SlimOptions,
    add_files: tuple[str, ...],
    separate_initrd: bool,
) -> LinkResult:
    """The whole --slim flow (module docstring); the LinkResult of the verified image."""
    accel = select_accel(requested(None)[0], ctx)
    with work_dir(ctx) as tmp:
        full = Path(tmp) / "traced.uni"
        link_image(unpacked, dataclasses.replace(spec_plan, rootfs_policy="default"), full, ctx)
        trace = Trace()
        refs: list[Outcome] = []
        for work in slim.workloads:
            with activity(ctx, f"tracing {work}"):
                outcome = run_workload(
                    full, work, ctx, accel=accel, timeout=slim.timeout, fstrace=True
                )
            if outcome.status not in ("exit", "signaled") and not (
                work.probes and outcome.status == "timeout"
            ):
                raise SlimError(
                    f"the workload ({work}) does not run on the full image: "
                    f"{outcome.cause or outcome.status}",
                    hint="Check it with `dock2uni run` on a default conversion; a server "
                    "needs --slim-probe, a slow program --slim-timeout.",
                )
            unanswered = [
                p for p, (status, _) in zip(work.probes, outcome.probes, strict=True) if status < 0
            ]
            if unanswered:
                raise SlimError(
                    f"the workload ({work}) does not answer on the full image: "
                    f"{unanswered[0]} got no answer before --slim-timeout",
                    hint="Check the port with `dock2uni run -p PORT:PORT` on a default "
                    "conversion; a slow server needs --slim-timeout.",
                )
            trace.add_log(outcome.log)
            refs.append(outcome)
    touched = trace.touched()
    missing = trace.missing()
    problem = ""
    for widen in (False, True):
        selection = closure_selection(
            unpacked.tree,
            unpacked.store,
            spec,
            analysis,
            argv=spec_plan.argv,
            exec_path=spec_plan.exec_path,
            workdir=spec_plan.workdir,
            uid=spec_plan.uid,
            add_files=add_files,
            traced=touched,
            widen=widen,
            drop=dropped_by_hook(),
        )
        linked, problem = _link_and_verify(
            unpacked, spec_plan, selection, output, ctx,
            slim=slim, refs=refs, accel=accel, separate_initrd=separate_initrd,
            meta=_metadata(slim, touched, missing, widen),
        )  # fmt: skip
        if linked is not None:
            return linked
    raise SlimError(
        f"the slim image failed verification, so {output} was not written: {problem}",
        hint="Keep the file the program needs with --add-file PATH (the .uni of --rootfs "
        "closure lists what the closure keeps: `dock2uni inspect --explain`), or use "
        "--rootfs closure or the default policy (docs/slim.md).",
    )


def _metadata(
    slim: SlimOptions, touched: Mapping[str, set[str]], missing: list[str], widen: bool
) -> dict[str, Any]:
    return {
        "slim": {
            "workloads": [str(w) for w in slim.workloads],
            "traced_paths": len(touched),
            "missing_paths": missing[:200],
            "listed_directories_kept_whole": widen,
            "verified": True,
        }
    }


def _link_and_verify(
    unpacked: UnpackedImage,
    plan: Plan,
    selection: Selection,
    output: Path,
    ctx: Context,
    *,
    slim: SlimOptions,
    refs: list[Outcome],
    accel: str,
    separate_initrd: bool,
    meta: dict[str, Any],
) -> tuple[LinkResult | None, str]:
    """Link the slim image beside ``output``, boot every workload on it, and move it into
    place only if every outcome equals the reference; else (None, what differed)."""
    pending = output.with_name(f".{output.name}.unverified")
    linked = link_image(
        unpacked, plan, pending, ctx,
        separate_initrd=separate_initrd, selection=selection, extra_metadata=meta,
    )  # fmt: skip
    try:
        for work, ref in zip(slim.workloads, refs, strict=True):
            with activity(ctx, f"verifying {work}"):
                got = run_workload(
                    pending, work, ctx, accel=accel, timeout=slim.timeout, fstrace=False
                )
            diff = difference(ref, got)
            if diff is not None:
                return None, f"{work}: {diff}"
        os.replace(pending, output)
        initrd = None
        if linked.initrd is not None:
            initrd = output.with_name(output.name + ".cpio")
            os.replace(linked.initrd, initrd)
        return dataclasses.replace(linked, output=output, initrd=initrd), ""
    finally:
        for leftover in (pending, pending.with_name(pending.name + ".cpio")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
