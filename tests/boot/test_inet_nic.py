"""Networking through a real NIC: virtio-net on QEMU's user network, and malformed frames.

The guest runs tests/guest/netserve.c (a TCP and UDP echo server). Through QEMU's user
network with host forwards the host talks to it (TCP echo, a UDP request/response) and
it connects out to a server on the host (10.0.2.2). A second test feeds the NIC from a
QEMU datagram netdev the test drives: thousands of malformed Ethernet/IPv4/IPv6/TCP/UDP
frames, after which the server still answers a well-formed UDP request.
"""

from __future__ import annotations

import random
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import convert_guest

pytestmark = pytest.mark.boot
GUEST_PORT = 7
NIC = ("-device", "virtio-net-device,netdev=n0", "-global", "virtio-mmio.force-legacy=false")
# QEMU's default transport is the legacy virtio-mmio (version 1); dock2uni run asks for 2.
LEGACY_NIC = ("-device", "virtio-net-device,netdev=n0", "-device", "virtio-rng-device")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def boot_in_thread(
    boot: Callable[..., Booted], *args: object, **kw: object
) -> tuple[threading.Thread, list[Booted]]:
    out: list[Booted] = []
    t = threading.Thread(target=lambda: out.append(boot(*args, **kw)), daemon=True)
    t.start()
    return t, out


def tcp_echo(port: int, payload: bytes, deadline: float) -> bytes:
    """Connect through the host forward until the guest listens; the echoed bytes."""
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                c.sendall(payload)
                c.shutdown(socket.SHUT_WR)
                got = b""
                while chunk := c.recv(65536):
                    got += chunk
                if got:
                    return got
        except OSError as exc:  # the forward accepts before the guest listens
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"no echo from the guest: {last}")


@pytest.fixture(scope="module")
def netserve(
    guest_source: str, boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    uni = tmp_path_factory.mktemp("netserve") / "netserve.uni"
    convert_guest(guest_source, "/guest/glibc/netserve", uni, boot_ctx)
    return uni


@pytest.mark.parametrize("transport", ["modern", "legacy"])
def test_user_network_tcp_udp_and_outbound(
    transport: str, netserve: Path, boot: Callable[..., Booted], boot_timeout: float
) -> None:
    """Host -> guest TCP echo and UDP request/response through hostfwd; guest -> host TCP."""
    tport, uport = free_port(), free_port(socket.SOCK_DGRAM)
    host_srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    host_srv.bind(("127.0.0.1", 0))
    host_srv.listen(1)
    hport = host_srv.getsockname()[1]
    netdev = (
        f"user,id=n0,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:{tport}-:{GUEST_PORT},"
        f"hostfwd=udp:127.0.0.1:{uport}-:{GUEST_PORT}"
    )
    thread, result = boot_in_thread(
        boot,
        netserve,
        ("serve", str(GUEST_PORT), str(hport)),
        timeout=boot_timeout,
        extra_cmdline=("d2u.net=user", "d2u.hostname=webhost"),  # no d2u.ip: DHCP
        extra_qemu=("-netdev", netdev, *(NIC if transport == "modern" else LEGACY_NIC)),
    )
    deadline = time.monotonic() + boot_timeout
    payload = bytes(random.Random(1).getrandbits(8) for _ in range(300_000))
    assert tcp_echo(tport, payload, deadline) == payload

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(5)
        u.sendto(b"hello", ("127.0.0.1", uport))
        assert u.recvfrom(100)[0] == b"udp:hello"
        host_srv.settimeout(boot_timeout)
        u.sendto(b"quit", ("127.0.0.1", uport))
        assert u.recvfrom(100)[0] == b"udp:quit"
    conn, _ = host_srv.accept()  # the guest connects out to 10.0.2.2
    with conn:
        got = b""
        while chunk := conn.recv(100):
            got += chunk
        conn.sendall(b"host-hello:" + got)
    host_srv.close()
    thread.join(boot_timeout)
    booted = result[0]
    assert booted.result.status == "exit" and booted.result.exit_code == 0, booted.describe()
    out = booted.stdout.decode()
    assert "host said: host-hello:guest-hello" in out, booted.describe()
    assert "tcp connection done: 300000 bytes" in out, booted.describe()
    # The runtime's /etc files, as Docker writes them (docs/networking.md).
    assert "--- /etc/hostname\nwebhost\n" in out, booted.describe()
    assert "10.0.2.15\twebhost\n" in out, booted.describe()
    assert "127.0.0.1\tlocalhost\n" in out, booted.describe()
    assert "--- /etc/resolv.conf\nnameserver 10.0.2.3\n" in out, booted.describe()


# -- malformed frames through a datagram netdev ------------------------------------------------

GUEST_MAC = bytes.fromhex("525400123456")
HOST_MAC = bytes.fromhex("02000000aa01")
GUEST_IP = bytes([10, 9, 0, 2])
HOST_IP = bytes([10, 9, 0, 1])


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return int(~s & 0xFFFF)


def ipv4(proto: int, payload: bytes, src: bytes = HOST_IP, dst: bytes = GUEST_IP) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def eth(payload: bytes, ethertype: int = 0x0800, dst: bytes = GUEST_MAC) -> bytes:
    return dst + HOST_MAC + struct.pack("!H", ethertype) + payload


def udp_frame(sport: int, dport: int, data: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data  # checksum 0: none
    return eth(ipv4(17, udp))


def arp_reply_for(frame: bytes) -> bytes | None:
    """Answer the guest's ARP request for HOST_IP."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06" or frame[20:22] != b"\x00\x01":
        return None
    if frame[38:42] != HOST_IP:
        return None
    arp = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, HOST_MAC, HOST_IP, frame[22:28], frame[28:32]
    )
    return frame[6:12] + HOST_MAC + b"\x08\x06" + arp


def malformed_frames(rng: random.Random) -> list[bytes]:
    """Truncated, oversized, lying lengths, bad checksums, bad options, fragments, junk."""
    frames: list[bytes] = []
    tcp_base = struct.pack("!HHIIBBHHH", 4444, GUEST_PORT, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    for _ in range(3000):
        kind = rng.randrange(12)
        if kind == 0:  # random bytes of random length
            # at least 1 byte: QEMU's dgram netdev takes an empty datagram for a closed socket
            frames.append(rng.randbytes(rng.randrange(1, 1600)))
        elif kind == 1:  # IPv4 header with random fields and a valid checksum
            hdr = bytearray(rng.randbytes(20 + rng.randrange(0, 40)))
            hdr[0] = 0x40 | rng.randrange(16)
            hdr[16:20] = GUEST_IP
            frames.append(eth(bytes(hdr)))
        elif kind == 2:  # TCP with random flags, offsets and options
            seg = bytearray(tcp_base + rng.randbytes(rng.randrange(0, 60)))
            seg[12] = rng.randrange(256)
            seg[13] = rng.randrange(256)
            frames.append(eth(ipv4(6, bytes(seg))))
        elif kind == 3:  # a total length longer than the frame
            f = bytearray(eth(ipv4(17, rng.randbytes(30))))
            f[16:18] = struct.pack("!H", rng.randrange(60, 65535))
            frames.append(bytes(f))
        elif kind == 4:  # UDP length lying
            udp = struct.pack("!HHHH", 5555, GUEST_PORT, rng.randrange(65536), rng.randrange(65536))
            frames.append(eth(ipv4(17, udp + rng.randbytes(rng.randrange(0, 64)))))
        elif kind == 5:  # IPv4 fragments with random offsets
            f = bytearray(eth(ipv4(17, rng.randbytes(rng.randrange(8, 1400)))))
            f[20:22] = struct.pack("!H", (rng.randrange(2) << 13) | rng.randrange(8192))
            f[24:26] = b"\0\0"
            f[24:26] = struct.pack("!H", csum(bytes(f[14:34])))
            frames.append(bytes(f))
        elif kind == 6:  # IPv6 with random next headers and lengths
            nxt = rng.choice([0, 6, 17, 43, 44, 58, 60, 255])
            dst = bytes.fromhex("fe80000000000000505400fffe123456")
            v6 = struct.pack(
                "!IHBB16s16s", 6 << 28, rng.randrange(65536), nxt, 64, rng.randbytes(16), dst
            )
            frames.append(eth(v6 + rng.randbytes(rng.randrange(0, 200)), 0x86DD))
        elif kind == 7:  # ARP garbage
            frames.append(eth(rng.randbytes(rng.randrange(0, 60)), 0x0806))
        elif kind == 8:  # ICMP with random type/code
            frames.append(eth(ipv4(1, rng.randbytes(rng.randrange(0, 200)))))
        elif kind == 9:  # broadcast junk
            junk = rng.randbytes(rng.randrange(0, 500))
            frames.append(eth(junk, rng.randrange(65536), b"\xff" * 6))
        elif kind == 10:  # a frame shorter than an Ethernet header
            frames.append(rng.randbytes(rng.randrange(1, 14)))
        else:  # IP options with bad lengths
            hdr = bytearray(ipv4(17, rng.randbytes(20)))
            hdr[0] = 0x4F
            frames.append(eth(bytes(hdr)))
    return frames


def test_malformed_frames_leave_the_server_answering(
    netserve: Path, boot: Callable[..., Booted], boot_timeout: float
) -> None:
    """A fuzzed stream of broken frames through a datagram netdev, then a UDP request."""
    me = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    me.bind(("127.0.0.1", 0))
    my_port = me.getsockname()[1]
    qemu_port = free_port(socket.SOCK_DGRAM)
    netdev = (
        f"dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port={qemu_port},"
        f"remote.type=inet,remote.host=127.0.0.1,remote.port={my_port}"
    )
    thread, result = boot_in_thread(
        boot,
        netserve,
        ("serve", str(GUEST_PORT)),
        timeout=boot_timeout,
        extra_cmdline=("d2u.net=user", "d2u.ip=10.9.0.2/24", "d2u.gw=10.9.0.1"),
        extra_qemu=("-netdev", netdev, *NIC),
    )
    me.settimeout(0.2)
    dest = ("127.0.0.1", qemu_port)
    deadline = time.monotonic() + boot_timeout

    def ask(data: bytes, until: float) -> bytes | None:
        """Send a UDP request until the guest answers it (ARP answered on the way)."""
        while time.monotonic() < until:
            me.sendto(udp_frame(6000, GUEST_PORT, data), dest)
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                try:
                    frame = me.recv(4096)
                except TimeoutError:
                    break
                reply = arp_reply_for(frame)
                if reply:
                    me.sendto(reply, dest)
                elif len(frame) > 42 and frame[12:14] == b"\x08\x00" and frame[23] == 17:
                    ihl = (frame[14] & 15) * 4
                    return frame[14 + ihl + 8 :]
        return None

    assert ask(b"before", deadline) == b"udp:before", "the guest never answered"
    rng = random.Random(11)
    for frame in malformed_frames(rng):
        me.sendto(frame, dest)
    assert ask(b"after", deadline) == b"udp:after", "no answer after the malformed frames"
    assert ask(b"quit", deadline) == b"udp:quit"
    me.close()
    thread.join(boot_timeout)
    booted = result[0]
    assert booted.result.status == "exit" and booted.result.exit_code == 0, booted.describe()


def test_network_memory_shortage_is_logged_not_fatal(
    guest_root: Path,
    guest_source: str,
    boot_ctx: Context,
    boot: Callable[..., Booted],
    tmp_path: Path,
) -> None:
    """tests/guest/netfill.c queues data on 48 loopback connections nobody reads. Natively
    the socket buffers bound it; in 64 MiB lwIP's budget (8 MiB) runs out first: the
    program still ends normally and the log says why sends stopped, once a second at most."""
    native = subprocess.run(
        ["./netfill"], cwd=guest_root / "guest" / "glibc", capture_output=True, timeout=60
    )
    assert native.returncode == 0 and native.stdout.startswith(b"filled 48 connections"), native
    uni = tmp_path / "netfill.uni"
    convert_guest(guest_source, "/guest/glibc/netfill", uni, boot_ctx)
    got = boot(uni, mem=64 << 20)
    assert (got.result.status, got.result.exit_code) == ("exit", 0), got.describe()
    assert got.stdout.startswith(b"filled "), got.describe()
    shortage = [line for line in got.result.log if "net: no memory for" in line]
    assert shortage and "the network's budget" in shortage[0], got.describe()
    assert len(shortage) <= 1 + got.result.seconds, got.describe()  # rate-limited
