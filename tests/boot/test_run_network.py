"""`dock2uni run -p` boots with the NIC and QEMU really forwards the published ports, before
any guest serves: a guest with a NIC runs and exits as before; while one runs, `dock2uni
run` listens on the published TCP port (forward.py) and QEMU holds the UDP one, a host
connection is accepted and, with nobody listening in the guest, ends without a byte of
data (slirp resets or closes it). What the guest serves: test_net_serve.py."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni.context import Context

pytestmark = pytest.mark.boot


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def d2u_run(boot_ctx: Context, accel: str, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "dock2uni", "run", "--accel", accel,
        "--cache-dir", str(boot_ctx.cache_dir), *args,
    ]  # fmt: skip


def owners(port: int, proto: str) -> set[int]:
    """Pids of the processes listening on (tcp) or bound to (udp) ``port``, from ss."""
    flag = "-ltnpH" if proto == "tcp" else "-lunpH"
    out = subprocess.run(
        ["ss", flag, f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return {int(p) for p in re.findall(r"pid=(\d+)", out)}


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_a_guest_with_a_nic_and_published_ports_runs_and_exits(
    boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    source = f"oci:{fixture_layout('hello-static-glibc')}"
    argv = d2u_run(boot_ctx, accel, source, "-p", f"{free_port()}:80", "-p", "53/udp")
    proc = subprocess.run(argv, capture_output=True, timeout=boot_timeout * 3, check=False)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, err
    assert proc.stdout == b"hello from dock2uni\n"
    assert "dock2uni: error" not in err
    assert "53/udp -> 0.0.0.0:" in err  # the chosen port, as `docker port` prints it


def test_qemu_listens_on_the_published_ports_and_forwards(
    boot_ctx: Context, accel: str, boot_timeout: float
) -> None:
    tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
    source = f"oci:{fixture_layout('busybox')}"
    argv = d2u_run(boot_ctx, accel, source, "-p", f"{tcp}:80", "-p", f"{udp}:53/udp")
    proc = subprocess.Popen(
        [*argv, "--", "sleep", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + boot_timeout * 3
        while not owners(udp, "udp"):  # bound by QEMU once it runs (tcp: by us, at once)
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "QEMU never listened on the published port"
            time.sleep(0.2)
        qemu = children(proc.pid)
        assert len(qemu) == 1
        # tcp: `dock2uni run` listens (with a real backlog) and hands connections to QEMU's
        # hostfwd on a private loopback port; udp: QEMU itself.
        assert owners(tcp, "tcp") == {proc.pid}
        assert owners(udp, "udp") == qemu
        with socket.create_connection(("127.0.0.1", tcp), timeout=10) as conn:
            # Accepted at once, passed to slirp; nobody listens on port 80 in the guest, so
            # the connection ends (reset, or closed when the guest exits) without any data.
            conn.settimeout(boot_timeout * 3)
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            try:
                data = conn.recv(4096)
            except ConnectionResetError:
                data = b""
            assert data == b""
        _, err = proc.communicate(timeout=boot_timeout * 3)
        assert proc.returncode == 0, err.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # The ports are free again once QEMU is gone.
    assert not owners(tcp, "tcp") and not owners(udp, "udp")
