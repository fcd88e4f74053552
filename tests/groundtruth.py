"""Ground truth for the audit: fixture images run natively under strace, against the static set.

For each fixture image a representative workload of its entrypoint runs chrooted in the
image's materialised root filesystem (``dock2uni.audit.trace``): a shell script using many
busybox applets, ``ls`` variants for coreutils (bookworm's and trixie's), a python script
touching files, sockets, threads, JSON, time and signals, nginx serving requests, redis
answering commands, a static Go program (files, an HTTP server and a request to it,
goroutines). The static set is ``dock2uni.analyse`` of the same image.
``python -m tests.groundtruth`` prints the table (recall, precision, static/observed
ratio, audit times).

Needs root, strace, unshare and the fixture images (fixtures/build.py).
"""

from __future__ import annotations

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
mkdir -p www && echo page > www/index.html
httpd -p 127.0.0.1:18089 -h www && wget -q -O - http://127.0.0.1:18089/index.html > /dev/null
killall httpd 2> /dev/null || true
echo data | nc -w 1 127.0.0.1 9 2> /dev/null || true
rm -rf /tmp/work ../w.tar.gz
echo done
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
sys.stdout.write("ok\n"); sys.stdout.flush()
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


Runner = Callable[[Path, RunSpec, Path], list[TraceRun]]


def _busybox(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    return [
        trace_program(
            root,
            ["sh", "-c", BUSYBOX_SCRIPT],
            program=spec.exec_path or "/bin/sh",
            env=spec.env,
            cwd="/",
            seconds=60,
            log_dir=tmp,
        )
    ]


def _coreutils(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    runs = []
    for argv in (
        ["ls", "-l", "/"],
        ["ls", "-laR", "/etc"],
        ["ls", "--color=always", "-i", "/"],
        ["ls", "-lh", "--time-style=full-iso", "/usr/bin"],
        ["ls", "/missing"],
    ):
        runs.append(
            trace_program(
                root,
                argv,
                program=spec.exec_path or "/bin/ls",
                env=spec.env,
                cwd="/",
                seconds=30,
                log_dir=tmp,
            )
        )
    return runs


def _python(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    return [
        trace_program(
            root,
            ["python3", "-c", PYTHON_SCRIPT],
            program=spec.exec_path or "/usr/bin/python3",
            env=spec.env,
            cwd="/",
            seconds=60,
            log_dir=tmp,
        )
    ]


def _nginx(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
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
        for path in ("/", "/index.html", "/missing"):
            _http_get(port, path)

    return [
        trace_program(
            root,
            list(spec.argv),
            program=spec.exec_path or "/usr/sbin/nginx",
            env=spec.env,
            cwd=spec.workdir,
            seconds=4,
            during=during,
            log_dir=tmp,
        )
    ]


def _redis_run(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    port = _free_port()
    argv = [*spec.argv, "--port", str(port), "--bind", "127.0.0.1"]

    def during() -> None:
        _wait_port(port)
        _redis(
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

    return [
        trace_program(
            root,
            argv,
            program=spec.exec_path or "/usr/bin/redis-server",
            env=spec.env,
            cwd=spec.workdir,
            seconds=4,
            during=during,
            log_dir=tmp,
        )
    ]


def _lighttpd(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """lighttpd with modules from its configuration (dlopen'ed: accesslog, status,
    dirlisting), five GETs, then stopped."""
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
        for path in ("/", "/index.html", "/missing", "/sub/", "/server-status"):
            _http_get(port, path)

    return [
        trace_program(
            root,
            ["lighttpd", "-D", "-f", "/etc/lighttpd/d2u.conf"],
            program=spec.exec_path or "/usr/sbin/lighttpd",
            env=spec.env,
            cwd=spec.workdir,
            seconds=4,
            during=during,
            log_dir=tmp,
        )
    ]


def _curl(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """curl against a small HTTP server of the host: GET, HEAD, POST, a redirect, file://."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/")
                self.end_headers()
                return
            body = b"<p>dock2uni</p>\n" * 100
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runs = []
    try:
        for argv in (
            list(spec.argv),
            ["curl", "-s", "-o", "/tmp/page", f"http://127.0.0.1:{port}/"],
            ["curl", "-sI", f"http://localhost:{port}/"],
            ["curl", "-s", "-L", "-w", "%{http_code}", f"http://127.0.0.1:{port}/redirect"],
            ["curl", "-s", "-d", "a=1", f"http://127.0.0.1:{port}/post"],
            ["curl", "-s", "file:///etc/passwd"],
            ["curl", "-s", "--max-time", "2", "http://127.0.0.1:1/"],
        ):
            runs.append(
                trace_program(
                    root,
                    argv,
                    program=spec.exec_path or "/usr/bin/curl",
                    env=spec.env,
                    cwd="/",
                    seconds=30,
                    log_dir=tmp,
                )
            )
    finally:
        server.shutdown()
        server.server_close()
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
"""


def _bash(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """bash, the debian image's Cmd: builtins, subshells, pipes, a coprocess, a trap, job
    control (-i), and nothing external (a child exec'ing another program is not bash)."""
    runs = []
    for argv in (
        ["bash", "-c", BASH_SCRIPT],
        ["bash", "-i", "-c", "echo interactive; set -m; (exit 0) & wait"],
        ["bash", "--version"],
    ):
        runs.append(
            trace_program(
                root,
                argv,
                program=spec.exec_path or "/usr/bin/bash",
                env=spec.env,
                cwd="/",
                seconds=30,
                log_dir=tmp,
            )
        )
    return runs


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
"""


def _sqlite(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """sqlite3: a transaction, an index, WAL mode and a checkpoint, vacuum, an attached
    in-memory database, .dump (its VFS is a table of function pointers)."""
    (root / "data").mkdir(exist_ok=True)
    (root / "data/script.sql").write_text(SQLITE_SCRIPT)
    runs = []
    for argv in (
        ["sqlite3", "/data/db.sqlite", ".read /data/script.sql"],
        list(spec.argv),
        ["sqlite3", "-readonly", "/data/db.sqlite", "select count(*) from t;"],
    ):
        runs.append(
            trace_program(
                root,
                argv,
                program=spec.exec_path or "/usr/bin/sqlite3",
                env=spec.env,
                cwd="/",
                seconds=30,
                log_dir=tmp,
            )
        )
    return runs


def _runs(
    root: Path, spec: RunSpec, tmp: Path, program: str, argvs: list[list[str]]
) -> list[TraceRun]:
    """One traced run per argv, each of the image's program, from /."""
    return [
        trace_program(
            root,
            argv,
            program=spec.exec_path or program,
            env=spec.env,
            cwd="/",
            seconds=30,
            log_dir=tmp,
        )
        for argv in argvs
    ]


def _rsync(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """rsync copying locally (it forks itself: no other program runs), then again with
    deletions, checksums, hard links and a dry run."""
    return _runs(
        root,
        spec,
        tmp,
        "/usr/bin/rsync",
        [
            list(spec.argv),
            ["rsync", "-aH", "--delete", "-c", "/etc/", "/tmp/etc-copy/"],
            ["rsync", "-an", "--stats", "/usr/share/doc/", "/tmp/doc-copy/"],
            ["rsync", "-r", "--inplace", "--sparse", "/usr/share/doc/rsync/", "/tmp/d2/"],
        ],
    )


def _jq(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """jq: arithmetic, a file, regexes (oniguruma), dates, paths, env, formats."""
    (root / "data").mkdir(exist_ok=True)
    (root / "data/in.json").write_text('{"a": [1, 2, 3], "s": "dock2uni", "t": 0}\n' * 20)
    return _runs(
        root,
        spec,
        tmp,
        "/usr/bin/jq",
        [
            list(spec.argv),
            ["jq", "-c", "[.a[] * 2] | add", "/data/in.json"],
            ["jq", "-r", '.s | test("d.ck") , (sub("uni"; "UNI")) , @base64', "/data/in.json"],
            ["jq", "-n", 'now | todate, (0 | strftime("%Y")), $ENV.PATH'],
            ["jq", "-S", "--tab", "paths, input_filename", "/data/in.json"],
            ["jq", ".", "/missing.json"],
        ],
    )


def _memcached(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """A libevent server: a few text-protocol commands, then stopped."""
    port = _free_port()
    argv = [*spec.argv, "-p", str(port)]

    def during() -> None:
        _wait_port(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for line in (
                b"set k 0 0 1\r\nv\r\n",
                b"get k\r\n",
                b"incr n 1\r\n",
                b"add n 0 0 1\r\n1\r\n",
                b"incr n 5\r\n",
                b"delete k\r\n",
                b"stats\r\n",
                b"flush_all\r\n",
            ):
                s.sendall(line)
                time.sleep(0.02)
                s.recv(65536)
            s.sendall(b"quit\r\n")

    return [
        trace_program(
            root,
            argv,
            program=spec.exec_path or "/usr/bin/memcached",
            env=spec.env,
            cwd=spec.workdir,
            seconds=4,
            during=during,
            log_dir=tmp,
        )
    ]


def _glib(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """A GLib main loop: gio monitor watching a directory while files change in it."""
    watch = root / "watch"
    watch.mkdir(exist_ok=True)

    def during() -> None:
        time.sleep(1.0)  # let the monitor start
        for i in range(3):
            f = watch / f"f{i}"
            f.write_text("x")
            time.sleep(0.1)
            f.rename(watch / f"g{i}")
            time.sleep(0.1)
            (watch / f"g{i}").unlink()
            time.sleep(0.1)

    return [
        trace_program(
            root,
            list(spec.argv),
            program=spec.exec_path or "/usr/bin/gio",
            env=spec.env,
            cwd=spec.workdir,
            seconds=4,
            during=during,
            log_dir=tmp,
        )
    ]


def _ripgrep(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """A Rust program: parallel directory walks, regex and fixed-string searches."""
    runs = []
    for argv in (
        list(spec.argv),
        ["rg", "-i", "-c", "--hidden", "debian", "/usr/share/doc"],
        ["rg", "--files", "/usr/lib/x86_64-linux-gnu"],
        ["rg", "-F", "-l", "-j", "4", "GNU", "/usr/share"],
        ["rg", "no-such-pattern-here", "/missing"],
    ):
        runs.append(
            trace_program(
                root,
                argv,
                program=spec.exec_path or "/usr/bin/rg",
                env=spec.env,
                cwd="/",
                seconds=30,
                log_dir=tmp,
            )
        )
    return runs


def _openssl(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """The openssl CLI: digests, keys, ciphers, and the legacy provider loaded with dlopen."""
    runs = []
    for argv in (
        list(spec.argv),
        ["openssl", "rand", "-hex", "16"],
        ["openssl", "dgst", "-sha256", "/etc/passwd"],
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", "/tmp/k.pem"],
        ["openssl", "pkey", "-in", "/tmp/k.pem", "-pubout"],
        ["openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-pass", "pass:x", "-in", "/etc/passwd",
         "-out", "/tmp/e"],
        ["openssl", "list", "-providers", "-provider", "legacy", "-provider", "default"],
        ["openssl", "dgst", "-md4", "-provider", "legacy", "-provider", "default", "/etc/passwd"],
    ):  # fmt: skip
        runs.append(
            trace_program(
                root,
                argv,
                program=spec.exec_path or "/usr/bin/openssl",
                env=spec.env,
                cwd="/",
                seconds=30,
                log_dir=tmp,
            )
        )
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
"""


def _perl(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """perl with its XS modules (POSIX, Socket, IO, Fcntl, List::Util, Cwd, File::Glob, re)."""
    runs = []
    for argv in (list(spec.argv), ["perl", "-e", PERL_SCRIPT]):
        runs.append(
            trace_program(
                root,
                argv,
                program=spec.exec_path or "/usr/bin/perl",
                env=spec.env,
                cwd="/",
                seconds=30,
                log_dir=tmp,
            )
        )
    return runs


NINJA_FILE = """rule touch
  command = touch $out
build a: phony
build b: phony a
build all: phony b
default all
"""


def _ninja(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    """A C++ program: a no-op build and the tools that read the graph and the logs."""
    (root / "src").mkdir(exist_ok=True)
    (root / "src/build.ninja").write_text(NINJA_FILE)
    runs = []
    for extra in (
        [],
        ["-n", "all"],
        ["-t", "targets", "all"],
        ["-t", "query", "all"],
        ["-t", "commands"],
        ["-t", "graph"],
        ["-t", "deps"],
        ["-t", "recompact"],
        ["-t", "clean"],
        ["missing-target"],
    ):
        runs.append(
            trace_program(
                root,
                [*spec.argv, *extra],
                program=spec.exec_path or "/usr/bin/ninja",
                env=spec.env,
                cwd="/",
                seconds=30,
                log_dir=tmp,
            )
        )
    return runs


def _go_hello(root: Path, spec: RunSpec, tmp: Path) -> list[TraceRun]:
    port = _free_port()
    return [
        trace_program(
            root,
            [*spec.argv, str(port)],
            program=spec.exec_path or "/usr/local/bin/go-hello",
            env=spec.env,
            cwd="/",
            seconds=30,
            log_dir=tmp,
        )
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
}


def ground_truth(name: str, cache_dir: Path) -> GroundTruth:
    """Analyse fixture ``name`` (cold, then warm) and trace its workload."""
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
        runs = WORKLOADS[name](root, spec, Path(tmp))
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
