"""The Linux microVM as a server: the unikernel's own rootfs as its initramfs, plus an /init
that brings up virtio-net on QEMU's user network and execs the image's command.

The rootfs is the .cpio `dock2uni convert --initrd` wrote for the unikernel (the same
binaries, libraries, configuration and served files, byte for byte); a second cpio archive
appended to it (Linux unpacks concatenated archives) adds /d2u-init: a static busybox from
Debian's busybox-static, the virtio modules of Debian's cloud kernel (virtio, virtio_ring
and virtio_mmio, which finds the NIC microvm describes in ACPI, and virtio_net with its
failover dependencies: all built as modules there), and the init script. The guest gets
the address the unikernel gets (10.0.2.15/24, gateway 10.0.2.2), on the same netdev.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.peers.linux_microvm import kernel_cmdline as linux_cmdline
from dock2uni.network import GATEWAY, GUEST_IP, PREFIX, Network
from dock2uni.run import qemu_argv

MODULES = (  # load order: each after what it depends on
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_mmio.ko",
    "net/core/failover.ko",
    "drivers/net/net_failover.ko",
    "drivers/net/virtio_net.ko",
)
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static (scripts/setup.sh)
INIT = "/d2u-init/init"


def _modules_dir(vmlinuz: Path) -> Path:
    tree = vmlinuz.parent.parent  # the unpacked .deb: boot/vmlinuz-V, lib/modules/V
    release = vmlinuz.name.removeprefix("vmlinuz-")
    return tree / "lib" / "modules" / release / "kernel"


def init_script(meta: Mapping[str, Any]) -> str:
    """/init: mounts, modules, lo and eth0 up with the static address, then the image's
    command with its environment and working directory (from the .uni metadata)."""
    bb = "/d2u-init/busybox"
    lines = [
        f"#!{bb} sh",
        f"{bb} mkdir -p /proc /sys /dev /tmp /run",  # a closure rootfs may lack them
        f"{bb} mount -t proc proc /proc",
        f"{bb} mount -t sysfs sys /sys",
        f"{bb} mount -t devtmpfs dev /dev",
        "exec </dev/console >/dev/console 2>&1",
        *(f"{bb} insmod /d2u-init/{Path(m).name}" for m in MODULES),
        f"{bb} ip link set lo up",
        f"{bb} ip addr add {GUEST_IP}/{PREFIX} dev eth0",
        f"{bb} ip link set eth0 up",
        f"{bb} ip route add default via {GATEWAY}",
        f"{bb} hostname linux-bench",
        f"cd {shlex.quote(str(meta.get('workdir') or '/'))}",
        *(f"export {shlex.quote(e)}" for e in meta.get("env", []) if "=" in e),
        f"echo d2u-init: starting {shlex.quote(' '.join(meta['argv']))}",
        "exec " + shlex.join(meta["argv"]),
    ]
    return "\n".join(lines) + "\n"


def initramfs(rootfs_cpio: Path, vmlinuz: Path, meta: Mapping[str, Any], dest: Path) -> Path:
    """``rootfs_cpio`` followed by a newc archive holding /d2u-init (see the docstring)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    modules = _modules_dir(vmlinuz)
    with tempfile.TemporaryDirectory(prefix="d2u-linux-serve-") as tmp:
        root = Path(tmp)
        init_dir = root / "d2u-init"
        init_dir.mkdir()
        shutil.copyfile(BUSYBOX, init_dir / "busybox")
        for module in MODULES:
            shutil.copyfile(modules / module, init_dir / Path(module).name)
        (init_dir / "init").write_text(init_script(meta))
        for name in ("busybox", "init"):
            (init_dir / name).chmod(0o755)
        names = ["d2u-init", *sorted(f"d2u-init/{p.name}" for p in init_dir.iterdir())]
        extra = subprocess.run(
            ["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"],
            input=("\n".join(names) + "\n").encode(),
            capture_output=True,
            cwd=tmp,
            check=True,
        ).stdout
    with dest.open("wb") as out:
        with rootfs_cpio.open("rb") as src:
            shutil.copyfileobj(src, out)
        out.write(b"\0" * (-out.tell() % 4))  # the next archive starts 4-byte aligned
        out.write(extra)
    os.utime(dest)
    return dest


def argv_for(
    vmlinuz: Path, initrd: Path, *, accel: str, mem: int, network: Network
) -> Callable[[Path], list[str]]:
    """dock2uni run's QEMU command line and NIC with Linux and the serving initramfs."""

    def make(sock: Path) -> list[str]:
        return qemu_argv(
            vmlinuz,
            accel=accel,
            mem=mem,
            log_socket=sock,
            cmdline=f"{linux_cmdline()} rdinit={INIT}",
            initrd=initrd,
            network_args=network.qemu_args(),
        )

    return make
