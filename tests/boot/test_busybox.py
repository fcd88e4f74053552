"""Debian's busybox-static applets and shell forks without exec: byte for byte as in a chroot.

The same rootfs (unpacked from the busybox fixture image) runs natively under
chroot(8) and as a unikernel. Only `uname -a` may differ, in the fields that
name the kernel and the machine instance (docs/testing.md): the node name,
the kernel release and the kernel version.
"""

from __future__ import annotations

import os
import subprocess
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
CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
# Subshells, command substitution and pipelines of shell builtins: the shell forks and
# waits, nothing is exec'd.
SH_FORKS = (
    'x=$(echo inner; exit 3); echo "got $x rc $?"; (exit 4); echo "subshell $?"; '
    'echo a b | { read v w; echo "piped $w $v"; }; f() { echo one; echo two; }; '
    'f | while read l; do echo "loop $l"; done; '
    'trap "echo bye" EXIT; set -e; (false); echo never'
)
# A pipeline of external applets fed by a here-document: every stage is fork + exec,
# connected by pipes; the last stage's status is the pipeline's.
SH_PIPELINE = r"""sort <<EOF | uniq -c | sort -n
pear
apple
pear
fig
apple
pear
EOF
echo "status $?"
printf '%s\n' 3 1 2 | sort -r | head -n 2 | tr '\n' ' '; echo
"""
# Background jobs (their stdin is /dev/null) and `wait`: for one pid (its status), for
# the last one ($!) and for all. Jobs write to files so the output's order is fixed.
SH_JOBS = r"""(sleep 0.2; echo slow >/tmp/slow) & slow=$!
(echo fast >/tmp/fast; exit 5) & fast=$!
wait $fast; echo "fast $?"
wait $slow; echo "slow $?"
cat /tmp/fast /tmp/slow; rm /tmp/fast /tmp/slow
sleep 0.1 & (exit 3) & wait $!; echo "last $?"
false & true & wait; echo "all $?"
(sleep 0.1; echo a) & wait; echo done
"""
# xargs runs its command once per batch of arguments; a failing command makes it 123.
SH_XARGS = r"""echo a b c | xargs -n 1 echo item
printf '%s\n' x y z | xargs echo all
seq 1 5 | xargs -n 2 sh -c 'echo "sum $(($1 + ${2:-0}))"' _
echo nothing | xargs false; echo "false: $?"
"""
# find's -exec ... \; (one child per match) and -exec ... + (one for all); a missing start
# point last, so its message (stderr) follows all of stdout and its 1 is the exit status.
SH_FIND = r"""find /etc -name 'p*' -exec echo found {} \;
find /etc /var -type d -exec echo dir {} \; | sort
find /etc -type f -exec cat {} + | wc -l
find /nonexistent -name x
"""


@pytest.fixture(scope="module")
def busybox(boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the busybox image as .uni, the same rootfs materialised for chroot)."""
    if os.geteuid() != 0:
        need("chroot", "the native chroot comparison needs root")
    source = f"oci:{fixture_layout('busybox')}:latest"
    out = tmp_path_factory.mktemp("busybox")
    inspected = inspect_image(source, AcquireOptions(), boot_ctx)
    root = docker_dev(materialise(inspected.unpacked.tree, inspected.unpacked.store, out / "root"))
    uni = out / "busybox.uni"
    convert_image(source, uni, AcquireOptions(), boot_ctx)
    return uni, root


def native(root: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return run_in_chroot(root, argv, CHROOT_ENV)


@pytest.mark.parametrize(
    "argv",
    [
        ("echo", "hello", "from", "busybox"),
        ("cat", "/etc/passwd"),
        ("sha256sum", "/bin/busybox"),
        ("ls", "-l", "/etc"),
        ("ls", "-ln", "/usr/bin"),
        ("sh", "-c", "echo one; echo two >&2; exit 7"),
        ("busybox", "basename", "/a/b/c.txt", ".txt"),
        ("sh", "-c", "exec echo the shell is replaced by echo"),
        ("sh", "-c", "exec env GREETING=hi sh -c 'exec printenv GREETING'"),
        ("sh", "-c", SH_FORKS),
        ("sh", "-c", SH_PIPELINE),
        ("sh", "-c", SH_JOBS),
        ("sh", "-c", SH_XARGS),
        ("sh", "-c", SH_FIND),
    ],
    ids=[
        "echo",
        "cat",
        "sha256sum",
        "ls-l",
        "ls-ln-usr-bin",
        "sh-exit-7",
        "basename",
        "sh-exec",
        "sh-exec-chain",
        "sh-forks",
        "sh-pipeline",
        "sh-jobs-wait",
        "sh-xargs",
        "sh-find-exec",
    ],
)
def test_applet_output_matches_chroot(
    argv: tuple[str, ...], busybox: tuple[Path, Path], boot: object
) -> None:
    """stdout+stderr (one tty in the guest) and the exit code equal the native chroot run."""
    uni, root = busybox
    want = native(root, *argv)
    got: Booted = boot(uni, cmd=argv)  # type: ignore[operator]
    assert got.result.status == "exit", got.describe()
    assert got.result.exit_code == want.returncode, got.describe()
    # In the guest, fds 1 and 2 are the same tty, so both streams arrive in order on COM1.
    assert got.stdout == want.stdout + want.stderr, got.describe()


def test_uname_differs_only_in_kernel_fields(busybox: tuple[Path, Path], boot: object) -> None:
    """`uname -a`: same OS name, machine and userland; node name, release, version differ."""
    uni, root = busybox
    want = native(root, "uname", "-s", "-m", "-o").stdout
    got: Booted = boot(uni, cmd=("uname", "-s", "-m", "-o"))  # type: ignore[operator]
    assert got.stdout == want == b"Linux x86_64 GNU/Linux\n", got.describe()
    full: Booted = boot(uni, cmd=("uname", "-a"))  # type: ignore[operator]
    fields = full.stdout.decode().split()
    assert fields[0] == "Linux" and fields[-2:] == ["x86_64", "GNU/Linux"], full.describe()


def test_one_cpu_everywhere(busybox: tuple[Path, Path], boot: object) -> None:
    """nproc (sched_getaffinity), nproc --all (/sys/devices/system/cpu), /proc/cpuinfo: one CPU.

    Natively the same applets count the host's CPUs, so they are compared with Python's
    view of the host; booted, every source says 1 (docs/filesystem.md).
    """
    uni, root = busybox
    host = len(os.sched_getaffinity(0))
    assert native(root, "nproc").stdout == f"{host}\n".encode()
    # One boot per applet: there is no fork for a shell pipeline yet.
    for argv, want in [
        (("nproc",), b"1\n"),
        (("nproc", "--all"), b"1\n"),
        (("grep", "-c", "^processor", "/proc/cpuinfo"), b"1\n"),
        (("cat", "/sys/devices/system/cpu/online"), b"0\n"),
    ]:
        got: Booted = boot(uni, cmd=argv)  # type: ignore[operator]
        assert got.result.status == "exit" and got.result.exit_code == 0, got.describe()
        assert got.stdout == want, got.describe()


def test_ps_and_top_list_the_running_process(busybox: tuple[Path, Path], boot: object) -> None:
    """busybox ps and top read /proc/[pid] (stat, status, cmdline): they list themselves as pid 1.

    Natively the chroot's ps lists every host process, so only its header is compared;
    booted, the one process is ps (or top) itself, as root, as in `docker run IMAGE ps`.
    """
    uni, root = busybox
    header = native(root, "ps").stdout.decode().splitlines()[0]
    got: Booted = boot(uni, cmd=("ps",))  # type: ignore[operator]
    assert got.result.status == "exit" and got.result.exit_code == 0, got.describe()
    lines = got.stdout.decode().splitlines()
    assert lines[0] == header, got.describe()
    assert len(lines) == 2 and lines[1].split() == ["1", "root", "ps"], got.describe()
    top: Booted = boot(uni, cmd=("top", "-b", "-n", "1"))  # type: ignore[operator]
    assert top.result.status == "exit" and top.result.exit_code == 0, top.describe()
    text = top.stdout.decode()
    assert text.startswith("Mem: ") and "\nCPU:" in text and "\nLoad average: " in text, (
        top.describe()
    )
    procs = [line.split() for line in text.splitlines() if line.strip().startswith("1 ")]
    assert len(procs) == 1 and procs[0][-4:] == ["top", "-b", "-n", "1"], top.describe()


def test_strace_labels_each_line_with_its_thread(busybox: tuple[Path, Path], boot: object) -> None:
    """strace=1 of a shell pipeline: the shell and its two children each make calls, and
    every line says whose they are (`[pid N]`, as `strace -f`); the children's writes and
    reads of the pipe are theirs, not the shell's."""
    uni, _ = busybox
    got: Booted = boot(uni, cmd=("sh", "-c", "echo piped | cat"), strace=True)  # type: ignore[operator]
    assert got.result.status == "exit" and got.result.exit_code == 0, got.describe()
    assert got.stdout == b"piped\n", got.describe()
    calls = [line for line in got.result.log if "(" in line and ") = " in line]
    assert calls and all(line.startswith("[pid ") for line in calls), got.describe()
    pids = {line.split("]", 1)[0] for line in calls}
    assert "[pid 1" in pids and len(pids) >= 3, pids  # the shell, echo's and cat's forks

    def who(call: str) -> set[str]:
        return {line.split("]", 1)[0] for line in calls if call in line and line.endswith(" = 6")}

    # echo's fork writes the 6 bytes into the pipe (its fd 1), cat's fork reads them from
    # its fd 0 and writes them to the console: two children, neither of them the shell.
    writers, readers = who("] write(1, "), who("] read(0, ")
    assert len(writers) == 2 and len(readers) == 1 and readers < writers, "\n".join(calls)
    assert "[pid 1" not in writers, "\n".join(calls)
