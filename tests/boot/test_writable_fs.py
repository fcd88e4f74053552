"""Real programs write the in-memory rootfs: busybox and python3, byte for byte as under chroot.

Each program runs natively under chroot(8) in a fresh copy of the image's rootfs
and as a unikernel (which always boots the pristine image). busybox sh cannot
fork yet, so every run is one program: sh builtins, or a single applet.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import Inspected, convert_image, inspect_image
from tests.boot.conftest import Booted
from tests.conftest import need
from tests.infra.rootfs import materialise, run_in_chroot

pytestmark = pytest.mark.boot
CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}

# Writes, appends, reads back, rewrites and lists /tmp with shell builtins only.
SH_BUILTINS = (
    "echo x > /tmp/f; echo y >> /tmp/f; while read l; do echo got $l; done < /tmp/f; "
    "cd /tmp; echo *; [ -s f ] && echo nonempty; echo z > f; read l < f; echo $l; "
    "echo new > /etc/motd-new; read l < /etc/motd-new; echo $l; "
    "echo >> /etc/passwd && echo appended"
)
# awk writes a file, closes it and reads it back (getline), in one process.
AWK = (
    'BEGIN { print "one" > "/tmp/a"; print "two" > "/tmp/a"; close("/tmp/a"); '
    'while ((getline l < "/tmp/a") > 0) print "read", l; '
    'print "three" >> "/tmp/a"; close("/tmp/a"); '
    'n = 0; while ((getline l < "/tmp/a") > 0) n++; print n, "lines" }'
)
# python3 (python3-minimal: no shutil or tempfile): files, directories, rename, truncate,
# unlink of an open file and a .pyc cache.
PYTHON = """
import os, sys
os.makedirs("/tmp/t/sub")
p = "/tmp/t/data.txt"
with open(p, "w") as f:
    f.write("hello from python\\n" * 1000)
with open(p, "a") as f:
    f.write("tail\\n")
with open(p) as f:
    text = f.read()
print(len(text), text.splitlines()[-1])
os.rename(p, "/tmp/t/sub/moved.txt")
print(sorted(os.listdir("/tmp/t")), sorted(os.listdir("/tmp/t/sub")))
st = os.stat("/tmp/t/sub/moved.txt")
print(st.st_size, oct(st.st_mode & 0o777))
with open("/tmp/t/mod.py", "w") as f:
    f.write("VALUE = 42\\n")
sys.path.insert(0, "/tmp/t")
import mod
print(mod.VALUE, sorted(os.listdir("/tmp/t/__pycache__")))
os.truncate("/tmp/t/sub/moved.txt", 5)
print(open("/tmp/t/sub/moved.txt").read())
os.unlink("/tmp/t/sub/moved.txt")
os.rmdir("/tmp/t/sub")
print(sorted(os.listdir("/tmp/t")))
fd = os.open("/tmp/t/tmp", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.unlink("/tmp/t/tmp")
os.write(fd, b"temp")
print(os.pread(fd, 10, 0), os.fstat(fd).st_nlink, sorted(os.listdir("/tmp/t")))
os.close(fd)
"""


def _convert(name: str, boot_ctx: Context, out: Path) -> tuple[Path, Inspected]:
    if os.geteuid() != 0:
        need("chroot", "the native chroot comparison needs root")
    source = f"oci:{fixture_layout(name)}:latest"
    uni = out / f"{name}.uni"
    convert_image(source, uni, AcquireOptions(), boot_ctx)
    return uni, inspect_image(source, AcquireOptions(), boot_ctx)


@pytest.fixture(scope="module")
def busybox(boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Inspected]:
    """The busybox image as .uni, and its unpacked tree for fresh chroot roots."""
    return _convert("busybox", boot_ctx, tmp_path_factory.mktemp("busybox-fs"))


@pytest.fixture(scope="module")
def python(boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The python image as .uni, and its rootfs materialised once for chroot."""
    out = tmp_path_factory.mktemp("python-fs")
    uni, inspected = _convert("python", boot_ctx, out)
    return uni, materialise(inspected.unpacked.tree, inspected.unpacked.store, out / "root")


def native(root: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return run_in_chroot(root, argv, CHROOT_ENV)


def compare(uni: Path, root: Path, argv: tuple[str, ...], boot: object) -> Booted:
    """Run argv natively and booted; both must print the same and exit alike."""
    want = native(root, *argv)
    got: Booted = boot(uni, cmd=argv)  # type: ignore[operator]
    assert got.result.status == "exit", got.describe()
    assert got.result.exit_code == want.returncode, got.describe()
    # In the guest, fds 1 and 2 are the same tty, so both streams arrive in order on COM1.
    assert got.stdout == want.stdout + want.stderr, got.describe()
    unsupported = [line for line in got.result.log if "unsupported syscall" in line]
    assert not unsupported, got.describe()
    return got


@pytest.mark.parametrize(
    "argv",
    [
        ("sh", "-c", SH_BUILTINS),
        ("awk", AWK),
        ("cp", "-a", "/etc", "/tmp/etc-copy"),
        ("tar", "-C", "/", "-cvf", "/tmp/etc.tar", "etc/passwd", "etc/group"),
        ("sed", "-i", "s/root/ROOT/", "/etc/passwd"),
        ("mkdir", "-p", "/tmp/a/b/c"),
        ("mkdir", "/tmp"),
        ("rmdir", "/etc"),
        ("ln", "-s", "target", "/etc/passwd"),
        ("rm", "-rf", "/etc", "/root"),
    ],
    ids=[
        "sh-builtins",
        "awk-write-read",
        "cp-a",
        "tar-create",
        "sed-i",
        "mkdir-p",
        "mkdir-exists",
        "rmdir-not-empty",
        "ln-exists",
        "rm-rf",
    ],
)
def test_busybox_writes_like_chroot(
    argv: tuple[str, ...], busybox: tuple[Path, Inspected], boot: object, tmp_path: Path
) -> None:
    """A busybox program changing the rootfs prints and exits as in a fresh native chroot."""
    uni, inspected = busybox
    root = materialise(inspected.unpacked.tree, inspected.unpacked.store, tmp_path / "root")
    compare(uni, root, argv, boot)


def test_python_writes_and_reads_back(python: tuple[Path, Path], boot: object) -> None:
    """python3 -c: files, dirs, rename, truncate, unlink (also of an open file), .pyc under /tmp."""
    uni, root = python
    got = compare(uni, root, ("python3", "-c", PYTHON), boot)
    assert b"18005 tail\n" in got.stdout, got.describe()


# Fills the filesystem (1 MiB writes) until ENOSPC, then frees it; unikernel only, since
# natively it would fill the host's disk. The figures are printed, not judged in the guest:
# the host checks them against what it knows independently (the RAM it gave QEMU).
FILL = """
import errno, os
def free_mib():
    st = os.statvfs("/tmp")
    return st.f_bfree * st.f_bsize >> 20
print("free_before", free_mib())
f = open("/tmp/big", "wb")
n = 0
try:
    while True:
        f.write(b"x" * (1 << 20))
        f.flush()
        n += 1
except OSError as e:
    print("stopped", errno.errorcode[e.errno])
print("written", n)
print("free_full", free_mib())
f.close()
os.unlink("/tmp/big")
print("free_after", free_mib())
with open("/tmp/small", "w") as s:
    s.write("still writable")
print(open("/tmp/small").read())
"""
FILL_RAM = 192 << 20  # the guest's RAM, given to QEMU by this test


def test_full_filesystem_is_enospc_not_a_panic(python: tuple[Path, Path], boot: object) -> None:
    """Writing until memory runs out fails with ENOSPC; unlinking gives the memory back.

    Judged by the bytes the guest really wrote, against the RAM the host gave it: more than
    a third of it (the rest holds the kernel, the image and python), never more than all of
    it; the free space the guest reports agrees with those writes, within 8 MiB.
    """
    uni, _ = python
    got: Booted = boot(uni, cmd=("python3", "-c", FILL), mem=FILL_RAM)  # type: ignore[operator]
    assert got.result.status == "exit" and got.result.exit_code == 0, got.describe()
    lines = got.stdout.decode().splitlines()
    assert lines[1] == "stopped ENOSPC" and lines[-1] == "still writable", got.describe()
    pairs = [line.split() for line in lines]
    fig = {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}
    print("ENOSPC figures (MiB):", fig)
    ram_mib = FILL_RAM >> 20
    assert ram_mib // 3 < fig["written"] < ram_mib, fig
    assert abs(fig["free_before"] - fig["written"]) <= 8, fig  # the claim matched the writes
    assert fig["free_full"] <= 8, fig
    assert fig["free_after"] >= fig["written"] - 8, fig  # unlink gave the memory back
