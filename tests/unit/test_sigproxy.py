"""`dock2uni run`'s signal proxy: what it writes to COM4's pipe, and when it gives up."""

from __future__ import annotations

import os
import select
import signal
import threading
import time

from dock2uni.sigproxy import SignalProxy


def proxy_pair(**kw: object) -> tuple[SignalProxy, int, threading.Event]:
    read_fd, write_fd = os.pipe()
    entered = threading.Event()
    proxy = SignalProxy(write_fd, entered, stop_timeout=kw.pop("stop_timeout", 10.0), **kw)  # type: ignore[arg-type]
    return proxy, read_fd, entered


def read_bytes(fd: int, n: int, timeout: float = 5.0) -> bytes:
    got = b""
    end = time.monotonic() + timeout
    while len(got) < n and select.select([fd], [], [], max(end - time.monotonic(), 0))[0]:
        chunk = os.read(fd, n - len(got))
        if not chunk:  # end of file: the writer closed its end
            break
        got += chunk
    return got


def test_signals_wait_for_the_guest_then_go_one_byte_each() -> None:
    """Nothing reaches COM4 before D2U:ENTER (the UART would drop it); then every signal
    is its number, in order, unchanged (SIGHUP is not turned into anything else)."""
    proxy, read_fd, entered = proxy_pair()
    try:
        proxy.handle(signal.SIGUSR1)
        proxy.handle(signal.SIGHUP)
        assert not select.select([read_fd], [], [], 0.2)[0]
        entered.set()
        assert read_bytes(read_fd, 2) == bytes([signal.SIGUSR1, signal.SIGHUP])
        proxy.handle(signal.SIGUSR2)
        assert read_bytes(read_fd, 1) == bytes([signal.SIGUSR2])
        assert proxy.stop_deadline is None and proxy.check(time.monotonic()) is None
    finally:
        proxy.close()
        os.close(read_fd)


def test_a_stop_signal_arms_the_stop_timeout() -> None:
    """SIGTERM is forwarded and, --stop-timeout later, the proxy says kill (137)."""
    proxy, read_fd, entered = proxy_pair(stop_timeout=0.5)
    entered.set()
    try:
        proxy.handle(signal.SIGTERM)
        assert read_bytes(read_fd, 1) == bytes([signal.SIGTERM])
        assert proxy.stop_deadline is not None
        assert proxy.check(time.monotonic()) is None
        reason = proxy.check(proxy.stop_deadline + 0.01)
        assert reason is not None and "SIGTERM" in reason and "--stop-timeout" in reason
    finally:
        proxy.close()
        os.close(read_fd)


def test_the_images_stop_signal_arms_it_too() -> None:
    """An image whose StopSignal is SIGUSR1 is being stopped when SIGUSR1 arrives."""
    proxy, read_fd, _ = proxy_pair(stop_signal=signal.SIGUSR1)
    try:
        proxy.handle(signal.SIGUSR1)
        assert proxy.stop_deadline is not None
    finally:
        proxy.close()
        os.close(read_fd)


def test_a_second_sigint_within_two_seconds_kills_without_forwarding_it() -> None:
    proxy, read_fd, entered = proxy_pair()
    entered.set()
    try:
        proxy.handle(signal.SIGINT)
        assert proxy.kill_reason is None
        proxy.handle(signal.SIGINT)
        assert proxy.kill_reason is not None and "second SIGINT" in proxy.kill_reason
        assert proxy.check(time.monotonic()) == proxy.kill_reason
        assert read_bytes(read_fd, 2, timeout=0.5) == bytes([signal.SIGINT])
        assert os.read(proxy.wake_r, 16)  # the pump was woken to act on it
    finally:
        proxy.close()
        os.close(read_fd)


def test_the_writer_closes_its_end_when_done() -> None:
    """close() ends the writer, which closes the write end: the reader sees end of file,
    even when the guest never entered."""
    proxy, read_fd, _ = proxy_pair()
    proxy.close()
    assert read_bytes(read_fd, 1) == b""
    os.close(read_fd)
