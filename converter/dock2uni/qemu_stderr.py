"""QEMU's stderr while a guest runs: spot the hypervisor's fatal messages and stop QEMU at once.

Some KVM failures do not end QEMU: after ``KVM internal error`` it prints a register
dump and pauses the guest forever, so without this the run would only end at
``--timeout`` (issue 8). A reader thread keeps the whole stderr text (for the
``qemu-error`` cause and ``--debug``) and, on the first fatal line, kills QEMU after
a short grace that lets the rest of the message arrive. The run then exits with
``EXIT_ACCEL`` (docs/exit-codes.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time

EXIT_ACCEL = 123  # the accelerator failed under the guest (docs/exit-codes.md)
KILL_GRACE = 0.2  # seconds: QEMU writes its register dump right after the first line

# Messages after which the guest cannot go on; matched anywhere in a line, any case.
FATAL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), what)
    for p, what in (
        (r"KVM internal error", "KVM internal error"),
        (r"emulation failure", "KVM emulation failure"),
        (r"failed to (?:set|get) MSR", "KVM refused a model-specific register"),
        (r"Could not access KVM kernel module", "KVM is not accessible"),
        (r"failed to initialize kvm", "KVM could not be initialised"),
        (r"kvm run failed", "KVM could not run the virtual CPU"),
        (r"KVM: entry failed", "KVM entry failed"),
        (r"kvm_init_vcpu failed", "KVM could not create the virtual CPU"),
        (r"\bkvm\S*: Assertion .* failed", "QEMU's KVM code hit an assertion"),
    )
)


def match_fatal(line: str) -> str | None:
    """What a fatal QEMU line means in a few words, or None if the line is not fatal."""
    for pattern, what in FATAL_PATTERNS:
        if pattern.search(line):
            return what
    return None


def fatal_in(text: str) -> tuple[str, str] | None:
    """(meaning, first fatal line) for the first fatal line in ``text``, or None."""
    for line in text.splitlines():
        if what := match_fatal(line):
            return what, line.strip()
    return None


class StderrWatcher(threading.Thread):
    """Reads QEMU's stderr to its end; kills QEMU soon after the first fatal line."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True, name="qemu-stderr")
        self.proc = proc
        self.chunks: list[bytes] = []
        self.fatal: tuple[str, str] | None = None  # (meaning, the line), first match
        self.fatal_at: float | None = None  # time.monotonic() of the fatal line
        self._pending = ""

    def run(self) -> None:
        pipe = self.proc.stderr
        if pipe is None:
            return
        try:
            while chunk := os.read(pipe.fileno(), 65536):
                self.chunks.append(chunk)
                if self.fatal is None:
                    self._scan(chunk.decode("utf-8", "replace"))
        except (OSError, ValueError):
            pass  # the pipe was closed under us: QEMU is gone

    def _scan(self, text: str) -> None:
        self._pending += text
        lines = self._pending.split("\n")
        self._pending = lines.pop()  # a line without its newline yet
        for line in lines:
            if hit := match_fatal(line):
                self.fatal = (hit, line.strip())
                self.fatal_at = time.monotonic()
                timer = threading.Timer(KILL_GRACE, self._stop)
                timer.daemon = True
                timer.start()
                return

    def _stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def finish(self, timeout: float = 2.0) -> bytes:
        """Everything QEMU wrote on stderr (call once QEMU has exited or been killed)."""
        self.join(timeout)
        text = b"".join(self.chunks)
        if self.fatal is None and (found := fatal_in(text.decode("utf-8", "replace"))):
            self.fatal = found  # a last line that ended without a newline
        return text


def watch(proc: subprocess.Popen[bytes]) -> StderrWatcher:
    """Start watching ``proc``'s stderr (a pipe)."""
    watcher = StderrWatcher(proc)
    watcher.start()
    return watcher


def fatal_cause(fatal: tuple[str, str], accel: str) -> tuple[str, str]:
    """(one-line cause, hint) for a run that QEMU's fatal message ended."""
    what, line = fatal
    line = line.removeprefix("qemu-system-x86_64: ").removeprefix("error: ")
    cause = f'{what} under --accel {accel}: QEMU said "{line[:160]}"'
    if accel == "kvm":
        hint = (
            "this host's KVM cannot run the guest; use --accel tcg (or DOCK2UNI_ACCEL=tcg), "
            "--debug shows QEMU's whole message"
        )
    else:
        hint = "--debug shows QEMU's whole message"
    return cause, hint
