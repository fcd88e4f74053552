"""The per-image link: an image carries only the syscall handlers its program can reach."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixtures.build import fixture_layout
from fixtures.ocibuild import Image, Layer, write_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.convert_report import metadata_text
from dock2uni.pipeline import convert_image
from dock2uni.plan import Plan
from dock2uni.run import b64_nul_joined
from dock2uni.support import load_support_table
from dock2uni.uni import loaded_sizes, read_metadata
from tests.boot.conftest import Booted

pytestmark = pytest.mark.boot
SRC = Path(__file__).resolve().parent / "src"


def handlers_in(image: Path) -> set[str]:
    """The syscall handlers (sys_*) linked into the image, read with nm."""
    out = subprocess.run(["nm", str(image)], capture_output=True, text=True, check=True).stdout
    return {w for line in out.splitlines() for w in line.split()[-1:] if w.startswith("sys_")}


def planned_handlers(plan: Plan) -> set[str]:
    """The handlers of the plan's syscalls, from the support table."""
    table = load_support_table().by_name()
    assert plan.syscalls is not None, plan.families_reason
    return {h for n in plan.syscalls if (h := table[n].handler)}


def build_nostdlib(name: str, work: Path) -> bytes:
    """tests/boot/src/NAME.c built -nostdlib: its syscalls are exactly the ones it spells."""
    binary = work / name
    subprocess.run(
        [
            "gcc",
            "-static",
            "-nostdlib",
            "-ffreestanding",
            "-fno-stack-protector",
            "-O2",
            "-o",
            str(binary),
            str(SRC / f"{name}.c"),
        ],
        check=True,
    )
    return binary.read_bytes()


@pytest.fixture(scope="module")
def nofiles_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image whose command needs no file (built -nostdlib here), and beside it
    /unlinked, which the command never runs (so the analysis never reads it)."""
    work = tmp_path_factory.mktemp("nofiles")
    layer = (
        Layer()
        .file("nofiles", build_nostdlib("nofiles", work), mode=0o755)
        .file("unlinked", build_nostdlib("unlinked", work), mode=0o755)
    )
    write_layout(work / "oci", {"latest": Image(layers=[layer], config={"Cmd": ["/nofiles"]})})
    return f"oci:{work / 'oci'}:latest"


def test_image_needing_no_files_links_only_its_two_syscalls(
    nofiles_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """Analysis finds write + exit_group only: their handlers are all the image links (not
    the rest of the io and proc families, no fs handler)."""
    uni = tmp_path / "nofiles.uni"
    _, plan, _ = convert_image(nofiles_source, uni, AcquireOptions(), boot_ctx, keep_symbols=True)
    assert set(plan.families) == {"io", "proc"}, plan.families_reason
    assert plan.syscalls == ("exit_group", "write"), plan.syscalls
    assert handlers_in(uni) == {"sys_write", "sys_exit_group"}
    meta = read_metadata(uni)
    assert meta["families"] == ["io", "proc"] and meta["syscalls"] == ["exit_group", "write"]
    assert "Syscalls:    2 linked, the ones the program can reach" in metadata_text(meta)
    symbols = subprocess.run(["nm", str(uni)], capture_output=True, text=True, check=True).stdout
    assert "volumes_mount" not in symbols and "virtio_9p_rpc" not in symbols  # docs/volumes.md
    booted: Booted = boot(uni)  # type: ignore[operator]
    assert booted.stdout == b"no files needed\n" and booted.result.exit_code == 0, booted.describe()
    # A volume asked of it is a configuration error, not silently ignored.
    vol = f"d2u.vol={b64_nul_joined(['d2uvol0:rw:/data'])}"
    booted = boot(uni, extra_cmdline=(vol,))  # type: ignore[operator]
    assert booted.result.status == "config", booted.describe()
    assert "no file syscalls" in (booted.result.cause or ""), booted.describe()


def test_a_syscall_the_plan_left_out_is_enosys_and_named(
    nofiles_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """A program the analysis never saw (`run -- /unlinked`) calls getppid, which the
    library OS has but this image does not link: ENOSYS, and the log says why."""
    uni = tmp_path / "nofiles.uni"
    _, plan, _ = convert_image(nofiles_source, uni, AcquireOptions(), boot_ctx)
    assert plan.syscalls is not None and "getppid" not in plan.syscalls
    booted: Booted = boot(uni, ("/unlinked",))  # type: ignore[operator]
    assert booted.stdout == b"getppid: ENOSYS\n", booted.describe()
    assert any(
        "unsupported syscall 110 (getppid): not linked into this image" in line
        for line in booted.result.log
    ), booted.describe()


def test_family_sets_follow_each_program(boot_ctx: Context, boot: object, tmp_path: Path) -> None:
    """musl's hello reaches fewer syscalls than busybox; both boot with exactly their own."""
    musl = tmp_path / "musl.uni"
    _, musl_plan, _ = convert_image(
        f"oci:{fixture_layout('hello-static-musl')}:latest",
        musl,
        AcquireOptions(),
        boot_ctx,
        keep_symbols=True,
    )
    bb = tmp_path / "bb.uni"
    convert_image(
        f"oci:{fixture_layout('busybox')}:latest", bb, AcquireOptions(), boot_ctx, keep_symbols=True
    )
    assert handlers_in(musl) == planned_handlers(musl_plan) < handlers_in(bb)
    assert "time" not in musl_plan.families and "signal" not in musl_plan.families
    booted: Booted = boot(musl)  # type: ignore[operator]
    assert booted.stdout == b"hello from dock2uni\n", booted.describe()


def test_images_leave_the_symbol_table_out_unless_asked(
    nofiles_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """Nothing reads the kernel's symbols at run time: a .uni leaves them out (smaller by
    their size, the same loaded bytes) unless `convert --keep-symbols` asks for them."""
    plain, kept = tmp_path / "plain.uni", tmp_path / "kept.uni"
    convert_image(nofiles_source, plain, AcquireOptions(), boot_ctx)
    convert_image(nofiles_source, kept, AcquireOptions(), boot_ctx, keep_symbols=True)
    nm = subprocess.run(["nm", str(plain)], capture_output=True, text=True, check=False)
    assert "no symbols" in nm.stderr and handlers_in(kept) == {"sys_write", "sys_exit_group"}
    assert read_metadata(plain)["symbols"] is False and read_metadata(kept)["symbols"] is True
    assert plain.stat().st_size < kept.stat().st_size - 10_000
    assert loaded_sizes(plain) == loaded_sizes(kept)
    booted: Booted = boot(plain)  # type: ignore[operator]
    assert booted.stdout == b"no files needed\n" and booted.result.exit_code == 0, booted.describe()
