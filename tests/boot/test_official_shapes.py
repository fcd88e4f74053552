"""Images shaped like the official Docker Hub ones (issue 12), run as `docker run` runs them.

The fixtures (fixtures/official.py) are converted with no flags (`dock2uni run SOURCE`
converts on first use) and served through `-p`; every test runs against `dock2uni run`
and, as the reference that proves the test right, against `docker run -p` of the same
image on the private dockerd (the peers of test_net_serve.py). Compared: HTTP status and
body, and the log lines on stdout and stderr (addresses, times and pids normalised;
`dock2uni:` lines are the runtime's own, as dockerd's messages are not in `docker logs`).

nginx-official: the official entrypoint's lines, envsubst's rendering of the template
(/env), the worker as user nginx (it reads nginx's 0600 file, gets 403 for root's),
access log on stdout and error log on stderr through the /dev/stdout and /dev/stderr
symlinks. Stopping: `docker stop` sends the image's StopSignal (SIGQUIT: graceful);
`dock2uni run`, like `docker run`'s signal proxy, forwards what it receives unchanged
(SIGTERM stays SIGTERM: nginx's fast shutdown; the StopSignal only arms --stop-timeout,
converter/dock2uni/sigproxy.py), so both signals are sent to both peers, and nginx exits
0 from each.
"""

from __future__ import annotations

import re
import signal
import time

import pytest
from fixtures import official

from tests.boot import test_net_serve
from tests.boot.test_net_serve import Peer, Server, http_get, wait_ready

pytestmark = pytest.mark.boot
peer = test_net_serve.peer  # the parametrised fixture: dock2uni run, docker run


def app_lines(text: str) -> list[str]:
    """The application's lines of a stream: without the runtime's `dock2uni:` lines."""
    return [line for line in text.splitlines() if not line.startswith("dock2uni:")]


def wait_for_line(server: Server, stream: int, pattern: str, timeout: float = 60.0) -> None:
    """Until a line of stdout (0) or stderr (1) matches: logs may lag the answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(re.search(pattern, line) for line in server.streams()[stream].splitlines()):
            return
        time.sleep(0.5)
    pytest.fail(f"no line matching {pattern!r}:\n{server.output()}")


# ---------------------------------------------------------------- nginx-official

NGINX_START = [
    "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform "
    "configuration",
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
    "20-envsubst-on-templates.sh: Running envsubst on /etc/nginx/templates/"
    "default.conf.template to /etc/nginx/conf.d/default.conf",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
]
NGINX_ERRLOG = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] (\d+)#\d+: (.*)$")
NGINX_ACCESS = re.compile(r'^\S+ - - \[[^]]+\] "(.*)" (\d+) (\d+) "-" "(.*)" "-"$')


def nginx_errors(server: Server) -> list[tuple[str, str]]:
    """(level, message) of each error-log line; pids in messages are replaced by N."""
    out = []
    for line in app_lines(server.streams()[1]):
        m = NGINX_ERRLOG.match(line)
        assert m, f"not an nginx error-log line: {line!r}"
        out.append((m[1], re.sub(r"\b(process|from) \d+", r"\1 N", m[3])))
    return out


def start_nginx(peer: Peer) -> Server:
    server = peer.start("nginx-official", ["80/tcp"], [])
    wait_ready(server, lambda: http_get(server.port(), "/"), peer.timeout)
    return server


@pytest.fixture(scope="module")
def nginx(peer: Peer) -> Server:
    return start_nginx(peer)


def test_nginx_entrypoint_lines_then_master_and_workers(nginx: Server) -> None:
    """stdout: the entrypoint's lines, in order, before any access-log line; stderr: the
    master's notices through /dev/stderr, `start worker processes`, then one line per
    worker (`worker_processes auto`: as many as CPUs, so at least one)."""
    out = app_lines(nginx.streams()[0])
    assert out[: len(NGINX_START)] == NGINX_START, nginx.output()
    errors = nginx_errors(nginx)
    messages = [m for _, m in errors]
    assert ("notice", 'using the "epoll" event method') in errors
    assert any(re.fullmatch(r"nginx/\d+\.\d+\.\d+", m) for m in messages)
    assert any(m.startswith("OS: Linux ") for m in messages)
    begin = messages.index("start worker processes")
    assert messages[begin + 1] == "start worker process N"
    assert all(level == "notice" for level, _ in errors), errors


def test_nginx_serves_its_pages(nginx: Server) -> None:
    status, headers, body = http_get(nginx.port(), "/")
    assert (status, body.decode()) == (200, official.NGINX_INDEX)
    assert headers["server"].startswith("nginx/")
    status, _, body = http_get(nginx.port(), "/no-such-page.html")
    assert status == 404 and b"<title>404 Not Found</title>" in body


def test_nginx_config_rendered_from_the_template(nginx: Server) -> None:
    """20-envsubst-on-templates.sh substituted ${NGINX_HOST} and ${NGINX_PORT} from the
    environment and left nginx's own $uri alone."""
    status, headers, body = http_get(nginx.port(), "/env")
    assert (status, body) == (200, b"host=localhost port=80 uri=/env\n")
    assert headers["content-type"] == "text/plain"


def test_nginx_worker_runs_as_the_nginx_user(nginx: Server) -> None:
    """`user nginx;`: the worker reads nginx's 0600 file and is refused root's (EACCES)."""
    status, _, body = http_get(nginx.port(), "/nginx-only.txt")
    assert (status, body.decode()) == (200, official.NGINX_ONLY)
    status, _, body = http_get(nginx.port(), "/root-only.txt")
    assert status == 403 and b"<title>403 Forbidden</title>" in body
    wait_for_line(nginx, 1, r'open\(\) "/usr/share/nginx/html/root-only.txt" failed \(13:')
    (level, message) = next(e for e in nginx_errors(nginx) if "root-only" in e[1])
    assert level == "error"
    assert "(13: Permission denied), client: " in message


def test_nginx_access_log_on_stdout(nginx: Server) -> None:
    """access.log -> /dev/stdout: one `main`-format line per request, status and size."""
    http_get(nginx.port(), "/env?access-log")
    wait_for_line(nginx, 0, r'"GET /env\?access-log HTTP/1.1" 200 ')
    lines = [m for line in app_lines(nginx.streams()[0]) if (m := NGINX_ACCESS.match(line))]
    found = [(m[1], m[2], m[3]) for m in lines if "access-log" in m[1]]
    assert found == [("GET /env?access-log HTTP/1.1", "200", "32")]  # $uri: no args
    assert ("GET / HTTP/1.1", "200", str(len(official.NGINX_INDEX))) in [
        (m[1], m[2], m[3]) for m in lines
    ]


@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGTERM], ids=["SIGQUIT", "SIGTERM"])
def test_nginx_stops_gracefully(peer: Peer, sig: int) -> None:
    """SIGQUIT (the image's StopSignal, what `docker stop` sends): graceful shutdown;
    SIGTERM (what `dock2uni run` and `docker run` forward when they get it): fast
    shutdown. Either way the workers exit 0, then the master: exit code 0."""
    server = start_nginx(peer)
    code = server.stop(sig, peer.timeout)
    assert code == 0, server.output()
    messages = [m for _, m in nginx_errors(server)]
    name = signal.Signals(sig).name
    assert (
        f"signal {int(sig)} ({name}) received, "
        + ("shutting down" if sig == signal.SIGQUIT else "exiting")
        in messages
    ), messages
    if sig == signal.SIGQUIT:
        assert "gracefully shutting down" in messages
    assert "worker process N exited with code 0" in messages
    assert messages[-1] == "exit"


# ---------------------------------------------------------------- alpine-shaped

HTTPD_LOG = re.compile(r"^\S+:\d+: response:(\d+)$")


def test_alpine_shell_form_cmd(peer: Peer) -> None:
    """`CMD for ...; echo ... >&2; httpd -f -v -p 8080 -h /www`: /bin/sh -c runs the loop,
    then busybox httpd in the foreground, which logs each response on stderr."""
    server = peer.start("alpine-shaped", ["8080/tcp"], [])
    wait_ready(server, lambda: http_get(server.port("8080/tcp"), "/"), peer.timeout)
    status, _, body = http_get(server.port("8080/tcp"), "/")
    assert (status, body.decode()) == (200, official.ALPINE_PAGE)
    status, _, body = http_get(server.port("8080/tcp"), "/nope")
    assert status == 404 and b"404 Not Found" in body
    wait_for_line(server, 1, r"response:404$")
    out, err = server.streams()
    assert app_lines(out) == ["line 1", "line 2", "line 3"]
    err_lines = app_lines(err)
    assert err_lines[0] == "serving /www on 8080"
    codes = [m[1] for line in err_lines[1:] if (m := HTTPD_LOG.match(line))]
    assert len(codes) == len(err_lines) - 1, err_lines
    assert codes[-2:] == ["200", "404"]
    server.stop(signal.SIGKILL, peer.timeout)  # sh, pid 1, has no SIGTERM handler


# ---------------------------------------------------------------- python-official

PY_SERVING = re.compile(r"^Serving HTTP on \S+ port 8000 \(http://\S+:8000/\) \.\.\.$")
PY_REQUEST = re.compile(r'^\S+ - - \[[^]]+\] "(.*)" (\d+) -$')


def test_python_http_server_as_user_in_workdir(peer: Peer) -> None:
    """`python3 -m http.server 8000` as app in /home/app/site: serves index.html for /,
    404 for root's 0600 file (as app it cannot open it), one log line per request on
    stderr; SIGINT (KeyboardInterrupt) stops it with exit code 0."""
    server = peer.start("python-official", ["8000/tcp"], [])
    port = server.port("8000/tcp")
    wait_ready(server, lambda: http_get(port, "/"), peer.timeout)
    status, headers, body = http_get(port, "/")
    assert (status, body.decode()) == (200, official.PYTHON_PAGE)
    assert headers["server"].startswith("SimpleHTTP/")
    assert http_get(port, "/root-only.txt")[0] == 404
    assert http_get(port, "/missing")[0] == 404
    wait_for_line(server, 1, r'"GET /missing HTTP/1.1" 404 -$')
    out, err = server.streams()
    assert [bool(PY_SERVING.match(line)) for line in app_lines(out)] == [True], out
    requests = [(m[1], m[2]) for line in app_lines(err) if (m := PY_REQUEST.match(line))]
    assert requests[-3:] == [
        ("GET / HTTP/1.1", "200"),
        ("GET /root-only.txt HTTP/1.1", "404"),
        ("GET /missing HTTP/1.1", "404"),
    ]
    assert sum("code 404, message File not found" in line for line in app_lines(err)) == 2
    assert server.stop(signal.SIGINT, peer.timeout) == 0, server.output()
    assert "Keyboard interrupt received, exiting." in server.streams()[0]


def test_python_user_gets_the_runtimes_etc_files(peer: Peer) -> None:
    """The runtime writes /etc/hostname, /etc/hosts and /etc/resolv.conf as root (Docker
    bind-mounts root's files), even though the command runs as app: they exist."""
    script = (
        "id -u; cat /etc/hostname; stat -c '%u:%g %n' /etc/hostname /etc/hosts /etc/resolv.conf"
    )
    args = ["--network", "user"] if peer.name == "dock2uni" else []
    code, out, err = peer.run("python-official", args, ["sh", "-c", script])
    assert code == 0, err.decode(errors="replace")
    lines = out.decode().splitlines()
    assert lines[0] == str(official.PYTHON_UID)
    assert re.fullmatch(r"[0-9a-f]{12}", lines[1]), lines
    assert lines[2:] == ["0:0 /etc/hostname", "0:0 /etc/hosts", "0:0 /etc/resolv.conf"]
