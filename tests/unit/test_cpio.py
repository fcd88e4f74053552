"""The cpio newc writer: GNU cpio reads back exactly the tree we wrote."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

from dock2uni.fs.cpio import write_cpio
from dock2uni.fs.policy import configured_locales, select
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DeviceNode, DirNode, FileNode, SymlinkNode, Tree


def build_tree(store: ContentStore) -> Tree:
    """A small tree with files, a hardlink pair, a symlink, a device and odd names."""
    tree = Tree()
    data = b"hello\n" * 1000
    f = FileNode(mode=0o4755, uid=0, gid=0, size=len(data), digest=store.put_bytes(data))
    etc = DirNode(mode=0o755)
    tree.root.children["bin"] = DirNode(children={"prog": f, "prog-link": f})
    tree.root.children["etc"] = etc
    odd = b"\xff\x01x"
    etc.children["odd name \u00e9"] = FileNode(mode=0o600, size=3, digest=store.put_bytes(odd))
    etc.children["empty"] = FileNode(mode=0o644, size=0, digest=store.put_bytes(b""))
    tree.root.children["sh"] = SymlinkNode(target="/bin/prog")
    tree.root.children["null"] = DeviceNode(mode=0o666, major=1, minor=3)
    return tree


def test_gnu_cpio_reads_back_the_tree(tmp_path: Path) -> None:
    """Paths, modes, symlinks, hardlinks and contents survive a round trip through cpio -i."""
    store = ContentStore(tmp_path / "store")
    tree = build_tree(store)
    archive = tmp_path / "root.cpio"
    with archive.open("wb") as out:
        size = write_cpio(tree.walk(), out, store)
    assert size == archive.stat().st_size and size % 4 == 0
    raw = archive.read_bytes()
    listing = (
        subprocess.run(["cpio", "-it", "--quiet"], input=raw, capture_output=True, check=True)
        .stdout.decode("utf-8", "surrogateescape")
        .split("\n")
    )
    assert {".", "bin", "bin/prog", "bin/prog-link", "etc", "sh", "null"} <= set(listing)
    dest = tmp_path / "out"
    dest.mkdir()
    # Skip the device node: creating it needs privileges we do not want in a test.
    subprocess.run(
        ["cpio", "-idm", "--quiet", "--no-absolute-filenames", "-f", "null"],
        input=raw,
        cwd=dest,
        check=True,
    )
    prog = dest / "bin" / "prog"
    assert (
        hashlib.sha256(prog.read_bytes()).hexdigest()
        == hashlib.sha256(b"hello\n" * 1000).hexdigest()
    )
    assert stat.S_IMODE(prog.stat().st_mode) == 0o4755
    assert os.stat(dest / "bin" / "prog-link").st_ino == prog.stat().st_ino  # a real hardlink
    assert os.readlink(dest / "sh") == "/bin/prog"
    assert (dest / "etc" / "odd name \u00e9").read_bytes() == b"\xff\x01x"
    assert (dest / "etc" / "empty").read_bytes() == b""


def test_default_policy_drops_docs_and_unconfigured_locales(tmp_path: Path) -> None:
    """Docs, man pages, dpkg state and locales the env does not select are dropped."""
    store = ContentStore(tmp_path / "store")
    tree = Tree()
    blob = store.put_bytes(b"x" * 10)

    def put(path: str) -> None:
        node = tree.root
        parts = path.strip("/").split("/")
        for comp in parts[:-1]:
            nxt = node.children.setdefault(comp, DirNode())
            assert isinstance(nxt, DirNode)
            node = nxt
        node.children[parts[-1]] = FileNode(size=10, digest=blob)

    for p in (
        "/usr/share/doc/a/copyright",
        "/usr/share/man/man1/x.1.gz",
        "/var/lib/dpkg/status",
        "/usr/share/locale/de/LC_MESSAGES/x.mo",
        "/usr/share/locale/fr/LC_MESSAGES/x.mo",
        "/usr/share/locale/locale.alias",
        "/usr/bin/app",
        "/usr/share/docs-not/x",
    ):
        put(p)
    sel = select(tree, policy="default", env={"LANG": "fr_FR.UTF-8"})
    kept = {p for p, _ in sel.entries}
    assert "/usr/bin/app" in kept and "/usr/share/docs-not/x" in kept
    assert "/usr/share/locale/fr/LC_MESSAGES/x.mo" in kept
    assert "/usr/share/locale/locale.alias" in kept
    assert not any(
        p.startswith(("/usr/share/doc/", "/usr/share/man", "/var/lib/dpkg")) for p in kept
    )
    assert "/usr/share/locale/de" not in kept
    assert set(sel.dropped) == {
        "documentation",
        "manual pages",
        "package-manager state",
        "unconfigured locales",
    }
    assert sel.dropped["documentation"].bytes == 10
    full = select(tree, policy="full", env={})
    assert {p for p, _ in full.entries} >= kept | {"/usr/share/doc/a/copyright"}
    assert configured_locales({"LANG": "de_DE.UTF-8"}) >= {"de_DE", "de"}
