"""`dock2uni run`'s network options (--network, -p, -P, --hostname, --dns, --add-host):
parsing, and what they become on QEMU's command line and the kernel's (docs/networking-run.md).

QEMU's user network (slirp) is the guest's NIC: the guest is 10.0.2.15/24, the host is
reachable as the gateway 10.0.2.2, slirp's DNS proxy is 10.0.2.3. A published port is a
``hostfwd`` rule: QEMU listens on the host and forwards each connection to the guest.
Host ports are checked and chosen in publish.py, before QEMU starts.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

MODES = ("none", "user")
GUEST_IP = "10.0.2.15"
PREFIX = 24
GATEWAY = "10.0.2.2"  # the host, as the guest sees it
DNS = "10.0.2.3"  # slirp's DNS proxy (forwards to the host's resolver)
USER_NET = "10.0.2.0/24"
NETDEV_ID = "n0"
PROTOCOLS = ("tcp", "udp")
HOST_GATEWAY = "host-gateway"  # --add-host NAME:host-gateway, as Docker spells it
# Publishing binds every IPv4 address unless -p names one, as Docker does (docs/networking-run.md).
ALL_ADDRESSES = "0.0.0.0"  # noqa: S104
ALL_ADDRESSES_V6 = "::"
LOOPBACK = "127.0.0.1"  # where QEMU's hostfwd listens for the forwarder of a tcp port
HOSTNAME_MAX = 64  # Linux's HOST_NAME_MAX
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PORT_RANGE_RE = re.compile(r"(\d{1,5})(?:-(\d{1,5}))?")


class NetUsageError(ValueError):
    """A malformed network option: the CLI reports it as a usage error (exit 2)."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class PortSpec:
    """One port as -p said it: host_port None means "choose a free one"."""

    host_ip: str  # "" = every host address (IPv4), as Docker publishes
    host_port: int | None
    guest_port: int
    proto: str  # tcp | udp


@dataclass(frozen=True)
class Published:
    """A published port. tcp: `dock2uni run` listens on host_ip:host_port (and [::] with
    ``ipv6``) and forwards to QEMU's hostfwd on 127.0.0.1:internal_port (forward.py);
    udp (internal_port 0): QEMU listens on host_ip:host_port itself."""

    host_ip: str
    host_port: int
    guest_port: int
    proto: str
    internal_port: int = 0
    ipv6: bool = False

    def hostfwd(self) -> str:
        """QEMU's rule: PROTO:HOSTIP:HOSTPORT-GUESTIP:GUESTPORT (an empty host IP is every
        IPv4 address, INADDR_ANY)."""
        guest = f"{GUEST_IP}:{self.guest_port}"
        if self.internal_port:
            return f"hostfwd={self.proto}:{LOOPBACK}:{self.internal_port}-{guest}"
        return f"hostfwd={self.proto}:{self.host_ip}:{self.host_port}-{guest}"

    def docker_port_lines(self) -> list[str]:
        """The lines `docker port CONTAINER` prints for this mapping."""
        port = f"{self.guest_port}/{self.proto}"
        lines = [f"{port} -> {self.host_ip or ALL_ADDRESSES}:{self.host_port}"]
        if self.ipv6:
            lines.append(f"{port} -> [::]:{self.host_port}")
        return lines


@dataclass(frozen=True)
class Network:
    """How the guest is networked. ``published`` is filled in by publish.resolve before
    QEMU starts (the ports of ``ports`` and, with ``publish_all``, of the image's EXPOSE)."""

    # None: not chosen (library callers, tests comparing with a chroot): no NIC and no
    # d2u.net word, so the guest keeps the image's /etc as it is. `dock2uni run` always
    # chooses (make_network), and then the guest writes /etc/hostname, hosts and
    # resolv.conf as Docker's mounts provide them, --network none included.
    mode: str | None = None
    ports: tuple[PortSpec, ...] = ()
    publish_all: bool = False
    hostname: str | None = None  # None: the image's own (its digest prefix)
    dns: tuple[str, ...] = ()  # empty: slirp's proxy on the user network
    hosts: tuple[tuple[str, str], ...] = ()  # --add-host (name, address)
    published: tuple[Published, ...] = field(default=())

    def kernel_words(self) -> list[str]:
        """The kernel command-line words (docs/console-protocol.md): d2u.net, d2u.ip,
        d2u.gw, d2u.dns (repeatable), d2u.host=NAME:IP (repeatable), d2u.hostname."""
        if self.mode is None:
            return []
        words = [f"d2u.net={self.mode}"]
        if self.mode == "user":
            words += [f"d2u.ip={GUEST_IP}/{PREFIX}", f"d2u.gw={GATEWAY}"]
        dns = self.dns or ((DNS,) if self.mode == "user" else ())
        words += [f"d2u.dns={server}" for server in dns]
        words += [f"d2u.host={name}:{address}" for name, address in self.hosts]
        if self.hostname is not None:
            words.append(f"d2u.hostname={self.hostname}")
        return words

    def qemu_args(self) -> list[str]:
        """The NIC on QEMU's command line: none, or virtio-net on the modern virtio-mmio
        transport backed by the user network with one hostfwd rule per published port."""
        if self.mode != "user":
            return []
        netdev = [f"user,id={NETDEV_ID},net={USER_NET},host={GATEWAY},dns={DNS}"]
        netdev += [p.hostfwd() for p in self.published]
        return [
            "-netdev", ",".join(netdev),
            "-device", f"virtio-net-device,netdev={NETDEV_ID}",
            "-global", "virtio-mmio.force-legacy=false",
        ]  # fmt: skip


def parse_port(text: str, option: str = "--publish") -> list[PortSpec]:
    """``[IP:][HOST:]GUEST[/tcp|/udp]`` as `docker run -p` takes it (HOST may be empty or
    left out: a free port is chosen; HOST and GUEST may be equal-length ranges A-B)."""
    spec, _, proto = text.strip().partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise NetUsageError(
            f"{text!r}: protocol {proto!r} is not tcp or udp (QEMU's user network forwards "
            "only these)",
            option,
        )
    if spec.startswith("[") or spec.count(":") > 2:
        raise NetUsageError(
            f"{text!r}: IPv6 host addresses cannot be published (QEMU's user network "
            "forwards IPv4 only); give an IPv4 address or none",
            option,
        )
    parts = spec.split(":")
    host_ip, host, guest = "", "", parts[-1]
    if len(parts) == 2:
        host = parts[0]
    elif len(parts) == 3:
        host_ip, host = parts[0], parts[1]
        try:
            ipaddress.IPv4Address(host_ip)
        except ValueError:
            raise NetUsageError(f"{text!r}: {host_ip!r} is not an IPv4 address", option) from None
        if host_ip == ALL_ADDRESSES:
            host_ip = ""
    guests = _port_range(guest, text, option)
    if not host:
        return [PortSpec(host_ip, None, g, proto) for g in guests]
    hosts = _port_range(host, text, option)
    if len(hosts) != len(guests):
        raise NetUsageError(
            f"{text!r}: the host range has {len(hosts)} ports, the guest range {len(guests)}",
            option,
        )
    return [PortSpec(host_ip, h, g, proto) for h, g in zip(hosts, guests, strict=True)]


def _port_range(text: str, whole: str, option: str) -> list[int]:
    m = _PORT_RANGE_RE.fullmatch(text)
    if not m:
        raise NetUsageError(
            f"{whole!r}: {text!r} is not a port; expected [IP:][HOSTPORT:]PORT[/tcp|/udp], "
            "e.g. 8080:80",
            option,
        )
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else first
    if not 1 <= first <= last <= 65535:
        raise NetUsageError(f"{whole!r}: ports are 1-65535 (ranges low-high)", option)
    return list(range(first, last + 1))


def parse_hostname(text: str) -> str:
    if len(text) > HOSTNAME_MAX or not _HOSTNAME_RE.fullmatch(text):
        raise NetUsageError(
            f"{text!r} is not a valid host name (letters, digits, '-' and '.', labels of at "
            f"most 63 characters, {HOSTNAME_MAX} in all)",
            "--hostname",
        )
    return text


def parse_dns(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise NetUsageError(f"{text!r} is not an IP address", "--dns") from None


def parse_add_host(text: str) -> tuple[str, str]:
    """NAME:IP or NAME=IP (Docker takes both); IP may be host-gateway (the host, 10.0.2.2)."""
    sep = "=" if "=" in text else ":"
    name, found, address = text.partition(sep)
    if not found or not name:
        raise NetUsageError(f"{text!r}: expected NAME:IP, e.g. db:10.0.2.2", "--add-host")
    parse_hostname_for(name, "--add-host")
    if address == HOST_GATEWAY:
        return name, GATEWAY
    try:
        return name, str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        raise NetUsageError(
            f"{text!r}: {address!r} is not an IP address or {HOST_GATEWAY}", "--add-host"
        ) from None


def parse_hostname_for(name: str, option: str) -> None:
    try:
        parse_hostname(name)
    except NetUsageError as exc:
        raise NetUsageError(str(exc), option) from None


def default_hostname() -> str:
    """A fresh 12-hex-digit name per run, like the container ID prefix Docker uses."""
    return os.urandom(6).hex()


def make_network(
    *,
    mode: str | None,
    publish: Sequence[str],
    publish_all: bool,
    hostname: str | None,
    dns: Sequence[str],
    add_hosts: Sequence[str],
) -> Network:
    """The Network of `dock2uni run`'s options; NetUsageError for bad ones. Without
    --network, publishing ports (-p, -P) selects the user network, else none."""
    ports = tuple(spec for text in publish for spec in parse_port(text))
    if mode is None:
        mode = "user" if ports or publish_all else "none"
    if mode not in MODES:
        raise NetUsageError(
            f"{mode!r} is not a network this runs: none (no NIC) or user (QEMU's user "
            "network, like Docker's default bridge)",
            "--network",
        )
    if mode == "none" and (ports or publish_all):
        raise NetUsageError(
            "ports cannot be published without a network (as docker refuses "
            "--network none with -p); leave --network out or use --network user",
            "--network",
        )
    return Network(
        mode=mode,
        ports=ports,
        publish_all=publish_all,
        hostname=parse_hostname(hostname) if hostname is not None else default_hostname(),
        dns=tuple(parse_dns(d) for d in dns),
        hosts=tuple(parse_add_host(h) for h in add_hosts),
    )
