"""Image sizes (issues 4, 14): .uni bytes of the fixtures, default vs closure policy, and the
kernel per shim family.

Whole images come from ``dock2uni convert`` of the fixtures; their split into
kernel and rootfs is read from the ELF sections (and matches the ``sizes`` that
``dock2uni inspect X.uni --format json`` reports). The cost of each shim family is
measured by linking the same empty image (no files) through the converter's own
link step (link.link_elf) with no family, with each family alone, and with all.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fixtures.dockersave import read_layout_file

from bench import unikernel
from bench.config import Config
from bench.image_policies import policies_table
from bench.paths import BENCH, fixture_layout
from bench.report import Result, Table
from bench.stats import fmt_bytes
from dock2uni.context import Context
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode
from dock2uni.link import link_elf
from dock2uni.plan import Plan
from dock2uni.support import load_support_table
from dock2uni.uni import META_SECTION, ROOTFS_SECTION, SHF_ALLOC, SHT_NOBITS, read_sections

NAME = "image_size"
FIXTURES = ("hello-static-musl", "hello-static-glibc", "busybox")
GOAL_HELLO = 300 * 1000  # "under 300 KB including the kernel"


@dataclass(frozen=True)
class Split:
    """Where the bytes of one ELF image go."""

    file: int  # the file on disk
    kernel_file: int  # loaded kernel sections with bytes in the file (text, rodata, data)
    kernel_bss: int  # loaded kernel sections without file bytes (bss, boot page tables)
    rootfs: int  # the embedded cpio
    meta: int  # dock2uni's metadata (not loaded)


def split(path: Path) -> Split:
    kernel_file = kernel_bss = rootfs = meta = 0
    with path.open("rb") as f:
        sections = read_sections(f, what=str(path))
    for sec in sections:
        if sec.name == META_SECTION:
            meta += sec.size
        elif not sec.flags & SHF_ALLOC:
            continue
        elif sec.name == ROOTFS_SECTION:
            rootfs += sec.size
        elif sec.type == SHT_NOBITS:
            kernel_bss += sec.size
        else:
            kernel_file += sec.size
    return Split(path.stat().st_size, kernel_file, kernel_bss, rootfs, meta)


def _empty_plan(families: tuple[str, ...]) -> Plan:
    return Plan.tiny("/hello", families, "benchmark", hostname="bench")


def link_families(families: tuple[str, ...], work: Path) -> Split:
    """Link an image with no files and exactly ``families``; its size split."""
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(quiet=True, cache_dir=BENCH / "d2u-cache")
    linked = link_elf(
        _empty_plan(families), [("/", DirNode())], ContentStore(work / "s"), work, ctx
    )
    return split(linked.elf)


def archive_member_sizes(archive: Path) -> dict[str, tuple[int, int, int]]:
    """``size`` of each member of shims.a: (text, data, bss)."""
    out = subprocess.run(["size", str(archive)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines()[1:]:
        words = line.split()
        if len(words) >= 6:
            sizes[words[5]] = (int(words[0]), int(words[1]), int(words[2]))
    return sizes


def run(config: Config) -> Result:
    del config  # sizes are exact: nothing to repeat
    result = Result(name=NAME)
    images = Table(
        title="Whole images (dock2uni convert, default rootfs policy)",
        columns=[
            "image",
            ".uni file",
            "kernel (file bytes)",
            "kernel bss",
            "rootfs (cpio)",
            "families linked",
        ],
    )
    for fixture in FIXTURES:
        uni = unikernel.convert(f"oci:{fixture_layout(fixture)}:latest", f"size-{fixture}")
        s = split(uni)
        meta = unikernel.inspect_json(uni)
        sizes = meta.get("sizes", {})
        result.raw[fixture] = {"split": vars(s), "inspect_sizes": sizes}
        images.rows.append(
            [
                fixture,
                f"{s.file:,} B ({fmt_bytes(s.file)})",
                f"{s.kernel_file:,} B",
                f"{s.kernel_bss:,} B",
                f"{s.rootfs:,} B",
                ", ".join(meta.get("families", [])) or "none",
            ]
        )
        if fixture.startswith("hello-"):
            hello = len(read_layout_file(fixture_layout(fixture), "usr/local/bin/hello"))
            images.notes.append(
                f"{fixture}: the image holds three programs (hello, exitcode, args) and /etc "
                f"files; the hello binary alone is {hello:,} B."
            )
            ok = s.file < GOAL_HELLO
            result.goals.append(
                (
                    f"{fixture} image under 300 KB including the kernel",
                    f"{'met' if ok else 'not met'} ({s.file / 1000:.1f} kB file)",
                )
            )
    images.notes.append(
        "kernel (file bytes) = allocated sections with contents (text, rodata, data); kernel bss "
        "= allocated sections without file bytes (bss, boot page tables), which cost guest RAM "
        "but not file size; `dock2uni inspect --format json` reports sizes.kernel = the sum of "
        "both."
    )
    result.tables.append(images)
    result.tables.append(policies_table(result))
    result.tables.append(_families_table(result))
    return result


def _families_table(result: Result) -> Table:
    families = load_support_table().families
    table = Table(
        title="Kernel size per shim family (empty image linked with link.link_elf)",
        columns=[
            "families",
            "kernel (file bytes)",
            "kernel bss",
            "added by the family",
            "shims.a member text/data/bss",
        ],
    )
    members = archive_member_sizes(BENCH.parent / "libos" / "shims.a")
    with tempfile.TemporaryDirectory(prefix="d2u-bench-size-", dir=BENCH) as tmp:
        work = Path(tmp)
        base = link_families((), work / "none")
        table.rows.append(
            ["none (core only)", f"{base.kernel_file:,} B", f"{base.kernel_bss:,} B", "-", "-"]
        )
        raw = {"none": vars(base)}
        for family in families:
            s = link_families((family,), work / family)
            raw[family] = vars(s)
            text, data, bss = members.get(f"shim_{family}.o", (0, 0, 0))
            table.rows.append(
                [
                    family,
                    f"{s.kernel_file:,} B",
                    f"{s.kernel_bss:,} B",
                    f"+{s.kernel_file - base.kernel_file:,} B",
                    f"{text:,}/{data:,}/{bss:,} B",
                ]
            )
        every = link_families(tuple(families), work / "all")
        raw["all"] = vars(every)
        table.rows.append(
            [
                f"all {len(families)}",
                f"{every.kernel_file:,} B",
                f"{every.kernel_bss:,} B",
                f"+{every.kernel_file - base.kernel_file:,} B",
                "-",
            ]
        )
    result.raw["families"] = raw
    table.notes.append(
        "added by the family = kernel file bytes with that family alone minus with none; it "
        "includes the core code the family pulls in through --gc-sections, so the additions do "
        "not sum to the 'all' row."
    )
    return table
