"""Test infrastructure: a TCP proxy in front of a real registry that breaks blob downloads off.

The network between a client and a registry fails in ways a registry never produces on
its own; this proxy produces one of them for real: the first ``cuts`` GETs of the blob
``digest`` without a ``Range`` header are relayed for ``cut_after`` body bytes, then both
connections are closed. Everything else is relayed untouched, except that every request is sent with
``Connection: close`` so each client connection carries exactly one request and the
relay can end at the upstream's EOF.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

MAX_HEAD = 64 << 10


@dataclass
class Relayed:
    """One request that went through the proxy."""

    request_line: str
    range_header: str
    body_bytes: int  # response body bytes the client received
    cut: bool


@dataclass
class CuttingProxy:
    """127.0.0.1:<port> -> ``upstream`` (host, port); see the module docstring."""

    upstream: tuple[str, int]
    digest: str
    cut_after: int
    cuts: int = 1
    drop_range: bool = False  # strip Range from requests: an upstream that ignores it
    relayed: list[Relayed] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._stopping = False
        self._servers: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)
        # The client may finish reading before a relay thread has seen the upstream close
        # and recorded its transfer: wait for every relay, so ``relayed`` is complete.
        for server in self._servers:
            server.join(timeout=30)

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._servers.append(server)
            server.start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            # A TLS ClientHello (the client's HTTPS attempt before plain HTTP): hang up at
            # once, as a plain-HTTP registry would, instead of waiting for a request head.
            if client.recv(1, socket.MSG_PEEK) in (b"", b"\x16"):
                return
            head = _read_head(client)
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            request_line, headers = lines[0], [h for h in lines[1:] if h]
            range_header = next(
                (h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("range:")),
                "",
            )
            kept = [
                h
                for h in headers
                if not h.lower().startswith("connection:")
                and not (self.drop_range and h.lower().startswith("range:"))
            ]
            forwarded = "\r\n".join([request_line, *kept, "Connection: close", "", ""])
            is_blob = request_line.startswith("GET ") and f"/blobs/{self.digest} " in request_line
            with self._lock:
                cut = is_blob and not range_header and self.cuts > 0
                if cut:
                    self.cuts -= 1
            with socket.create_connection(self.upstream, timeout=30) as upstream:
                upstream.sendall(forwarded.encode("latin-1"))
                body = self._relay(upstream, client, self.cut_after if cut else None)
            self.relayed.append(Relayed(request_line, range_header, body, cut))

    @staticmethod
    def _relay(upstream: socket.socket, client: socket.socket, limit: int | None) -> int:
        """Copy the response; with ``limit``, stop after that many body bytes."""
        buffered = b""
        body = -1  # -1 until the end of the response head has been seen
        while True:
            data = upstream.recv(65536)
            if not data:
                return max(body, 0)
            if body < 0:
                buffered += data
                end = buffered.find(b"\r\n\r\n")
                if end < 0:
                    continue
                client.sendall(buffered[: end + 4])
                data = buffered[end + 4 :]
                body = 0
            if limit is not None and body + len(data) >= limit:
                client.sendall(data[: limit - body])
                return limit  # both connections close on return: the transfer breaks off
            client.sendall(data)
            body += len(data)


def _read_head(conn: socket.socket) -> bytes | None:
    """The request head up to the blank line (GET requests carry no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > MAX_HEAD:
            return None
        data += chunk
    return data[: data.index(b"\r\n\r\n") + 4]
