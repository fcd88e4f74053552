"""Ground truth for the audit: fixture images run natively under strace, against the static set.

For each fixture image a representative workload of its entrypoint runs chrooted in the
image's materialised root filesystem (``dock2uni.audit.trace``): a shell script using many
busybox applets, ``ls`` variants for coreutils (bookworm's and trixie's), a python script
touching files, sockets, threads, JSON, time and signals, nginx serving requests, redis
answering commands, a static Go program (files, an HTTP server and a request to it,
goroutines), and for the wider corpus a libevent server (memcached), plugins loaded with
dlopen (lighttpd's modules, openssl's providers, perl's XS modules), libcurl, bash,
sqlite, rsync, jq, C++ (ninja), Rust (ripgrep), a GLib main loop (gio monitor) and the
glibc and library plugin conventions (NSS through getent, gconv through iconv, Cyrus SASL
mechanisms, PAM modules through pamtester). The
static set is ``dock2uni.analyse`` of the same image.
``python -m tests.groundtruth`` prints the table (recall, precision, static/observed
ratio, audit times).

A ground truth counts only if it ran whole: every traced run must exit with its expected
status, within its time limit, and print what it exists to print, ending with a last line
(the sentinel) that only a complete run reaches; otherwise ``IncompleteGroundTruth`` is
raised (a partial trace would make a missed syscall look predicted). The runs are isolated
by ``trace_program``: fresh PID and network namespaces, so ports are free by construction
and nothing the workload signals or binds reaches the host.

Needs root, strace, unshare and the fixture images (fixtures/build.py).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.analyse import analyse
from dock2uni.analyse.model import Analysis
from dock2uni.audit.materialise import materialise
from dock2uni.audit.trace import TraceRun, trace_program
from dock2uni.context import Context
from dock2uni.oci.sources import parse_source
from dock2uni.runspec import RunSpec, run_spec
from dock2uni.unpack import UnpackedImage, unpack

BUSYBOX_SCRIPT = r"""
set -e
cd /tmp
mkdir -p work/sub && cd work
echo hello > a.txt; printf '%s\n' one two three >> a.txt
cat a.txt | grep -n o | sed 's/o/0/g' | sort -r | uniq | wc -l > count.txt
awk '{n++} END {print n}' a.txt > /dev/null
cp a.txt b.txt; mv b.txt sub/c.txt; ln -s sub/c.txt link; readlink link > /dev/null
chmod 600 a.txt; touch -d '2020-01-01' a.txt; stat a.txt > /dev/null; ls -la . sub > /dev/null
find . -name '*.txt' -type f | xargs md5sum > sums; sha256sum a.txt > /dev/null
head -n 2 a.txt > /dev/null; tail -n 1 a.txt > /dev/null; cut -c1-3 a.txt | tr a-z A-Z > /dev/null
tar -cf ../w.tar . && gzip -f ../w.tar && gunzip -c ../w.tar.gz | tar -tf - > /dev/null
x=$(date +%s); y=$(expr $x + 1); test $y -gt $x
id > /dev/null; uname -a > /dev/null; env > /dev/null; hostname > /dev/null || true
seq 1 5 | while read i; do echo $i; done > /dev/null
du -s . > /dev/null; df / > /dev/null 2>&1 || true; ps > /dev/null 2>&1 || true
sleep 0.1 & wait
kill -0 $$ && trap 'echo trapped' USR1 && kill -USR1 $$
mkfifo fifo && (echo through > fifo &) && cat fifo > /dev/null
dd if=/dev/zero of=zero bs=1k count=4 2> /dev/null; od -x zero | head -n 1 > /dev/null
truncate -s 1M big; head -c 1000 big > part; cmp part big || true
diff a.txt sub/c.txt > /dev/null || true
basename /a/b; dirname /a/b; realpath . > /dev/null; mktemp > /dev/null
nproc > /dev/null; free > /dev/null; uptime > /dev/null; timeout 1 true
sync; chown 0:0 a.txt
mkdir -p /tmp/mnt && mount -t tmpfs none /tmp/mnt && umount /tmp/mnt || true
mkdir -p www && echo page-served > www/index.html
httpd -p 127.0.0.1:@PORT@ -h www
wget -q -O - http://127.0.0.1:@PORT@/index.html
killall httpd
echo data | nc -w 1 127.0.0.1 9 2> /dev/null || true
rm -rf /tmp/work ../w.tar.gz
echo D2U-GROUNDTRUTH-COMPLETE
"""

PYTHON_SCRIPT = r"""
import csv, datetime, hashlib, io, logging, os, pickle, random, select, signal, socket
import subprocess, sys, tempfile, threading, time
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
d = tempfile.mkdtemp()
p = os.path.join(d, "x.pickle")
with open(p, "wb") as f:
    pickle.dump({"a": list(range(10))}, f)
with open(p, "rb") as f:
    assert pickle.load(f)["a"][3] == 3
with open(os.path.join(d, "t.csv"), "w", newline="") as f:
    csv.writer(f).writerows([[1, 2], [3, 4]])
for entry in os.scandir(d):
    os.stat(entry.path)
list(os.walk(d)); os.rename(p, p + ".1"); os.chmod(p + ".1", 0o600)
for name in os.listdir(d):
    os.unlink(os.path.join(d, name))
os.rmdir(d)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.sendall(c.recv(100).upper()); c.close()
t = threading.Thread(target=serve); t.start()
cli = socket.create_connection(srv.getsockname()); cli.sendall(b"ping")
r, _, _ = select.select([cli], [], [], 5); assert cli.recv(100) == b"PING"
cli.close(); t.join(); srv.close()
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u.close()
a, b = socket.socketpair(); a.send(b"x"); b.recv(1); a.close(); b.close()
out = subprocess.run(["/bin/echo", "child"], capture_output=True, check=True).stdout
signal.signal(signal.SIGUSR1, lambda *a: None); os.kill(os.getpid(), signal.SIGUSR1)
hashlib.sha256(b"dock2uni").hexdigest(); hashlib.md5(b"x").digest()
ep = select.epoll(); r, w = os.pipe(); ep.register(r, select.EPOLLIN); os.write(w, b"x")
ep.poll(1); ep.close(); pl = select.poll(); pl.register(r, select.POLLIN); pl.poll(10)
os.dup2(r, 100); os.close(100); os.close(r); os.close(w)
tmp = tempfile.NamedTemporaryFile(delete=False); tmp.write(b"abc" * 1000); tmp.flush()
os.truncate(tmp.name, 10); os.utime(tmp.name); os.symlink(tmp.name, tmp.name + ".l")
os.readlink(tmp.name + ".l"); os.unlink(tmp.name + ".l")
with open(tmp.name, "rb") as src, socket.socketpair()[0] as sock:
    try:
        os.sendfile(sock.fileno(), src.fileno(), 0, 5)
    except OSError:
        pass
tmp.close(); os.unlink(tmp.name)
import pwd; pwd.getpwuid(0)
try:
    socket.getaddrinfo("localhost", 80)  # no /etc/hosts in the image: NSS still runs
except OSError:
    pass
signal.setitimer(signal.ITIMER_REAL, 0); time.perf_counter(); time.monotonic()
datetime.datetime.now().isoformat(); time.localtime(); time.sleep(0.01)
random.random(); os.urandom(8); os.getcwd(); os.getpid(); os.cpu_count()
logging.info("ok")
sys.stdout.write(out.decode() + "D2U-GROUNDTRUTH-COMPLETE\n"); sys.stdout.flush()
"""


@dataclass
class GroundTruth:
    """One fixture's traced and static sets."""

    name: str
    observed: set[str]
    static: set[str]
    cold_seconds: float
    warm_seconds: float
    runs: list[TraceRun] = field(default_factory=list)

    @property
    def missed(self) -> set[str]:
        return self.observed - self.static

    @property
    def recall(self) -> float:
        return 1 - len(self.missed) / len(self.observed) if self.observed else 0.0

    @property
    def precision(self) -> float:
        return len(self.observed & self.static) / len(self.static) if self.static else 0.0

    @property
    def ratio(self) -> float:
        return len(self.static) / len(self.observed) if self.observed else float("inf")


def load_image(name: str, ctx: Context) -> tuple[UnpackedImage, RunSpec]:
    """A fixture image acquired from its OCI layout and unpacked, with its run spec."""
    from fixtures.build import fixture_layout

    layout = fixture_layout(name)
    image = acquire(parse_source(f"oci:{layout}:latest"), AcquireOptions(), ctx)
    unpacked = unpack(image, ctx)
    return unpacked, run_spec(unpacked)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def _http_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _redis(port: int, *commands: list[str]) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out = b""
        for cmd in commands:
            wire = f"*{len(cmd)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in cmd)
            s.sendall(wire.encode())
            time.sleep(0.02)
            out += s.recv(65536)
    return out


SENTINEL = "D2U-GROUNDTRUTH-COMPLETE"


class IncompleteGroundTruth(AssertionError):
    """A traced workload did not run whole: its trace cannot be the ground truth."""


@dataclass(frozen=True)
class Expect:
    """What a complete run of one traced program shows."""

    exit_status: int = 0
    last_line: str = SENTINEL  # the last line of stdout contains this
    output: tuple[str, ...] = ()  # each appears in stdout or stderr


@dataclass(frozen=True)
class Options:
    """Knobs for the tests that prove an incomplete run is caught."""

    limit: float | None = None  # overrides every run's time limit (seconds)
    occupy_port: bool = False  # something else listens on the workload's port first


def check_complete(run: TraceRun, expect: Expect, what: str) -> None:
    """Raise ``IncompleteGroundTruth`` unless ``run`` shows everything ``expect`` asks."""
    problems = []
    if run.timed_out:
        problems.append("it was stopped at its time limit")
    if run.exit_status != expect.exit_status:
        problems.append(f"exit status {run.exit_status}, expected {expect.exit_status}")
    if run.during_error:
        problems.append(f"its client failed: {run.during_error.strip()}")
    lines = run.stdout.rstrip("\n").split("\n")
    if expect.last_line not in lines[-1]:
        problems.append(f"the last line of its output is {lines[-1][-120:]!r}, not the sentinel")
    problems += [
        f"{s!r} is not in its output" for s in expect.output if s not in run.stdout + run.stderr
    ]
    if problems:
        raise IncompleteGroundTruth(
            f"{what}: the traced run is incomplete: {'; '.join(problems)}\n"
            f"stderr tail: {run.stderr[-1500:]}\nstrace log tail:\n{run.log_tail}"
        )


def _traced(
    root: Path,
    argv: list[str],
    program: str,
    spec: RunSpec,
    tmp: Path,
    opts: Options,
    expect: Expect,
    *,
    seconds: float,
    cwd: str = "/",
    during: Callable[[], None] | None = None,
    stop_signal: int | None = None,
) -> TraceRun:
    """Trace one run and check that it is complete."""
    run = trace_program(
        root,
        argv,
        program=program,
        env=spec.env,
        cwd=cwd,
        seconds=opts.limit or seconds,
        during=during,
        stop_signal=stop_signal,
        log_dir=tmp,
    )
    check_complete(run, expect, " ".join(argv)[:80])
    return run


Runner = Callable[[Path, RunSpec, Path, Options], list[TraceRun]]


def _busybox(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    port = _free_port()  # free by construction in the fresh namespace; varied all the same
    script = BUSYBOX_SCRIPT.replace("@PORT@", str(port))
    if opts.occupy_port:  # a listener on the port before httpd's turn, in the namespace
        # (a subshell's job, so the script's own `wait` does not wait for it)
        script = f"(nc -l -p {port} > /dev/null 2>&1 &)\nsleep 0.3\n{script}"
    expect = Expect(output=("page-served",))
    program = spec.exec_path or "/bin/sh"
    return [_traced(root, ["sh", "-c", script], program, spec, tmp, opts, expect, seconds=60)]


def _coreutils(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    # ls's own output is the workload, so the sentinel is an entry that sorts last
    # (strcmp order: the images set no locale) in every listing.
    last = "zzzz-d2u-complete"
    for where in ("", "etc", "usr/bin"):
        (root / where / last).mkdir(parents=True, exist_ok=True)
    (root / "etc" / last / last).write_text("")  # -laR: the last listing ends with it
    program = spec.exec_path or "/bin/ls"
    plan = [
        (["ls", "-l", "/"], Expect(last_line=last, output=(" etc\n",))),
        (["ls", "-laR", "/etc"], Expect(last_line=last, output=(f"/etc/{last}:",))),
        (["ls", "--color=always", "-i", "/"], Expect(last_line=last)),
        (["ls", "-lh", "--time-style=full-iso", "/usr/bin"], Expect(last_line=last)),
        (["ls", "/missing"], Expect(exit_status=2, last_line="", output=("/missing",))),
    ]
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


def _python(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    program = spec.exec_path or "/usr/bin/python3"
    expect = Expect(output=("child\n",))
    argv = ["python3", "-c", PYTHON_SCRIPT]
    return [_traced(root, argv, program, spec, tmp, opts, expect, seconds=60)]


def _nginx(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    port = _free_port()
    conf = root / "etc/nginx/sites-enabled/default"
    if conf.exists() or conf.is_symlink():
        conf.unlink()
    (root / "etc/nginx/conf.d/d2u.conf").write_text(
        f"server {{ listen 127.0.0.1:{port}; root /var/www/html; }}\n"
    )
    (root / "var/www/html").mkdir(parents=True, exist_ok=True)
    (root / "var/www/html/index.html").write_text("<p>dock2uni</p>\n" * 50)

    def during() -> None:
        _wait_port(port)
        replies = [_http_get(port, path) for path in ("/", "/index.html", "/missing")]
        assert [r.split(b" ", 2)[1] for r in replies] == [b"200", b"200", b"404"], replies
        assert b"<p>dock2uni</p>" in replies[1]

    # nginx logs nothing to stdout: the complete run is a clean exit on SIGQUIT (graceful
    # shutdown) after every request was answered; the client raises otherwise.
    expect = Expect(last_line="")
    program = spec.exec_path or "/usr/sbin/nginx"
    return [
        _traced(
            root,
            list(spec.argv),
            program,
            spec,
            tmp,
            opts,
            expect,
            seconds=30,
            cwd=spec.workdir,
            during=during,
            stop_signal=signal.SIGQUIT,
        )
    ]


def _redis_run(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    port = _free_port()
    argv = [*spec.argv, "--port", str(port), "--bind", "127.0.0.1"]

    def during() -> None:
        _wait_port(port)
        out = _redis(
            port,
            ["PING"],
            ["SET", "k", "v"],
            ["GET", "k"],
            ["INCR", "n"],
            ["DEL", "k"],
            ["LPUSH", "l", "a", "b"],
            ["LRANGE", "l", "0", "-1"],
            ["EXPIRE", "l", "100"],
            ["MULTI"],
            ["INCR", "n"],
            ["EXEC"],
            ["EVAL", "return 1", "0"],
            ["CONFIG", "GET", "maxmemory"],
            ["CLIENT", "LIST"],
            ["INFO"],
            ["DBSIZE"],
            ["SAVE"],
            ["SHUTDOWN", "NOSAVE"],
        )
        assert out.startswith(b"+PONG\r\n+OK\r\n$1\r\nv\r\n:1\r\n") and b"-ERR" not in out, out

    # redis logs "Redis is now ready to exit, bye bye..." as the last step of SHUTDOWN.
    expect = Expect(last_line="bye bye")
    program = spec.exec_path or "/usr/bin/redis-server"
    return [
        _traced(
            root,
            argv,
            program,
            spec,
            tmp,
            opts,
            expect,
            seconds=30,
            cwd=spec.workdir,
            during=during,
        )
    ]


def _go_hello(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    port = _free_port()
    program = spec.exec_path or "/usr/local/bin/go-hello"
    expect = Expect(last_line="process: pid>0 true", output=("http: ", "workers: sum"))
    return [_traced(root, [*spec.argv, str(port)], program, spec, tmp, opts, expect, seconds=30)]


def _incomplete(run: TraceRun, what: str, problem: str) -> IncompleteGroundTruth:
    """The same failure as ``check_complete``'s, for a check that reads more than stdout."""
    return IncompleteGroundTruth(
        f"{what}: the traced run is incomplete: {problem}\n"
        f"stderr tail: {run.stderr[-1500:]}\nstrace log tail:\n{run.log_tail}"
    )


def _recv_until(s: socket.socket, end: bytes) -> bytes:
    """Everything the server sends until its reply ends with ``end``; raise if it hangs up."""
    data = b""
    while not data.endswith(end):
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed the connection after {data[-200:]!r}")
        data += chunk
    return data


def _lighttpd(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """lighttpd with modules from its configuration (dlopen'ed: accesslog, status,
    dirlisting), five GETs, then a clean stop."""
    port = _free_port()
    (root / "var/www/html").mkdir(parents=True, exist_ok=True)
    (root / "var/www/html/index.html").write_text("<p>dock2uni</p>\n" * 50)
    (root / "etc/lighttpd/d2u.conf").write_text(
        f'server.port = {port}\nserver.bind = "127.0.0.1"\n'
        'server.document-root = "/var/www/html"\nindex-file.names = ("index.html")\n'
        'server.modules = ("mod_access", "mod_alias", "mod_accesslog", "mod_status",'
        ' "mod_dirlisting")\nmimetype.assign = (".html" => "text/html")\n'
        'server.errorlog = "/tmp/lighttpd.log"\naccesslog.filename = "/tmp/access.log"\n'
        'status.status-url = "/server-status"\ndir-listing.activate = "enable"\n'
    )
    (root / "var/www/html/sub").mkdir(exist_ok=True)
    (root / "var/www/html/sub/a.txt").write_text("a\n")

    def during() -> None:
        _wait_port(port)
        paths = ("/", "/index.html", "/missing", "/sub/", "/server-status")
        replies = [_http_get(port, path) for path in paths]
        assert [r.split(b" ", 2)[1] for r in replies] == [b"200", b"200", b"404", b"200", b"200"]
        assert b"<p>dock2uni</p>" in replies[1] and b"a.txt" in replies[3], replies
        assert b"Server-Status" in replies[4] or b"server-status" in replies[4], replies[4]

    # lighttpd logs to its errorlog, not stdout: the complete run is every reply checked by
    # the client, a clean exit on SIGTERM and the log's last words.
    argv = ["lighttpd", "-D", "-f", "/etc/lighttpd/d2u.conf"]
    program = spec.exec_path or "/usr/sbin/lighttpd"
    run = _traced(
        root,
        argv,
        program,
        spec,
        tmp,
        opts,
        Expect(last_line=""),
        seconds=30,
        cwd=spec.workdir,
        during=during,
        stop_signal=signal.SIGTERM,
    )
    log = root / "tmp/lighttpd.log"
    if "server stopped" not in (log.read_text(errors="replace") if log.exists() else ""):
        raise _incomplete(run, "lighttpd", "its error log does not say 'server stopped'")
    return [run]


def _read_request(conn: socket.socket) -> tuple[str, str, bytes]:
    """One HTTP request: method, path, body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise AssertionError(f"the client hung up mid-request: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    while len(body) < length:
        body += conn.recv(65536)
    method, path, _ = lines[0].split(" ", 2)
    return method, path, body


def _open_gate(fifo: Path, seconds: float = 20.0) -> None:
    """Let the program past its ``-K fifo``: open the FIFO it waits on, write nothing, close."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until a reader waits
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    os.close(fd)


def _curl(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """curl against a small HTTP server in its namespace: GET, HEAD, POST, a redirect, file://.

    The server is the ``during`` client, which can only listen once the program's network
    namespace exists, so each networked run starts with ``-K`` on a FIFO (an empty config
    file): curl waits in ``open`` until the server listens and opens the FIFO's other end.
    """
    port = _free_port()
    gate = root / "tmp/d2u-gate"
    os.mkfifo(gate)
    page = b"<p>dock2uni</p>\n" * 100
    wout = "%{http_code} %{size_download} " + SENTINEL + "\n"
    url = f"http://127.0.0.1:{port}"

    def server(want: list[tuple[str, str, bytes]]) -> Callable[[], None]:
        def during() -> None:
            with socket.socket() as srv:
                srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                srv.bind(("127.0.0.1", port))
                srv.listen(4)
                srv.settimeout(20)
                _open_gate(gate)
                seen = []
                for _ in want:
                    conn, _addr = srv.accept()
                    conn.settimeout(20)  # a client stuck mid-request fails the run, not hangs
                    with conn:
                        method, path, body = _read_request(conn)
                        seen.append((method, path, body))
                        if path == "/redirect":
                            conn.sendall(b"HTTP/1.0 302 Found\r\nLocation: /\r\n\r\n")
                        else:
                            head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(page)}\r\n\r\n"
                            conn.sendall(head.encode() + (b"" if method == "HEAD" else page))
            assert seen == want, seen

        return during

    get = ("GET", "/", b"")
    plan: list[tuple[list[str], Expect, list[tuple[str, str, bytes]] | None]] = [
        (list(spec.argv), Expect(last_line="Features:", output=("Protocols:",)), None),
        (["-s", "-o", "/tmp/page", "-w", wout, f"{url}/"], Expect(output=("200 1600",)), [get]),
        (
            ["-sI", "-w", wout, f"http://localhost:{port}/"],
            Expect(output=("HTTP/1.0 200", "200 0")),
            [("HEAD", "/", b"")],
        ),
        (
            ["-s", "-L", "-o", "/dev/null", "-w", wout, f"{url}/redirect"],
            Expect(output=("200 1600",)),
            [("GET", "/redirect", b""), get],
        ),
        (
            ["-s", "-d", "a=1", "-w", wout, f"{url}/post"],
            Expect(output=("200 1600",)),
            [("POST", "/post", b"a=1")],
        ),
        (["curl", "-s", "-w", wout, "file:///etc/passwd"], Expect(output=("root:x:0:0",)), None),
        (
            ["curl", "-s", "--max-time", "2", "-w", wout, "http://127.0.0.1:1/"],
            Expect(exit_status=7, last_line="000 0 " + SENTINEL),  # connection refused
            None,
        ),
    ]
    program = spec.exec_path or "/usr/bin/curl"
    runs = []
    for args, expect, want in plan:
        argv = ["curl", "-K", "/tmp/d2u-gate", *args] if want else args
        during = server(want) if want else None
        runs.append(
            _traced(root, argv, program, spec, tmp, opts, expect, seconds=30, during=during)
        )
    return runs


BASH_SCRIPT = r"""
f() { local x=$1; echo "f $x"; }
for i in 1 2 3; do f "$i"; done
x=$(echo sub); echo "$x"
( exit 3 ); echo "status $?"
read -r line < /etc/passwd; echo "${line%%:*}"
echo data > /tmp/b.txt; mapfile -t arr < /tmp/b.txt; echo "${#arr[@]}"
{ echo a; echo b; } | while read -r l; do echo "got $l"; done
coproc { read -r q; echo "co $q"; }; echo ping >&"${COPROC[1]}"; read -r r <&"${COPROC[0]}"
echo "$r"; wait
trap 'echo trapped' USR1; kill -USR1 $$
cd /etc && pwd; cd /; ulimit -n; umask 022; type cd; hash -r
echo $(( 6 * 7 )); printf '%05d\n' 42; echo /etc/*.conf
echo D2U-GROUNDTRUTH-COMPLETE
"""


def _bash(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """bash, the debian image's Cmd: builtins, subshells, pipes, a coprocess, a trap, job
    control (-i), and nothing external (a child exec'ing another program is not bash)."""
    job = f"echo interactive; set -m; (exit 0) & wait; echo {SENTINEL}"
    plan = [
        (
            ["bash", "-c", BASH_SCRIPT],
            Expect(output=("f 3\n", "status 3\n", "got b\n", "co ping\n", "trapped\n", "00042")),
        ),
        (["bash", "-i", "-c", job], Expect(output=("interactive\n",))),
        (["bash", "--version"], Expect(last_line="NO WARRANTY", output=("GNU bash",))),
    ]
    program = spec.exec_path or "/usr/bin/bash"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


SQLITE_SCRIPT = """
create table t(id integer primary key, name text, n real);
begin; insert into t(name, n) values ('a', 1.5), ('b', 2.5), ('c', 3.5); commit;
create index t_name on t(name);
select name, sum(n) from t group by name order by name;
pragma journal_mode=wal;
insert into t(name, n) select name || 'x', n * 2 from t;
pragma wal_checkpoint(truncate);
pragma journal_mode=delete;
vacuum;
attach database ':memory:' as m; create table m.u as select * from t; select count(*) from m.u;
.dump t
.print D2U-GROUNDTRUTH-COMPLETE
"""


def _sqlite(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """sqlite3: a transaction, an index, WAL mode and a checkpoint, vacuum, an attached
    in-memory database, .dump (its VFS is a table of function pointers)."""
    (root / "data").mkdir(exist_ok=True)
    (root / "data/script.sql").write_text(SQLITE_SCRIPT)
    done = f"select '{SENTINEL}';"
    db = "/data/db.sqlite"
    plan = [
        (
            ["sqlite3", "-bail", db, ".read /data/script.sql"],
            Expect(output=("a|1.5\n", "wal\n", "delete\n", "6\n", "INSERT INTO t VALUES(6")),
        ),
        # the image's Cmd (select sqlite_version()), then the sentinel
        ([*spec.argv[:-1], f"{spec.argv[-1]} {done}"], Expect(output=("3.",))),
        (["sqlite3", "-readonly", db, f"select count(*) from t; {done}"], Expect(output=("6\n",))),
    ]
    program = spec.exec_path or "/usr/bin/sqlite3"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


def _rsync(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """rsync copying locally (it forks itself: no other program runs), then again with
    deletions, checksums, hard links and a dry run. ``--stats`` ends each run with the
    totals, which the client side prints once the receiver has reported back."""
    expect = Expect(last_line="speedup is", output=("Number of files:",))
    plan = [
        [*spec.argv, "--stats"],
        ["rsync", "-aH", "--delete", "-c", "--stats", "/etc/", "/tmp/etc-copy/"],
        ["rsync", "-an", "--stats", "/usr/share/doc/", "/tmp/doc-copy/"],
        ["rsync", "-r", "--inplace", "--sparse", "--stats", "/usr/share/doc/rsync/", "/tmp/d2/"],
    ]
    program = spec.exec_path or "/usr/bin/rsync"
    return [_traced(root, argv, program, spec, tmp, opts, expect, seconds=60) for argv in plan]


def _jq(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """jq: arithmetic, a file, regexes (oniguruma), dates, paths, env, formats. Each filter
    ends by printing the sentinel, after every input was read."""
    (root / "data").mkdir(exist_ok=True)
    (root / "data/in.json").write_text('{"a": [1, 2, 3], "s": "dock2uni", "t": 0}\n' * 20)
    done = f', "{SENTINEL}"'
    regex = '.s | test("d.ck"), sub("uni"; "UNI"), @base64'
    plan = [
        ([*spec.argv[:-1], spec.argv[-1] + done], Expect(output=("2\n",))),  # the image's Cmd
        (
            ["jq", "-n", "-c", "[inputs | [.a[] * 2] | add] | length, add" + done, "/data/in.json"],
            Expect(output=("20\n240\n",)),
        ),
        (
            ["jq", "-n", "-r", f"[inputs | {regex}] | length, .[-1]" + done, "/data/in.json"],
            Expect(output=("60\nZG9jazJ1bmk=\n",)),
        ),
        (
            ["jq", "-n", 'now | todate, (0 | strftime("%Y")), $ENV.PATH' + done],
            Expect(output=('"1970"',)),
        ),
        (
            ["jq", "-n", "-S", "--tab", "[inputs] | length, (.[0] | paths), input_filename" + done,
             "/data/in.json"],
            Expect(output=("20\n", '"/data/in.json"')),
        ),
        (["jq", ".", "/missing.json"], Expect(exit_status=2, last_line="", output=("/missing",))),
    ]  # fmt: skip
    program = spec.exec_path or "/usr/bin/jq"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


def _memcached(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """A libevent server: a few text-protocol commands, each reply checked, then a clean stop."""
    port = _free_port()
    argv = [*spec.argv, "-p", str(port), "-v"]  # -v: it says when it exits normally

    def during() -> None:
        _wait_port(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for line, reply in (
                (b"set k 0 0 1\r\nv\r\n", b"STORED\r\n"),
                (b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n"),
                (b"incr n 1\r\n", b"NOT_FOUND\r\n"),
                (b"add n 0 0 1\r\n1\r\n", b"STORED\r\n"),
                (b"incr n 5\r\n", b"6\r\n"),
                (b"delete k\r\n", b"DELETED\r\n"),
                (b"stats\r\n", b"END\r\n"),
                (b"flush_all\r\n", b"OK\r\n"),
            ):
                s.sendall(line)
                got = _recv_until(s, reply)
                assert got == reply or got.startswith(b"STAT pid "), (line, got)
            s.sendall(b"quit\r\n")
            assert s.recv(100) == b"", "memcached did not close the connection on quit"

    # memcached prints nothing on stdout: the complete run is every reply checked by the
    # client, then on SIGTERM its main loop ends, says so on stderr and exits 0.
    expect = Expect(last_line="", output=("Exiting normally",))
    program = spec.exec_path or "/usr/bin/memcached"
    return [
        _traced(
            root,
            argv,
            program,
            spec,
            tmp,
            opts,
            expect,
            seconds=30,
            cwd=spec.workdir,
            during=during,
            stop_signal=signal.SIGTERM,
        )
    ]


def _glib(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """A GLib main loop: gio monitor watching a directory while files change in it.

    gio monitor runs until a signal kills it (it handles none: SIGTERM, SIGINT and SIGQUIT
    all end it with 128 + the signal), so a complete run is every event printed, as the
    client reads them back from its stdout, then the exit status of its stop signal.
    """
    watch = root / "watch"
    watch.mkdir(exist_ok=True)
    out = tmp / "stdout"  # where trace_program sends the program's stdout

    def printed(line: str) -> None:
        deadline = time.monotonic() + 10
        while line not in out.read_text(errors="replace"):
            assert time.monotonic() < deadline, f"gio monitor did not print {line!r}"
            time.sleep(0.05)

    def during() -> None:
        # the monitor watches once it has said so for a first file: create until it does
        deadline = time.monotonic() + 10
        while "/watch/ready: created" not in out.read_text(errors="replace"):
            assert time.monotonic() < deadline, "gio monitor never reported a created file"
            (watch / "ready").write_text("x")
            time.sleep(0.2)
            (watch / "ready").unlink()
        for i in range(3):
            f = watch / f"f{i}"
            f.write_text("x")
            printed(f"/watch/f{i}: created")
            f.rename(watch / f"g{i}")
            printed(f"/watch/g{i}")  # "renamed to /watch/g{i}" (moves are watched)
            (watch / f"g{i}").unlink()
            printed(f"/watch/g{i}: deleted")

    expect = Expect(exit_status=128 + signal.SIGTERM, last_line="/watch/g2: deleted")
    program = spec.exec_path or "/usr/bin/gio"
    return [
        _traced(
            root,
            list(spec.argv),
            program,
            spec,
            tmp,
            opts,
            expect,
            seconds=60,
            cwd=spec.workdir,
            during=during,
            stop_signal=signal.SIGTERM,
        )
    ]


def _ripgrep(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """A Rust program: parallel directory walks, regex and fixed-string searches. ``--stats``
    ends a search with its totals (the time it took last), printed after every thread is
    done; the file listing is sorted, so it ends with a sentinel entry that sorts last."""
    last = "zzzz-d2u-complete"
    (root / "usr/lib/x86_64-linux-gnu" / last).write_text("")
    stats = Expect(last_line=" seconds", output=("files searched",))
    plan = [
        ([*spec.argv, "--stats"], Expect(last_line=" seconds", output=("/etc/passwd:1:root",))),
        (["rg", "-i", "-c", "--hidden", "--stats", "debian", "/usr/share/doc"], stats),
        (["rg", "--files", "--sort", "path", "/usr/lib/x86_64-linux-gnu"], Expect(last_line=last)),
        (["rg", "-F", "-l", "-j", "4", "--stats", "GNU", "/usr/share"], stats),
        (
            ["rg", "no-such-pattern-here", "/missing"],
            Expect(exit_status=2, last_line="", output=("/missing: No such file",)),
        ),
    ]
    program = spec.exec_path or "/usr/bin/rg"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=60) for argv, expect in plan
    ]


def _openssl(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """The openssl CLI: digests, keys, ciphers, and the legacy provider loaded with dlopen.

    Each run ends with output only its end prints (a digest line, a PEM footer, the last
    provider's status); the random bytes are checked by their shape, the new key (written
    to a file: that is where genpkey sets the file's mode) by its PEM footer, and the
    encryption, which writes only its file, by decrypting that file back to the
    plaintext's last line.
    """
    passwd = (root / "etc/passwd").read_text().rstrip("\n").split("\n")[-1]
    cipher = ["-aes-256-cbc", "-pbkdf2", "-pass", "pass:x"]
    legacy = ["-provider", "legacy", "-provider", "default"]
    key = "/tmp/k.pem"
    plan = [
        (list(spec.argv), Expect(last_line="CPUINFO:", output=("OpenSSL 3",))),
        (["openssl", "rand", "-hex", "16"], Expect(last_line="")),  # shape checked below
        (["openssl", "dgst", "-sha256", "/etc/passwd"], Expect(last_line="(/etc/passwd)= ")),
        (["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], Expect(last_line="")),
        (["openssl", "pkey", "-in", key, "-pubout"], Expect(last_line="END PUBLIC KEY")),
        (["openssl", "enc", *cipher, "-in", "/etc/passwd", "-out", "/tmp/e"], Expect(last_line="")),
        (["openssl", "enc", "-d", *cipher, "-in", "/tmp/e"], Expect(last_line=passwd)),
        (
            ["openssl", "list", "-providers", *legacy],
            Expect(last_line="status: active", output=("OpenSSL Legacy Provider",)),
        ),
        (["openssl", "dgst", "-md4", *legacy, "/etc/passwd"], Expect(last_line="MD4(/etc/")),
    ]  # fmt: skip
    program = spec.exec_path or "/usr/bin/openssl"
    runs = []
    for argv, expect in plan:
        run = _traced(root, argv, program, spec, tmp, opts, expect, seconds=30)
        if argv[1] == "rand" and not re.fullmatch(r"[0-9a-f]{32}\n", run.stdout):
            raise _incomplete(run, "openssl rand", f"it printed {run.stdout!r}, not 16 hex bytes")
        written = root / key.lstrip("/")
        if argv[1] == "genpkey" and not written.read_text().endswith("END PRIVATE KEY-----\n"):
            raise _incomplete(run, "openssl genpkey", f"{key} does not end with a PEM footer")
        runs.append(run)
    return runs


PERL_SCRIPT = r"""
use strict; use warnings;
use POSIX qw(floor strftime uname); use Socket; use IO::Handle; use Fcntl qw(:flock);
use List::Util qw(sum max); use Cwd qw(getcwd); use File::Glob qw(bsd_glob);
my @u = uname(); print strftime("%Y", gmtime(0)), " $u[0] ", floor(2.5), "\n";
print sum(1..10), " ", max(3, 7), " ", getcwd(), " ", scalar(bsd_glob("/etc/*")), "\n";
open(my $fh, ">", "/tmp/perl.txt") or die; flock($fh, LOCK_EX); print $fh "x" x 100;
close($fh); unlink("/tmp/perl.txt");
socket(my $s, PF_INET, SOCK_STREAM, 0) or die; setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
bind($s, sockaddr_in(0, inet_aton("127.0.0.1"))) or die; listen($s, 1); close($s);
my %h = map { $_ => 1 } 1..1000; "abc" =~ /(?<x>b)/ and print "$+{x}\n";
local $SIG{ALRM} = sub { print "alarm\n" }; alarm(1); select(undef, undef, undef, 1.2);
print "D2U-GROUNDTRUTH-COMPLETE\n";
"""


def _perl(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """perl with its XS modules (POSIX, Socket, IO, Fcntl, List::Util, Cwd, File::Glob, re)."""
    plan = [
        (list(spec.argv), Expect(last_line="hello")),  # the image's Cmd prints just that
        (["perl", "-e", PERL_SCRIPT], Expect(output=("1970 Linux 2\n", "55 7 / ", "alarm\n"))),
    ]
    program = spec.exec_path or "/usr/bin/perl"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


NINJA_FILE = """rule touch
  command = touch $out
build a: phony
build b: phony a
build all: phony b
build out: touch
default all
"""


def _ninja(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """A C++ program: a no-op build and the tools that read the graph and the logs. ``out``
    is never built (its command would run /bin/sh): it gives ``-t commands`` a line to print.
    Every run ends with a line the tool prints last."""
    (root / "src").mkdir(exist_ok=True)
    (root / "src/build.ninja").write_text(NINJA_FILE)
    plan = [
        ([], Expect(last_line="ninja: no work to do.")),
        (["-n", "all"], Expect(last_line="ninja: no work to do.")),
        (["-t", "targets", "all"], Expect(last_line="out: touch", output=("all: phony",))),
        (["-t", "query", "all"], Expect(last_line="outputs:", output=("input: phony",))),
        (["-t", "commands", "out"], Expect(last_line="touch out")),
        (["-t", "graph"], Expect(last_line="}", output=("digraph ninja",))),
        (["-t", "deps", "all"], Expect(last_line="all: deps not found")),
        (["-t", "clean"], Expect(last_line="Cleaning... 0 files.")),
        (
            ["missing-target"],
            Expect(exit_status=1, last_line="Entering directory", output=("unknown target",)),
        ),
    ]
    program = spec.exec_path or "/usr/bin/ninja"
    return [
        _traced(root, [*spec.argv, *extra], program, spec, tmp, opts, expect, seconds=30)
        for extra, expect in plan
    ]


def _getent(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """NSS: glibc loads the modules nsswitch.conf names (files, dns) with dlopen behind
    getpwnam, getgrnam, getspnam, getgrouplist and getaddrinfo. /etc/hosts and resolv.conf
    as Docker writes them; the DNS lookup of a name not in hosts fails fast (the namespace
    has no network), after libnss_dns has made its queries."""
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
    (root / "etc/resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    plan = [
        (list(spec.argv), Expect(last_line="root:x:0:0:root")),  # the image's Cmd
        (["getent", "group", "root"], Expect(last_line="root:x:0:")),
        (["getent", "hosts", "localhost"], Expect(last_line="localhost")),
        (["getent", "ahosts", "127.0.0.1"], Expect(last_line="127.0.0.1")),
        (["getent", "shadow", "root"], Expect(last_line="root:")),
        (["getent", "initgroups", "root"], Expect(last_line="root")),
        (["getent", "passwd", "nosuch"], Expect(exit_status=2, last_line="")),
        (["getent", "hosts", "d2u.invalid"], Expect(exit_status=2, last_line="")),
    ]
    program = spec.exec_path or "/usr/bin/getent"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


def _iconv(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """gconv: glibc reads gconv-modules (and its cache) and loads each converter with
    dlopen; UTF-16, EBCDIC, transliteration, a character set without the input's letters,
    an illegal sequence (exit 1) and -c, which skips it."""
    (root / "etc/hostname").write_text("d2u-host\n")
    (root / "data").mkdir(exist_ok=True)
    (root / "data/utf8.txt").write_text("h\u00e9llo w\u00f6rld\n")
    (root / "data/ascii.txt").write_text("abc\n")
    (root / "data/bad.txt").write_bytes(b"ok \xff\xfe bad\n")
    plan = [
        (list(spec.argv), Expect(last_line="d2u-host")),  # the image's Cmd
        (["iconv", "-f", "UTF-8", "-t", "UTF-16LE", "-o", "/data/u16", "/data/utf8.txt"],
         Expect(last_line="")),
        (["iconv", "-f", "UTF-16LE", "-t", "UTF-8", "/data/u16"], Expect(last_line="w\u00f6rld")),
        (["iconv", "-f", "UTF-8", "-t", "EBCDIC-US", "-o", "/data/ebcdic", "/data/ascii.txt"],
         Expect(last_line="")),
        (["iconv", "-f", "UTF-8", "-t", "ASCII//TRANSLIT", "/data/utf8.txt"],
         Expect(last_line="h?llo w?rld")),  # the C locale: "?" for what has no ASCII form
        (["iconv", "-l"], Expect(last_line="YU//")),
        (["iconv", "-f", "UTF-8", "-t", "SJIS", "/data/utf8.txt"],
         Expect(exit_status=1, last_line="", output=("illegal input sequence at position 1",))),
        (["iconv", "-f", "UTF-8", "-t", "ASCII", "/data/bad.txt"],
         Expect(exit_status=1, last_line="", output=("illegal input sequence at position 3",))),
        (["iconv", "-c", "-f", "UTF-8", "-t", "ASCII", "/data/bad.txt"],
         Expect(last_line="ok  bad")),
        (["iconv", "-f", "UTF-8", "-t", "ASCII", "/data/missing"],
         Expect(exit_status=1, last_line="", output=("cannot open input file",))),
        (["iconv", "-f", "NO-SUCH-CHARSET", "-t", "ASCII", "/data/ascii.txt"],
         Expect(exit_status=1, last_line="", output=("failed to start conversion",))),
        (["iconv", "--help"], Expect(last_line="", output=("Usage: iconv",))),
    ]  # fmt: skip
    program = spec.exec_path or "/usr/bin/iconv"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


def _sasl(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """Cyrus SASL: saslpluginviewer loads every mechanism and auxprop plugin of
    /usr/lib/x86_64-linux-gnu/sasl2 with dlopen and lists what each offers, server and
    client side, then for chosen mechanisms only."""
    plan = [
        (list(spec.argv), Expect(last_line="", output=('Plugin "scram" [loaded]', "sasldb"))),
        (["saslpluginviewer", "-c"], Expect(last_line="", output=("SCRAM-SHA-256", "PLAIN"))),
        (["saslpluginviewer", "-s", "-m", "PLAIN"], Expect(last_line="", output=("PLAIN",))),
        (["saslpluginviewer", "-a"], Expect(last_line="", output=("sasldb",))),
    ]
    program = spec.exec_path or "/usr/sbin/saslpluginviewer"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


def _pamtester(root: Path, spec: RunSpec, tmp: Path, opts: Options) -> list[TraceRun]:
    """PAM: libpam reads /etc/pam.d and loads the modules it names (pam_unix, pam_deny,
    pam_permit, pam_env, pam_limits...) with dlopen: account management, a session opened
    and closed, credentials, and an authentication that fails (no password on stdin)."""
    plan = [
        (list(spec.argv), Expect(last_line="account management done")),  # the image's Cmd
        (["pamtester", "other", "nobody", "acct_mgmt"],
         Expect(last_line="account management done")),
        (["pamtester", "common-session", "root", "open_session", "close_session"],
         Expect(last_line="session has successfully been closed")),
        (["pamtester", "-I", "rhost=localhost", "other", "root", "setcred"],
         Expect(last_line="credential info has successfully been set")),
        (["pamtester", "other", "root", "authenticate"],
         Expect(exit_status=1, last_line="", output=("Authentication failure",))),
    ]  # fmt: skip
    program = spec.exec_path or "/usr/bin/pamtester"
    return [
        _traced(root, argv, program, spec, tmp, opts, expect, seconds=30) for argv, expect in plan
    ]


WORKLOADS: dict[str, Runner] = {
    "busybox": _busybox,
    "coreutils": _coreutils,
    "coreutils-trixie": _coreutils,  # glibc 2.41: cancellable syscalls via __syscall_cancel
    "python": _python,
    "nginx": _nginx,
    "redis": _redis_run,
    "go-hello": _go_hello,  # static Go: files, HTTP server + client, goroutines
    "lighttpd": _lighttpd,  # modules named by server.modules, loaded with dlopen
    "curl": _curl,  # libcurl: handler tables, connection filters, NSS
    "debian": _bash,  # bash, the image's Cmd: job control, subshells, a coprocess, traps
    "sqlite": _sqlite,  # the VFS: sqlite3_vfs and sqlite3_io_methods tables
    "rsync": _rsync,  # forks itself for a local transfer
    "jq": _jq,  # builtins through a table of function pointers, oniguruma
    "memcached": _memcached,  # libevent: epoll chosen through its eventop table
    "ninja": _ninja,  # C++: virtual interfaces, a table of tool functions
    "ripgrep": _ripgrep,  # Rust: trait objects, a thread pool
    "openssl": _openssl,  # providers (legacy.so) loaded with dlopen
    "perl": _perl,  # XS modules: plugins of /usr/bin/perl loaded with dlopen
    "glib": _glib,  # a GLib main loop: gio monitor (inotify through GIO's extension point)
    "getent": _getent,  # NSS modules named by nsswitch.conf, loaded with dlopen
    "iconv": _iconv,  # gconv converters named by gconv-modules, loaded with dlopen
    "sasl": _sasl,  # Cyrus SASL mechanism and auxprop plugins loaded with dlopen
    "pamtester": _pamtester,  # PAM modules named by /etc/pam.d, loaded with dlopen
}


def ground_truth(name: str, cache_dir: Path, opts: Options = Options()) -> GroundTruth:
    """Analyse fixture ``name`` (cold, then warm) and trace its workload, checked complete."""
    ctx = Context(cache_dir=cache_dir, quiet=True)
    unpacked, spec = load_image(name, ctx)
    t0 = time.monotonic()
    analysis: Analysis = analyse(unpacked, spec, ctx)
    cold = time.monotonic() - t0
    t0 = time.monotonic()
    analyse(unpacked, spec, ctx)
    warm = time.monotonic() - t0
    with tempfile.TemporaryDirectory(prefix=f"d2u-gt-{name}-") as tmp:
        root = materialise(unpacked.tree, unpacked.store, Path(tmp) / "root")
        runs = WORKLOADS[name](root, spec, Path(tmp), opts)
    observed: set[str] = set()
    for run in runs:
        observed |= set(run.counts)
    return GroundTruth(
        name=name,
        observed=observed,
        static=set(analysis.syscall_names()),
        cold_seconds=cold,
        warm_seconds=warm,
        runs=runs,
    )


def main() -> None:
    names = sys.argv[1:] or list(WORKLOADS)
    print("| image | observed | static | recall | precision | static/observed | cold s | warm s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        with tempfile.TemporaryDirectory(prefix="d2u-gt-cache-") as cache:
            gt = ground_truth(name, Path(cache))
        print(
            f"| {name} | {len(gt.observed)} | {len(gt.static)} | {gt.recall:.0%} | "
            f"{gt.precision:.0%} | {gt.ratio:.2f} | {gt.cold_seconds:.1f} | "
            f"{gt.warm_seconds:.2f} |"
        )
        if gt.missed:
            print(f"  MISSED by the static analysis: {sorted(gt.missed)}", file=sys.stderr)


if __name__ == "__main__":
    main()
