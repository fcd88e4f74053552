"""Volumes (`-v HOST:GUEST`, docs/volumes.md): a host directory served to the guest over
virtio-9p, booted through RunOptions(extra_qemu=..., extra_cmdline=...) as the converter's
`run -v` does it (the contract in docs/volumes.md).

tests/guest/volume.c runs natively on a real directory first (the Linux ground truth), then
in the unikernel on a host directory mounted at /data; the outputs must match, and what the
guest left is checked on the host after QEMU is gone, including after a SIGKILL of QEMU
for data the program had fsync'ed.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.run import RunOptions, b64_nul_joined, run_image
from tests.boot.conftest import Booted
from tests.conftest import need

pytestmark = pytest.mark.boot
MANY = 3000  # entries of many/: about 220 KB of 9P dirents, more than one Treaddir
USER = 65534


def volume_options(
    host: Path, mode: str = "rw", guest: str = "/data", tag: str = "d2uvol0"
) -> dict[str, tuple[str, ...]]:
    """QEMU's fsdev and virtio-9p device plus the d2u.vol= word, as the contract says."""
    model = "passthrough" if os.geteuid() == 0 else "none"
    readonly = ",readonly=on" if mode == "ro" else ""
    return {
        "extra_qemu": (
            "-fsdev",
            f"local,id={tag},path={host},security_model={model}{readonly}",
            "-device",
            f"virtio-9p-device,fsdev={tag},mount_tag={tag}",
        ),
        "extra_cmdline": (f"d2u.vol={b64_nul_joined([f'{tag}:{mode}:{guest}'])}",),
    }


def make_tree(root: Path) -> Path:
    """The host directory every case starts from."""
    root.mkdir(parents=True)
    (root / "hello.txt").write_text("hello from the host\n")
    many = root / "many"
    many.mkdir()
    for i in range(MANY):
        (many / f"entry-{i:04d}-{'x' * 40}").touch()
    secret = root / "secret"
    secret.write_text("root only\n")
    secret.chmod(0o600)
    (root / "rootdir").mkdir(mode=0o755)
    root.chmod(0o777)
    return root


def pattern(n: int) -> bytes:
    """tests/guest/volume.c's pattern() from offset 0."""
    return bytes((o * 7 + (o >> 12) + (o >> 20)) & 0xFF for o in range(n))


def compared(out: bytes) -> list[str]:
    """The lines both runs must print alike (STAT lines name host inodes: checked apart)."""
    return [ln for ln in out.decode(errors="replace").splitlines() if not ln.startswith("STAT ")]


def native(guest_root: Path, *args: str, user: bool = False) -> subprocess.CompletedProcess[bytes]:
    argv = [str(guest_root / "guest" / "glibc" / "volume"), *args]
    if user:
        argv = ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, timeout=120, check=False)


def test_volume_matches_native(
    guest_root: Path, volume_uni: Path, boot: object, tmp_path: Path
) -> None:
    """Reads, writes, rename, mkdir/rmdir, a large directory, a 20 MiB file, links, "..",
    symlinks and attributes behave on a volume as on a Linux directory, and land on the host."""
    nat_dir = make_tree(tmp_path / "native" / "vol")
    nat = native(guest_root, "main", str(nat_dir))
    assert nat.returncode == 0, nat.stdout.decode() + nat.stderr.decode()

    host = make_tree(tmp_path / "host" / "vol")
    booted: Booted = boot(volume_uni, ("main", "/data"), timeout=600, **volume_options(host))  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert compared(booted.stdout) == compared(nat.stdout), booted.describe()
    assert booted.result.exit_code == 0, booted.describe()

    # What the guest left is on the host, as the native run left it in its directory.
    for name in ("renamed.txt", "keep/inner.txt", "sl"):
        assert (host / name).exists() or (host / name).is_symlink(), name
    assert not (host / "new.txt").exists() and not (host / "d").exists()
    assert (host / "keep" / "inner.txt").read_text() == "inner\n"
    assert os.readlink(host / "sl") == "renamed.txt"
    big = (host / "big.bin").read_bytes()
    assert len(big) == 20 << 20
    assert (
        hashlib.sha256(big).digest() == hashlib.sha256((nat_dir / "big.bin").read_bytes()).digest()
    )
    assert sorted(os.listdir(host)) == sorted(os.listdir(nat_dir))
    assert len(os.listdir(host / "many")) == MANY

    # stat fields as the guest saw them are the host's.
    for line in booted.stdout.decode().splitlines():
        if not line.startswith("STAT "):
            continue
        _, name, *fields = line.split()
        values = dict(f.split("=") for f in fields)
        st = os.lstat(host / name)
        assert int(values["ino"]) == st.st_ino, line
        assert int(values["nlink"]) == st.st_nlink, line
        assert int(values["mode"], 8) == st.st_mode, line
        assert int(values["uid"]) == st.st_uid and int(values["gid"]) == st.st_gid, line
        assert int(values["size"]) == st.st_size, line
        assert int(values["mtime"]) == int(st.st_mtime), line


def test_volume_is_its_own_mount(volume_uni: Path, boot: object, tmp_path: Path) -> None:
    """Its own st_dev; rename and link across it are EXDEV; the mount point is EBUSY; no
    writable shared mapping (Linux's 9p with cache=none); root's chown reaches the host."""
    if os.geteuid() != 0:
        need("root", "chown on the host needs QEMU's security_model=passthrough (root)")
    host = make_tree(tmp_path / "vol")
    booted: Booted = boot(volume_uni, ("guestonly", "/data"), **volume_options(host))  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert b"0 failed" in booted.stdout and booted.result.exit_code == 0, booted.describe()
    assert not (host / "x.txt").exists()
    st = os.stat(host / "owned.txt")
    assert (st.st_uid, st.st_gid) == (4321, 8765)


def test_processes_racing_on_a_volume(
    guest_root: Path, volume_uni: Path, boot: object, tmp_path: Path
) -> None:
    """Four processes create, rename, link, unlink and rmdir the same names at once
    (each request sleeps, so they interleave between lookup and use): as natively."""
    nat_dir = make_tree(tmp_path / "native" / "vol")
    nat = native(guest_root, "stress", str(nat_dir))
    assert nat.returncode == 0, nat.stdout.decode() + nat.stderr.decode()
    host = make_tree(tmp_path / "host" / "vol")
    booted: Booted = boot(volume_uni, ("stress", "/data"), timeout=600, **volume_options(host))  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout.splitlines() == nat.stdout.splitlines(), booted.describe()
    assert sorted(os.listdir(host)) == sorted(os.listdir(nat_dir))


class _Watch:
    """A stdout that sets ``stop`` (QEMU gets SIGKILL) once the guest printed ``marker``."""

    def __init__(self, marker: bytes, stop: threading.Event) -> None:
        self.data = b""
        self.marker = marker
        self.stop = stop

    def write(self, b: bytes) -> int:
        self.data += b
        if self.marker in self.data:
            self.stop.set()
        return len(b)

    def flush(self) -> None:
        pass


def test_fsynced_data_survives_sigkill(
    volume_uni: Path, boot_ctx: Context, accel: str, tmp_path: Path
) -> None:
    """1 MiB written and fsync'ed, then QEMU is SIGKILLed: the bytes are on the host."""
    host = make_tree(tmp_path / "vol")
    stop = threading.Event()
    out = _Watch(b"synced\n", stop)
    opts = RunOptions(
        accel=accel, timeout=300, cmd=("fsync", "/data"), stop=stop, **volume_options(host)
    )
    with open(os.devnull, "w") as err:
        result = run_image(volume_uni, opts, boot_ctx, stdout=out, stderr=err)  # type: ignore[arg-type]
    assert stop.is_set(), f"{result.status} {out.data!r} {result.log[-20:]}"
    assert result.status == "timeout", result.status  # killed, not exited
    assert b"PASS fsync-write" in out.data
    assert (host / "synced.bin").read_bytes() == pattern(1 << 20)


def test_volume_as_non_root_user(
    guest_root: Path, volume_uni: Path, boot: object, tmp_path: Path
) -> None:
    """A guest user (-u 65534:65534) gets EACCES for a root-only host file, and what it
    creates is its own on the host (security_model=passthrough)."""
    if os.geteuid() != 0:
        need("root", "ownership on the host needs QEMU's security_model=passthrough (root)")
    if shutil.which("setpriv") is None:
        need("root", "setpriv (util-linux) runs the native comparison as the user")
    # The user must reach the native tree: pytest's own temporary directories are 0700.
    with tempfile.TemporaryDirectory(prefix="d2u-vol-") as base:
        os.chmod(base, 0o755)
        nat_dir = make_tree(Path(base) / "vol")
        nat = native(guest_root, "user", str(nat_dir), user=True)
    assert nat.returncode == 0, nat.stdout.decode() + nat.stderr.decode()

    host = make_tree(tmp_path / "host" / "vol")
    booted: Booted = boot(
        volume_uni, ("user", "/data"), user=f"{USER}:{USER}", **volume_options(host)
    )  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert compared(booted.stdout) == compared(nat.stdout), booted.describe()
    for name in ("userfile.txt", "userdir"):
        st = os.stat(host / name)
        assert (st.st_uid, st.st_gid) == (USER, USER), name
    assert (host / "userfile.txt").read_text() == "mine\n"
    assert os.stat(host / "secret").st_uid == 0


def test_read_only_volume(volume_uni: Path, boot: object, tmp_path: Path) -> None:
    """`:ro`: every change is EROFS and the host directory is left as it was."""
    host = make_tree(tmp_path / "vol")
    before = {p: (p.stat().st_mode, p.stat().st_mtime_ns) for p in host.iterdir()}
    booted: Booted = boot(volume_uni, ("ro", "/data"), **volume_options(host, "ro"))  # type: ignore[operator]
    assert booted.result.status == "exit", booted.describe()
    assert b" 0 failed" in booted.stdout and booted.result.exit_code == 0, booted.describe()
    assert {p: (p.stat().st_mode, p.stat().st_mtime_ns) for p in host.iterdir()} == before
    assert (host / "hello.txt").read_text() == "hello from the host\n"


@pytest.fixture(scope="module")
def busybox_uni(boot_ctx: Context, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vol-busybox") / "busybox.uni"
    convert_image(f"oci:{fixture_layout('busybox')}:latest", out, AcquireOptions(), boot_ctx)
    return out


def test_busybox_on_volume(busybox_uni: Path, boot: object, tmp_path: Path) -> None:
    """Real programs: busybox sh, cp, mv, ls, wc in a volume, at a mount point the image
    lacks (made on the way, as Docker makes one); the results are on the host."""
    host = make_tree(tmp_path / "vol")
    script = (
        "cd /srv/vol && cp hello.txt copy.txt && mv copy.txt moved.txt && cat moved.txt && "
        "ls many | wc -l && mkdir -p a/b && echo deep > a/b/c && ls -ld /srv/vol | cut -c1-10 && "
        "cd a/b && pwd && cat ../../moved.txt && "
        "cp /bin/busybox /srv/vol/echo && /srv/vol/echo exec-ok"
    )
    booted: Booted = boot(
        busybox_uni, ("sh", "-c", script), **volume_options(host, guest="/srv/vol")
    )  # type: ignore[operator]
    assert booted.result.status == "exit" and booted.result.exit_code == 0, booted.describe()
    lines = booted.stdout.decode().split()
    assert lines == [
        "hello",
        "from",
        "the",
        "host",
        str(MANY),
        "drwxrwxrwx",
        "/srv/vol/a/b",
        "hello",
        "from",
        "the",
        "host",
        "exec-ok",
    ], booted.describe()
    assert (host / "moved.txt").read_text() == "hello from the host\n"
    assert not (host / "copy.txt").exists()
    assert (host / "a" / "b" / "c").read_text() == "deep\n"


def test_missing_tag_is_a_config_error(busybox_uni: Path, boot: object, tmp_path: Path) -> None:
    """A d2u.vol tag with no device behind it stops the boot with a D2U:PANIC naming it."""
    booted: Booted = boot(  # type: ignore[operator]
        busybox_uni, ("true",), extra_cmdline=(f"d2u.vol={b64_nul_joined(['nosuchtag:rw:/data'])}",)
    )
    assert booted.result.status == "config", booted.describe()
    assert "nosuchtag" in (booted.result.cause or "") and "/data" in (booted.result.cause or ""), (
        booted.describe()
    )


PY_SCRIPT = """
import os
here = os.path.dirname(os.path.abspath(__file__))
report = {"names": sorted(os.listdir(here)), "many": len(os.listdir(os.path.join(here, "many"))),
          "hello": open(os.path.join(here, "hello.txt")).read()}
tmp = os.path.join(here, "report.txt.tmp")
with open(tmp, "w") as f:
    f.write(repr(report))
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, os.path.join(here, "report.txt"))
print("wrote", os.stat(os.path.join(here, "report.txt")).st_size > 0)
"""


def test_python_script_on_volume(boot_ctx: Context, boot: object, tmp_path: Path) -> None:
    """python3 runs a script kept on the volume; its atomic write (tmp, fsync, os.replace)
    is on the host."""
    uni = tmp_path / "python.uni"
    convert_image(f"oci:{fixture_layout('python')}:latest", uni, AcquireOptions(), boot_ctx)
    host = make_tree(tmp_path / "vol")
    (host / "script.py").write_text(PY_SCRIPT)
    booted: Booted = boot(uni, ("python3", "/data/script.py"), **volume_options(host))  # type: ignore[operator]
    assert booted.result.status == "exit" and booted.result.exit_code == 0, booted.describe()
    assert booted.stdout.split() == [b"wrote", b"True"], booted.describe()
    report = ast.literal_eval((host / "report.txt").read_text())
    assert report == {
        "names": ["hello.txt", "many", "rootdir", "script.py", "secret"],
        "many": MANY,
        "hello": "hello from the host\n",
    }
    assert not (host / "report.txt.tmp").exists()


def test_two_volumes_and_workdir(busybox_uni: Path, boot: object, tmp_path: Path) -> None:
    """Two volumes are two filesystems (their own st_dev, EXDEV between them; busybox mv
    copies across), and -w may name a directory inside one."""
    a, b = make_tree(tmp_path / "a"), make_tree(tmp_path / "b")
    first, second = volume_options(a, guest="/a"), volume_options(b, "ro", "/b", tag="d2uvol1")
    words = [w.split("=", 1)[1] for w in (*first["extra_cmdline"], *second["extra_cmdline"])]
    items = [base64.b64decode(w).decode() for w in words]
    script = (
        "pwd; stat -c %d / /a /b | sort -u | wc -l; ln /a/hello.txt /a/hl && echo linked; "
        "ln /a/hello.txt /hl2 || echo exdev; mv /a/hl /moved && cat /moved; "
        "echo x > /b/new || echo rofs"
    )
    booted: Booted = boot(  # type: ignore[operator]
        busybox_uni,
        ("sh", "-c", script),
        workdir="/a/rootdir",
        split_stderr=True,  # ln's and sh's messages: COM3, apart from the lines checked
        extra_qemu=first["extra_qemu"] + second["extra_qemu"],
        extra_cmdline=(f"d2u.vol={b64_nul_joined(items)}",),
    )
    assert booted.result.status == "exit", booted.describe()
    out = booted.stdout.decode()
    assert out.splitlines()[:3] == ["/a/rootdir", "3", "linked"], booted.describe()
    assert "exdev" in out and "hello from the host" in out and "rofs" in out, booted.describe()
    assert not (a / "hl").exists() and not (b / "new").exists()
    assert os.stat(a / "hello.txt").st_nlink == 1


def test_read_only_root_keeps_volume_writable(
    busybox_uni: Path, boot: object, tmp_path: Path
) -> None:
    """`run --read-only`: the image refuses changes, a `rw` volume does not (as Docker)."""
    host = make_tree(tmp_path / "vol")
    script = "echo x > /data/w && echo vol-ok; echo y > /etc/z || echo root-rofs"
    booted: Booted = boot(  # type: ignore[operator]
        busybox_uni, ("sh", "-c", script), split_stderr=True, read_only=True, **volume_options(host)
    )
    assert booted.result.status == "exit", booted.describe()
    assert booted.stdout.decode().split() == ["vol-ok", "root-rofs"], booted.describe()
    assert b"Read-only file system" in booted.guest_stderr, booted.describe()
    assert (host / "w").read_text() == "x\n"
