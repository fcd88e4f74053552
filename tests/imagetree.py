"""Test helper: build an image Tree + ContentStore from files of the host (no unpack stage).

``HostImage.add(path)`` copies a host file (or a symlink and what it points to, or a
directory) into the tree at the same path; ``add_program(path)`` also adds the shared
libraries ``ldd`` lists and the dynamic loader. Only for tests: the real pipeline never
reads host files.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import subprocess
from pathlib import Path

from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode, Tree, split_path
from dock2uni.model import DEFAULT_PLATFORM, AcquiredImage
from dock2uni.unpack import UnpackedImage

_LDD = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


class HostImage:
    """A tree filled from host files, with a private content store."""

    def __init__(self, store_dir: Path) -> None:
        self.tree = Tree()
        self.store = ContentStore(store_dir)

    def _dir(self, path: str) -> DirNode:
        node = self.tree.root
        for comp in split_path(path):
            child = node.children.get(comp)
            if not isinstance(child, DirNode):
                child = DirNode(mode=0o755)
                node.children[comp] = child
            node = child
        return node

    def add_bytes(self, image_path: str, data: bytes, mode: int = 0o755) -> None:
        parent, name = posixpath.split(image_path)
        digest = self.store.put_bytes(data)
        self._dir(parent).children[name] = FileNode(mode=mode, size=len(data), digest=digest)

    def add_symlink(self, image_path: str, target: str) -> None:
        parent, name = posixpath.split(image_path)
        self._dir(parent).children[name] = SymlinkNode(target=target)

    def add(self, host_path: str, image_path: str | None = None, *, depth: int = 0) -> None:
        """Copy a host path into the tree, following symlinks to add their targets too."""
        image_path = image_path or host_path
        # Resolve the host's directory symlinks (e.g. /lib -> usr/lib) component by
        # component, recording each symlink in the tree as it is.
        parts = split_path(host_path)
        cur = "/"
        for i, comp in enumerate(parts):
            nxt = posixpath.join(cur, comp)
            st = os.lstat(nxt)
            if stat.S_ISLNK(st.st_mode) and depth < 40:
                target = os.readlink(nxt)
                if self.tree.lookup(nxt, follow=False) is None:
                    self.add_symlink(nxt, target)
                resolved = posixpath.normpath(posixpath.join(cur, target))
                rest = "/".join(parts[i + 1 :])
                self.add(posixpath.join(resolved, rest) if rest else resolved, depth=depth + 1)
                return
            cur = nxt
        st = os.lstat(host_path)
        if stat.S_ISDIR(st.st_mode):
            self._dir(image_path)
            for name in sorted(os.listdir(host_path)):
                self.add(posixpath.join(host_path, name), depth=depth)
        elif stat.S_ISREG(st.st_mode):
            self.add_bytes(image_path, Path(host_path).read_bytes(), stat.S_IMODE(st.st_mode))

    def add_program(self, host_path: str) -> None:
        """The program, its shared libraries (per ldd) and its loader."""
        self.add(host_path)
        out = subprocess.run(["ldd", host_path], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            m = _LDD.search(line)
            if m:
                self.add(m.group(1))


AUDIT_SRC = Path(__file__).resolve().parent.parent / "fixtures" / "src" / "audit"
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pie": ("gcc", ("-O2", "-pie", "-fPIE")),
    "exec": ("gcc", ("-O2", "-no-pie", "-fno-pie")),
    "static": ("gcc", ("-O2", "-static")),
    "static-pie": ("gcc", ("-O2", "-static-pie", "-fPIE")),
    "musl": ("musl-gcc", ("-O2", "-static")),
}


def compile_c(name: str, variant: str, outdir: Path) -> Path:
    """Compile fixtures/src/audit/<name>.c as one of VARIANTS into outdir; return the path."""
    cc, flags = VARIANTS[variant]
    out = outdir / f"{name}-{variant}"
    if not out.exists():
        extra = ("-pthread",) if name == "features" else ()
        subprocess.run(
            [cc, *flags, *extra, "-o", str(out), str(AUDIT_SRC / f"{name}.c")],
            check=True,
            capture_output=True,
        )
    return out


def image_with(programs: dict[str, Path], store_dir: Path) -> HostImage:
    """An image holding each compiled program at its key (an image path) plus its libraries."""
    img = HostImage(store_dir)
    for image_path, host in programs.items():
        img.add_bytes(image_path, host.read_bytes(), 0o755)
        out = subprocess.run(["ldd", str(host)], capture_output=True, text=True, check=False)
        for line in out.stdout.splitlines():
            m = _LDD.search(line)
            if m:
                img.add(m.group(1))
    if Path("/etc/ld.so.cache").exists():
        img.add("/etc/ld.so.cache")
    return img


def unpacked_from(img: HostImage, config: dict[str, object]) -> UnpackedImage:
    """Wrap a HostImage as the unpack stage's result, with ``config`` as the image config."""
    image = AcquiredImage(
        source="test",
        transport="oci",
        reference=None,
        manifest_digest="sha256:" + "0" * 64,
        manifest_media_type="application/vnd.oci.image.manifest.v1+json",
        manifest={},
        manifest_bytes=b"",
        config_digest="sha256:" + "1" * 64,
        config={"config": config},
        config_bytes=b"",
        layers=(),
        platform=DEFAULT_PLATFORM,
    )
    return UnpackedImage(image=image, tree=img.tree, store=img.store, layers=())
