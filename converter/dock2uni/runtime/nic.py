"""The guest's NIC in the container's network namespace: a tap device wired to the engine's
interface by tc redirects, so the guest owns the container's address (docs/oci-runtime.md).

Docker's (or CNI's) prestart hook leaves one veth end, ``eth0``, with the container's IPv4
address and a default route in the namespace init joined. Like Kata Containers'
``tcfilter`` model, init then makes a tap device there and redirects every frame arriving
on ``eth0`` to the tap and every frame from the tap out of ``eth0`` (tc ``ingress`` +
``mirred``): the namespace's own stack never sees the container's traffic, and the guest
gets ``eth0``'s MAC and address as a static configuration (``d2u.ip``, ``d2u.gw``).
The tap is not persistent: init opens it (``TUNSETIFF``) and QEMU inherits that
descriptor (``-netdev tap,fd=N``), so it disappears with the last of them. (A persistent
one, ``ip tuntap add``, outlives the container: when the namespace is torn down, the
kernel moves it to the host's.)
Published ports need nothing more: the engine's DNAT and proxy reach the container's
address, which is now the guest. No interface with an address (``--network none``): no
NIC; no network namespace of its own (``--network host``): no NIC either, as the host's
interfaces must never be redirected.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import struct
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TAP = "d2utap0"
TUNSETIFF = 0x400454CA  # _IOW('T', 202, int)
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
NETDEV_ID = "n0"
# Docker's own fallback when the host has only loopback name servers (libnetwork).
DEFAULT_DNS = ("8.8.8.8", "8.8.4.4")


class NicError(RuntimeError):
    """Wiring the guest to the container's interface failed (init's error, exit 125)."""


@dataclass(frozen=True, kw_only=True)
class Nic:
    """The container's interface as the guest takes it over."""

    device: str
    mac: str
    address: str  # A.B.C.D/PREFIX
    gateway: str | None
    mtu: int
    dns: tuple[str, ...]

    def kernel_words(self) -> list[str]:
        words = ["d2u.net=user", f"d2u.ip={self.address}"]
        if self.gateway:
            words.append(f"d2u.gw={self.gateway}")
        return words + [f"d2u.dns={d}" for d in self.dns]

    def qemu_args(self, fd: int) -> list[str]:
        return [
            "-netdev", f"tap,id={NETDEV_ID},fd={fd}",
            "-device", f"virtio-net-device,netdev={NETDEV_ID},mac={self.mac}",
            "-global", "virtio-mmio.force-legacy=false",
        ]  # fmt: skip


def _run(*argv: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, check=False, timeout=30
    )
    if proc.returncode != 0:
        raise NicError(f"{' '.join(argv)}: {proc.stderr.strip() or f'exit {proc.returncode}'}")
    return proc.stdout


def name_servers(resolv_conf: Path = Path("/etc/resolv.conf")) -> tuple[str, ...]:
    """The IPv4 name servers of ``resolv_conf`` a guest can reach (not loopback), or
    Docker's fallback, as Docker fills a default-bridge container's resolv.conf."""
    found = []
    try:
        lines = resolv_conf.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                ip = ipaddress.ip_address(parts[1])
            except ValueError:
                continue
            if ip.version == 4 and not ip.is_loopback:
                found.append(str(ip))
    return tuple(found[:3]) or DEFAULT_DNS


def find() -> Nic | None:
    """The namespace's interface with an IPv4 address (not loopback), or None."""
    links = json.loads(_run("ip", "-j", "addr", "show") or "[]")
    for link in links:
        if "LOOPBACK" in link.get("flags", ()) or link.get("ifname") == TAP:
            continue
        for addr in link.get("addr_info", ()):
            if addr.get("family") == "inet" and addr.get("scope") == "global":
                device = link["ifname"]
                routes = json.loads(_run("ip", "-j", "-4", "route", "show", "default") or "[]")
                gateway = next(
                    (r["gateway"] for r in routes if r.get("dev") == device and "gateway" in r),
                    None,
                )
                return Nic(
                    device=device,
                    mac=link["address"],
                    address=f"{addr['local']}/{addr['prefixlen']}",
                    gateway=gateway,
                    mtu=int(link.get("mtu", 1500)),
                    dns=name_servers(),
                )
    return None


def _open_tap() -> int:
    """A non-persistent tap device named TAP, alive while the descriptor (or QEMU's
    inherited copy) is open."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", TAP.encode(), IFF_TAP | IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        raise NicError(f"cannot make the tap device {TAP}: {exc.strerror}") from None
    return fd


def wire(namespaces: Mapping[str, str | None]) -> tuple[Nic, int] | None:
    """In the namespace init joined: make the tap and the two redirects; (the NIC, the
    tap's descriptor for QEMU), or None when the container has no network of its own or
    no address in it (no NIC for the guest)."""
    if "network" not in namespaces:
        return None  # the host's namespace: never redirect the host's interfaces
    nic = find()
    if nic is None:
        return None
    fd = _open_tap()
    try:
        _run("ip", "link", "set", "dev", TAP, "mtu", str(nic.mtu), "up")
        # One tc for the four commands: this runs between start and the guest's boot.
        _run("tc", "-batch", "-", stdin="".join(
            f"qdisc replace dev {src} ingress\n"
            f"filter add dev {src} parent ffff: protocol all u32 match u8 0 0 "
            f"action mirred egress redirect dev {dst}\n"
            for src, dst in ((nic.device, TAP), (TAP, nic.device))
        ))  # fmt: skip
    except NicError:
        os.close(fd)
        raise
    return nic, fd
