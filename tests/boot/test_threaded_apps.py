"""Real programs from fixture images: python3 threads, signals and unix sockets, Go, redis.

Each workload runs natively first, under chroot(8) of the image's own unpacked rootfs (the
Linux ground truth, as tests/boot/test_busybox.py does), then booted from the converted
image, unmodified, and must print the same and end the same way. Thread ids printed by
faulthandler are addresses and differ by design; they are masked on both sides.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image, inspect_image
from tests.boot.conftest import Booted
from tests.conftest import need
from tests.infra.rootfs import docker_dev, materialise, run_in_chroot

pytestmark = pytest.mark.boot
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

# 8 threading threads through a queue.Queue (4 producers, 4 consumers), a Lock, a Barrier.
PY_THREADS = r"""
import queue, threading
work, results = queue.Queue(maxsize=32), queue.Queue()
PRODUCERS, CONSUMERS, ITEMS = 4, 4, 2500
def produce(k):
    for i in range(ITEMS):
        work.put(k * ITEMS + i)
def consume():
    total = count = 0
    while (item := work.get()) is not None:
        total += item
        count += 1
    results.put((total, count))
threads = [threading.Thread(target=produce, args=(k,)) for k in range(PRODUCERS)]
threads += [threading.Thread(target=consume) for _ in range(CONSUMERS)]
for t in threads:
    t.start()
for t in threads[:PRODUCERS]:
    t.join()
for _ in range(CONSUMERS):
    work.put(None)
for t in threads[PRODUCERS:]:
    t.join()
sums = [results.get() for _ in range(CONSUMERS)]
n = PRODUCERS * ITEMS
count, total = sum(c for _, c in sums), sum(s for s, _ in sums)
print("queue:", count, "items, sum", total, "of", n * (n - 1) // 2)
lock, counter = threading.Lock(), [0]
def add():
    for _ in range(10000):
        with lock:
            counter[0] += 1
adders = [threading.Thread(target=add) for _ in range(8)]
for t in adders:
    t.start()
for t in adders:
    t.join()
print("lock: counter", counter[0])
idents, barrier = set(), threading.Barrier(8)
def meet():
    barrier.wait()
    idents.add(threading.get_native_id())
meets = [threading.Thread(target=meet) for _ in range(8)]
for t in meets:
    t.start()
for t in meets:
    t.join()
print("barrier: 8 threads met,", len(idents), "native ids")
print("threads alive at the end:", threading.active_count())
"""

# signal.alarm with a handler, a handler's exception ending a sleep, a periodic itimer
# counted, a signal sent from a thread (handled in the main thread), sigwaitinfo.
PY_SIGNALS = r"""
import os, signal, threading, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])  # before any thread: all inherit it
seen = []
main = threading.main_thread()
signal.signal(signal.SIGALRM, lambda s, f: seen.append(threading.current_thread() is main))
signal.alarm(1)
signal.pause()
print("alarm: handler ran in the main thread:", seen == [True])
class Late(Exception):
    pass
def late(sig, frame):
    raise Late()
signal.signal(signal.SIGALRM, late)
signal.setitimer(signal.ITIMER_REAL, 0.05)
try:
    time.sleep(30)
    print("sleep: not interrupted")
except Late:
    print("sleep: interrupted by the handler's exception")
ticks = []
signal.signal(signal.SIGALRM, lambda s, f: ticks.append(s))
signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
while len(ticks) < 5:
    signal.pause()
signal.setitimer(signal.ITIMER_REAL, 0)
print("setitimer: ticks counted", len(ticks))
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(threading.current_thread().name))
def send():
    time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGUSR1)
t = threading.Thread(target=send, name="sender")
t.start()
signal.pause()
t.join()
print("kill from a thread: handled by", got)
threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGUSR2)).start()
info = signal.sigwaitinfo([signal.SIGUSR2])
print("sigwaitinfo:", info.si_signo == signal.SIGUSR2, info.si_pid == os.getpid())
print("sigtimedwait timeout:", signal.sigtimedwait([signal.SIGUSR2], 0.05))
"""

# faulthandler's watchdog thread (a timed lock wait) dumps every thread and exits 1.
PY_FAULTHANDLER_LATER = r"""
import faulthandler, threading, time
stop, ready = threading.Event(), threading.Barrier(3)
def idle():
    ready.wait()
    stop.wait()
workers = [threading.Thread(target=idle) for _ in range(2)]
for t in workers:
    t.start()
ready.wait()
faulthandler.dump_traceback_later(1.0, exit=True)
time.sleep(30)
"""

# faulthandler's SIGSEGV handler (on its alternate stack) reports, then the default kills.
PY_FAULTHANDLER_SEGV = "import faulthandler; faulthandler.enable(); faulthandler._sigsegv()"

# AF_UNIX from python3 (issue 11): a socketpair echo between threads, a socketserver on a
# path, SCM_RIGHTS through socket.send_fds, SO_PEERCRED, asyncio's unix server (its event
# loop is epoll and its self-pipe a socketpair), if_nameindex (netlink), a missing name.
PY_UNIX_SOCKETS = r"""
import asyncio, os, socket, socketserver, struct, tempfile, threading
tmp = tempfile.mkdtemp()
a, b = socket.socketpair()
def echo():
    while (d := b.recv(65536)):
        b.sendall(d.upper())
    b.close()
t = threading.Thread(target=echo)
t.start()
total = 0
for i in range(100):
    a.sendall(b"x" * 1000)
    got = b""
    while len(got) < 1000:
        got += a.recv(65536)
    total += len(got)
a.shutdown(socket.SHUT_WR)
t.join()
print("socketpair echo between threads:", total, "bytes, EOF:", a.recv(10) == b"")
a.close()
class Reverse(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.rstrip(b"\n")[::-1] + b"\n")
path = os.path.join(tmp, "srv.sock")
srv = socketserver.ThreadingUnixStreamServer(path, Reverse)
threading.Thread(target=srv.serve_forever, daemon=True).start()
c = socket.socket(socket.AF_UNIX)
c.connect(path)
f = c.makefile("rwb")
for w in (b"hello\n", b"unikernel\n"):
    f.write(w)
    f.flush()
    print("socketserver:", f.readline())
f.close()
c.close()
srv.shutdown()
srv.server_close()
os.unlink(path)
r, w = os.pipe()
a, b = socket.socketpair()
socket.send_fds(a, [b"fd"], [r])
msg, fds, flags, addr = socket.recv_fds(b, 16, 4)
os.write(w, b"via a passed fd")
print("send_fds:", msg, len(fds), os.read(fds[0], 100))
pid, uid, gid = struct.unpack("3i", a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
print("SO_PEERCRED is ours:", (pid, uid, gid) == (os.getpid(), os.geteuid(), os.getegid()))
async def main():
    async def handle(reader, writer):
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()
    apath = os.path.join(tmp, "async.sock")
    server = await asyncio.start_unix_server(handle, path=apath)
    reader, writer = await asyncio.open_unix_connection(apath)
    writer.write(b"asyncio over a unix socket\n")
    await writer.drain()
    print("asyncio:", await reader.readline())
    writer.close()
    server.close()
    await server.wait_closed()
    os.unlink(apath)
asyncio.run(main())
print("if_nameindex has lo:", any(n == "lo" for i, n in socket.if_nameindex()))
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(os.path.join(tmp, "none"))
except OSError as e:
    print("connect to a missing name:", e.strerror)
os.rmdir(tmp)
"""

THREAD_ID = re.compile(rb"(Thread|thread) 0x[0-9a-f]+")


def masked(data: bytes) -> bytes:
    """faulthandler's thread ids (pthread_t: an address) as 0x..."""
    return THREAD_ID.sub(rb"\1 0x...", data)


@pytest.fixture(scope="module")
def apps(
    boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, Path]]:
    """fixture name -> (the image as .uni, its rootfs materialised for chroot), made on use."""
    if os.geteuid() != 0:
        need("chroot", "the native comparison runs under chroot, which needs root")
    out = tmp_path_factory.mktemp("apps")

    class Apps(dict[str, tuple[Path, Path]]):
        def __missing__(self, name: str) -> tuple[Path, Path]:
            source = f"oci:{fixture_layout(name)}:latest"
            inspected = inspect_image(source, AcquireOptions(), boot_ctx)
            # with Docker's /dev/null and /dev/shm, which the unikernel makes too
            root = docker_dev(
                materialise(inspected.unpacked.tree, inspected.unpacked.store, out / name)
            )
            uni = out / f"{name}.uni"
            convert_image(source, uni, AcquireOptions(), boot_ctx)
            self[name] = (uni, root)
            return self[name]

    return Apps()


def compare_python(
    apps: dict[str, tuple[Path, Path]], boot: object, script: str, expect_status: int
) -> None:
    """python3 -c SCRIPT natively (chroot) and booted: same stdout, stderr and ending."""
    uni, root = apps["python-stdlib"]
    argv = ("python3", "-c", script)
    want = run_in_chroot(root, argv, ENV)
    assert want.returncode == expect_status, want.stderr.decode()
    got: Booted = boot(uni, cmd=argv, split_stderr=True)  # type: ignore[operator]
    if expect_status >= 0:
        assert (got.result.status, got.result.exit_code) == ("exit", expect_status), got.describe()
    else:
        assert got.result.status == "crash", got.describe()
        assert got.result.exit_code == 128 - expect_status, got.describe()
    assert got.stdout == want.stdout, got.describe()
    assert masked(got.guest_stderr) == masked(want.stderr), got.describe()


def test_python_threads_queue_lock_barrier(
    apps: dict[str, tuple[Path, Path]], boot: object
) -> None:
    """python3: 8 threading threads through a queue.Queue, a Lock and a Barrier, exact totals."""
    compare_python(apps, boot, PY_THREADS, 0)


def test_python_signal_handlers(apps: dict[str, tuple[Path, Path]], boot: object) -> None:
    """python3: signal.alarm + pause, a handler's exception ending sleep, setitimer, sigwaitinfo."""
    compare_python(apps, boot, PY_SIGNALS, 0)


def test_python_faulthandler_dumps_all_threads(
    apps: dict[str, tuple[Path, Path]], boot: object
) -> None:
    """python3: faulthandler.dump_traceback_later's watchdog thread dumps 3 threads, exit 1."""
    compare_python(apps, boot, PY_FAULTHANDLER_LATER, 1)


def test_python_faulthandler_on_sigsegv(apps: dict[str, tuple[Path, Path]], boot: object) -> None:
    """python3: a SIGSEGV runs faulthandler's handler (its traceback), then kills: 139."""
    compare_python(apps, boot, PY_FAULTHANDLER_SEGV, -signal.SIGSEGV)


def go_threads(apps: dict[str, tuple[Path, Path]], boot: object) -> tuple[bytes, Booted]:
    """go-threads natively (chroot) and booted: (native stdout, the booted run)."""
    uni, root = apps["go-threads"]
    want = run_in_chroot(root, ("go-threads",), ENV)
    assert want.returncode == 0 and want.stdout.endswith(b"go-threads: done\n"), want
    return want.stdout, boot(uni, split_stderr=True)  # type: ignore[operator]


def test_python_unix_sockets(apps: dict[str, tuple[Path, Path]], boot: object) -> None:
    """python3: socketpair, socketserver, send_fds, SO_PEERCRED, asyncio over unix sockets."""
    compare_python(apps, boot, PY_UNIX_SOCKETS, 0)


def test_go_goroutines_preemption_signals(apps: dict[str, tuple[Path, Path]], boot: object) -> None:
    """go-threads up to its timers: goroutines, mutexes, async preemption (SIGURG), a GC
    while a goroutine spins, os/signal, recovered nil-dereference and divide panics."""
    want, got = go_threads(apps, boot)
    before_timers = want[: want.index(b"timers: ")]
    assert got.stdout[: len(before_timers)] == before_timers, got.describe()


def test_go_timers_and_exit(apps: dict[str, tuple[Path, Path]], boot: object) -> None:
    """go-threads whole: its timers too (sleeps, a ticker, time.After, AfterFunc: the runtime's
    poller, epoll_create1 + pipe2 + epoll_pwait), the same lines and exit 0."""
    want, got = go_threads(apps, boot)
    assert (got.result.status, got.result.exit_code) == ("exit", 0), got.describe()
    assert got.stdout == want, got.describe()


# redis-server with no TCP port: a unix socket only (Redis 7 exits at once when it is
# configured to listen nowhere, so `--port 0` alone never runs).
REDIS_ARGV = (
    "redis-server",
    "--port",
    "0",
    "--unixsocket",
    "/tmp/redis.sock",
    "--save",
    "",
    "--appendonly",
    "no",
)
REDIS_READY = b"ready to accept connections at /tmp/redis.sock"  # the unix socket is listening
# "Removing the unix socket file": its unlink at shutdown found the socket's name.
REDIS_SHUTDOWN = (
    "Received SIGTERM scheduling shutdown",
    "Removing the unix socket file",
    "Redis is now ready to exit, bye bye",
)


def read_until(proc: subprocess.Popen[bytes], marker: bytes, seconds: float) -> bytes:
    """stdout of ``proc`` up to a line containing ``marker`` (or its end, or the deadline)."""
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while marker not in seen and time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    return seen


def stop_with_sigterm(proc: subprocess.Popen[bytes], ready: bytes) -> tuple[int, str]:
    """SIGTERM once ``ready`` was seen; (exit status, all stdout and stderr as text).
    A process still running 120 s later is killed and the test fails with its output."""
    proc.send_signal(signal.SIGTERM)
    try:
        rest, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, err = proc.communicate()  # also closes the pipes
        out = (ready + rest + (err or b"")).decode(errors="replace")
        pytest.fail(f"still running 120 s after SIGTERM:\n{out}")
    return proc.returncode, (ready + rest + (err or b"")).decode(errors="replace")


def test_redis_background_threads_and_sigterm_shutdown(
    apps: dict[str, tuple[Path, Path]], boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    """redis-server starts its background threads, runs until `dock2uni run` gets SIGTERM,
    logs its shutdown and exits 0, as under chroot natively."""
    uni, root = apps["redis"]
    native = subprocess.Popen(
        ["chroot", str(root), *REDIS_ARGV],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=ENV,
        cwd="/",
    )
    ready = read_until(native, REDIS_READY, 60)
    threads = len(os.listdir(f"/proc/{native.pid}/task")) if REDIS_READY in ready else 0
    code, out = stop_with_sigterm(native, ready)
    assert REDIS_READY in ready and threads >= 4, out  # the main thread + 3 bio threads
    assert code == 0 and all(line in out for line in REDIS_SHUTDOWN), out

    argv = [sys.executable, "-m", "dock2uni", "run", str(uni), "--accel", accel]
    argv += ["--timeout", str(boot_timeout + 60), "--cache-dir", str(boot_ctx.cache_dir)]
    booted = subprocess.Popen(
        [*argv, "--", *REDIS_ARGV], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    ready = read_until(booted, REDIS_READY, boot_timeout)
    if REDIS_READY not in ready:
        booted.kill()
        _, err = booted.communicate()
        pytest.fail(f"booted redis never became ready:\n{ready.decode()}\n{err.decode()}")
    code, out = stop_with_sigterm(booted, ready)
    assert code == 0 and all(line in out for line in REDIS_SHUTDOWN), out
