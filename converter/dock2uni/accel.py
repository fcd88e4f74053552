"""Which accelerator a run uses: the --accel flag, else DOCK2UNI_ACCEL, else auto (the KVM probe).

``auto`` picks KVM only after the probe guest (probe/kvm_probe.c) has run under it
to its exact expected console output and exit code: that program takes the steps a
real program's start-up takes (FPU/SSE/XSAVE, the kernel's MSR writes, ring 3,
syscalls, a timer-interrupt wake-up, a page fault). Hosts exist whose /dev/kvm boots
the kernel but fails at the first entry to ring 3 (issue 8), so nothing less than
that counts. The verdict is cached per host boot, QEMU binary, /dev/kvm and probe
image (the library OS build and the probe program), so a new kernel re-decides.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dock2uni.context import Context
from dock2uni.errors import BuildError, Dock2UniError
from dock2uni.fs.cachedir import is_regular, open_regular, subdir
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, Node
from dock2uni.libos_build import ensure_libos
from dock2uni.link import add_metadata, link_elf, recommended_mem, work_dir
from dock2uni.plan import Plan

ACCELS = ("auto", "kvm", "tcg")
ENV_VAR = "DOCK2UNI_ACCEL"
KVM_DEV = "/dev/kvm"
QEMU = "qemu-system-x86_64"

PROBE_SOURCE = Path(__file__).with_name("probe") / "kvm_probe.c"
PROBE_PATH = "/kvm-probe"  # the program inside the probe image
PROBE_EXIT = 73  # kvm_probe.c's PROBE_EXIT: every step passed
PROBE_OUTPUT = b"D2U-PROBE: ring 3\nD2U-PROBE: timer\nD2U-PROBE: ok\n"
PROBE_TIMEOUT = 5.0  # seconds; a working KVM needs well under one
PROBE_FAMILIES = ("io", "mm", "proc", "thread", "time")  # write, mmap, exit, arch_prctl, clocks
PROBE_CFLAGS = (
    "-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-fno-pie", "-no-pie",
    "-fcf-protection=none", "-O2",
)  # fmt: skip
LIBOS_INPUTS = ("entry.o", "libos.a", "shims.a", "link.ld")


class AccelUsageError(ValueError):
    """An accelerator name that is not auto, kvm or tcg (the CLI makes it exit 2)."""

    def __init__(self, message: str, source: str = "--accel") -> None:
        super().__init__(message)
        self.source = source  # --accel or DOCK2UNI_ACCEL


@dataclass(frozen=True)
class Choice:
    """The accelerator for a run and why it was chosen (shown by ``--debug``)."""

    accel: str  # kvm or tcg
    reason: str


def requested(flag: str | None) -> tuple[str, str]:
    """(auto|kvm|tcg, where it came from): the flag wins over DOCK2UNI_ACCEL, else auto."""
    if flag is not None:
        value, source = flag, "--accel"
    elif (env := os.environ.get(ENV_VAR)) is not None and env.strip():
        value, source = env.strip(), ENV_VAR
    else:
        return "auto", "the default"
    if value not in ACCELS:
        raise AccelUsageError(f"{value!r} is not one of auto, kvm, tcg", source)
    return value, source


def choose(request: str, ctx: Context) -> Choice:
    """kvm or tcg for ``request`` (auto|kvm|tcg); ``auto`` runs (or recalls) the probe."""
    if request not in ACCELS:
        raise AccelUsageError(f"unknown accelerator {request!r}: use auto, kvm or tcg")
    if request != "auto":
        return Choice(request, "as requested, no probe")
    if not os.access(KVM_DEV, os.R_OK | os.W_OK):
        return Choice("tcg", f"auto: {KVM_DEV} is missing or not accessible")
    ok, why, cached = kvm_verdict(ctx)
    how = "cached probe verdict for this host boot" if cached else "probe"
    return Choice("kvm" if ok else "tcg", f"auto: {how}: {why}")


def _file_id(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}:missing"
    if stat.S_ISCHR(st.st_mode):  # a device node: which one, not when it was last touched
        return f"{path}:{st.st_dev}:{st.st_ino}:{st.st_rdev}"
    return f"{path}:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def probe_build_id(libos: Path) -> str:
    """sha256 of what the probe image is made of: the library OS build and the probe program."""
    h = hashlib.sha256()
    for name in LIBOS_INPUTS:
        h.update(name.encode() + b"\0" + (libos / name).read_bytes())
    h.update(PROBE_SOURCE.read_bytes())
    return h.hexdigest()


def verdict_key(build_id: str) -> str | None:
    """What a cached verdict depends on: host boot, QEMU binary, /dev/kvm, probe build.
    None (never cache) where the host's boot cannot be told apart from the next."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    qemu = shutil.which(QEMU) or QEMU
    return "|".join((f"boot={boot_id}", _file_id(qemu), _file_id(KVM_DEV), f"probe={build_id}"))


def _compile_probe(out: Path) -> None:
    try:
        proc = subprocess.run(
            ["gcc", *PROBE_CFLAGS, "-o", str(out), str(PROBE_SOURCE)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise BuildError(f"cannot run gcc for the KVM probe: {exc}") from None
    if proc.returncode != 0:
        raise BuildError(f"compiling the KVM probe failed: {proc.stderr.strip()[-400:]}")


def probe_image(ctx: Context) -> Path:
    """The probe .uni (kernel + probe program), built once per library OS build."""
    return _probe_image(ctx, probe_build_id(ensure_libos(ctx)))


def _probe_image(ctx: Context, build_id: str) -> Path:
    out = subdir(ctx.cache_dir, "probe") / f"accel-probe-{build_id[:24]}.uni"
    if is_regular(out):
        return out
    plan = Plan.tiny(PROBE_PATH, PROBE_FAMILIES, "the accelerator probe")
    with work_dir(ctx) as tmp:
        work = Path(tmp)
        _compile_probe(work / "kvm-probe")
        store = ContentStore(work / "store")
        data = (work / "kvm-probe").read_bytes()
        program = FileNode(mode=0o755, size=len(data), digest=store.put_bytes(data))
        entries: list[tuple[str, Node]] = [("/", DirNode()), (PROBE_PATH, program)]
        linked = link_elf(plan, entries, store, work, ctx)
        meta = {"probe": True, "probe_build": build_id, "recommended_mem": recommended_mem(0)}
        add_metadata(linked.elf, meta, work / "probe.uni")
        os.replace(work / "probe.uni", out)  # whole or not at all, for concurrent runs
    return out


def run_probe(ctx: Context, image: Path) -> tuple[bool, str]:
    """Boot the probe under KVM: (passed, what happened in a few words)."""
    from dock2uni.run import RunOptions, boot  # run imports this module

    out = io.BytesIO()
    t0 = time.monotonic()
    try:
        result = boot(
            image,
            RunOptions(timeout=PROBE_TIMEOUT, echo_log=False),
            ctx,
            accel="kvm",
            stdout=out,
            stderr=io.StringIO(),
        )
    except Dock2UniError as exc:
        return False, f"QEMU could not start under KVM: {exc.message}"
    took = time.monotonic() - t0
    console = out.getvalue()
    if result.status == "exit" and result.exit_code == PROBE_EXIT and console == PROBE_OUTPUT:
        return True, f"the probe program ran under KVM to its exit code in {took:.2f} s"
    got = console.decode(errors="replace").strip().replace("\n", " / ")[-120:] or "nothing"
    why = result.cause or f"exit code {result.exit_code}, expected {PROBE_EXIT}"
    return False, f"the probe program failed under KVM ({why}; console: {got})"


def verdict_path(ctx: Context, build_id: str) -> Path:
    """One file per probe build, so checkouts sharing a cache do not evict each other."""
    return subdir(ctx.cache_dir, "probe") / f"accel-verdict-{build_id[:24]}.txt"


def kvm_verdict(ctx: Context) -> tuple[bool, str, bool]:
    """(KVM runs programs, why, from the cache): probes once per verdict key."""
    try:
        build_id = probe_build_id(ensure_libos(ctx))
        image = _probe_image(ctx, build_id)
    except Dock2UniError as exc:
        return False, f"the probe could not be built ({exc.message})", False
    cache = verdict_path(ctx, build_id)
    key = verdict_key(build_id)
    try:
        with open_regular(cache) as f:
            cached_key, verdict, why = f.read().decode().split("\n", 2)
        if key is not None and cached_key == key and verdict in ("kvm", "tcg"):
            return verdict == "kvm", why, True
    except (OSError, ValueError):
        pass
    ok, why = run_probe(ctx, image)
    if key is None:
        return ok, why, False
    # mkstemp creates with O_EXCL (never through a planted name); rename publishes it.
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(f"{key}\n{'kvm' if ok else 'tcg'}\n{why}")
    os.replace(tmp, cache)
    return ok, why, False
