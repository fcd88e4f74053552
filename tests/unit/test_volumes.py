"""`run -v/--mount` on the converter side: parsing and refusals as `docker run` words them,
the QEMU arguments and the d2u.vol word of the volume contract, the data directory's
layout, and copy-up from a real converted .uni (owners, modes, links, times, escapes)."""

from __future__ import annotations

import base64
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.copyup import copy_up
from dock2uni.errors import OutputError, RunError
from dock2uni.fs.cpioread import entries, rootfs_region
from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode
from dock2uni.pipeline import convert_image
from dock2uni.run import RunOptions, dry_run_argv, kernel_cmdline, qemu_argv
from dock2uni.uni import read_metadata
from dock2uni.volmount import HostVolume, image_volumes, kernel_items, qemu_args, resolve
from dock2uni.volstore import VolumeStore, data_dir
from dock2uni.volumes import (
    VolumeRequest,
    VolumeUsageError,
    parse_mount,
    parse_volume,
    parse_volumes,
)
from tests.volimage import DATA_MTIME, busybox_with, data_layer

# -- parsing -------------------------------------------------------------------------


def test_volume_forms() -> None:
    assert parse_volume("/srv/x:/data") == VolumeRequest(
        kind="bind", source="/srv/x", target="/data", create_source=True
    )
    assert parse_volume("/srv/x/:/data//sub/../y/:ro").readonly
    assert parse_volume("/srv/x/:/data//sub/../y/:ro").target == "/data/y"
    assert parse_volume("/srv/x:/data:rw").readonly is False
    assert parse_volume("/srv/x:/data:ro,rprivate").readonly  # Docker's default propagation
    assert parse_volume("db:/var/lib/db") == VolumeRequest(
        kind="volume", source="db", target="/var/lib/db"
    )
    assert parse_volume("db:/d:ro,nocopy") == VolumeRequest(
        kind="volume", source="db", target="/d", readonly=True, copy_up=False
    )
    assert parse_volume("/cache") == VolumeRequest(kind="anonymous", source=None, target="/cache")


def test_mount_forms() -> None:
    bind = parse_mount("type=bind,source=/srv,target=/data,readonly").request
    assert bind == VolumeRequest(kind="bind", source="/srv", target="/data", readonly=True)
    named = parse_mount("type=volume,src=db,dst=/d,volume-nocopy=true").request
    assert named == VolumeRequest(kind="volume", source="db", target="/d", copy_up=False)
    anon = parse_mount("target=/d").request  # Docker's default type is volume
    assert anon == VolumeRequest(kind="anonymous", source=None, target="/d")
    assert parse_mount("type=bind,src=/a,dst=/b,ro=false").request.readonly is False  # type: ignore[union-attr]
    tmpfs = parse_mount("type=tmpfs,destination=/run/x")
    assert (tmpfs.request, tmpfs.tmpfs) == (None, "/run/x")
    quoted = parse_mount('"type=bind","src=/a,b",dst=/c').request
    assert quoted is not None and quoted.source == "/a,b"


@pytest.mark.parametrize(
    ("volume", "says"),
    [
        ("/a:/", "destination can't be '/'"),
        ("/a:/proc", "the library OS provides /proc itself"),
        ("/a:/sys/fs", "the library OS provides /sys itself"),
        ("/a:/dev/shm", "the library OS provides /dev itself"),
        ("/a:data", "is not an absolute path"),
        ("rel", "is not an absolute path"),
        ("./here:/data", "includes invalid characters for a local volume name"),
        ("a:/b:/c:ro", "invalid volume specification"),
        ("/a::ro", "invalid volume specification"),
        ("/a:/b:z", "SELinux relabelling does not apply"),
        ("/a:/b:rshared", "mount propagation does not apply"),
        ("/a:/b:ro,rw", "given twice"),
        ("/a:/b:bogus", "not a mode docker run knows"),
        ("/a:/b:nocopy", "only volumes are copied up"),
        ("/a\0:/b", "NUL"),
    ],
)
def test_volume_refusals(volume: str, says: str) -> None:
    with pytest.raises(VolumeUsageError, match=says.replace("(", r"\(")) as info:
        parse_volume(volume)
    assert info.value.option == "--volume"


@pytest.mark.parametrize(
    ("mount", "says"),
    [
        ("type=bind,src=/a", "target is missing"),
        ("type=bind,dst=/b", "a bind mount needs a source"),
        ("type=bind,src=a,dst=/b", "is not an absolute path"),
        ("type=nfs,src=/a,dst=/b", "mount type 'nfs' is not supported"),
        ("type=tmpfs,src=/a,dst=/b", "a tmpfs mount takes no source"),
        ("type=tmpfs,dst=/b,tmpfs-size=1m", "no size or mode"),
        ("type=tmpfs,dst=/b,ro", "a read-only tmpfs"),
        ("type=volume,src=x,dst=/b,volume-driver=nfs", "only dock2uni's local volumes"),
        ("type=bind,src=/a,dst=/b,bind-propagation=shared", "no propagation"),
        ("type=bind,src=/a,dst=/b,readonly=maybe", "invalid value for readonly"),
        ("type=bind,src=/a,dst=/b,volume-nocopy", "applies to type=volume only"),
        ("type=bind,src=/a,dst=/b,dst=/c", "given twice"),
        ("type=volume,src=../x,dst=/b", "invalid characters"),
        ("type=bind,src=/a,dst=/dev", "provides /dev itself"),
        ("colour=blue,dst=/b", "not a --mount key"),
    ],
)
def test_mount_refusals(mount: str, says: str) -> None:
    with pytest.raises(VolumeUsageError, match=says) as info:
        parse_mount(mount)
    assert info.value.option == "--mount"


def test_duplicates_across_volume_mount_and_tmpfs_are_refused() -> None:
    parsed = parse_volumes(["/a:/x", "vv:/y"], ["type=tmpfs,dst=/z"], ["/t"])
    assert [r.target for r in parsed.requests] == ["/x", "/y"] and parsed.tmpfs == ("/z",)
    for volumes, mounts, tmpfs in [
        (["/a:/x", "bb:/x/"], [], []),
        (["/a:/x"], ["type=volume,dst=/x"], []),
        ([], ["type=tmpfs,dst=/t"], ["/t"]),
        (["/x"], [], ["/x"]),
    ]:
        with pytest.raises(VolumeUsageError, match="Duplicate mount point: /"):
            parse_volumes(volumes, mounts, tmpfs)


# -- the contract: QEMU arguments and the kernel word ------------------------------------


def test_qemu_arguments_and_kernel_word_follow_the_contract(tmp_path: Path) -> None:
    vols = (
        HostVolume(source=Path("/srv/a,b"), target="/data"),
        HostVolume(source=Path("/srv/c"), target="/odd:name", readonly=True, name="c"),
    )
    model = "passthrough" if os.geteuid() == 0 else "none"
    assert qemu_args(vols) == [
        "-fsdev", f"local,id=d2uvol0,path=/srv/a,,b,security_model={model}",
        "-device", "virtio-9p-device,fsdev=d2uvol0,mount_tag=d2uvol0",
        "-fsdev", f"local,id=d2uvol1,path=/srv/c,security_model={model},readonly=on",
        "-device", "virtio-9p-device,fsdev=d2uvol1,mount_tag=d2uvol1",
    ]  # fmt: skip
    assert kernel_items(vols) == ["d2uvol0:rw:/data", "d2uvol1:ro:/odd:name"]
    words = kernel_cmdline(RunOptions(mounts=vols)).split()
    (word,) = [w for w in words if w.startswith("d2u.vol=")]
    assert base64.b64decode(word.split("=", 1)[1]) == b"d2uvol0:rw:/data\0d2uvol1:ro:/odd:name"
    assert not [w for w in kernel_cmdline(RunOptions()).split() if w.startswith("d2u.vol")]
    argv = qemu_argv(
        tmp_path / "x.uni",
        accel="tcg",
        mem=64 << 20,
        log_socket=tmp_path / "s",
        cmdline="",
        initrd=None,
        network_args=["-netdev", "user,id=n0"],
        volume_args=qemu_args(vols),
    )
    assert argv.index("-fsdev") > argv.index("-netdev")  # after the other devices


def test_image_volumes_from_metadata() -> None:
    meta = {"volumes": ["/data", "/data/", "/var//lib/x/..", "/", "/proc/x", "rel", 3]}
    assert image_volumes(meta) == ("/data", "/var/lib")
    assert image_volumes({}) == ()


# -- the data directory -----------------------------------------------------------------


def test_data_dir_rules(tmp_path: Path) -> None:
    assert data_dir({"DOCK2UNI_DATA": "/d", "XDG_DATA_HOME": "/x", "HOME": "/h"}) == Path("/d")
    assert data_dir({"XDG_DATA_HOME": "/x", "HOME": "/h"}) == Path("/x/dock2uni")
    assert data_dir({"HOME": "/h"}) == Path("/h/.local/share/dock2uni")


def test_store_layout_create_list_remove(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path)
    data, made = store.create("db")
    assert made and data == tmp_path / "volumes" / "db" / "_data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o755
    (data / "f").write_text("x")
    again, made_again = store.create("db")
    assert (again, made_again) == (data, False) and (data / "f").read_text() == "x"
    store.create("a" * 64, anonymous=True)
    infos = {i.name: i for i in store.list()}
    assert set(infos) == {"db", "a" * 64}
    assert infos["a" * 64].anonymous and not infos["db"].anonymous
    doc = infos["db"].as_json()
    assert doc["Mountpoint"] == str(data) and doc["Driver"] == "local"
    store.remove("db")
    assert not (tmp_path / "volumes" / "db").exists()
    with pytest.raises(RunError, match="no such volume"):
        store.remove("db")
    for bad in ("../x", ".hidden", "a/b", "x"):
        with pytest.raises(RunError, match="invalid volume name"):
            store.path(bad)


# -- copy-up from a real .uni ------------------------------------------------------------


@pytest.fixture(scope="module")
def data_uni(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """busybox plus a populated /data declared as a VOLUME, converted for real."""
    tmp = tmp_path_factory.mktemp("volimage")
    layout = busybox_with(tmp / "layout", data_layer(), {"Volumes": {"/data": {}, "/cache": {}}})
    ctx = Context(cache_dir=tmp / "cache", quiet=True)
    out = tmp / "data.uni"
    convert_image(f"oci:{layout}:latest", out, AcquireOptions(), ctx)
    return out


def test_the_image_volumes_are_in_the_metadata(data_uni: Path) -> None:
    assert read_metadata(data_uni)["volumes"] == ["/cache", "/data"]


def test_cpio_reader_lists_the_embedded_rootfs(data_uni: Path) -> None:
    archive, start, end = rootfs_region(data_uni, None)
    with archive.open("rb") as f:
        found = {e.path: e for e in entries(f, start, end, what="x")}
    assert {"/", "/bin/busybox", "/data/hello.txt", "/data/sub/deep"} <= set(found)
    hello = found["/data/hello.txt"]
    with archive.open("rb") as f:
        f.seek(hello.offset)
        assert f.read(hello.size) in (b"hello from the image\n", b"")  # "" : the other link


def test_cpio_reader_refuses_damage(tmp_path: Path, data_uni: Path) -> None:
    archive, start, end = rootfs_region(data_uni, None)
    raw = bytearray(archive.read_bytes()[start:end])
    raw[0:6] = b"070702"
    bad = tmp_path / "bad.cpio"
    bad.write_bytes(bytes(raw))
    with pytest.raises(OutputError, match="damaged"), bad.open("rb") as f:
        list(entries(f, 0, len(raw), what="bad"))
    bad.write_bytes(bytes(raw[:4000]))  # cut inside the archive
    with pytest.raises(OutputError), bad.open("rb") as f:
        list(entries(f, 0, 4000, what="bad"))


def _tree(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """path -> (mode, uid, gid, content or link target) of every entry below ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            what = os.readlink(p) if p.is_symlink() else (p.read_text() if p.is_file() else "")
            out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, what)
    return out


def test_copy_up_keeps_owners_modes_links_and_times(tmp_path: Path, data_uni: Path) -> None:
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up(data_uni, None, "/data", dest) == 7
    got = _tree(dest)
    root = os.geteuid() == 0
    owner = (1000, 1000) if root else (os.getuid(), os.getgid())
    assert got["hello.txt"] == (stat.S_IFREG | 0o640, *owner, "hello from the image\n")
    assert got["link"][3] == "hello.txt" and stat.S_ISLNK(got["link"][0])
    assert got["abs"][3] == "/etc/passwd"  # kept as is, never followed
    assert (dest / "hard").stat().st_ino == (dest / "hello.txt").stat().st_ino
    assert stat.S_IMODE(got["sub"][0]) == 0o700 and got["sub/deep"][3] == "deep\n"
    if root:
        assert got["setuid"][:3] == (stat.S_IFREG | 0o4755, 0, 0)
        assert got["sub"][1:3] == (999, 998)
        assert (dest.stat().st_uid, dest.stat().st_gid) == (1000, 1000)
    # The volume's root takes the image directory's mode (and owner): Docker's copyOwnership.
    assert stat.S_IMODE(dest.stat().st_mode) == 0o750
    assert (dest / "hello.txt").stat().st_mtime == DATA_MTIME
    assert (dest / "sub").stat().st_mtime == DATA_MTIME
    assert dest.stat().st_mtime == DATA_MTIME


def test_copy_up_follows_symlinks_inside_the_image_and_skips_what_is_absent(
    tmp_path: Path, data_uni: Path
) -> None:
    via = tmp_path / "via"
    via.mkdir()
    assert copy_up(data_uni, None, "/app/data", via) == 7  # /app/data -> /data
    assert (via / "sub" / "deep").read_text() == "deep\n"
    for path in ("/nonexistent", "/bin/busybox", "/data/hello.txt"):
        empty = tmp_path / "empty"
        empty.mkdir(exist_ok=True)
        assert copy_up(data_uni, None, path, empty) == 0 and os.listdir(empty) == []


def test_copy_up_leaves_a_volume_with_contents_alone(tmp_path: Path, data_uni: Path) -> None:
    dest = tmp_path / "used"
    dest.mkdir()
    (dest / "mine").write_text("mine")
    assert copy_up(data_uni, None, "/data", dest) == 0
    assert os.listdir(dest) == ["mine"]


def test_resolve_named_anonymous_and_bind(tmp_path: Path, data_uni: Path) -> None:
    store = VolumeStore(tmp_path / "d2u")
    host = tmp_path / "host"
    requests = [
        VolumeRequest(kind="volume", source="named", target="/data"),
        VolumeRequest(kind="bind", source=str(host), target="/srv", create_source=True),
        VolumeRequest(kind="volume", source="plain", target="/data2", copy_up=False),
    ]
    vols = resolve(
        requests,
        image=data_uni,
        initrd=None,
        declared=("/data", "/cache"),
        covered=(),
        store=store,
    )
    by_target = {v.target: v for v in vols}
    assert set(by_target) == {"/data", "/srv", "/data2", "/cache"}  # /data was given
    assert by_target["/data"].source == store.path("named").resolve()
    assert (by_target["/data"].source / "hello.txt").read_text() == "hello from the image\n"
    assert host.is_dir() and by_target["/srv"].source == host.resolve()  # -v made it
    assert os.listdir(by_target["/data2"].source) == []
    cache = by_target["/cache"]
    assert cache.anonymous and cache.name is not None and len(cache.name) == 64
    assert int(cache.name, 16) >= 0 and store.info(cache.name).anonymous  # type: ignore[union-attr]
    # Given again, the named volume keeps what it holds and is not filled twice.
    (by_target["/data"].source / "hello.txt").write_text("changed\n")
    again = resolve(requests[:1], image=data_uni, initrd=None, declared=(), covered=(), store=store)
    assert (again[0].source / "hello.txt").read_text() == "changed\n"


def test_resolve_refuses_what_it_cannot_serve(tmp_path: Path, data_uni: Path) -> None:
    store = VolumeStore(tmp_path / "d2u")
    afile = tmp_path / "file"
    afile.write_text("x")
    cases = [
        (VolumeRequest(kind="bind", source=str(afile), target="/f"), "is not a directory"),
        (VolumeRequest(kind="bind", source=str(tmp_path / "nope"), target="/f"),
         "bind source path does not exist"),
    ]  # fmt: skip
    for request, says in cases:
        with pytest.raises(RunError, match=says):
            resolve([request], image=data_uni, initrd=None, declared=(), covered=(), store=store)


def test_dry_run_shows_the_devices_and_makes_nothing(
    tmp_path: Path, data_uni: Path, ctx: Context
) -> None:
    options = RunOptions(
        accel="tcg",
        volumes=(parse_volume("named:/data:ro"), parse_volume(f"{tmp_path}/h:/h")),
        data_dir=tmp_path / "d2u",
    )
    argv, _ = dry_run_argv(data_uni, options, ctx)
    joined = " ".join(argv)
    assert f"path={tmp_path}/d2u/volumes/named/_data," in joined and "readonly=on" in joined
    assert f"path={tmp_path}/d2u/volumes/<anonymous>/_data," in joined  # /cache
    assert "mount_tag=d2uvol2" in joined and "d2uvol3" not in joined
    cmdline = argv[argv.index("-append") + 1]
    (word,) = [w for w in cmdline.split() if w.startswith("d2u.vol=")]
    items = base64.b64decode(word[8:]).split(b"\0")
    assert sorted(i.split(b":", 2)[2] for i in items) == [b"/cache", b"/data", b"/h"]
    assert not (tmp_path / "d2u").exists() and not (tmp_path / "h").exists()


def test_cli_dry_run_with_volumes(tmp_path: Path, data_uni: Path) -> None:
    env = {**os.environ, "DOCK2UNI_DATA": str(tmp_path / "d2u")}
    proc = subprocess.run(
        [sys.executable, "-m", "dock2uni", "run", "--dry-run", "--accel", "tcg",
         "-v", f"{tmp_path}:/host:ro", "--mount", "type=volume,src=db,dst=/db",
         "--mount", "type=tmpfs,dst=/cache", str(data_uni)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"path={tmp_path},security_model=" in proc.stdout
    assert f"path={tmp_path}/d2u/volumes/db/_data" in proc.stdout
    assert "<anonymous>" in proc.stdout  # /data, declared by the image
    argv = shlex.split(proc.stdout.splitlines()[-1])
    words = dict(w.split("=", 1) for w in argv[argv.index("-append") + 1].split() if "=" in w)
    items = base64.b64decode(words["d2u.vol"]).split(b"\0")
    # /cache, declared by the image too, is a tmpfs here: no anonymous volume for it.
    assert sorted(i.split(b":", 2)[2] for i in items) == [b"/data", b"/db", b"/host"]
    assert base64.b64decode(words["d2u.tmpfs"]) == b"/cache"


# -- `dock2uni volume` -------------------------------------------------------------------


def _volume(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCK2UNI_DATA": str(tmp_path / "d2u")}
    return subprocess.run(
        [sys.executable, "-m", "dock2uni", "volume", *args],
        capture_output=True, text=True, env=env, input=stdin, check=False,
    )  # fmt: skip


def test_volume_commands(tmp_path: Path) -> None:
    assert _volume(tmp_path, "create", "db").stdout == "db\n"
    unnamed = _volume(tmp_path, "create").stdout.strip()
    assert len(unnamed) == 64
    store = VolumeStore(tmp_path / "d2u")
    anon, _ = store.create("f" * 64, anonymous=True)
    (anon / "x").write_bytes(b"12345")
    listing = _volume(tmp_path, "ls").stdout.splitlines()
    assert listing[0] == "DRIVER    VOLUME NAME"
    assert sorted(listing[1:]) == sorted(f"local     {n}" for n in ("db", unnamed, "f" * 64))
    (doc,) = json.loads(_volume(tmp_path, "inspect", "db").stdout)
    assert doc["Mountpoint"] == str(tmp_path / "d2u" / "volumes" / "db" / "_data")
    # In use by a run: neither rm nor prune removes it.
    with store.in_use(["db", "f" * 64]):
        busy = _volume(tmp_path, "rm", "db")
        assert busy.returncode != 0 and "volume is in use" in busy.stderr
        kept = _volume(tmp_path, "prune", "-f")
        assert "Total reclaimed space: 0B" in kept.stdout
    assert _volume(tmp_path, "prune", stdin="n\n").returncode == 0 and store.exists("f" * 64)
    pruned = _volume(tmp_path, "prune", "-f")
    assert pruned.stdout == f"Deleted Volumes:\n{'f' * 64}\n\nTotal reclaimed space: 5B\n"
    assert store.exists("db") and store.exists(unnamed)  # named ones need --all
    assert _volume(tmp_path, "rm", "db").stdout == "db\n" and not store.exists("db")
    missing = _volume(tmp_path, "rm", "db")
    assert missing.returncode != 0 and "no such volume: db" in missing.stderr
    bad = _volume(tmp_path, "create", "../x")
    assert bad.returncode == 2 and "invalid characters" in bad.stderr
    assert _volume(tmp_path, "prune", "--all", "-f").stdout.startswith("Deleted Volumes:\n")
    assert _volume(tmp_path, "ls", "-q").stdout == ""


def test_a_callers_own_d2u_vol_word_is_not_mixed_with_ours(data_uni: Path, ctx: Context) -> None:
    """extra_qemu/extra_cmdline callers number their own d2uvolN devices: the image's
    VOLUMEs then get none of ours (their tags would collide), and volumes= is refused."""
    own = ("d2u.vol=" + base64.b64encode(b"d2uvol0:rw:/x").decode(),)
    argv, _ = dry_run_argv(data_uni, RunOptions(accel="tcg", extra_cmdline=own), ctx)
    assert "-fsdev" not in argv
    with pytest.raises(RunError, match="cannot be combined"):
        dry_run_argv(
            data_uni,
            RunOptions(accel="tcg", extra_cmdline=own, volumes=(parse_volume("/y"),)),
            ctx,
        )


def test_inspect_shows_the_image_volumes(data_uni: Path) -> None:
    """Both the .uni's metadata (inspect IMAGE.uni) and the source image (inspect SOURCE)."""
    out = subprocess.run(
        [sys.executable, "-m", "dock2uni", "inspect", str(data_uni)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Volumes:     /cache, /data\n" in out
    layout = data_uni.parent / "layout"
    doc = subprocess.run(
        [sys.executable, "-m", "dock2uni", "inspect", "--format", "json", f"oci:{layout}:latest"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert '"volumes": [\n    "/cache",\n    "/data"\n  ]' in doc


def test_more_volumes_than_the_kernel_mounts_are_refused(data_uni: Path, ctx: Context) -> None:
    """8 fit (the kernel's virtio-9p devices); the image's own /data and /cache count."""
    eight = tuple(parse_volume(f"/v{i}") for i in range(6))
    argv, _ = dry_run_argv(data_uni, RunOptions(accel="tcg", volumes=eight), ctx)
    assert argv.count("-fsdev") == 8
    nine = (*eight, parse_volume("/v9"))
    with pytest.raises(RunError, match=r"9 volumes .* more than the 8"):
        dry_run_argv(data_uni, RunOptions(accel="tcg", volumes=nine), ctx)
    covered = RunOptions(accel="tcg", volumes=nine, tmpfs=("/cache",))
    assert dry_run_argv(data_uni, covered, ctx)[0].count("-fsdev") == 8


def test_the_security_model_follows_who_runs_qemu(monkeypatch: pytest.MonkeyPatch) -> None:
    """root: passthrough (the guest's owners on the host); anyone else: none (files stay
    the invoking user's, chown fails with EPERM), as rootless Docker."""
    vol = (HostVolume(source=Path("/srv"), target="/d"),)
    for euid, model in ((0, "passthrough"), (1000, "none")):
        monkeypatch.setattr(os, "geteuid", lambda euid=euid: euid)
        assert f"security_model={model}" in qemu_args(vol)[1]


def _hostile_cpio(path: Path, entries: list[tuple[str, object]], store_dir: Path) -> Path:
    """A newc archive with entries written exactly as given (names not normalised)."""
    from dock2uni.fs.cpio import CpioWriter
    from dock2uni.fs.store import ContentStore

    store = ContentStore(store_dir)
    with path.open("wb") as out:
        writer = CpioWriter(out, store)
        for name, what in entries:
            node = what
            if isinstance(what, bytes):
                node = FileNode(mode=0o644, size=len(what), digest=store.put_bytes(what))
            writer.add(name, node)  # type: ignore[arg-type]
        writer.finish()
    return path


@pytest.mark.parametrize("escape", ["climb", "symlink"])
def test_a_hostile_archive_cannot_write_outside_the_volume(tmp_path: Path, escape: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if escape == "climb":
        bad: list[tuple[str, object]] = [("/data/../../outside/x", b"pwned")]
    else:  # a symlink in the volume, then a file "below" it
        bad = [("/data/l", SymlinkNode(target=str(outside))), ("/data/l/x", b"pwned")]
    archive = _hostile_cpio(
        tmp_path / "bad.cpio", [("/", DirNode()), ("/data", DirNode()), *bad], tmp_path / "s"
    )
    dest = tmp_path / "vol"
    dest.mkdir()
    with pytest.raises(RunError, match=r"bad path|cannot copy"):
        copy_up(tmp_path / "unused.uni", archive, "/data", dest)
    assert os.listdir(outside) == []


def test_a_volume_being_filled_is_filled_once(tmp_path: Path, data_uni: Path) -> None:
    """A second run waits while the first fills a new volume, then finds it not empty."""
    import threading

    store = VolumeStore(tmp_path / "d2u")
    data, _ = store.create("shared")
    request = [VolumeRequest(kind="volume", source="shared", target="/data")]
    done = threading.Event()

    def second_run() -> None:
        resolve(request, image=data_uni, initrd=None, declared=(), covered=(), store=store)
        done.set()

    with store.filling("shared"):  # the first run, filling
        thread = threading.Thread(target=second_run)
        thread.start()
        assert not done.wait(1.0)  # waits for the first
        (data / "filled-by-the-first").write_text("x")
    thread.join(30)
    assert done.is_set() and os.listdir(data) == ["filled-by-the-first"]


def test_a_failed_start_leaves_no_anonymous_volume(tmp_path: Path, data_uni: Path) -> None:
    store = VolumeStore(tmp_path / "d2u")
    requests = [
        VolumeRequest(kind="anonymous", source=None, target="/x"),
        VolumeRequest(kind="volume", source="named", target="/n"),
        VolumeRequest(kind="bind", source=str(tmp_path / "missing"), target="/b"),
    ]
    with pytest.raises(RunError, match="does not exist"):
        resolve(requests, image=data_uni, initrd=None, declared=("/data",), covered=(),
                store=store)  # fmt: skip
    assert [i.name for i in store.list()] == ["named"]  # a named volume stays, as Docker's


def test_copy_up_unpacks_compressed_files(tmp_path: Path) -> None:
    """A closure or slim image stores its files LZ4-packed (fs/cpio.py): the volume gets
    the files' bytes, not the containers; a damaged container is a RunError."""
    from dock2uni.fs.cpio import CpioWriter
    from dock2uni.fs.store import ContentStore

    text = b"".join(b"row %d\n" % i for i in range(20000))
    store = ContentStore(tmp_path / "s")
    path = tmp_path / "packed.cpio"
    with path.open("wb") as out:
        writer = CpioWriter(out, store, compress=True)
        writer.add("/", DirNode())
        writer.add("/data", DirNode())
        writer.add("/data/t", FileNode(mode=0o644, size=len(text), digest=store.put_bytes(text)))
        writer.finish()
    assert writer.stats.packed_files == 1
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up(tmp_path / "unused.uni", path, "/data", dest) == 1
    assert (dest / "t").read_bytes() == text
    raw = bytearray(path.read_bytes())
    at = raw.index(b"d2uZ")
    raw[at + 24 : at + 64] = b"\xff" * 40  # inside the first block
    path.write_bytes(bytes(raw))
    again = tmp_path / "vol2"
    again.mkdir()
    with pytest.raises(RunError, match="damaged"):
        copy_up(tmp_path / "unused.uni", path, "/data", again)
