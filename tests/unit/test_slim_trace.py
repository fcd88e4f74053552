"""convert --slim without booting: the trace's format, what it keeps, workloads, the
comparison that decides verification, and the CLI's usage errors (docs/slim.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode, Tree
from dock2uni.slim.keep import Keeper
from dock2uni.slim.trace import Trace, keep_traced, unescape
from dock2uni.slim.workload import (
    Outcome,
    Probe,
    Workload,
    WorkloadUsageError,
    difference,
    parse_cmd,
    parse_probe,
    workloads,
)


def test_trace_lines_become_paths_with_their_kinds() -> None:
    t = Trace()
    t.add_log([
        "D2U:FSTRACE open /etc/passwd",
        "D2U:FSTRACE stat /etc/passwd",
        "D2U:FSTRACE missing /etc/ld.so.preload",
        "D2U:FSTRACE open /tmp/a\\x0ab\\x5cc",
        "D2U:FSTRACE open /proc/self/maps",
        "D2U:FSTRACE bogus /x",
        "D2U:FSTRACE open relative",
        "dock2uni: something else",
    ])  # fmt: skip
    assert t.touched() == {"/etc/passwd": {"open", "stat"}, "/tmp/a\nb\\c": {"open"}}
    assert t.missing() == ["/etc/ld.so.preload"]
    assert unescape("/caf\\xc3\\xa9") == "/café"
    assert unescape("/bad\\xff") == "/bad\udcff"


def _tree() -> Tree:
    deeper = DirNode(children={"deeper": DirNode()})
    lib = DirNode(
        children={
            "sub": deeper,
            "libc.so.6": FileNode(size=10, digest="sha256:" + "1" * 64),
            "other.so": FileNode(size=20, digest="sha256:" + "2" * 64),
            "libc.so": SymlinkNode(target="libc.so.6"),
        }
    )
    root = DirNode(
        children={
            "usr": DirNode(children={"lib": lib}),
            "etc": DirNode(),
            "lib": SymlinkNode(target="usr/lib"),
        }
    )
    return Tree(root)


def test_keep_traced_keeps_files_links_and_listed_directories() -> None:
    keeper = Keeper(_tree())
    kept = keep_traced(
        keeper,
        {"/usr/lib/libc.so.6": {"open"}, "/lib": {"link"}, "/usr/lib": {"readdir"},
         "/tmp/made-at-run-time": {"open"}},
        widen=False,
    )  # fmt: skip
    assert kept == 3
    why = {p: str(r) for p, r in keeper.reasons.items()}
    assert why["/usr/lib/libc.so.6"] == "traced: touched at run time (open)"
    assert why["/lib"] == "traced: touched at run time (link)"
    # A listed directory keeps its subdirectories (and theirs, for link counts) and links,
    # not its other files, unless widened.
    assert {"/usr/lib/sub", "/usr/lib/sub/deeper", "/usr/lib/libc.so"} <= set(why)
    assert "/usr/lib/other.so" not in why
    wide = Keeper(_tree())
    keep_traced(wide, {"/usr/lib": {"readdir"}}, widen=True)
    assert "/usr/lib/other.so" in wide.reasons


def test_keeper_drop_removes_a_subtree() -> None:
    keeper = Keeper(_tree())
    keep_traced(keeper, {"/usr/lib": {"readdir"}}, widen=True)
    keeper.drop(["/usr/lib/sub"])
    assert "/usr/lib/sub" not in keeper.reasons and "/usr/lib/sub/deeper" not in keeper.reasons
    assert "/usr/lib/other.so" in keeper.reasons


def test_workloads() -> None:
    assert workloads([], []) == (Workload(None),)
    assert workloads(["ls -l '/a b'", ""], []) == (Workload(("ls", "-l", "/a b")), Workload(None))
    served = workloads([], ["http://:8080/x?y=1", "http://localhost:80/"])
    assert served == (Workload(None, (Probe(8080, "/x?y=1"), Probe(80, "/"))),)
    assert parse_cmd("  ") is None
    redis = parse_probe("tcp://:6379/PING%0D%0AQUIT%0D%0A")
    assert redis == Probe(6379, "/PING%0D%0AQUIT%0D%0A", kind="tcp", send=b"PING\r\nQUIT\r\n")
    assert str(Workload(None, (redis,))) == (
        "the image's command + send tcp://:6379/PING%0D%0AQUIT%0D%0A"
    )
    bad_probes = ("ftp://:80/", "http://example.com:80/", "http://:0/", "http:///x", "http://:x/",
                  "tcp://:6379/", "tcp://:6379", "tcp://10.0.0.1:6379/PING")  # fmt: skip
    for bad in bad_probes:
        with pytest.raises(WorkloadUsageError):
            parse_probe(bad)
    with pytest.raises(WorkloadUsageError):
        parse_cmd("echo 'unterminated")


def _outcome(code: int = 0, out: bytes = b"a\nb\n", err: bytes = b"", **kw: object) -> Outcome:
    return Outcome(
        exit_code=code, status="exit", cause=None, stdout=out, stderr=err,
        probes=kw.get("probes", ()), log=(),  # type: ignore[arg-type]
    )  # fmt: skip


def test_difference_says_what_differs() -> None:
    ref = _outcome()
    assert difference(ref, _outcome()) is None
    said = difference(ref, _outcome(code=1, err=b"Traceback\nFileNotFoundError: x\n"))
    assert said == (
        "exit code 1 (exit) instead of 0 (exit); its stderr ends 'FileNotFoundError: x'"
    )
    assert difference(ref, _outcome(out=b"a\nc\n")) == (
        "stdout differs: line 2 is 'c', the full image printed 'b'"
    )
    assert difference(ref, _outcome(out=b"a\n")) == (
        "stdout differs: line 2 is (nothing), the full image printed 'b'"
    )
    probed = _outcome(probes=((200, b"ok"),))
    assert difference(probed, _outcome(probes=((404, b"ok"),))) == (
        "probe 1: HTTP status 404 instead of 200"
    )
    # A server's log (times, client ports) is not compared, its answers are.
    assert difference(probed, _outcome(out=b"other log\n", probes=((200, b"ok"),))) is None
    assert difference(probed, _outcome(probes=((200, b"no"),))) == (
        "probe 1: body differs: line 1 is 'no', the full image printed 'ok'"
    )
    assert difference(probed, _outcome(probes=((-1, b"(no answer)"),))) == (
        "probe 1: no answer instead of 200"
    )
    tcp = _outcome(probes=((0, b"+PONG\r\n"),))
    assert difference(tcp, _outcome(probes=((0, b"-ERR\r\n"),))) == (
        "probe 1: answer differs: line 1 is '-ERR', the full image printed '+PONG'"
    )


D2U = [sys.executable, "-m", "dock2uni"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--slim-cmd", "ls"], "--slim-cmd"),
        (["--slim-probe", "http://:80/"], "--slim-probe"),
        (["--slim", "--rootfs", "full"], "--rootfs"),
        (["--slim", "--slim-probe", "ftp://x"], "--slim-probe"),
        (["--slim", "--slim-probe", "tcp://:6379/"], "--slim-probe"),
        (["--slim", "--slim-cmd", "'a"], "--slim-cmd"),
        (["--slim", "--slim-timeout", "0"], "--slim-timeout"),
    ],
)
def test_slim_usage_errors(args: list[str], words: str, tmp_path: Path) -> None:
    """Checked before any image is read: the source does not even exist."""
    done = subprocess.run(
        [*D2U, "convert", "oci:/nonexistent:latest", "-o", str(tmp_path / "x.uni"), *args],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("dock2uni: error: ") and words in done.stderr, done.stderr


def test_probe_get_retries_until_the_server_answers() -> None:
    """The probe's client (slim/workload._get) against a real HTTP server that starts late."""
    import http.server
    import socket
    import threading
    import time

    from dock2uni.slim.workload import _get

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"missing" if self.path == "/nope" else b"hello " + self.path.encode()
            self.send_response(404 if self.path == "/nope" else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    def serve_later() -> None:
        time.sleep(1.0)
        server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    alive = threading.Thread(target=time.sleep, args=(30,), daemon=True)
    alive.start()
    threading.Thread(target=serve_later, daemon=True).start()
    deadline = time.monotonic() + 20
    assert _get(f"http://127.0.0.1:{port}/x?y=1", deadline, alive.is_alive) == (
        200,
        b"hello /x?y=1",
    )
    assert _get(f"http://127.0.0.1:{port}/nope", deadline, alive.is_alive) == (404, b"missing")


def test_tcp_probe_retries_until_the_server_answers_and_reads_until_it_closes() -> None:
    """slim/workload._exchange against a server that starts late, answers in pieces and
    closes; an accepted connection closed without a byte (a published port whose guest is
    not listening yet) is retried."""
    import socket
    import threading
    import time

    from dock2uni.slim.workload import _exchange

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.listen(4)

    def serve() -> None:
        conn, _ = listener.accept()  # the first connection: closed at once, as slirp does
        conn.close()
        time.sleep(0.5)
        conn, _ = listener.accept()
        with conn:
            got = b""
            while not got.endswith(b"QUIT\r\n"):
                got += conn.recv(100)
            conn.sendall(b"+PONG\r\n")
            time.sleep(0.3)
            conn.sendall(b"+OK\r\n")
        listener.close()

    alive = threading.Thread(target=time.sleep, args=(30,), daemon=True)
    alive.start()
    threading.Thread(target=serve, daemon=True).start()
    deadline = time.monotonic() + 20
    assert _exchange(port, b"PING\r\nQUIT\r\n", deadline, alive.is_alive) == (
        0,
        b"+PONG\r\n+OK\r\n",
    )
