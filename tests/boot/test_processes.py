"""Processes in the unikernel: limits and the machine's life (boot only), real programs'
children (python3's os.fork, subprocess and multiprocessing.Pool, perl's system).

tests/guest/fork_limits.c runs as pid 1 only (a fork bomb or kill(-1) natively would hit
the host), so its modes are checked against what Linux would do rather than a native
run: a fork bomb ends in EAGAIN with the machine responsive and everything reaped; a
copy-on-write fault with no memory left kills that child alone; pid 1's end is the VM's
end. The python3 and perl cases are compared with a native chroot run of the same image,
as tests/boot/test_threaded_apps.py does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dock2uni.context import Context
from tests.boot.conftest import Booted
from tests.boot.guest_images import LIBCS, convert_guest
from tests.boot.test_threaded_apps import ENV, apps, compare_python  # noqa: F401  # the fixture
from tests.infra.rootfs import run_in_chroot

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

# subprocess (fork + exec, or vfork: _posixsubprocess) with pipes for stdout and stderr, a
# shell, input through stdin, a missing program (exec's errno through the child's pipe).
PY_SUBPROCESS = r"""
import subprocess, sys
r = subprocess.run(["ls", "-l", "/etc"], capture_output=True)
print("ls -l /etc returned", r.returncode, "stderr", r.stderr)
sys.stdout.write(r.stdout.decode())
r = subprocess.run(["ls", "/nonexistent"], capture_output=True, text=True)
print("ls /nonexistent returned", r.returncode, r.stdout == "", r.stderr.strip())
print("shell:", subprocess.run("echo $((6 * 7)); exit 3", shell=True, capture_output=True))
print("input:", subprocess.run(["sort"], input=b"b\na\nc\n", capture_output=True).stdout)
print("check_output:", subprocess.check_output(["sh", "-c", "echo out; echo err >&2"],
                                               stderr=subprocess.STDOUT))
try:
    subprocess.run(["/no/such/program"])
except FileNotFoundError as e:
    print("missing program:", e.errno, e.filename)
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, _ = p.communicate(b"x" * 200000)
print("communicate:", len(out), p.returncode)
"""

# multiprocessing.Pool(2): two forked workers fed through pipes (SimpleQueues whose locks
# are sem_open semaphores in /dev/shm, shared across fork), result-handler threads.
PY_POOL = r"""
import multiprocessing, os
parent = os.getpid()
def square(x):
    return x * x
def in_child(_):
    return os.getpid() != parent and os.getppid() == parent
with multiprocessing.Pool(2) as pool:
    print("map:", pool.map(square, range(10)))
    print("imap_unordered:", sorted(pool.imap_unordered(square, range(20), chunksize=3)))
    print("apply_async:", pool.apply_async(square, (12,)).get(timeout=60))
    print("in workers:", all(pool.map(in_child, range(8))))
p = multiprocessing.Process(target=os._exit, args=(7,))
p.start()
p.join()
print("Process exitcode:", p.exitcode)
"""

# perl's system (fork + exec of a list, or of /bin/sh -c for one string with
# metacharacters), backticks, piped opens, statuses in $? and a missing program's -1.
PERL_SYSTEM = r"""
$| = 1;
my $rc = system("echo", "hello", "from", "system");
print "system list: $rc\n";
system("sh", "-c", "exit 3");
print "exit status: ", $? >> 8, "\n";
system("echo shell metachars; exit 2");
print "via the shell: ", $? >> 8, "\n";
system("sh", "-c", 'kill -TERM $$');
print "killed by signal: ", $? & 127, "\n";
my $out = `echo backticks; echo second line; exit 4`;
print "backticks: [$out] status ", $? >> 8, "\n";
my @lines = `printf 'a\\nb\\nc\\n'`;
print scalar(@lines), " lines, last $lines[-1]";
chomp(my $sum = `expr 21 + 21`);
print "arithmetic: $sum\n";
open(my $fh, "-|", "echo", "read", "from", "a", "pipe") or die "open -|: $!";
print "pipe open: ", <$fh>;
close($fh);
print "close: $?\n";
open($fh, "|-", "sort") or die "open |-: $!";
print $fh "pear\napple\n";
close($fh);
print "missing program: ", system("/no/such/program"), "\n";
print "wait with no child: ", wait(), "\n";
"""


def compare_app(
    apps: dict[str, tuple[Path, Path]],  # noqa: F811
    boot: object,
    app: str,
    argv: tuple[str, ...],
) -> None:
    """argv in fixture ``app`` natively (chroot) and booted: same stdout, stderr, exit 0."""
    uni, root = apps[app]
    want = run_in_chroot(root, argv, ENV)
    assert want.returncode == 0, want.stderr.decode()
    got: Booted = boot(uni, cmd=argv, split_stderr=True)  # type: ignore[operator]
    assert (got.result.status, got.result.exit_code) == ("exit", 0), got.describe()
    assert got.stdout == want.stdout, got.describe()
    assert got.guest_stderr == want.stderr, got.describe()


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


def test_python_subprocess(apps: dict[str, tuple[Path, Path]], boot: object) -> None:  # noqa: F811
    """python3: subprocess.run of ls -l /etc (its output and status), a shell, stdin, a missing
    program, Popen.communicate of 200000 bytes through cat. (/etc, not /: the unikernel's
    /dev, /proc and /sys are its own, so their times and link counts are not the image's.)"""
    compare_python(apps, boot, PY_SUBPROCESS, 0)


def test_python_multiprocessing_pool(apps: dict[str, tuple[Path, Path]], boot: object) -> None:  # noqa: F811
    """python3: multiprocessing.Pool(2).map and friends, a Process's exit code."""
    compare_python(apps, boot, PY_POOL, 0)


def test_perl_system_and_backticks(apps: dict[str, tuple[Path, Path]], boot: object) -> None:  # noqa: F811
    """perl (Debian's perl-base, /bin/sh is dash): system's statuses, backticks, piped opens."""
    compare_app(apps, boot, "perl", ("perl", "-e", PERL_SYSTEM))
