"""Per-container state under ``--root``: ``<root>/<id>/state.json`` and ``exec.fifo``.

The status is derived live, never stored: the init process recorded in state.json
(pid plus its start time, so a reused pid is not mistaken for it) alive and the
fifo present means ``created``, alive without the fifo ``running``, gone (or a
zombie waiting for the engine to reap it) ``stopped``. Under Docker the root is
shared with runc, so only directories holding our state.json are ours.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dock2uni.runtime.errors import OciError

OCI_VERSION = "1.0.2"
DEFAULT_ROOT = Path("/run/dock2uni-runtime")
STATE = "state.json"
FIFO = "exec.fifo"
RUNTIME_TAG = "dock2uni-runtime"
_ID_RE = re.compile(r"[\w+\-.]{1,1024}")


def check_id(cid: str) -> str:
    if not _ID_RE.fullmatch(cid) or cid in (".", ".."):
        raise OciError(f"invalid container id {cid[:80]!r}: use letters, digits, _ + - .")
    return cid


def proc_start_time(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of ``pid``, or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])


@dataclass
class Container:
    root: Path
    id: str
    doc: dict[str, Any]

    @property
    def dir(self) -> Path:
        return self.root / self.id

    @property
    def pid(self) -> int:
        return int(self.doc.get("pid", 0))

    @property
    def fifo(self) -> Path:
        return self.dir / FIFO

    def alive(self) -> bool:
        """The recorded init still runs (a zombie counts as exited)."""
        if self.pid <= 0:
            return False
        found = proc_start_time(self.pid)
        return found is not None and found[0] != "Z" and found[1] == self.doc.get("starttime")

    def status(self) -> str:
        if not self.alive():
            return "stopped"
        return "created" if self.fifo.exists() else "running"

    def oci_state(self) -> dict[str, Any]:
        """The state JSON as runc prints it (runtime spec runtime.md, plus runc's extras)."""
        status = self.status()
        return {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": self.pid if status != "stopped" else 0,
            "status": status,
            "bundle": self.doc.get("bundle", ""),
            "rootfs": self.doc.get("rootfs", ""),
            "created": self.doc.get("created", ""),
            "owner": "",
            **({"annotations": self.doc["annotations"]} if self.doc.get("annotations") else {}),
        }


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def load(root: Path, cid: str) -> Container:
    """The container ``cid``; OciError with runc's "does not exist" wording otherwise."""
    check_id(cid)
    path = root / cid / STATE
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        raise OciError(f"container {cid} does not exist") from None
    if not isinstance(doc, dict) or doc.get("runtime") != RUNTIME_TAG:
        raise OciError(f"container {cid} does not exist")
    return Container(root, cid, doc)


def save(container: Container) -> None:
    """Write state.json atomically (a reader sees the old or the new document)."""
    tmp = container.dir / f".{STATE}.tmp"
    tmp.write_text(json.dumps(container.doc))
    os.replace(tmp, container.dir / STATE)


def make_dir(root: Path, cid: str) -> Path:
    """The new container's directory; refuses an id already in use."""
    check_id(cid)
    root.mkdir(parents=True, exist_ok=True, mode=0o711)
    path = root / cid
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        raise OciError(f"container with id exists: {cid}") from None
    return path


def remove(root: Path, cid: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(root / cid)
