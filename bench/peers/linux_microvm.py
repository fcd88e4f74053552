"""The Linux microVM peer: Debian's cloud kernel with an initramfs whose /init is the app.

The kernel is Debian's ``linux-image-cloud-amd64`` (the versioned package it
depends on, fetched once with ``apt-get download`` into build/bench/cache and
unpacked with ``dpkg-deb -x``). It boots on the same QEMU, machine and flags as
the unikernel (dock2uni's ``run.qemu_argv``: microvm, -cpu max, the same serial
ports and isa-debug-exit), as shipped (a bzImage, which microvm loads through its
Linux boot path) and, as a best case for Linux, as the vmlinux ELF inside it,
which QEMU enters directly through PVH like the unikernel (no decompression).

When /init returns, Linux panics ("Attempted to kill init") and ``panic=-1``
resets the machine at once, which ``-no-reboot`` turns into QEMU's exit: that is
Linux's "boot to exit". Under TCG the kernel's timer calibration against the PIT
fails at random on a busy host and then hangs; ``tsc_early_khz`` (the host's TSC
rate, which TCG guests see) and ``lpj`` skip that calibration. They only make
Linux faster and more reliable here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench.machine import host_tsc_khz
from bench.paths import CACHE
from dock2uni.run import qemu_argv

META_PACKAGE = "linux-image-cloud-amd64"
HZ = 250  # CONFIG_HZ of Debian's cloud kernel: lpj = loops per jiffy at the TSC rate
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"  # Debian's x86 kernels are LZ4-compressed


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-300:]
        raise RuntimeError(f"{' '.join(cmd)} failed: {detail}")
    return proc.stdout


def versioned_package() -> str:
    """linux-image-6.1.0-NN-cloud-amd64: what the meta package depends on today."""
    out = _run(["apt-cache", "depends", META_PACKAGE])
    found = re.findall(r"Depends:\s*(linux-image-[\w.+-]+-cloud-amd64)", out)
    if not found:
        raise RuntimeError(
            f"apt-cache knows no {META_PACKAGE} dependency; run `apt-get update` first"
        )
    return str(found[0])


def kernel_deb() -> Path:
    """The cached .deb of the versioned kernel package (downloaded once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    package = versioned_package()
    debs = sorted(CACHE.glob(f"{package}_*.deb"))
    if not debs:
        _run(["apt-get", "download", package], cwd=CACHE)
        debs = sorted(CACHE.glob(f"{package}_*.deb"))
    if not debs:
        raise RuntimeError(f"apt-get download {package} wrote no .deb into {CACHE}")
    return debs[-1]


def kernel() -> Path:
    """/boot/vmlinuz-* of Debian's cloud kernel, unpacked from its .deb."""
    deb = kernel_deb()
    tree = CACHE / deb.stem
    found = sorted((tree / "boot").glob("vmlinuz-*")) if tree.is_dir() else []
    if not found:
        shutil.rmtree(tree, ignore_errors=True)
        _run(["dpkg-deb", "-x", str(deb), str(tree)])
        found = sorted((tree / "boot").glob("vmlinuz-*"))
    if not found:
        raise RuntimeError(f"{deb.name} holds no /boot/vmlinuz-*")
    return found[0]


def vmlinux(vmlinuz: Path) -> Path:
    """The uncompressed ELF kernel inside the bzImage (what scripts/extract-vmlinux does)."""
    out = vmlinuz.with_name(vmlinuz.name.replace("vmlinuz", "vmlinux"))
    if out.exists():
        return out
    data = vmlinuz.read_bytes()
    at = data.find(LZ4_LEGACY_MAGIC)
    if at < 0 or shutil.which("unlz4") is None:
        raise RuntimeError("cannot extract vmlinux: not LZ4 or unlz4 missing (apt: lz4)")
    proc = subprocess.run(["unlz4", "-c"], input=data[at:], capture_output=True, check=False)
    if not proc.stdout.startswith(b"\x7fELF"):
        raise RuntimeError(f"unlz4 gave no ELF kernel: {proc.stderr[-200:]!r}")
    out.write_bytes(proc.stdout)  # unlz4 complains about the bytes after the stream
    return out


def initramfs(
    init: bytes,
    dest: Path,
    *,
    files: Mapping[str, bytes] | None = None,
    symlinks: Mapping[str, str] | None = None,
) -> Path:
    """A cpio newc archive holding ``init`` as /init (written by ``cpio -o -H newc``), and
    optionally more executables (``files``: path -> bytes, mode 0755) and ``symlinks``
    (path -> target), their directories included."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="d2u-initramfs-") as tmp:
        root = Path(tmp)
        names = {"init"}
        (root / "init").write_bytes(init)
        (root / "init").chmod(0o755)
        for path, data in (files or {}).items():
            rel = path.lstrip("/")
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
            (root / rel).chmod(0o755)
        for path, target in (symlinks or {}).items():
            rel = path.lstrip("/")
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).symlink_to(target)
        for rel in [*(files or {}), *(symlinks or {})]:
            parts = Path(rel.lstrip("/")).parts
            names.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        with dest.open("wb") as out:
            subprocess.run(
                ["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"],
                input="".join(f"{n}\n" for n in sorted(names)).encode(),
                stdout=out,
                cwd=tmp,
                check=True,
            )
    return dest


def kernel_cmdline(init_args: Sequence[str] = ()) -> str:
    words = ["console=ttyS0", "quiet", "panic=-1"]
    if (khz := host_tsc_khz()) is not None:
        words += [f"tsc_early_khz={khz}", f"lpj={khz * 1000 // HZ}"]
    if init_args:
        words += ["--", *init_args]  # Linux hands the words after -- to /init
    return " ".join(words)


def argv_for(
    kernel_image: Path,
    initrd: Path,
    *,
    accel: str,
    mem: int,
    init_args: Sequence[str] = (),
) -> Callable[[Path], list[str]]:
    """dock2uni run's QEMU command line with Linux and its initramfs in place of the unikernel."""

    def make(sock: Path) -> list[str]:
        return qemu_argv(
            kernel_image,
            accel=accel,
            mem=mem,
            log_socket=sock,
            cmdline=kernel_cmdline(init_args),
            initrd=initrd,
        )

    return make
