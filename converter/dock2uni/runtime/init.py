"""The container's init: the process `create` leaves waiting, whose pid the engine watches.

``python -m dock2uni.runtime.init STATE_DIR SYNC_FD``. It joins (or creates) the
network namespace config.json names, tells `create` on SYNC_FD that it is ready,
then blocks opening ``exec.fifo`` for writing until `start` opens it for reading
(runc's protocol). Then it boots the unikernel through run.py, as `dock2uni run`
does: QEMU is its child, tied to it by PR_SET_PDEATHSIG (killing init kills QEMU),
the guest's stdout and stderr are init's fds 1 and 2 (the engine's pipes or the
console's pty), the signals `kill` sends it are forwarded to the guest
(sigproxy.py), and its exit status is the application's. Nothing here prints on
fds 1/2 except the guest and a final error line, as `dock2uni run` prints it.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import stat
import sys
import termios
import tty
from pathlib import Path
from typing import Any

from dock2uni.runtime.log import RuntimeLog

CLONE_NEWNET = 0x40000000
EXIT_INIT_FAILED = 125
# The engine stops a container with its own timeouts (docker stop -t, then SIGKILL):
# the proxy must never give up by itself first.
NEVER = 1e8


def _namespaces(wanted: dict[str, str | None]) -> None:
    """Enter the network namespace config.json asks for: a path is joined, none made.
    (Docker's prestart hook then moves the container's interface into /proc/<pid>/ns/net.)"""
    if "network" not in wanted:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    path = wanted["network"]
    if path is None:
        if libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        return
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({path})")
    finally:
        os.close(fd)


def _stdin_attached() -> bool:
    """fd 0 is something to read (a pipe, a pty), not /dev/null: the engine attached stdin."""
    try:
        st = os.fstat(0)
    except OSError:
        return False
    return not (stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3))


def _wait_for_start(fifo: Path) -> None:
    """Block until `start` opens the fifo for reading, then hand it one byte."""
    fd = os.open(fifo, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


def _boot(conf: dict[str, Any], log: RuntimeLog) -> int:
    from dock2uni.context import Context
    from dock2uni.run import RunOptions, hint_for, run_image
    from dock2uni.runtime.nic import wire
    from dock2uni.volmount import HostVolume

    ctx = Context(cache_dir=Path(conf["cache_dir"]), quiet=True)
    # After start: the engine's prestart hook has put the container's interface in place.
    wired = wire(conf["namespaces"])
    if wired is not None:
        nic, tap = wired
        log.info(f"init: the guest takes over {nic.device} ({nic.address}, {nic.mac})")
    # config.json's bind mounts, Docker's volumes among them (the engine made and filled
    # those, and turned the image's VOLUMEs into them: none are added here).
    mounts = tuple(
        HostVolume(source=Path(src), target=dst, readonly=ro)
        for src, dst, ro in conf.get("volumes", ())
    )
    options = RunOptions(
        mem=conf["memory"],
        accel=os.environ.get("DOCK2UNI_ACCEL") or "auto",
        cmd=tuple(conf["args"][1:]) or None,
        env=tuple(conf["env"]),
        mounts=tuple(sorted(mounts, key=lambda m: (m.target.count("/"), m.target))),
        image_volumes=False,
        tmpfs=tuple(conf.get("tmpfs", ())),
        read_only=bool(conf.get("readonly", False)),
        echo_log=False,
        tty=conf["terminal"],
        forward_signals=True,
        stop_timeout=NEVER,
        extra_cmdline=tuple(nic.kernel_words()) if wired else (),
        extra_qemu=tuple(nic.qemu_args(tap)) if wired else (),
        pass_fds=(tap,) if wired else (),
    )
    result = run_image(
        Path(conf["image"]),
        options,
        ctx,
        stdout=sys.stdout.buffer,
        stderr=sys.stderr,
        stdin=sys.stdin.buffer if _stdin_attached() else None,
        guest_stderr=sys.stderr.buffer,
    )
    for line in result.log:
        if not line.startswith("D2U:"):
            log.info(f"guest: {line}")
    log.info(
        f"init: guest ended: {result.status}, exit code {result.exit_code}, "
        f"{result.seconds:.3f} s ({result.accel})"
    )
    if result.cause:
        log.error(result.cause)
        with contextlib.suppress(OSError):
            sys.stderr.write(f"dock2uni-runtime: error: {result.cause}\n")
            if (hint := result.hint or hint_for(result.status)) is not None:
                sys.stderr.write(f"dock2uni-runtime: hint: {hint}\n")
            sys.stderr.flush()
    return result.exit_code


def main(argv: list[str]) -> int:
    # Until the guest runs, a stop signal ends init at once (runc's init as well): SIGINT
    # must not become a KeyboardInterrupt traceback on the container's stderr.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    state_dir = Path(argv[0])
    sync = int(argv[1])
    conf = json.loads((state_dir / "init.json").read_text())
    log = RuntimeLog(conf.get("log"), conf.get("log_format", "json"))
    try:
        if conf["terminal"]:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty slave: our controlling terminal
            tty.setraw(0)  # the guest's console edits and echoes; the host side must not
        _namespaces(conf["namespaces"])
    except OSError as exc:
        os.write(sync, f"init: {exc.strerror or exc} ({exc.filename or ''})".encode())
        return EXIT_INIT_FAILED
    os.write(sync, b"ok")
    os.close(sync)
    # Imported now, while waiting for start is still ahead: start-to-boot stays short.
    import dock2uni.run  # noqa: F401

    _wait_for_start(state_dir / "exec.fifo")
    try:
        return _boot(conf, log)
    except Exception as exc:
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        log.error(f"init: {message}")
        with contextlib.suppress(OSError):
            sys.stderr.write(f"dock2uni-runtime: error: {message}\n")
        return EXIT_INIT_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
