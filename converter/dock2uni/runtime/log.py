"""The ``--log`` file: logrus-style lines, because containerd's shim reports the ``msg`` of
the last ``"level":"error"`` line as the reason a command failed (docs/oci-runtime.md)."""

from __future__ import annotations

import contextlib
import datetime
import json
import os


class RuntimeLog:
    """Appends one line per message; never raises (a log must not fail a command)."""

    def __init__(self, path: str | None, fmt: str = "json") -> None:
        self.path = path
        self.fmt = fmt

    def _write(self, level: str, msg: str) -> None:
        if not self.path:
            return
        now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
        if self.fmt == "json":
            line = json.dumps({"level": level, "msg": msg, "time": now})
        else:
            line = f"time={json.dumps(now)} level={level} msg={json.dumps(msg)}"
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8", "replace"))
            finally:
                os.close(fd)

    def debug(self, msg: str) -> None:
        self._write("debug", msg)

    def info(self, msg: str) -> None:
        self._write("info", msg)

    def warning(self, msg: str) -> None:
        self._write("warning", msg)

    def error(self, msg: str) -> None:
        self._write("error", msg)
