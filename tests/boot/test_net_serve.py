"""Servers from the fixture images serve the host through `dock2uni run -p` (issue 11).

nginx (the nginx-serve fixture: Debian's nginx-light with its default configuration, plus
1 MiB and 10 MiB files): `/` byte-equal to the file in the image, HEAD, the 404 page, the
10 MiB file through sendfile with the same sha256, keep-alive, `ab -n 10000 -c 50` with no
failed request, and a graceful stop on SIGQUIT and on SIGTERM sent to `dock2uni run`.
redis: PING, SET/GET, INCR, LPUSH/LRANGE with redis-cli, `redis-benchmark -q -n 20000 -t
set,get` without errors. python3 -m http.server's directory listing; the go-hello
fixture's HTTP server (it serves itself on 127.0.0.1 inside the guest); a UDP
request/response between host and guest; a guest client fetching from a server on the
host (10.0.2.2).

Every test runs twice: against `dock2uni run` and, as the reference that proves the test
itself right, against `docker run -p` of the same image on a private, real dockerd (a
user-defined bridge network: the daemon runs with --bridge=none --iptables=false, and
docker-proxy forwards the published ports). The docker column needs no library OS; the
dock2uni column needs the socket layer (helpers "net" and "sock" of this session).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fixtures import served
from fixtures.build import fixture_layout
from fixtures.dockersave import read_layout_file, read_layout_image, uncompressed

from dock2uni.context import Context
from tests.conftest import need

pytestmark = pytest.mark.boot

NGINX_INDEX = "var/www/html/index.nginx-debian.html"
PEERS = ("dock2uni", "docker")
DOCKER_NET = "d2u-net"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kind_of(port: str) -> int:
    return socket.SOCK_DGRAM if port.endswith("/udp") else socket.SOCK_STREAM


@dataclass
class Server:
    """A server started by a peer: its host ports and how to stop it."""

    ports: dict[str, int]  # "80/tcp" -> host port
    send: Callable[[int], None]  # deliver a signal the way the peer's user would
    wait: Callable[[float], int | None]  # its exit code (None: still running at the timeout)
    output: Callable[[], str]  # what it printed so far (for failure messages)
    streams: Callable[[], tuple[str, str]]  # its whole stdout and stderr so far
    stopped: bool = False

    def port(self, spec: str = "80/tcp") -> int:
        return self.ports[spec]

    def stop(self, sig: int, timeout: float) -> int | None:
        self.send(sig)
        code = self.wait(timeout)
        self.stopped = code is not None
        return code


@dataclass
class Peer:
    """Runs fixture images with published ports: `dock2uni run` or `docker run`."""

    name: str
    timeout: float  # for a server to come up
    start: Callable[[str, list[str], list[str]], Server]  # fixture, ports, cmd
    run: Callable[[str, list[str], list[str]], tuple[int, bytes, bytes]]  # fixture, args, cmd
    host_address: str  # the host as the guest reaches it
    cleanups: list[Callable[[], None]] = field(default_factory=list)


# ---------------------------------------------------------------- dock2uni run


def _dock2uni_peer(boot_ctx: Context, accel: str, boot_timeout: float, tmp: Path) -> Peer:
    cleanups: list[Callable[[], None]] = []
    base = [sys.executable, "-m", "dock2uni", "run", "--accel", accel]
    base += ["--cache-dir", str(boot_ctx.cache_dir)]

    def source(fixture: str) -> str:
        return f"oci:{fixture_layout(fixture)}"

    def start(fixture: str, ports: list[str], cmd: list[str]) -> Server:
        mapping = {p: free_port(kind_of(p)) for p in ports}
        args = [a for p, h in mapping.items() for a in ("-p", f"{h}:{p}")]
        log = tmp / f"{fixture}-{time.monotonic_ns()}.log"
        errlog = log.with_suffix(".err")
        with log.open("wb") as out, errlog.open("wb") as err:
            argv = [*base, source(fixture), *args, *(["--", *cmd] if cmd else [])]
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

        def wait(timeout: float) -> int | None:
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None

        def kill() -> None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        cleanups.append(kill)
        return Server(
            ports=mapping,
            send=proc.send_signal,
            wait=wait,
            output=lambda: (
                log.read_text(errors="replace")[-1500:]
                + errlog.read_text(errors="replace")[-1500:]
                + ("" if proc.poll() is None else f"\n[dock2uni run exited {proc.returncode}]")
            ),
            streams=lambda: (log.read_text(errors="replace"), errlog.read_text(errors="replace")),
        )

    def run(fixture: str, args: list[str], cmd: list[str]) -> tuple[int, bytes, bytes]:
        argv = [*base, source(fixture), *args, *(["--", *cmd] if cmd else [])]
        done = subprocess.run(argv, capture_output=True, timeout=boot_timeout * 4, check=False)
        return done.returncode, done.stdout, done.stderr

    return Peer("dock2uni", boot_timeout * 4, start, run, "10.0.2.2", cleanups)


# ---------------------------------------------------------------- docker run (reference)


def _docker_peer(stack: ExitStack, tmp: Path) -> Peer:
    from tests.infra.dockerd import private_dockerd, unavailable_reason

    if (why := unavailable_reason()) is not None:
        need("docker", why)
    cleanups: list[Callable[[], None]] = []
    daemon = stack.enter_context(private_dockerd())
    env = daemon.env()
    daemon.docker("network", "create", DOCKER_NET)
    gateway = daemon.docker(
        "network", "inspect", DOCKER_NET, "-f", "{{(index .IPAM.Config 0).Gateway}}"
    ).stdout.strip()
    loaded: dict[str, str] = {}

    def tag(fixture: str) -> str:
        if fixture not in loaded:
            archive = tmp / f"{fixture}.tar"
            name = f"d2u-test/{fixture}:latest"
            subprocess.run(
                ["skopeo", "copy", "-q", f"oci:{fixture_layout(fixture)}:latest",
                 f"docker-archive:{archive}:{name}"],
                check=True, capture_output=True,
            )  # fmt: skip
            daemon.docker("load", "-q", "-i", str(archive))
            archive.unlink()
            loaded[fixture] = name
        return loaded[fixture]

    def start(fixture: str, ports: list[str], cmd: list[str]) -> Server:
        mapping = {p: free_port(kind_of(p)) for p in ports}
        args = [a for p, h in mapping.items() for a in ("-p", f"{h}:{p}")]
        name = f"d2u-serve-{os.getpid()}-{time.monotonic_ns()}"
        daemon.docker(
            "run", "-d", "--name", name, "--network", DOCKER_NET, *args, tag(fixture), *cmd
        )

        def wait(timeout: float) -> int | None:
            try:
                proc = subprocess.run(
                    ["docker", "wait", name], env=env, capture_output=True, text=True,
                    timeout=timeout, check=True,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                return None
            return int(proc.stdout.strip())

        def send(sig: int) -> None:
            daemon.docker("kill", "-s", signal.Signals(sig).name, name)

        def output() -> str:
            done = subprocess.run(
                ["docker", "logs", name], env=env, capture_output=True, check=False
            )
            return (done.stdout + done.stderr).decode(errors="replace")[-3000:]

        def streams() -> tuple[str, str]:
            done = subprocess.run(
                ["docker", "logs", name], env=env, capture_output=True, check=False
            )
            return done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")

        def remove() -> None:
            subprocess.run(["docker", "rm", "-f", name], env=env, capture_output=True, check=False)

        cleanups.append(remove)
        return Server(ports=mapping, send=send, wait=wait, output=output, streams=streams)

    def run(fixture: str, args: list[str], cmd: list[str]) -> tuple[int, bytes, bytes]:
        argv = ["docker", "run", "--rm", "--network", DOCKER_NET, *args, tag(fixture), *cmd]
        done = subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
        return done.returncode, done.stdout, done.stderr

    return Peer("docker", 60.0, start, run, gateway, cleanups)


@pytest.fixture(scope="module", params=PEERS)
def peer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Peer]:
    tmp = tmp_path_factory.mktemp(f"serve-{request.param}")
    with ExitStack() as stack:
        if request.param == "docker":
            made = _docker_peer(stack, tmp)
        else:
            made = _dock2uni_peer(
                request.getfixturevalue("boot_ctx"),
                request.getfixturevalue("accel"),
                request.getfixturevalue("boot_timeout"),
                tmp,
            )
        try:
            yield made
        finally:
            for cleanup in reversed(made.cleanups):
                with suppress(Exception):
                    cleanup()


def wait_ready(server: Server, probe: Callable[[], object], timeout: float) -> None:
    """Until ``probe()`` succeeds; fails with the server's output if it ends or times out."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            probe()
            return
        except (OSError, http.client.HTTPException, subprocess.CalledProcessError) as exc:
            last = exc
        if server.wait(0.5) is not None:
            pytest.fail(f"the server ended before it answered ({last!r}):\n{server.output()}")
    pytest.fail(f"no answer in {timeout:.0f} s ({last!r}):\n{server.output()}")


def http_get(port: int, path: str = "/", method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------- nginx


def start_nginx(peer: Peer) -> Server:
    server = peer.start("nginx-serve", ["80/tcp"], [])
    wait_ready(server, lambda: http_get(server.port(), "/"), peer.timeout)
    return server


@pytest.fixture(scope="module")
def nginx(peer: Peer) -> Server:
    return start_nginx(peer)


def test_nginx_serves_the_index_byte_equal_to_the_image(nginx: Server) -> None:
    expected = read_layout_file(fixture_layout("nginx-serve"), NGINX_INDEX)
    status, headers, body = http_get(nginx.port(), "/")
    assert status == 200, nginx.output()
    assert body == expected
    assert headers["content-length"] == str(len(expected))
    assert headers["server"].startswith("nginx")


def test_nginx_head(nginx: Server) -> None:
    size = len(read_layout_file(fixture_layout("nginx-serve"), NGINX_INDEX))
    status, headers, body = http_get(nginx.port(), "/", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(size)
    assert headers["content-type"] == "text/html"


def test_nginx_404_page(nginx: Server) -> None:
    status, headers, body = http_get(nginx.port(), "/no-such-page.html")
    assert status == 404
    assert b"<title>404 Not Found</title>" in body and b"nginx" in body
    assert headers["content-length"] == str(len(body))


@pytest.mark.parametrize("name", sorted(served.SERVED))
def test_nginx_sends_large_files_whole(nginx: Server, name: str) -> None:
    """Through sendfile (Debian's nginx.conf: sendfile on): the same bytes as the image's."""
    want = hashlib.sha256(served.content(name)).hexdigest()
    status, headers, body = http_get(nginx.port(), f"/{name}")
    assert status == 200
    assert headers["content-length"] == str(served.SERVED[name])
    assert len(body) == served.SERVED[name]
    assert hashlib.sha256(body).hexdigest() == want


def test_nginx_keeps_the_connection_alive(nginx: Server) -> None:
    """Several requests over one HTTP/1.1 connection: same client socket, none closed."""
    conn = http.client.HTTPConnection("127.0.0.1", nginx.port(), timeout=60)
    try:
        names = set()
        for path in ("/", "/1m.bin", "/missing", "/"):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status in (200, 404)
            assert not resp.will_close and resp.getheader("connection", "").lower() != "close"
            assert conn.sock is not None
            names.add(conn.sock.getsockname())
        assert len(names) == 1  # http.client would have reconnected after a close
    finally:
        conn.close()


def test_nginx_ab_10000_requests_none_failed(nginx: Server) -> None:
    proc = subprocess.run(
        ["ab", "-q", "-n", "10000", "-c", "50", "-s", "60", f"http://127.0.0.1:{nginx.port()}/"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr + nginx.output()
    fields = dict(re.findall(r"^([A-Za-z -]+):\s+(\S+)", proc.stdout, re.MULTILINE))
    assert fields["Complete requests"] == "10000"
    assert fields["Failed requests"] == "0", proc.stdout
    assert "Non-2xx responses" not in fields


@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGTERM], ids=["SIGQUIT", "SIGTERM"])
def test_nginx_stops_gracefully(peer: Peer, sig: int) -> None:
    """nginx's own handlers run (SIGQUIT: graceful, SIGTERM: fast shutdown) and it exits 0,
    so does `dock2uni run` (docker: the container's exit code); the port is closed."""
    server = start_nginx(peer)
    assert http_get(server.port(), "/")[0] == 200
    code = server.stop(sig, peer.timeout)
    assert code == 0, server.output()
    with pytest.raises(OSError):
        http_get(server.port(), "/")


# ---------------------------------------------------------------- redis


def redis_cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def redis(peer: Peer) -> Server:
    server = peer.start("redis", ["6379/tcp"], [])

    def ping() -> None:
        if redis_cli(server.port("6379/tcp"), "PING") != "PONG":
            raise ConnectionError("no PONG yet")

    wait_ready(server, ping, peer.timeout)
    return server


def test_redis_commands_from_the_host(redis: Server) -> None:
    port = redis.port("6379/tcp")
    assert redis_cli(port, "PING") == "PONG"
    assert redis_cli(port, "SET", "greeting", "hello from the host") == "OK"
    assert redis_cli(port, "GET", "greeting") == "hello from the host"
    redis_cli(port, "DEL", "counter", "list")
    assert [redis_cli(port, "INCR", "counter") for _ in range(3)] == ["1", "2", "3"]
    assert redis_cli(port, "LPUSH", "list", "a", "b", "c") == "3"
    assert redis_cli(port, "LRANGE", "list", "0", "-1").splitlines() == ["c", "b", "a"]


def test_redis_benchmark_without_errors(redis: Server) -> None:
    proc = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(redis.port("6379/tcp")),
         "-q", "-n", "20000", "-t", "set,get"],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    text = proc.stdout.replace("\r", "\n") + proc.stderr
    assert proc.returncode == 0, text[-2000:]
    assert re.search(r"^SET: [\d.]+ requests per second", text, re.MULTILINE), text[-2000:]
    assert re.search(r"^GET: [\d.]+ requests per second", text, re.MULTILINE), text[-2000:]
    assert "rror" not in text, text[-2000:]


# ---------------------------------------------------------------- python, Go, UDP, outbound


def layout_names(fixture: str, directory: str) -> set[str]:
    """The names in ``directory`` (no leading /) of a fixture image, over all its layers."""
    names: set[str] = set()
    for _desc, blob in read_layout_image(fixture_layout(fixture)).layers:
        with tarfile.open(fileobj=io.BytesIO(uncompressed(blob))) as tar:
            for member in tar.getmembers():
                parent, _, name = member.name.rstrip("/").removeprefix("./").rpartition("/")
                if parent == directory and not name.startswith(".wh."):
                    names.add(name + ("/" if member.isdir() else ""))
    return names


def python_http_dir() -> str:
    found = sorted(
        n.rstrip("/") for n in layout_names("python-stdlib", "usr/lib") if n.startswith("python3.")
    )
    assert found, "python-stdlib holds no /usr/lib/python3.*"
    return f"usr/lib/{found[-1]}/http"


def test_python_http_server_lists_a_directory(peer: Peer) -> None:
    directory = python_http_dir()
    server = peer.start(
        "python-stdlib",
        ["8000/tcp"],
        ["python3", "-m", "http.server", "8000", "-d", "/" + directory],
    )
    wait_ready(server, lambda: http_get(server.port("8000/tcp"), "/"), peer.timeout)
    status, _, body = http_get(server.port("8000/tcp"), "/")
    page = body.decode()
    assert status == 200
    assert "Directory listing for /</title>" in page
    listed = set(re.findall(r'<li><a href="([^"]+)">', page))
    assert {"__init__.py", "client.py", "server.py"} <= listed
    assert listed <= layout_names("python-stdlib", directory)
    status, _, body = http_get(server.port("8000/tcp"), "/server.py")
    assert status == 200
    assert body == read_layout_file(fixture_layout("python-stdlib"), f"{directory}/server.py")
    server.stop(signal.SIGKILL, peer.timeout)


def test_go_hello_http_server_answers(peer: Peer) -> None:
    """go-hello serves HTTP on 127.0.0.1 inside the guest and requests a page from itself."""
    code, out, err = peer.run("go-hello", [], [])
    assert code == 0, err.decode(errors="replace")
    assert b"http: hello from go-hello, GET /hello\n" in out


UDP_ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 5353))\n"
    "for _ in range(3):\n"
    "    data, peer = s.recvfrom(2048)\n"
    "    s.sendto(data.upper(), peer)\n"
)


def test_udp_request_and_response(peer: Peer) -> None:
    server = peer.start("python-stdlib", ["5353/udp"], ["python3", "-c", UDP_ECHO])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)

        def ask() -> None:
            sock.sendto(b"ping from the host", ("127.0.0.1", server.port("5353/udp")))
            if sock.recvfrom(2048)[0] != b"PING FROM THE HOST":
                raise ConnectionError("wrong answer")

        wait_ready(server, ask, peer.timeout)  # datagrams before the guest is up are lost
        ask()
    server.stop(signal.SIGKILL, peer.timeout)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello guest, you asked for {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_guest_connects_to_a_server_on_the_host(peer: Peer) -> None:
    """busybox wget in the guest fetches from an HTTP server on the host (10.0.2.2 on
    QEMU's user network, the bridge's gateway under docker)."""
    httpd = ThreadingHTTPServer(("0.0.0.0", 0), _Hello)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://{peer.host_address}:{port}/from-the-guest"
        args = ["--network", "user"] if peer.name == "dock2uni" else []
        code, out, err = peer.run("busybox", args, ["wget", "-q", "-O", "-", url])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 0, err.decode(errors="replace")
    assert out == b"hello guest, you asked for /from-the-guest\n"
