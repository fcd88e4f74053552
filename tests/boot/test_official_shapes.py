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

redis-official: the official entrypoint (found through PATH) gives /data's files to redis
and re-executes itself through gosu, so redis-server runs as redis (a root-only config
outside /data cannot be opened: exit 1) with pid 1 (exec all the way), in /data with
AOF and `save 60 1` on; SAVE and BGSAVE (a fork) report success, its log on stdout;
SIGTERM gives redis's own shutdown (final snapshot) and exit 0. The dump persists across
a restart with `-v DIR:/data` (test_redis_dump_survives_a_restart); within one boot the
saves are checked through INFO and a second server loading the dump. Without -v, /data
(the image's VOLUME) is an anonymous volume filled from the image, as under Docker.

distroless-shaped: a static Go server with no shell and no /etc/passwd, USER 65532:65532:
the same bytes as Docker's for its pages, who it runs as (uid, gids, HOME=/ as Docker
sets it for a uid without a passwd entry), what its tree lacks, the CA certificates Go
finds, one log line per request on stdout, exit 0 after SIGTERM.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fixtures import distroless, official, redis_official
from fixtures.build import fixture_layout, image_file
from fixtures.dockersave import read_layout_file

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


# ---------------------------------------------------------------- redis-official

REDIS = "6379/tcp"
# pid:role day month year time level message (redis's serverLog format)
REDIS_LOG = re.compile(r"^(\d+):([CMSX]) \d\d \w{3} \d{4} [\d:.]+ [.*#-] (.*)$")


def redis_cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip


def redis_info(port: int, section: str) -> dict[str, str]:
    lines = redis_cli(port, "INFO", section).splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def redis_messages(server: Server) -> list[str]:
    """The messages of redis's log lines on stdout (pids, roles and times dropped)."""
    return [m[3] for line in app_lines(server.streams()[0]) if (m := REDIS_LOG.match(line))]


def start_redis(peer: Peer, cmd: list[str]) -> Server:
    server = peer.start("redis-official", [REDIS], cmd)

    def ping() -> None:
        if redis_cli(server.port(REDIS), "PING") != "PONG":
            raise ConnectionError("no PONG yet")

    wait_ready(server, ping, peer.timeout)
    return server


def redis_ids() -> tuple[int, int]:
    """The redis user's uid and gid, as Debian's postinst chose them in the image."""
    passwd = image_file(fixture_layout("redis-official"), "etc/passwd")
    return redis_official.passwd_ids(passwd, "redis")


@pytest.fixture(scope="module")
def redis(peer: Peer) -> Server:
    return start_redis(peer, [])


def test_redis_serves_from_data_with_persistence_on(peer: Peer, redis: Server) -> None:
    """The image's CMD through the entrypoint: pid 1 (every step exec'ed), /data as its
    directory, AOF and `save 60 1` on; commands from the host. maxclients 10000: redis,
    already user redis, lifts its soft RLIMIT_NOFILE to 10032 under the hard limit (the
    guest's is systemd's 524288; the test dockerd's containers inherit the runner's)."""
    port = redis.port(REDIS)
    assert redis_cli(port, "SET", "greeting", "hello from the host") == "OK"
    assert redis_cli(port, "GET", "greeting") == "hello from the host"
    assert redis_cli(port, "CONFIG", "GET", "dir").splitlines() == ["dir", "/data"]
    assert redis_cli(port, "CONFIG", "GET", "save").splitlines() == ["save", "60 1"]
    assert redis_cli(port, "CONFIG", "GET", "appendonly").splitlines() == ["appendonly", "yes"]
    server_info = redis_info(port, "server")
    assert server_info["process_id"] == "1", server_info
    # redis makes argv[0] absolute against its cwd (a quirk of its own): /data + redis-server
    assert server_info["executable"] == "/data/redis-server", server_info
    assert redis_info(port, "persistence")["aof_enabled"] == "1"
    if peer.name == "dock2uni" or resource.getrlimit(resource.RLIMIT_NOFILE)[1] >= 10032:
        assert redis_cli(port, "CONFIG", "GET", "maxclients").splitlines() == [
            "maxclients",
            "10000",
        ]
        assert not [m for m in redis_messages(redis) if "maxclients" in m], redis.output()


def test_redis_logs_on_stdout(redis: Server) -> None:
    """redis logs to stdout (no logfile): start, AOF files created in /data, ready."""
    wait_for_line(redis, 0, r"Ready to accept connections")
    messages = redis_messages(redis)
    wanted = [
        "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        "Configuration loaded",
        "Server initialized",
        "Creating AOF base file appendonly.aof.1.base.rdb on server start",
        "Creating AOF incr file appendonly.aof.1.incr.aof on server start",
        "Ready to accept connections",
    ]
    assert [m for m in messages if m in wanted] == wanted, redis.output()
    assert any(re.match(r"Redis version=7\.\d+\.\d+, bits=64, .* pid=1, ", m) for m in messages)


def test_redis_save_and_bgsave_write_the_dump(redis: Server) -> None:
    """SAVE writes /data/dump.rdb in the server; BGSAVE forks a child that writes it (as
    redis, in the directory the entrypoint gave redis) and the parent reaps it."""
    port = redis.port(REDIS)
    assert redis_cli(port, "SET", "saved", "yes") == "OK"
    assert redis_cli(port, "SAVE") == "OK"
    assert redis_info(port, "persistence")["rdb_changes_since_last_save"] == "0"
    assert redis_cli(port, "SET", "saved", "again") == "OK"
    assert redis_cli(port, "BGSAVE") == "Background saving started"
    deadline = time.monotonic() + 60
    while (info := redis_info(port, "persistence"))["rdb_bgsave_in_progress"] != "0":
        assert time.monotonic() < deadline, info
        time.sleep(0.5)
    assert info["rdb_last_bgsave_status"] == "ok", info
    assert info["rdb_changes_since_last_save"] == "0", info
    wait_for_line(redis, 0, r"Background saving terminated with success")
    messages = redis_messages(redis)
    assert "DB saved on disk" in messages
    assert any(re.fullmatch(r"Background saving started by pid \d+", m) for m in messages)
    assert any(m.startswith("Fork CoW for RDB: ") for m in messages), messages


def test_redis_runs_as_redis_not_root(peer: Peer) -> None:
    """After gosu, redis-server is redis: root's 0600 config outside /data (which the
    entrypoint's chown leaves alone) cannot be opened, and redis exits 1 saying so."""
    conf = redis_official.ROOT_ONLY_CONF
    args = ["--network", "user"] if peer.name == "dock2uni" else []
    code, out, err = peer.run("redis-official", args, ["redis-server", conf])
    text = (out + err).decode(errors="replace")
    assert code == 1, text
    assert f"Fatal error, can't open config file '{conf}': Permission denied" in text


def test_redis_entrypoint_steps(peer: Peer) -> None:
    """The entrypoint's steps one by one: gosu's setgroups/setgid/setuid (redis's groups
    from /etc/group, as `id` shows them), the chown by `find . \\! -user redis -exec chown
    redis '{}' +` in WORKDIR /data (the user changes, the group stays root's), and the
    umask 0077 it sets before `exec "$@"`."""
    net = ["--network", "user"] if peer.name == "dock2uni" else []
    code, out, err = peer.run("redis-official", [*net, "--entrypoint", "gosu"], ["redis", "id"])
    uid, gid = redis_ids()
    assert (code, out.decode()) == (
        0,
        f"uid={uid}(redis) gid={gid}(redis) groups={gid}(redis)\n",
    ), err
    script = (
        "stat -c '%U:%G %a %n' redis.conf; "
        "docker-entrypoint.sh redis-server --version >/dev/null && "
        "stat -c '%U:%G %a %n' . redis.conf && docker-entrypoint.sh sh -c umask"
    )
    code, out, err = peer.run("redis-official", [*net, "--entrypoint", "sh"], ["-c", script])
    assert (code, out.decode().splitlines()) == (
        0,
        ["root:root 600 redis.conf", "redis:redis 755 .", "redis:root 600 redis.conf", "0077"],
    ), err


# Each script starts a daemonized redis-server through the entrypoint (chown, gosu), waits
# for it, talks to it with the image's redis-cli and shuts it down without a final save.
REDIS_UP = (
    "docker-entrypoint.sh redis-server --daemonize yes --save '' --appendonly no && "
    "i=0; until redis-cli ping >/dev/null 2>&1; do "
    "i=$((i+1)); [ $i -lt 600 ] || exit 3; sleep 0.1; done; "
)
REDIS_WRITE = REDIS_UP + "redis-cli set survivor 42 && redis-cli save && redis-cli shutdown nosave"
REDIS_READ = REDIS_UP + "redis-cli get survivor && redis-cli shutdown nosave"


def test_redis_dump_loads_in_a_new_server(peer: Peer) -> None:
    """SAVE's /data/dump.rdb is what the next redis-server loads (within one boot: a
    daemonized server, a fork that outlives its parent, then a second one)."""
    net = ["--network", "user"] if peer.name == "dock2uni" else []
    script = f"{REDIS_WRITE} && {REDIS_READ}"
    code, out, err = peer.run("redis-official", [*net, "--entrypoint", "sh"], ["-c", script])
    assert (code, out.decode().splitlines()) == (0, ["OK", "OK", "42"]), err


def test_redis_dump_survives_a_restart(peer: Peer, tmp_path: Path) -> None:
    """The same across two runs with a host directory as /data (`-v DIR:/data`): the
    dump is on the host after the first, owned by redis (the entrypoint's chown through
    the volume), and the second run loads it."""
    data = tmp_path / "data"
    data.mkdir()
    args = ["--network", "user"] if peer.name == "dock2uni" else []
    args += ["-v", f"{data}:/data", "--entrypoint", "sh"]
    code, out, err = peer.run("redis-official", args, ["-c", REDIS_WRITE])
    assert (code, out.decode().splitlines()) == (0, ["OK", "OK"]), err
    assert (data / "dump.rdb").stat().st_uid == redis_ids()[0]  # by redis, after the chown
    code, out, err = peer.run("redis-official", args, ["-c", REDIS_READ])
    assert (code, out.decode()) == (0, "42\n"), err


def test_redis_conf_argument_chowned_then_sigterm(peer: Peer) -> None:
    """`docker run IMAGE redis.conf`: the entrypoint prepends redis-server (a *.conf first
    argument), gives root's 0600 /data/redis.conf to redis, and redis reads it. SIGTERM:
    redis's own shutdown, a final snapshot, exit 0."""
    server = start_redis(peer, ["redis.conf"])
    port = server.port(REDIS)
    policy = redis_official.DATA_CONF_POLICY
    assert redis_cli(port, "CONFIG", "GET", "maxmemory-policy").splitlines()[1] == policy
    assert redis_cli(port, "CONFIG", "GET", "appendonly").splitlines() == ["appendonly", "no"]
    assert redis_info(port, "server")["config_file"] == "/data/redis.conf"
    assert redis_cli(port, "SET", "before-stop", "1") == "OK"
    assert server.stop(signal.SIGTERM, peer.timeout) == 0, server.output()
    messages = redis_messages(server)
    stopping = [
        "User requested shutdown...",
        "Saving the final RDB snapshot before exiting.",
        "DB saved on disk",
        "Redis is now ready to exit, bye bye...",
    ]
    assert [m for m in messages if m in stopping] == stopping, server.output()
    assert any(
        "Received SIGTERM scheduling shutdown" in line for line in server.streams()[0].splitlines()
    )


# ---------------------------------------------------------------- distroless-shaped

DISTROLESS = "8080/tcp"


def distroless_certs() -> int:
    """How many certificates the image's bundle holds (what Go's loader must find)."""
    bundle = read_layout_file(fixture_layout("distroless-shaped"), distroless.CA_BUNDLE)
    return bundle.count(b"-----BEGIN CERTIFICATE-----")


def test_distroless_server_as_nonroot_without_passwd(peer: Peer) -> None:
    """The pages, who the server is (65532 everywhere, HOME=/ as Docker sets it for a uid
    without a passwd entry, pid 1, WORKDIR), what the tree has, a file in /tmp owned by
    65532 and 0600 (Go's CreateTemp), one stdout line per request, and a clean stop."""
    server = peer.start("distroless-shaped", [DISTROLESS], [])
    port = server.port(DISTROLESS)
    wait_ready(server, lambda: http_get(port, "/"), peer.timeout)
    uid = distroless.NONROOT
    expected = {
        "/": distroless.HELLO,
        "/whoami": f"uid={uid} euid={uid} gid={uid} egid={uid} groups=[{uid}]\n"
        "home=/ cwd=/home/nonroot pid=1\n",
        "/tree": "/bin/sh no\n/etc/passwd no\n/etc/group no\n/etc/nsswitch.conf no\n"
        "/var/lib/dpkg/status no\n/etc/ssl/certs/ca-certificates.crt yes\n/tmp yes\n"
        f"certs {distroless_certs()}\n",
        "/scratch": f"owner={uid}:{uid} mode=-rw------- written by the nonroot user\n",
        "/echo?say=a&say=b": "a b\n",
    }
    logged = []
    for path, want in expected.items():
        status, headers, body = http_get(port, path)
        assert (path, status, body.decode()) == (path, 200, want)
        logged.append(f"GET {path} 200 {len(body)}")
    assert headers["content-type"] == "text/plain; charset=utf-8"
    status, _, body = http_get(port, "/nope")
    assert (status, body) == (404, b"404 page not found\n")
    wait_for_line(server, 0, r"^GET /nope 404 19$")
    assert server.stop(signal.SIGTERM, peer.timeout) == 0, server.output()
    out = app_lines(server.streams()[0])
    # wait_ready's answered GET / requests (at least one) come before the test's own
    gets = next(i for i, line in enumerate(out[1:]) if line != logged[0])
    assert gets >= 2, out
    assert out == [
        f"listening on :8080 as uid {uid}",
        *[logged[0]] * gets,
        *logged[1:],
        "GET /nope 404 19",
        "received terminated, shutting down",
        "stopped",
    ], server.output()
