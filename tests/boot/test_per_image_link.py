"""The per-image link: an image carries only the shim families its program can reach."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixtures.build import fixture_layout
from fixtures.ocibuild import Image, Layer, write_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.run import b64_nul_joined
from dock2uni.uni import read_metadata
from tests.boot.conftest import Booted

pytestmark = pytest.mark.boot
SRC = Path(__file__).resolve().parent / "src" / "nofiles.c"


def families_in(image: Path) -> set[str]:
    """Shim families whose tables are linked into the image, read with nm."""
    out = subprocess.run(["nm", str(image)], capture_output=True, text=True, check=True).stdout
    prefix = "shim_family_"
    return {
        w.removeprefix(prefix)
        for line in out.splitlines()
        for w in line.split()[-1:]
        if w.startswith(prefix)
    }


@pytest.fixture(scope="module")
def nofiles_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image holding only a program that needs no file: built -nostdlib here."""
    work = tmp_path_factory.mktemp("nofiles")
    binary = work / "nofiles"
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
            str(SRC),
        ],
        check=True,
    )
    layer = Layer().file("nofiles", binary.read_bytes(), mode=0o755)
    write_layout(work / "oci", {"latest": Image(layers=[layer], config={"Cmd": ["/nofiles"]})})
    return f"oci:{work / 'oci'}:latest"


def test_image_needing_no_files_does_not_link_the_fs_family(
    nofiles_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """Analysis finds write + exit_group only: fs (like every unneeded family) is left out."""
    uni = tmp_path / "nofiles.uni"
    _, plan, _ = convert_image(nofiles_source, uni, AcquireOptions(), boot_ctx)
    assert set(plan.families) == {"io", "proc"}, plan.families_reason
    assert families_in(uni) == {"io", "proc"}
    assert read_metadata(uni)["families"] == ["io", "proc"]
    symbols = subprocess.run(["nm", str(uni)], capture_output=True, text=True, check=True).stdout
    assert "sys_openat" not in symbols and "sys_getdents64" not in symbols
    assert "volumes_mount" not in symbols and "virtio_9p_rpc" not in symbols  # docs/volumes.md
    booted: Booted = boot(uni)  # type: ignore[operator]
    assert booted.stdout == b"no files needed\n" and booted.result.exit_code == 0, booted.describe()
    # A volume asked of it is a configuration error, not silently ignored.
    vol = f"d2u.vol={b64_nul_joined(['d2uvol0:rw:/data'])}"
    booted = boot(uni, extra_cmdline=(vol,))  # type: ignore[operator]
    assert booted.result.status == "config", booted.describe()
    assert "no file syscalls" in (booted.result.cause or ""), booted.describe()


def test_family_sets_follow_each_program(boot_ctx: Context, boot: object, tmp_path: Path) -> None:
    """musl's hello reaches fewer families than busybox; both boot with exactly their own."""
    musl = tmp_path / "musl.uni"
    _, musl_plan, _ = convert_image(
        f"oci:{fixture_layout('hello-static-musl')}:latest", musl, AcquireOptions(), boot_ctx
    )
    bb = tmp_path / "bb.uni"
    convert_image(f"oci:{fixture_layout('busybox')}:latest", bb, AcquireOptions(), boot_ctx)
    assert families_in(musl) == set(musl_plan.families) < families_in(bb)
    assert "time" not in musl_plan.families and "signal" not in musl_plan.families
    booted: Booted = boot(musl)  # type: ignore[operator]
    assert booted.stdout == b"hello from dock2uni\n", booted.describe()
