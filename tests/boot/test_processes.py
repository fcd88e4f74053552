"""Processes in the unikernel: limits and the machine's life (boot only), python3's os.fork.

tests/guest/fork_limits.c runs as pid 1 only (a fork bomb or kill(-1) natively would hit
the host), so its modes are checked against what Linux would do rather than a native
run: a fork bomb ends in EAGAIN with the machine responsive and everything reaped; a
copy-on-write fault with no memory left kills that child alone; pid 1's end is the VM's
end. python3's os.fork and os.waitpid are compared with a native chroot run of the same
image, as tests/boot/test_threaded_apps.py does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import LIBCS, convert_guest
from tests.boot.test_threaded_apps import apps, compare_python  # noqa: F401  # the fixture

pytestmark = pytest.mark.boot

PY_FORK = r"""
import os, signal
parent = os.getpid()
r, w = os.pipe()
data = [i * i for i in range(200000)]
pid = os.fork()
if pid == 0:
    os.close(r)
    data[0] = -1
    ok = os.getppid() == parent and data[1:] == [i * i for i in range(1, 200000)]
    os.write(w, b"child ok" if ok else b"child bad")
    os._exit(3)
os.close(w)
print("from child:", os.read(r, 100).decode())
wpid, status = os.waitpid(pid, 0)
print("waitpid:", wpid == pid, os.WIFEXITED(status), os.WEXITSTATUS(status))
print("parent data intact:", data[0] == 0)
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGTERM)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("killed:", os.WIFSIGNALED(status), os.WTERMSIG(status) == signal.SIGTERM,
      os.waitstatus_to_exitcode(status))
pids = [os.fork() for _ in range(1)]
if pids[0] == 0:
    os._exit(0)
print("wait:", os.wait()[0] == pids[0])
try:
    os.wait()
except ChildProcessError as e:
    print("no more children:", e.errno)
"""


def boot_mode(
    mode: str, libc: str, guest_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> Booted:
    """fork_limits MODE booted as pid 1."""
    uni = tmp_path / f"fork_limits-{mode}-{libc}.uni"
    convert_guest(guest_source, f"/guest/{libc}/fork_limits", uni, boot_ctx, cmd=(mode,))
    return boot(uni, tty=True, timeout=300)  # type: ignore[operator, no-any-return]


@pytest.mark.parametrize("libc", LIBCS)
def test_fork_bomb_bounded(
    libc: str, guest_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """Each process forks until EAGAIN; the machine stays responsive; kill(-1) and wait reap all."""
    booted = boot_mode("bomb", libc, guest_source, boot_ctx, boot, tmp_path)
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout.rstrip().endswith(b" 0 failed"), booted.describe()
    assert booted.result.exit_code == 0, booted.describe()
    assert b"FAIL" not in booted.stdout, booted.describe()
    assert not any("PANIC" in line for line in booted.result.log), booted.describe()


@pytest.mark.parametrize("libc", LIBCS)
def test_cow_out_of_memory_kills_the_child_only(
    libc: str, guest_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """A copy-on-write fault with no frame left: that child dies with SIGKILL, one log line."""
    booted = boot_mode("oom", libc, guest_source, boot_ctx, boot, tmp_path)
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout.rstrip().endswith(b" 0 failed"), booted.describe()
    oom = [line for line in booted.result.log if "out of memory" in line]
    assert len(oom) == 1 and "killed with SIGKILL" in oom[0], booted.describe()


@pytest.mark.parametrize("libc", LIBCS)
def test_pid1_exit_ends_the_vm(
    libc: str, guest_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """pid 1's _exit(7) ends the VM with 7 while its children still run; none prints again."""
    booted = boot_mode("pid1exit", libc, guest_source, boot_ctx, boot, tmp_path)
    assert (booted.result.status, booted.result.exit_code) == ("exit", 7), booted.describe()
    assert booted.stdout == b"PASS children_started\n", booted.describe()


@pytest.mark.parametrize("libc", LIBCS)
def test_pid1_killed_ends_the_vm(
    libc: str, guest_source: str, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """pid 1 killed by SIGTERM ends the VM with 143 (128 + 15), its children with it."""
    booted = boot_mode("pid1kill", libc, guest_source, boot_ctx, boot, tmp_path)
    assert booted.result.exit_code == 143, booted.describe()
    assert booted.stdout == b"PASS children_started\n", booted.describe()


def test_python_fork_and_waitpid(apps: dict[str, tuple[Path, Path]], boot: object) -> None:  # noqa: F811
    """python3: os.fork with a copied list, os.waitpid statuses, os.wait's ChildProcessError."""
    compare_python(apps, boot, PY_FORK, 0)
