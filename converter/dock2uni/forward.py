"""The host side of a published TCP port: `dock2uni run` listens and forwards to QEMU.

QEMU's user network (libslirp 4.7) listens for a hostfwd rule with a backlog of 1: a burst
of connections (``ab -c 50``, ``redis-benchmark``'s 50 clients) overflows that queue, the
host kernel drops handshakes, and clients see resets and stalls of seconds, whatever the
guest does. So, as Docker's docker-proxy does where it has no iptables rules, dock2uni
listens on the published port itself, with the system's full backlog, on every IPv4 and
IPv6 address (or the one -p names), and passes each connection to QEMU's hostfwd on a
private loopback port, one connect at a time so that queue never overflows. Bytes are
copied both ways; a half-close is passed on (shutdown), and a reset from the guest side
becomes a reset for the client (SO_LINGER 0).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import threading
import time
from collections.abc import Sequence

CHUNK = 1 << 16
CONNECT_RETRY = 60.0  # seconds a connection may wait for QEMU (it starts after us)
HANDSHAKE = 0.01  # seconds one handshake with slirp may take before a fresh SYN
_LINGER_RESET = struct.pack("ii", 1, 0)


class Forwarder:
    """Accept on each route's listener and forward every connection to its target (QEMU's
    hostfwd). Threads: one accepting per listener, two per connection; ``close`` ends all."""

    def __init__(self, routes: Sequence[tuple[socket.socket, tuple[str, int]]]) -> None:
        self.listeners = [listener for listener, _ in routes]
        self.connect_lock = threading.Lock()  # one handshake with slirp at a time
        self.closed = threading.Event()
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()
        for listener, target in routes:
            listener.settimeout(0.5)  # accept wakes up to notice close()
            threading.Thread(target=self._accept_loop, args=(listener, target), daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        for sock in self.listeners:
            sock.close()
        with self.live_lock:
            for sock in self.live:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the threads reading it
            self.live.clear()

    def _track(self, sock: socket.socket) -> bool:
        with self.live_lock:
            if self.closed.is_set():
                return False
            self.live.add(sock)
            return True

    def _accept_loop(self, listener: socket.socket, target: tuple[str, int]) -> None:
        while not self.closed.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            if not self._track(client):
                client.close()
                return
            threading.Thread(target=self._serve, args=(client, target), daemon=True).start()

    def _connect(self, target: tuple[str, int]) -> socket.socket | None:
        """A connection to QEMU's hostfwd, retried while QEMU is not listening yet.

        One handshake at a time, each given HANDSHAKE seconds: the kernel drops the SYN
        when slirp's queue is full, and a fresh SYN soon beats TCP's 1 s retransmission;
        with no other handshake in flight, the final ACK always finds the room its SYN
        found, so no connection is half-accepted and later reset."""
        deadline = time.monotonic() + CONNECT_RETRY
        while not self.closed.is_set() and time.monotonic() < deadline:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            upstream.settimeout(HANDSHAKE)
            try:
                with self.connect_lock:
                    upstream.connect(target)
            except TimeoutError:
                upstream.close()
                continue  # the SYN was dropped: the queue was full
            except OSError as exc:
                upstream.close()
                if exc.errno != errno.ECONNREFUSED:
                    return None
                time.sleep(0.05)  # QEMU has not bound its port yet
                continue
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return upstream
        return None

    def _serve(self, client: socket.socket, target: tuple[str, int]) -> None:
        upstream = self._connect(target)
        if upstream is None or not self._track(upstream):
            _reset(client)
            self._forget(client)
            if upstream is not None:
                upstream.close()
            return
        with contextlib.suppress(OSError):
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        broken = True
        try:
            broken = _pump(client, upstream)
        finally:
            for sock in (client, upstream):
                if broken:
                    _reset(sock)  # a reset on one side is a reset for the other
                with contextlib.suppress(OSError):
                    sock.close()
                self._forget(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self.live_lock:
            self.live.discard(sock)


def _reset(sock: socket.socket) -> None:
    """Close with a RST, as the guest side did (or as a port nobody serves would)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    with contextlib.suppress(OSError):
        sock.close()


def _copy(src: socket.socket, dst: socket.socket, failed: threading.Event) -> None:
    """One direction: until ``src`` finishes sending (then half-close ``dst``) or either
    side fails (then wake the other direction's reader: a socket is closed, and reset,
    only once no thread reads it any more, or the close would wait for that read)."""
    try:
        while not failed.is_set() and (data := src.recv(CHUNK)):
            dst.sendall(data)
    except OSError:
        failed.set()
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_RD)  # the other thread's recv returns at once
        return
    if not failed.is_set():
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)  # pass the half-close on


def _pump(client: socket.socket, upstream: socket.socket) -> bool:
    """Copy both ways, one thread each (neither direction can block the other); True
    when the connection broke (a reset or error on either side)."""
    failed = threading.Event()
    other = threading.Thread(target=_copy, args=(upstream, client, failed), daemon=True)
    other.start()
    _copy(client, upstream, failed)
    other.join()
    return failed.is_set()
