"""forward.Forwarder with real sockets: bytes both ways, half-close and reset passed on,
waiting for QEMU to listen, and a burst of 50 connections into a listener as slow and
shallow as QEMU's slirp (backlog 1) without one failure."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dock2uni.forward import Forwarder


def listener(backlog: int = 128, port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(backlog)
    return sock


def upper_echo(conn: socket.socket) -> None:
    """Read to end of file, answer in capitals, close: needs the half-close passed on."""
    with conn:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        conn.sendall(data.upper())


def serve(sock: socket.socket, handle: Callable[[socket.socket], None], pause: float = 0) -> None:
    def loop() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
            time.sleep(pause)

    threading.Thread(target=loop, daemon=True).start()


@contextmanager
def forwarding(target_port: int) -> Iterator[int]:
    front = listener()
    forwarder = Forwarder([(front, ("127.0.0.1", target_port))])
    try:
        yield int(front.getsockname()[1])
    finally:
        forwarder.close()


def ask(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := conn.recv(65536):
            out += chunk
        return out


def test_bytes_go_both_ways_and_the_half_close_is_passed_on() -> None:
    target = listener()
    serve(target, upper_echo)
    with forwarding(target.getsockname()[1]) as port:
        assert ask(port, b"hello") == b"HELLO"
        big = bytes(range(97, 123)) * 200_000  # 5 MB: many chunks each way
        assert ask(port, big) == big.upper()
    target.close()


def test_a_reset_on_the_guest_side_resets_the_client() -> None:
    def reset(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        conn.recv(10)
        conn.close()

    target = listener()
    serve(target, reset)
    with forwarding(target.getsockname()[1]) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            try:
                data = conn.recv(100)
            except ConnectionResetError:
                data = b"reset"
        assert data == b"reset"
    target.close()


def test_connections_wait_for_qemu_to_listen() -> None:
    """QEMU binds its hostfwd port after `dock2uni run` listens: early clients wait."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    late: list[socket.socket] = []

    def start_late() -> None:
        time.sleep(0.5)
        late.append(listener(port=port))
        serve(late[0], upper_echo)

    threading.Thread(target=start_late).start()
    with forwarding(port) as front:
        assert ask(front, b"early") == b"EARLY"
    late[0].close()


def test_a_burst_into_a_slow_backlog_of_one_never_fails() -> None:
    """slirp's listener: backlog 1, accepting only every 5 ms; 50 clients at once."""
    target = listener(backlog=1)
    serve(target, upper_echo, pause=0.005)
    results: list[bytes | str] = []
    with forwarding(target.getsockname()[1]) as port:

        def client(i: int) -> None:
            try:
                results.append(ask(port, f"client {i}".encode()))
            except OSError as exc:
                results.append(repr(exc))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    target.close()
    assert sorted(results) == sorted(f"CLIENT {i}".encode() for i in range(50))
