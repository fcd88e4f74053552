"""dock2uni's volumes on the host: ``DATA/volumes/NAME/_data``, laid out as Docker's.

DATA is ``$DOCK2UNI_DATA``, else ``$XDG_DATA_HOME/dock2uni``, else
``~/.local/share/dock2uni``. Each volume is a directory holding ``_data`` (what the
guest sees) and ``dock2uni.json`` (when it was made, whether it is anonymous), which
`dock2uni volume ls|inspect|prune` read. Names are Docker's local volume names;
anonymous volumes get 64 random hex digits, as Docker names them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dock2uni.errors import RunError
from dock2uni.volumes import VOLUME_NAME_RE

META = "dock2uni.json"
DATA = "_data"


def data_dir(env: dict[str, str] | None = None) -> Path:
    """dock2uni's data directory (not the cache: volumes hold user data)."""
    env = dict(os.environ) if env is None else env
    if env.get("DOCK2UNI_DATA"):
        return Path(env["DOCK2UNI_DATA"])
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]) / "dock2uni"
    return Path(env.get("HOME") or os.path.expanduser("~")) / ".local" / "share" / "dock2uni"


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    mountpoint: Path
    created: float
    anonymous: bool

    def as_json(self) -> dict[str, Any]:
        """`docker volume inspect`'s fields that mean something here."""
        return {
            "Name": self.name,
            "Driver": "local",
            "Mountpoint": str(self.mountpoint),
            "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
            "Labels": {"com.docker.volume.anonymous": ""} if self.anonymous else {},
            "Scope": "local",
        }


class VolumeStore:
    """The volumes under one data directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or data_dir()) / "volumes"

    def _dir(self, name: str) -> Path:
        if not VOLUME_NAME_RE.fullmatch(name):  # never a path: no '/' and no leading '.'
            raise RunError(f"invalid volume name {name!r}", hint="Use [a-zA-Z0-9][a-zA-Z0-9_.-]+.")
        return self.root / name

    def path(self, name: str) -> Path:
        """Where volume ``name``'s data is (whether or not it exists)."""
        return self._dir(name) / DATA

    def exists(self, name: str) -> bool:
        return (self._dir(name) / DATA).is_dir()

    def create(self, name: str, *, anonymous: bool = False) -> tuple[Path, bool]:
        """(the volume's data directory, whether it was made now). ``_data`` is root's
        0755 when new, as Docker's local driver makes it; copy-up may change that."""
        vdir = self._dir(name)
        data = vdir / DATA
        if data.is_dir():
            return data, False
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            vdir.mkdir(mode=0o700, exist_ok=True)
            meta = {"created": time.time(), "anonymous": anonymous}
            tmp = vdir / (META + ".tmp")
            tmp.write_text(json.dumps(meta))
            os.replace(tmp, vdir / META)
            data.mkdir(mode=0o755)
            os.chmod(data, 0o755)  # noqa: S103 - Docker's mode; the umask must not narrow it
        except FileExistsError:
            return data, False  # another run made it first
        except OSError as exc:
            raise RunError(
                f"cannot create volume {name} in {self.root}: {exc.strerror}",
                hint="Check that the data directory ($DOCK2UNI_DATA) is writable.",
            ) from None
        return data, True

    def info(self, name: str) -> VolumeInfo | None:
        vdir = self._dir(name)
        if not (vdir / DATA).is_dir():
            return None
        meta: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads((vdir / META).read_text())
            meta = loaded if isinstance(loaded, dict) else {}
        created = meta.get("created")
        if not isinstance(created, (int, float)):
            created = (vdir / DATA).stat().st_mtime
        return VolumeInfo(name, vdir / DATA, float(created), meta.get("anonymous") is True)

    def list(self) -> list[VolumeInfo]:
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            if VOLUME_NAME_RE.fullmatch(name) and (info := self.info(name)) is not None:
                out.append(info)
        return out

    def _lock(self, name: str, how: int) -> int | None:
        """An fd of volume ``name``'s metadata file flock'ed ``how``; None when another
        holder keeps it from us (LOCK_NB) or the volume has no metadata file."""
        try:
            fd = os.open(self._dir(name) / META, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            fcntl.flock(fd, how)
        except OSError:
            os.close(fd)
            return None
        return fd

    @contextlib.contextmanager
    def in_use(self, names: Iterable[str]) -> Iterator[None]:
        """While a run uses the volumes ``names``: `volume rm` and `prune` leave them alone
        (a shared flock each, as Docker refuses to remove a volume in use)."""
        fds = [fd for n in names if (fd := self._lock(n, fcntl.LOCK_SH)) is not None]
        try:
            yield
        finally:
            for fd in fds:
                os.close(fd)

    @contextlib.contextmanager
    def filling(self, name: str) -> Iterator[None]:
        """Held while a run fills volume ``name`` from its image: two runs starting at once
        with the same new volume fill it once (the second then finds it not empty)."""
        fd = self._lock(name, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)

    def remove(self, name: str) -> None:
        vdir = self._dir(name)
        if not vdir.is_dir():
            raise RunError(f"no such volume: {name}", hint="`dock2uni volume ls` lists them.")
        fd = self._lock(name, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fd is None and (vdir / META).exists():
            raise RunError(
                f"remove {name}: volume is in use",
                hint="Stop the `dock2uni run` that uses it first.",
            )
        try:
            shutil.rmtree(vdir)
        except OSError as exc:
            raise RunError(f"cannot remove volume {name}: {exc.strerror}") from None
        finally:
            if fd is not None:
                os.close(fd)

    def size(self, name: str) -> int:
        """Bytes of the regular files in the volume (what `prune` reports reclaimed)."""
        total = 0
        for dirpath, _, files in os.walk(self.path(name)):
            for f in files:
                with contextlib.suppress(OSError):
                    st = os.lstat(os.path.join(dirpath, f))
                    total += st.st_size if stat.S_ISREG(st.st_mode) else 0
        return total
