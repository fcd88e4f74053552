"""The unikernel of a container spec, converted through the pipeline once and cached by content.

What is baked into the image is what the conversion depends on: the rootfs (its
fingerprint, rootfs.py), the program (args[0]) found through PATH, the working
directory and the user. The rest of the command line and the environment go on
the kernel command line at boot (d2u.cmd, d2u.env: docs/console-protocol.md), so
`docker run IMAGE a` and `docker run -e X=1 IMAGE b` share one conversion.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

from dock2uni import __version__
from dock2uni.context import Context
from dock2uni.fs.cachedir import is_regular, subdir
from dock2uni.runsource import _libos_stamp
from dock2uni.runspec import DEFAULT_PATH, run_spec
from dock2uni.runtime import rootfs
from dock2uni.runtime.errors import OciError
from dock2uni.runtime.spec import ContainerSpec


def path_of(env: tuple[str, ...]) -> str:
    for item in env:
        if item.startswith("PATH="):
            return item[5:]
    return DEFAULT_PATH


def image_config(spec: ContainerSpec) -> dict[str, object]:
    """The image config the conversion sees: the program alone as Entrypoint."""
    return {
        "Entrypoint": [spec.args[0]],
        "Cmd": [],
        "Env": [f"PATH={path_of(spec.env)}"],
        "WorkingDir": spec.cwd,
        "User": f"{spec.uid}:{spec.gid}",
    }


def cache_key(spec: ContainerSpec, fingerprint: str, ctx: Context) -> str:
    parts = (
        fingerprint,
        spec.args[0],
        path_of(spec.env),
        spec.cwd,
        f"{spec.uid}:{spec.gid}",
        ",".join(map(str, spec.groups)),
        __version__,
        _libos_stamp(ctx),
    )
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def cached_uni(spec: ContainerSpec, ctx: Context) -> tuple[Path, str]:
    """(the .uni for ``spec``, the HOME runc would give the process: its passwd entry's,
    else /). The image carries no environment of its own: the process's, in
    config.json's order with HOME last when absent (as runc), goes on the kernel
    command line."""
    found = rootfs.scan(spec.rootfs, ctx)
    key = cache_key(spec, found.fingerprint, ctx)
    out = subdir(ctx.cache_dir, "runtime") / f"{key[:32]}.uni"
    side = out.with_suffix(".json")  # what the conversion found out: the user's HOME
    if is_regular(out) and is_regular(side):
        return out, str(json.loads(side.read_text())["home"])
    # Only a miss needs the pipeline: importing it costs a warm create ~0.15 s.
    from dock2uni.pipeline import Inspected, convert_inspected

    unpacked = rootfs.unpacked(found, image_config(spec), ctx)
    run = run_spec(unpacked)
    home = run.user.home or "/"
    groups = spec.groups or (spec.gid,)
    run = dataclasses.replace(run, env=(), user=dataclasses.replace(run.user, groups=groups))
    if run.exec_kind == "missing":
        # runc's wording: dockerd turns it into exit code 127, as for any image.
        raise OciError(
            f'exec: "{spec.args[0]}": executable file not found in $PATH',
            hint="Check the command and the image's PATH.",
        )
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    os.close(fd)
    partial = Path(name)
    try:
        convert_inspected(Inspected(unpacked=unpacked, spec=run), partial, ctx)
        side.write_text(json.dumps({"home": home}))
        os.replace(partial, out)  # atomic: a concurrent create sees all or nothing
    finally:
        partial.unlink(missing_ok=True)
    return out, home
