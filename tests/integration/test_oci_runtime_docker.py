"""dock2uni-runtime under a real private dockerd (`--add-runtime dock2uni=...`): `docker run
--runtime dock2uni` prints and exits as `docker run` with runc does; detached containers,
logs, stop with the image's stop signal, kill, rm -f and a daemon restart leave no QEMU,
init or state behind; what the unikernel cannot honour is refused with a clear error."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.infra.dockerd import Dockerd, private_dockerd, restart, unavailable_reason
from tests.integration.runtime_engines import (
    RUNTIME,
    kill_leftovers,
    leftovers,
    runtime_env,
    save_fixture,
    wait_no_leftovers,
)

pytestmark = [pytest.mark.docker, pytest.mark.boot, pytest.mark.fixtures, pytest.mark.slow]

HELLO = {"glibc": "d2u/hello:glibc", "musl": "d2u/hello:musl"}
PYTHON = "d2u/python:stop"
NGINX = "d2u/nginx:official"
PYTHON_OFFICIAL = "d2u/python:official"
ALPINE_SHAPED = "d2u/alpine:shaped"
# Prints when ready, then waits; on the stop signal says so and exits 0 (graceful stop).
STOPPER = (
    "import signal, sys, time\n"
    "def bye(n, f):\n"
    "    print('stopped by', signal.Signals(n).name, flush=True)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGQUIT, bye)\n"
    "signal.signal(signal.SIGTERM, bye)\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    time.sleep(1)\n"
)
# The python fixture with the stop signal nginx's official image declares.
STOP_DOCKERFILE = "FROM d2u/python:latest\nSTOPSIGNAL SIGQUIT\n"


def _start(cache: Path) -> Iterator[Dockerd]:
    reason = unavailable_reason()
    if reason:
        need("docker", reason)
    if not RUNTIME.exists():
        need("docker", f"{RUNTIME} is not installed (make setup)")
    try:
        with private_dockerd(runtimes={"dock2uni": str(RUNTIME)}, env=runtime_env(cache)) as d:
            try:
                yield d
            finally:
                for marker in (str(cache), str(d.root)):
                    kill_leftovers(marker)
    except RuntimeError as exc:
        if "dockerd" not in str(exc):
            raise
        need("docker", f"cannot start a private dockerd: {exc}")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime-cache")


@pytest.fixture(scope="module")
def daemon(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    tars = tmp_path_factory.mktemp("runtime-images")
    for d in _start(cache):
        for flavour, tag in HELLO.items():
            d.docker(
                "load",
                "-i",
                str(save_fixture(f"hello-static-{flavour}", tag, tars / f"{flavour}.tar")),
            )
        d.docker("load", "-i", str(save_fixture("python", "d2u/python:latest", tars / "py.tar")))
        d.docker("load", "-i", str(save_fixture("nginx-official", NGINX, tars / "nginx.tar")))
        for name, tag in (("python-official", PYTHON_OFFICIAL), ("alpine-shaped", ALPINE_SHAPED)):
            d.docker("load", "-i", str(save_fixture(name, tag, tars / f"{name}.tar")))
        context = tars / "stop"
        context.mkdir()
        (context / "Dockerfile").write_text(STOP_DOCKERFILE)
        d.docker("build", "--network=none", "-t", PYTHON, str(context))
        yield d


def _run(d: Dockerd, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], env=d.env(), capture_output=True, text=True, timeout=timeout
    )


def _runtime_root(d: Dockerd) -> Path:
    """Docker 20.10 gives every runtime --root <exec-root>/runtime-runc/<namespace>."""
    return d.root / "exec" / "runtime-runc"


def _state_dirs(d: Dockerd, cid: str) -> list[Path]:
    return [p for p in _runtime_root(d).glob(f"*/{cid}*")] if _runtime_root(d).exists() else []


def _assert_nothing_left(d: Dockerd, cache: Path, cid: str) -> None:
    assert wait_no_leftovers(str(cache)) == [], "QEMU left running"
    assert wait_no_leftovers(str(d.root)) == [], "runtime init left running"
    assert _state_dirs(d, cid) == [], "runtime state left behind"


@pytest.mark.parametrize("flavour", sorted(HELLO))
@pytest.mark.parametrize(
    "args", [["hello"], ["exitcode", "3"], ["exitcode", "0"], ["args", "one", "two words"]]
)
def test_run_prints_and_exits_like_runc(daemon: Dockerd, flavour: str, args: list[str]) -> None:
    common = ["run", "--rm", "--hostname", "h1", "-e", "GREETING=hi", "-w", "/etc"]
    runc = _run(daemon, *common, HELLO[flavour], *args)
    uni = _run(daemon, *common, "--runtime", "dock2uni", HELLO[flavour], *args)
    assert (uni.returncode, uni.stdout) == (runc.returncode, runc.stdout), uni.stderr
    assert uni.stderr == runc.stderr


def test_terminal_like_runc(daemon: Dockerd) -> None:
    """-t: the console socket path; the guest's terminal output is runc's (CR LF)."""
    runc = _run(daemon, "run", "--rm", "-t", HELLO["glibc"], "hello")
    uni = _run(daemon, "run", "--rm", "-t", "--runtime", "dock2uni", HELLO["glibc"], "hello")
    assert (uni.returncode, uni.stdout) == (runc.returncode, runc.stdout), uni.stderr


def _host_links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout


def _bridge(d: Dockerd) -> str:
    if "bridge-net" not in _run(d, "network", "ls").stdout:
        d.docker("network", "create", "bridge-net")
    return "bridge-net"


@pytest.mark.parametrize("network", ["bridge-net", "host", "none"])
def test_networks(daemon: Dockerd, network: str) -> None:
    """Init enters the network namespace Docker asks for (a new one, whose interface the
    libnetwork prestart hook moves in, or the host's); the guest's tap device and its
    redirects are made in the container's namespace only, never on the host's links."""
    if network == "bridge-net":
        _bridge(daemon)
    uni = _run(daemon, "run", "--rm", "--network", network, "--runtime", "dock2uni",
               HELLO["glibc"], "hello")  # fmt: skip
    assert (uni.returncode, uni.stdout) == (0, "hello from dock2uni\n"), uni.stderr
    assert "d2utap0" not in _host_links()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# The shapes that serve: image, container port, what runc's first page holds.
SERVERS = {
    "nginx": (NGINX, 80, b"Welcome to nginx!"),
    "python": (PYTHON_OFFICIAL, 8000, b"served by python3 -m http.server"),
    "alpine": (ALPINE_SHAPED, 8080, b""),
}


@pytest.mark.parametrize("shape", sorted(SERVERS))
def test_shape_serves_a_published_port_like_runc(daemon: Dockerd, cache: Path, shape: str) -> None:
    """`docker run -d --network NET -p 127.0.0.1:PORT:CPORT` of an official-image-shaped
    fixture with no other arguments: the guest owns the container's address (docker-proxy
    reaches it over the bridge) and answers as the same image under runc does; nothing is
    left after `docker rm -f`."""
    image, cport, marker = SERVERS[shape]
    network = _bridge(daemon)
    pages: dict[str, list[tuple[int, bytes]]] = {}
    for runtime in ("runc", "dock2uni"):
        port = _free_port()
        run = _run(daemon, "run", "-d", "--network", network, "-p", f"127.0.0.1:{port}:{cport}",
                   "--runtime", runtime, image)  # fmt: skip
        cid = run.stdout.strip()
        assert cid, run.stderr
        try:
            deadline = time.monotonic() + 240
            while True:
                try:
                    first = _http_get(port, "/")
                    break
                except OSError:
                    assert time.monotonic() < deadline, _run(daemon, "logs", cid).stderr
                    time.sleep(0.2)
            pages[runtime] = [first, _http_get(port, "/no-such-page.html")]
        finally:
            _run(daemon, "rm", "-f", cid)
        if runtime == "dock2uni":
            _assert_nothing_left(daemon, cache, cid)
    assert pages["dock2uni"][0] == pages["runc"][0]
    assert pages["runc"][0][0] == 200 and marker in pages["runc"][0][1]
    assert pages["dock2uni"][1][0] == pages["runc"][1][0] == 404
    assert "d2utap0" not in _host_links()


def test_init_flag_like_runc(daemon: Dockerd) -> None:
    """--init: Docker binds tini at /sbin/docker-init and prefixes the command; the library
    OS reaps like an init, so the runtime runs the command itself."""
    args = ["run", "--rm", "--init", HELLO["glibc"], "exitcode", "5"]
    runc = _run(daemon, *args)
    uni = _run(daemon, *args[:2], "--runtime", "dock2uni", *args[2:])
    assert uni.returncode == runc.returncode == 5, uni.stderr


def test_missing_program_is_127_like_runc(daemon: Dockerd) -> None:
    runc = _run(daemon, "run", "--rm", HELLO["glibc"], "no-such-program")
    uni = _run(daemon, "run", "--rm", "--runtime", "dock2uni", HELLO["glibc"], "no-such-program")
    assert runc.returncode == uni.returncode == 127
    assert "executable file not found" in uni.stderr


def test_detached_logs_and_graceful_stop(daemon: Dockerd, cache: Path) -> None:
    cid = _run(
        daemon, "run", "-d", "--runtime", "dock2uni", PYTHON, "python3", "-u", "-c", STOPPER
    ).stdout.strip()
    assert cid, "docker run -d printed no container id"
    try:
        deadline = time.monotonic() + 180
        while "ready" not in _run(daemon, "logs", cid).stdout:
            assert time.monotonic() < deadline, _run(daemon, "logs", cid).stderr
            time.sleep(0.5)
        top = _run(daemon, "top", cid)
        assert top.returncode == 0 and "qemu-system" in top.stdout, top.stderr
        # QEMU is in the container's cgroup (docker stats measures it), not the shim's.
        qemu = [line for line in leftovers(str(cache)) if "qemu-system" in line]
        assert len(qemu) == 1
        assert cid in Path(f"/proc/{qemu[0].split(':')[0]}/cgroup").read_text()
        exec_ = _run(daemon, "exec", cid, "true")
        # (docker 28's CLI prints this error on stdout)
        assert exec_.returncode == 126 and "exec is not supported" in exec_.stdout + exec_.stderr
        t0 = time.monotonic()
        stop = _run(daemon, "stop", "-t", "60", cid)
        assert stop.returncode == 0, stop.stderr
        assert time.monotonic() - t0 < 50, "the stop signal did not stop it: SIGKILL did"
        logs = _run(daemon, "logs", cid).stdout
        assert "stopped by SIGQUIT" in logs  # the image's STOPSIGNAL, forwarded to the guest
        code = _run(daemon, "inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip()
        assert code == "0"
    finally:
        _run(daemon, "rm", "-f", cid)
    _assert_nothing_left(daemon, cache, cid)


@pytest.mark.parametrize("how", ["kill", "rm -f"])
def test_kill_and_rm_force_leave_nothing(daemon: Dockerd, cache: Path, how: str) -> None:
    run = _run(daemon, "run", "-d", "--runtime", "dock2uni", PYTHON, "python3", "-c", STOPPER)
    cid = run.stdout.strip()
    assert cid, run.stderr
    if how == "kill":
        assert _run(daemon, "kill", cid).returncode == 0
        status = _run(daemon, "wait", cid)
        assert status.stdout.strip() == "137", status.stderr  # SIGKILL, as with runc
        assert _run(daemon, "rm", cid).returncode == 0
    else:
        assert _run(daemon, "rm", "-f", cid).returncode == 0
    _assert_nothing_left(daemon, cache, cid)


def test_daemon_restart_leaves_nothing(cache: Path, tmp_path: Path) -> None:
    for d in _start(cache):
        d.docker(
            "load",
            "-i",
            str(save_fixture("hello-static-glibc", HELLO["glibc"], tmp_path / "h.tar")),
        )
        d.docker("load", "-i", str(save_fixture("python", "d2u/python:latest", tmp_path / "p.tar")))
        run = _run(
            d, "run", "-d", "--runtime", "dock2uni", "d2u/python:latest", "python3", "-c", STOPPER
        )
        cid = run.stdout.strip()
        assert cid, run.stderr
        after = restart(d)
        _assert_nothing_left(after, cache, cid)
        # The daemon works after the restart, and the container can be removed.
        assert _run(after, "rm", "-f", cid).returncode == 0
        again = _run(after, "run", "--rm", "--runtime", "dock2uni", HELLO["glibc"], "hello")
        assert (again.returncode, again.stdout) == (0, "hello from dock2uni\n"), again.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["-v", "/etc/passwd:/data"], "a single file cannot be shared"),
        (["--tmpfs", "/scratch:size=1m"], "tmpfs mount on /scratch: option 'size="),
        (["-m", "100000g"], "linux.resources.memory.limit"),
    ],
)
def test_unsupported_options_are_refused(
    daemon: Dockerd, cache: Path, options: list[str], message: str
) -> None:
    proc = _run(daemon, "run", "--rm", "--runtime", "dock2uni", *options, HELLO["glibc"], "hello")
    assert proc.returncode != 0
    assert "OCI runtime create failed" in proc.stderr and message in proc.stderr, proc.stderr
    assert wait_no_leftovers(str(cache)) == []


# Reads what the host put in /data, writes a file there, then tries the root and /scratch.
VOLUME_SCRIPT = (
    "import os\n"
    "print(open('/data/h.txt').read(), end='')\n"
    "for path in ('/data/g.txt', '/scratch/t', '/rootfile'):\n"
    "    try:\n"
    "        with open(path, 'w') as f:\n"
    "            f.write('from the guest')\n"
    "        print(path, 'written')\n"
    "    except OSError as exc:\n"
    "        print(path, os.strerror(exc.errno))\n"
)


@pytest.mark.parametrize(
    "options",
    [
        ["-v", "{host}:/data", "--tmpfs", "/scratch"],
        ["-v", "{host}:/data:ro", "--tmpfs", "/scratch", "--read-only"],
        ["--mount", "type=bind,src={host},dst=/data", "--read-only"],
    ],
)
def test_volumes_tmpfs_and_read_only_like_runc(
    daemon: Dockerd, tmp_path: Path, options: list[str]
) -> None:
    """`docker run -v HOSTDIR:/data` (bind mounts in config.json) reach the host directory,
    --tmpfs and --read-only as runc applies them; the host sees what the guest wrote."""
    got = {}
    for runtime in ("runc", "dock2uni"):
        host = tmp_path / runtime
        host.mkdir()
        (host / "h.txt").write_text(f"host file for {runtime}\n")
        opts = [o.replace("{host}", str(host)) for o in options]
        proc = _run(daemon, "run", "--rm", "--runtime", runtime, *opts, PYTHON,
                    "python3", "-c", VOLUME_SCRIPT)  # fmt: skip
        got[runtime] = (proc.returncode, proc.stdout.replace(runtime, "RUNTIME"))
        written = (host / "g.txt").read_text() if (host / "g.txt").exists() else None
        got[runtime] += (written,)
    assert got["dock2uni"] == got["runc"]
    assert got["runc"][0] == 0


def test_a_named_docker_volume_keeps_its_data_across_containers(daemon: Dockerd) -> None:
    """Docker makes and fills the volume and binds it: the unikernel writes into it, and
    the next container (either runtime) reads it back."""
    write = "open('/vol/f', 'w').write('kept')"
    read = "print(open('/vol/f').read())"
    for code in (write, read):
        proc = _run(daemon, "run", "--rm", "--runtime", "dock2uni", "-v", "d2uvol:/vol",
                    PYTHON, "python3", "-c", code)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "kept\n"
    runc = _run(daemon, "run", "--rm", "-v", "d2uvol:/vol", PYTHON, "python3", "-c", read)
    assert runc.stdout == "kept\n"
    _run(daemon, "volume", "rm", "d2uvol")
