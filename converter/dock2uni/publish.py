"""Host ports of `dock2uni run -p/-P`: chosen and bound before QEMU starts.

Each published port is bound here first (SO_REUSEADDR, as QEMU's slirp binds), so a port
in use is a clear `dock2uni: error:` instead of QEMU's "Could not set up host forwarding
rule", and a port left out (`-p 80`, `-P`) is one the kernel hands out (its ephemeral
range, as Docker's allocator uses). A tcp port stays ours: `dock2uni run` listens on it
and forwards to QEMU (forward.py), on 0.0.0.0 and [::] as Docker publishes; a udp port,
and the private loopback port of each tcp hostfwd rule, are held until just before QEMU
starts and binds them, so nothing else takes them in between.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from dock2uni.errors import RunError
from dock2uni.network import (
    ALL_ADDRESSES,
    ALL_ADDRESSES_V6,
    LOOPBACK,
    PROTOCOLS,
    Network,
    PortSpec,
    Published,
)

CONFLICT_HINT = (
    "Stop what uses that port (`ss -ltnup 'sport = :{port}'` shows it), publish on "
    "another host port (-p OTHER:{guest}), or leave the host port out (-p {guest}) to "
    "get a free one."
)


class Reservation:
    """What holds the published ports: the sockets QEMU will bind (udp ports, the private
    loopback ports of the tcp hostfwd rules), released just before QEMU starts, and the
    listening sockets of the tcp ports, which `dock2uni run` keeps and serves (routes:
    listener -> QEMU's loopback hostfwd address, for forward.Forwarder)."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.routes: list[tuple[socket.socket, tuple[str, int]]] = []

    def release(self) -> None:
        """Free the ports QEMU binds (keep the listeners)."""
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()

    def take_routes(self) -> list[tuple[socket.socket, tuple[str, int]]]:
        """The listeners and their targets, now owned by the caller (a Forwarder)."""
        routes, self.routes = self.routes, []
        return routes

    def close(self) -> None:
        self.release()
        for listener, _ in self.take_routes():
            listener.close()


def exposed_specs(meta: Mapping[str, Any]) -> tuple[list[PortSpec], list[str]]:
    """The image's EXPOSEd ports (kept in its metadata) as specs with free host ports,
    and those that cannot be published (sctp: QEMU's user network forwards tcp and udp)."""
    ports = meta.get("exposed_ports")
    if not isinstance(ports, list):
        raise RunError(
            "the image does not record its exposed ports, so -P has nothing to publish",
            hint="It was converted by an older dock2uni: convert it again, or publish "
            "ports one by one with -p HOST:GUEST.",
        )
    specs, skipped = [], []
    for item in ports:
        number, _, proto = str(item).partition("/")
        proto = proto or "tcp"
        if proto not in PROTOCOLS or not number.isdigit() or not 0 < int(number) < 65536:
            skipped.append(str(item))
            continue
        specs.append(PortSpec("", None, int(number), proto))
    return specs, skipped


def _bind(spec: PortSpec, port: int, *, family: int = socket.AF_INET) -> socket.socket:
    kind = socket.SOCK_STREAM if spec.proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    try:
        # Set by QEMU's slirp too: a port in TIME_WAIT is free for it, so for us.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((ALL_ADDRESSES_V6, port))
        else:
            sock.bind((spec.host_ip or ALL_ADDRESSES, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(socket.SOMAXCONN)  # the backlog slirp lacks (forward.py)
    except OSError:
        sock.close()
        raise
    return sock


def _ipv6_listener(spec: PortSpec, port: int) -> socket.socket | None:
    """The [::] twin of a tcp port published on every address, as Docker binds one; None
    when the host has no IPv6. A port in use there is in use (EADDRINUSE raised)."""
    try:
        return _bind(spec, port, family=socket.AF_INET6)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise
        return None


def _private_port() -> socket.socket:
    """A free loopback port for QEMU's end of a tcp hostfwd rule (held until QEMU starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    return sock


def _error(spec: PortSpec, port: int, exc: OSError) -> RunError:
    where = f"{spec.host_ip or ALL_ADDRESSES}:{port}/{spec.proto}"
    if exc.errno == errno.EADDRINUSE:
        return RunError(
            f"cannot publish port {spec.guest_port}/{spec.proto}: host port {where} is "
            "already in use",
            hint=CONFLICT_HINT.format(port=port, guest=spec.guest_port),
        )
    if exc.errno == errno.EACCES:
        return RunError(
            f"cannot publish on host port {where}: permission denied",
            hint="Ports below 1024 need root (or a lower net.ipv4.ip_unprivileged_port_start); "
            "publish on a port of 1024 or more, e.g. -p 8080:" + str(spec.guest_port),
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return RunError(
            f"cannot publish on {spec.host_ip}: it is not an address of this host",
            hint="Give one of the host's IPv4 addresses (`ip -4 addr`), or none for all.",
        )
    return RunError(f"cannot publish on host port {where}: {exc.strerror or exc}")


def _wanted(network: Network, meta: Mapping[str, Any]) -> tuple[list[PortSpec], list[str]]:
    """-p's ports, then -P's: every EXPOSEd port that -p did not publish already."""
    specs = list(network.ports)
    skipped: list[str] = []
    if network.publish_all:
        exposed, skipped = exposed_specs(meta)
        taken = {(s.guest_port, s.proto) for s in specs}
        specs += [s for s in exposed if (s.guest_port, s.proto) not in taken]
    return specs, skipped


def resolve(network: Network, meta: Mapping[str, Any]) -> tuple[Network, Reservation, list[str]]:
    """``network`` with its ports published (host ports chosen and bound), the reservation
    holding them, and the EXPOSEd ports -P had to leave out. RunError when a port is taken."""
    reservation = Reservation()
    if network.mode != "user":
        return network, reservation, []
    specs, skipped = _wanted(network, meta)
    published: list[Published] = []
    seen: dict[tuple[int, str], str] = {}
    try:
        for spec in specs:
            if spec.host_port is not None:
                key = (spec.host_port, spec.proto)
                if key in seen:
                    raise RunError(
                        f"host port {spec.host_port}/{spec.proto} is published twice "
                        f"({seen[key]} and {spec.guest_port})",
                        hint="Give each published port its own host port.",
                    )
                seen[key] = str(spec.guest_port)
            published.append(_publish(spec, reservation))
    except BaseException:
        reservation.close()
        raise
    return replace(network, published=tuple(published)), reservation, skipped


def _publish(spec: PortSpec, reservation: Reservation) -> Published:
    """Bind one port (tcp: the listener(s) we serve and QEMU's private port; udp: the port
    QEMU binds), recording the sockets in ``reservation``."""
    try:
        sock = _bind(spec, spec.host_port or 0)
    except OSError as exc:
        raise _error(spec, spec.host_port or 0, exc) from None
    port = int(sock.getsockname()[1])
    if spec.proto == "udp":
        reservation.sockets.append(sock)
        return Published(spec.host_ip, port, spec.guest_port, spec.proto)
    private = _private_port()
    reservation.sockets.append(private)
    target = (LOOPBACK, int(private.getsockname()[1]))
    reservation.routes.append((sock, target))
    v6 = None
    if not spec.host_ip:
        try:
            v6 = _ipv6_listener(spec, port)
        except OSError as exc:
            if spec.host_port is not None:  # a port we chose may be taken in IPv6: IPv4 only
                raise _error(replace(spec, host_ip="[::]"), port, exc) from None
        if v6 is not None:
            reservation.routes.append((v6, target))
    return Published(spec.host_ip, port, spec.guest_port, "tcp", target[1], v6 is not None)


@contextmanager
def reserved(network: Network, meta: Mapping[str, Any]) -> Iterator[tuple[Network, list[str]]]:
    """resolve() for a block; the ports are released when it ends (if not before)."""
    resolved, reservation, skipped = resolve(network, meta)
    try:
        yield resolved, skipped
    finally:
        reservation.close()
