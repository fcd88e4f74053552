"""Run a program natively with stdout on a real pseudo-terminal, as the unikernel's console is.

The booted guest writes to a console that is a tty (TCGETS, TIOCGWINSZ and lseek's ESPIPE
answer as for a terminal), so the native ground truth must see a terminal too, not the
pipe ``subprocess`` would give it. The pty is put in raw mode (no output processing, so
"\\n" stays "\\n" and the bytes compare equal) and given an 80x24 window, since a fresh
pty reports 0x0, which no real terminal does.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import tempfile
import termios
import time
import tty
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PtyRun:
    """Exit status and output of one run with stdout on a pty."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run_on_pty(argv: Sequence[str], cwd: Path, timeout: float = 60.0) -> PtyRun:
    """``argv`` with stdout on a raw 80x24 pty (stdin from /dev/null, stderr to a file)."""
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as err:
        try:
            tty.setraw(slave)
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            proc = subprocess.Popen(
                list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave, stderr=err
            )
        finally:
            os.close(slave)
        chunks = []
        deadline = time.monotonic() + timeout
        try:
            while True:  # until the last writer (the program) closes the slave: EIO
                if not select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
                    proc.kill()
                    raise TimeoutError(f"{argv[0]} still runs after {timeout} s")
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(master)
        returncode = proc.wait(timeout=timeout)
        err.seek(0)
        return PtyRun(returncode=returncode, stdout=b"".join(chunks), stderr=err.read())
