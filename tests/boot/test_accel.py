"""--accel auto and the QEMU stderr watcher against the real QEMU and this host's real /dev/kvm.

Issue 8: a host whose /dev/kvm boots the kernel but fails at the first entry to ring
3 must get TCG from ``auto``, and a run that KVM breaks must end at once with exit
123 (docs/exit-codes.md), never at the timeout. Whatever this host's KVM does, these
tests check the side of that promise it lets us check, and say which.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures.build import fixture_layout

from dock2uni import accel as accel_mod
from dock2uni import run as run_mod
from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.qemu_stderr import EXIT_ACCEL, StderrWatcher
from dock2uni.run import RunOptions, RunResult, boot, run_image
from tests.conftest import need

pytestmark = pytest.mark.boot
KVM_USABLE = os.access("/dev/kvm", os.R_OK | os.W_OK)
# QEMU 7.2's `-cpu max` asks some hosts' KVM for an MSR (0x10a) they refuse, so QEMU
# stops before the guest runs; without that MSR the guest boots and reaches the code
# that the host fails on. Used only to get a real run that KVM ends mid-way.
CPU_WITHOUT_ARCH_CAPS = "max,-arch-capabilities"


@pytest.fixture(scope="module")
def fixtures_uni(boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The static hello and the busybox fixtures as .uni images."""
    out = tmp_path_factory.mktemp("accel")
    images = {}
    for name in ("hello-static-glibc", "busybox"):
        images[name] = out / f"{name}.uni"
        source = f"oci:{fixture_layout(name)}:latest"
        convert_image(source, images[name], AcquireOptions(), boot_ctx)
    return images


def _run(image: Path, ctx: Context, accel: str, **kw: Any) -> tuple[RunResult, bytes]:
    out = io.BytesIO()
    opts = RunOptions(accel=accel, echo_log=False, **kw)
    return run_image(image, opts, ctx, stdout=out, stderr=io.StringIO()), out.getvalue()


def test_probe_program_passes_under_tcg(accel: str, boot_ctx: Context) -> None:
    """The probe program itself is right: exact output and exit code where nothing is broken."""
    out = io.BytesIO()
    result = boot(
        accel_mod.probe_image(boot_ctx),
        RunOptions(timeout=60, echo_log=False),
        boot_ctx,
        accel="tcg",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert (result.status, result.exit_code) == ("exit", accel_mod.PROBE_EXIT), result.cause
    assert out.getvalue() == accel_mod.PROBE_OUTPUT


def test_auto_picks_kvm_only_where_programs_run(
    accel: str, boot_ctx: Context, fixtures_uni: dict[str, Path]
) -> None:
    """If auto says kvm, real programs run under KVM; if it says tcg, KVM really fails here."""
    choice = accel_mod.choose("auto", boot_ctx)
    if choice.accel == "kvm":
        for name, cmd, code in (
            ("hello-static-glibc", None, 0),
            ("busybox", ("sh", "-c", "echo hi; exit 7"), 7),
        ):
            t0 = time.monotonic()
            result, _ = _run(fixtures_uni[name], boot_ctx, "kvm", timeout=10.0, cmd=cmd)
            assert (result.status, result.exit_code) == ("exit", code), result.cause
            assert time.monotonic() - t0 < 10.0
        return
    if not KVM_USABLE:
        assert "/dev/kvm" in choice.reason
        return
    # /dev/kvm is there, yet auto refused it: the probe must have failed under KVM ...
    assert "failed under KVM" in choice.reason, choice.reason
    ok, why = accel_mod.run_probe(boot_ctx, accel_mod.probe_image(boot_ctx))
    assert not ok, why
    # ... and a real program forced onto KVM fails too, at once and with the accel code.
    t0 = time.monotonic()
    result, _ = _run(fixtures_uni["hello-static-glibc"], boot_ctx, "kvm", timeout=30.0)
    assert (result.exit_code, result.status) == (EXIT_ACCEL, "accel-error"), result.cause
    assert time.monotonic() - t0 < 5.0


def test_old_probe_verdict_is_not_reused(boot_ctx: Context, tmp_path: Path) -> None:
    """A verdict cached for another library OS build (here: a link.ld one line longer)
    says kvm; with the real build the probe runs again and decides for itself."""
    if not KVM_USABLE:
        need("boot", "/dev/kvm is not accessible: auto never reads the probe cache")
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    libos = run_mod.ensure_libos(ctx)
    old = tmp_path / "old-libos"
    shutil.copytree(libos, old, ignore=shutil.ignore_patterns("obj", "gen", "*.d"))
    with (old / "link.ld").open("a") as f:
        f.write("/* an older build */\n")
    old_build, new_build = accel_mod.probe_build_id(old), accel_mod.probe_build_id(libos)
    old_key = accel_mod.verdict_key(old_build)
    assert old_key is not None and old_key != accel_mod.verdict_key(new_build)
    # The older build's own verdict, and the same verdict where the new build's would be.
    for build in (old_build, new_build):
        path = accel_mod.verdict_path(ctx, build)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{old_key}\nkvm\nprobed with the older build")
    ok, why, cached = accel_mod.kvm_verdict(ctx)
    assert not cached and why != "probed with the older build"
    assert ok == (accel_mod.choose("auto", boot_ctx).accel == "kvm")
    key, verdict, _ = accel_mod.verdict_path(ctx, new_build).read_text().split("\n", 2)
    assert key == accel_mod.verdict_key(new_build) and verdict == ("kvm" if ok else "tcg")
    assert accel_mod.kvm_verdict(ctx)[2], "the new verdict is reused for the same build"


def _spy_watchers(monkeypatch: pytest.MonkeyPatch) -> list[StderrWatcher]:
    """The real watchers boot() starts, kept so a test can read when the fatal line came."""
    seen: list[StderrWatcher] = []
    real = run_mod.watch

    def spy(proc: subprocess.Popen[bytes]) -> StderrWatcher:
        seen.append(real(proc))
        return seen[-1]

    monkeypatch.setattr(run_mod, "watch", spy)
    return seen


def test_qemu_refusing_kvm_at_start_exits_123(
    boot_ctx: Context, fixtures_uni: dict[str, Path], tmp_path: Path
) -> None:
    """`dock2uni run --accel kvm` where QEMU cannot open /dev/kvm (a mount namespace
    whose /dev lacks it): QEMU starts, refuses -accel kvm, and the run exits 123 at once."""
    if shutil.which("unshare") is None:
        need("boot", "unshare(1) is not installed")
    script = 'mount -t tmpfs none /dev && touch /dev/null && exec "$@"'
    as_root = [] if os.geteuid() == 0 else ["--map-root-user"]
    argv = [
        "unshare", *as_root, "--mount", "sh", "-c", script, "sh",
        sys.executable, "-m", "dock2uni", "run", str(fixtures_uni["hello-static-glibc"]),
        "--accel", "kvm", "--timeout", "60", "--cache-dir", str(tmp_path),
    ]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    took = time.monotonic() - t0
    if "dock2uni" not in proc.stderr and proc.returncode != EXIT_ACCEL:
        need("boot", f"cannot hide /dev/kvm in a mount namespace here: {proc.stderr.strip()}")
    assert proc.returncode == EXIT_ACCEL, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-2].startswith("dock2uni: error: KVM is not accessible under --accel kvm")
    assert "Could not access KVM kernel module" in lines[-2]
    assert lines[-1].startswith("dock2uni: hint:") and "--accel tcg" in lines[-1]
    assert took < 10.0  # python start-up included; the boot itself is timed below


def _without_arch_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Boot with CPU_WITHOUT_ARCH_CAPS: the real QEMU and KVM, past QEMU's MSR set-up."""
    real_argv = run_mod.qemu_argv

    def argv_without_arch_caps(*args: Any, **kw: Any) -> list[str]:
        argv = real_argv(*args, **kw)
        argv[argv.index("-cpu") + 1] = CPU_WITHOUT_ARCH_CAPS
        return argv

    monkeypatch.setattr(run_mod, "qemu_argv", argv_without_arch_caps)


def test_probe_sees_what_the_old_probe_missed(
    boot_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8's host: the kernel boots under KVM as far as exec (the old probe, which
    stops at EXECFAIL, passed), yet the first entry to ring 3 fails; the probe program
    must fail there, quickly, with the watcher's cause."""
    if not KVM_USABLE:
        need("boot", "/dev/kvm is not accessible")
    _without_arch_caps(monkeypatch)
    old, _ = _run(run_mod.probe_image(boot_ctx), boot_ctx, "kvm", timeout=10.0)
    t0 = time.monotonic()
    ok, why = accel_mod.run_probe(boot_ctx, accel_mod.probe_image(boot_ctx))
    if ok:
        need("boot", "this host's KVM runs programs: issue 8's failure does not happen here")
    assert old.status == "execfail", "the kernel itself boots under KVM here"
    assert "KVM internal error" in why, why
    assert time.monotonic() - t0 < 3.0


def test_kvm_failing_during_a_run_exits_123_within_a_second(
    boot_ctx: Context, fixtures_uni: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guest that KVM stops mid-way (QEMU prints `KVM internal error` and would then
    wait forever) ends within a second of the message, with 123 and the cause."""
    if not KVM_USABLE:
        need("boot", "/dev/kvm is not accessible: no KVM run can fail here")
    watchers = _spy_watchers(monkeypatch)
    _without_arch_caps(monkeypatch)
    result, _ = _run(fixtures_uni["hello-static-glibc"], boot_ctx, "kvm", timeout=60.0)
    ended = time.monotonic()
    if result.status == "exit":
        need("boot", "this host's KVM runs programs: no real KVM failure to watch for")
    assert (result.exit_code, result.status) == (EXIT_ACCEL, "accel-error"), result.cause
    assert result.cause is not None and "KVM internal error" in result.cause
    assert result.hint is not None and "--accel tcg" in result.hint
    # The guest really ran before KVM failed: QEMU's dump shows it stopped inside the
    # kernel's higher-half text. (Since SMAP, that is the first `stac` of a user copy,
    # before D2U:ENTER; before SMAP it was the FPU set-up after it.)
    dump = b"".join(watchers[-1].chunks).decode(errors="replace")
    assert re.search(r"RIP=ffffffff8\w+ .*CPL=0", dump), dump[-800:]
    fatal_at = watchers[-1].fatal_at
    assert fatal_at is not None and ended - fatal_at < 1.0


def test_other_qemu_refusals_stay_125(boot_ctx: Context, fixtures_uni: dict[str, Path]) -> None:
    """QEMU refusing a non-accelerator setting (guest RAM it cannot allocate) is not
    mistaken for an accelerator failure: 125 with QEMU's words, no --accel hint."""
    result, _ = _run(fixtures_uni["hello-static-glibc"], boot_ctx, "tcg", mem=100_000 << 30)
    assert (result.exit_code, result.status) == (run_mod.EXIT_FAILURE, "qemu-error")
    assert result.cause is not None and "cannot set up guest memory" in result.cause
    assert result.hint is None
