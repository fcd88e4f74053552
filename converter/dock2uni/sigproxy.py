"""`dock2uni run`'s signal proxy: signals it receives go to the guest's first process.

Like `docker run`'s proxy, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are
forwarded unchanged, one byte (the signal number) each on COM4, whose receive
interrupt the library OS turns into a kill() of its first process
(docs/console-protocol.md, "Signals from the host"). Bytes wait until the kernel
logs D2U:ENTER: the UART drops what arrives before it is set up.

Two ways out when the application does not exit, as Docker has them: a second
SIGINT within two seconds, or ``--stop-timeout`` seconds after a stop signal
(SIGTERM, SIGINT, SIGQUIT or the image's StopSignal) was forwarded. The caller then
kills QEMU and reports 137, as `docker stop` reports the SIGKILL that follows its
timeout.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

FORWARDED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
STOPPING = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGQUIT})
DOUBLE_INT_SECONDS = 2.0
EXIT_KILLED = 137  # 128 + SIGKILL: what Docker reports for a container it had to kill
DEFAULT_STOP_TIMEOUT = 10.0  # docker stop's default


def signal_number(text: str | None) -> int | None:
    """The number of an OCI StopSignal ("SIGQUIT", "3", "SIGRTMIN+3"), or None."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    base, sep, offset = text.partition("+")
    try:
        number = int(getattr(signal, base))
    except (AttributeError, TypeError, ValueError):
        return None
    if sep:
        if not offset.isdigit():
            return None
        number += int(offset)
    return number


class SignalProxy:
    """Forwards signals to the guest through ``write_fd`` (COM4's pipe, owned from now on)
    once ``entered`` is set; decides when the guest must be killed instead."""

    def __init__(
        self,
        write_fd: int,
        entered: threading.Event,
        *,
        stop_timeout: float,
        stop_signal: int | None = None,
    ) -> None:
        self.write_fd = write_fd
        self.entered = entered
        self.stop_timeout = stop_timeout
        self.stopping = STOPPING | ({stop_signal} if stop_signal in FORWARDED else set())
        self.forwarded: list[int] = []
        self.kill_reason: str | None = None  # why the guest must be killed (137)
        self.kill_hint: str | None = None
        self.stop_deadline: float | None = None
        self._stop_by = ""
        self._last_int: float | None = None
        # SimpleQueue.put is reentrant: safe in a signal handler that interrupted a put.
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._forward, daemon=True)
        self._thread.start()

    def _forward(self) -> None:
        """The writer: only this thread touches write_fd, and it closes it at the end."""
        try:
            self.entered.wait()
            while (sig := self._queue.get()) is not None:
                with contextlib.suppress(OSError):  # QEMU is gone: nobody to tell
                    os.write(self.write_fd, bytes([sig]))
        finally:
            os.close(self.write_fd)

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        """The signal handler (main thread): forward, or decide to kill."""
        now = time.monotonic()
        last = self._last_int
        second = signum == signal.SIGINT and last is not None and now - last < DOUBLE_INT_SECONDS
        if second and self.kill_reason is None:
            self.kill_reason = "a second SIGINT arrived within 2 seconds"
            self.kill_hint = "One SIGINT (^C) is forwarded; wait for the application to exit."
        if self.kill_reason is None:
            if signum == signal.SIGINT:
                self._last_int = now
            self.forwarded.append(signum)
            self._queue.put(signum)
            if signum in self.stopping and self.stop_deadline is None:
                self.stop_deadline = now + self.stop_timeout
                self._stop_by = signal.Signals(signum).name
        with contextlib.suppress(OSError):  # full: a wake-up is already pending
            os.write(self.wake_w, b"\0")

    def check(self, now: float) -> str | None:
        """Why the guest must be killed now (called by the output pump), or None."""
        if (
            self.kill_reason is None
            and self.stop_deadline is not None
            and now >= self.stop_deadline
        ):
            self.kill_reason = (
                f"the application was still running {self.stop_timeout:g} s (--stop-timeout) "
                f"after {self._stop_by} was forwarded to it"
            )
            self.kill_hint = (
                "Check that the application exits on that signal, or raise --stop-timeout."
            )
        return self.kill_reason

    def drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            os.read(self.wake_r, 4096)

    def close(self) -> None:
        """Stop the writer (it closes write_fd) and drop the wake-up pipe."""
        self._queue.put(None)
        self.entered.set()  # a guest that never entered: the writer must not wait forever
        self._thread.join(timeout=5)
        os.close(self.wake_r)
        os.close(self.wake_w)


@contextlib.contextmanager
def forwarding(proxy: SignalProxy | None) -> Iterator[None]:
    """Within the block, the forwarded signals go to ``proxy.handle`` (main thread only;
    elsewhere, or without a proxy, nothing changes)."""
    if proxy is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, proxy.handle) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
