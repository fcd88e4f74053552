"""Stage run: boot a .uni image under QEMU microvm and report like `docker run`.

The application's stdout (COM1) streams to our stdout byte for byte, its stderr
(COM3, a pipe) to ``guest_stderr``; with ``tty`` both share COM1 as one terminal.
The library OS log (COM2, a Unix socket we listen on) is parsed for the markers of
docs/console-protocol.md, its other lines go to stderr. QEMU lives no longer than
we do: it gets SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG), and
runs in a process group of its own, so a terminal's ^C reaches only us. While the
guest runs, the signals we receive are forwarded to it (sigproxy.py, COM4); before
and after, ``stop_on_signals`` turns SIGTERM, SIGHUP and SIGINT into a clean stop.
The exit code is the application's, or 123 (the accelerator failed:
qemu_stderr.py), 124 (timeout), 125 (QEMU or library OS failure), 126/127 (program
not executable / not found), 128+S (crash with signal S), 137 (killed after a
forwarded stop signal: sigproxy.py).
Tests and benchmarks boot through this module too, so everybody boots the same way.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import dataclasses
import errno
import functools
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from dock2uni.context import Context
from dock2uni.errors import RunError
from dock2uni.forward import Forwarder
from dock2uni.fs.cachedir import is_regular, subdir
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode
from dock2uni.libos_build import ensure_libos
from dock2uni.link import add_metadata, link_elf, recommended_mem, work_dir
from dock2uni.network import Network, Published
from dock2uni.plan import Plan
from dock2uni.publish import Reservation, resolve
from dock2uni.qemu_stderr import EXIT_ACCEL, fatal_cause, watch
from dock2uni.sigproxy import (
    DEFAULT_STOP_TIMEOUT,
    EXIT_KILLED,
    SignalProxy,
    forwarding,
    signal_number,
)
from dock2uni.uni import loaded_sizes, read_metadata
from dock2uni.volmount import (
    HostVolume,
    check_count,
    image_volumes,
    kernel_items,
    remove_anonymous,
)
from dock2uni.volmount import qemu_args as volume_qemu_args
from dock2uni.volmount import resolve as resolve_volumes
from dock2uni.volstore import VolumeStore
from dock2uni.volumes import VolumeRequest

QEMU = "qemu-system-x86_64"
EXIT_TIMEOUT = 124
STOP_POLL = 0.2  # seconds: how often a run with RunOptions.stop looks at it
EXIT_FAILURE = 125
EXIT_NOEXEC = 126
EXIT_NOTFOUND = 127
ENOENT = 2
HOSTSIG_IRQ = 6  # COM4's ISA line: free on microvm (COM1-3 use 4 and 3, virtio its 2nd I/O APIC)

_EXIT_RE = re.compile(r"D2U:EXIT code=(\d+)")
_CRASH_RE = re.compile(r"D2U:CRASH signal=(\d+)(.*)")
_EXECFAIL_RE = re.compile(r"D2U:EXECFAIL errno=(\d+) path=(.*)")
_PANIC_RE = re.compile(r"D2U:PANIC\s*(.*)")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How to boot: memory, accelerator, limits and what replaces the image's defaults."""

    mem: int | None = None  # bytes; None: the image's recommendation
    accel: str = "auto"
    timeout: float | None = None
    cmd: tuple[str, ...] | None = None  # replaces the image's Cmd (`run -- ARGS`)
    env: tuple[str, ...] = ()
    # `run --entrypoint`: replaces the image's Entrypoint (and its Cmd unless ``cmd``);
    # () resets it (`--entrypoint ""`). -w, -u and --tmpfs: runargs.py.
    entrypoint: tuple[str, ...] | None = None
    workdir: str | None = None
    user: str | None = None
    tmpfs: tuple[str, ...] = ()
    read_only: bool = False  # `run --read-only`: EROFS outside the --tmpfs directories
    strace: bool = False
    initrd: Path | None = None  # the rootfs as a separate file (convert --initrd)
    echo_log: bool = True  # copy library OS log lines to stderr
    tty: bool = False  # `run -t`: fds 0-2 are one terminal on COM1, else pipes
    # `dock2uni run` forwards the signals it receives to the guest (sigproxy.py); library
    # callers (tests, benchmarks) keep their own signal handling.
    forward_signals: bool = False
    stop_timeout: float = DEFAULT_STOP_TIMEOUT  # after a forwarded stop signal, then 137
    stop_signal: int | None = None  # the image's StopSignal (metadata), also a stop signal
    # Library callers (network tests): words added to the kernel command line and
    # arguments added to QEMU's, e.g. a NIC with its netdev.
    extra_cmdline: tuple[str, ...] = ()
    extra_qemu: tuple[str, ...] = ()
    # Descriptors QEMU inherits for ``extra_qemu`` to name (the OCI runtime's tap device).
    pass_fds: tuple[int, ...] = ()
    # --network, -p/-P, --hostname, --dns, --add-host (network.py); its ``published``
    # ports are chosen and bound by run_image (publish.py) before QEMU starts.
    network: Network = field(default_factory=Network)
    # -v/--mount (volumes.py): resolved by ``prepare`` into ``mounts`` once the image is
    # known (new volumes filled from it; the image's VOLUMEs get anonymous ones, unless
    # ``image_volumes`` is False). Library callers may give ``mounts`` directly.
    volumes: tuple[VolumeRequest, ...] = ()
    mounts: tuple[HostVolume, ...] = ()
    image_volumes: bool = True
    # This run's anonymous volumes go with it: `run --rm` (the CLI passes --rm's value);
    # library callers (tests, benchmarks) leave nothing in the data directory by default.
    remove_anonymous: bool = True
    data_dir: Path | None = None  # where named volumes live (volstore.data_dir)
    fstrace: bool = False  # d2u.fstrace=1: report touched paths (convert --slim, slim/trace.py)
    # Library callers (convert --slim's probes, benchmarks): once set, QEMU is killed and
    # the run ends as a timeout would (status "timeout"), without waiting for ``timeout``.
    stop: threading.Event | None = field(default=None, compare=False)


@dataclass
class RunResult:
    """How the guest ended."""

    exit_code: int
    status: str  # exit, crash, timeout, panic, execfail, reset, qemu-error, accel-error, config
    cause: str | None
    accel: str
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seconds_to_enter: float | None = None  # until D2U:ENTER (the app starts)
    qemu_status: int | None = None
    hint: str | None = None  # what to do about ``cause``


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise RunError(f"{QEMU} is not installed", hint="Install QEMU: `make setup` does it.")
    return path


def b64_nul_joined(items: Sequence[str]) -> str:
    """Encoding of argument lists on the kernel command line (docs/console-protocol.md)."""
    raw = b"\0".join(s.encode("utf-8", "surrogateescape") for s in items)
    return base64.b64encode(raw).decode("ascii")


def stdio_mode(options: RunOptions, interactive: bool) -> str:
    """The d2u.stdio= word: tty (`-t`), pipes-in (`-i`) or pipes (stdin at end of file)."""
    if options.tty:
        return "tty"
    return "pipes-in" if interactive else "pipes"


def kernel_cmdline(options: RunOptions, *, interactive: bool = False, hostsig: bool = False) -> str:
    words = [
        f"epoch={int(time.time())}",
        f"seed={os.urandom(16).hex()}",
        f"d2u.stdio={stdio_mode(options, interactive)}",
    ]
    if hostsig:  # COM4 carries signals from the host (docs/console-protocol.md)
        words.append(f"d2u.hostsig={HOSTSIG_IRQ}")
    if options.strace:
        words.append("strace=1")
    if options.fstrace:
        words.append("d2u.fstrace=1")
    if options.cmd is not None:
        words.append(f"d2u.cmd={b64_nul_joined(options.cmd)}")
    if options.env:
        words.append(f"d2u.env={b64_nul_joined(options.env)}")
    if options.entrypoint is not None:
        words.append(f"d2u.entrypoint={b64_nul_joined(options.entrypoint)}")
    if options.workdir is not None:
        words.append(f"d2u.workdir={b64_nul_joined([options.workdir])}")
    if options.user is not None:
        words.append(f"d2u.user={b64_nul_joined([options.user])}")
    if options.tmpfs:
        words.append(f"d2u.tmpfs={b64_nul_joined(options.tmpfs)}")
    if options.read_only:
        words.append("d2u.readonly=1")
    if options.mounts:  # the volume contract (volmount.py, docs/volumes-run.md)
        words.append(f"d2u.vol={b64_nul_joined(kernel_items(options.mounts))}")
    words += options.network.kernel_words()
    words.extend(options.extra_cmdline)
    return " ".join(words)


def qemu_argv(
    image: Path,
    *,
    accel: str,
    mem: int,
    log_socket: Path,
    cmdline: str,
    initrd: Path | None,
    stderr_path: str | None = None,
    hostsig_path: str | None = None,
    network_args: Sequence[str] = (),
    volume_args: Sequence[str] = (),
) -> list[str]:
    """The QEMU command line for one boot (documented in docs/console-protocol.md);
    ``network_args`` is the NIC (Network.qemu_args, docs/networking-run.md),
    ``volume_args`` the 9p devices of the volumes (volmount.qemu_args), last."""
    argv = [
        find_qemu(),
        "-M", "microvm,x-option-roms=off",
        "-accel", accel,
        "-cpu", "max",
        "-m", f"{max(mem >> 20, 16)}M",
        "-smp", "1",
        "-nodefaults", "-no-user-config", "-no-reboot",
        "-display", "none", "-monitor", "none",
        "-chardev", "stdio,id=com1,signal=off",
        "-serial", "chardev:com1",
        "-chardev", f"socket,id=com2,path={log_socket}",
        "-device", "isa-serial,chardev=com2,iobase=0x2f8,irq=3",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        "-kernel", str(image),
        "-append", cmdline,
    ]  # fmt: skip
    if stderr_path is not None:  # COM3: the application's stderr when it has no tty
        argv += [
            "-chardev", f"file,id=com3,path={stderr_path}",
            "-device", "isa-serial,chardev=com3,iobase=0x3e8,irq=4",
        ]  # fmt: skip
    if hostsig_path is not None:  # COM4: signals from the host, one byte each
        # A pipe chardev reads the path itself when PATH.in / PATH.out do not exist.
        argv += [
            "-chardev", f"pipe,id=com4,path={hostsig_path}",
            "-device", f"isa-serial,chardev=com4,iobase=0x2e8,irq={HOSTSIG_IRQ}",
        ]  # fmt: skip
    if initrd is not None:
        argv += ["-initrd", str(initrd)]
    argv += network_args
    argv += volume_args
    return argv


PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child


def _die_with(parent: int) -> None:
    """In the QEMU child before exec: SIGKILL when our thread dies, even by SIGKILL; if
    the parent is already gone (it died between fork and here), do not start at all.
    Its own process group: a terminal's ^C (SIGINT to the foreground group) must reach
    only us, who forward it to the guest, not QEMU, which would quit."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setpgid(0, 0)
    if os.getppid() != parent:
        os._exit(EXIT_FAILURE)


class Stopped(Exception):
    """`dock2uni run` got SIGTERM, SIGHUP or SIGINT, or its output was closed (SIGPIPE);
    the guest was stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM, SIGHUP and SIGINT raise Stopped (once: a second signal
    must not interrupt the cleanup), so ``boot`` stops QEMU and removes its directory on
    the way out. Only the main thread may install handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Stopped(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _LogReader(threading.Thread):
    """Reads the library OS log from COM2, line by line."""

    def __init__(
        self, server: socket.socket, echo: TextIO | None, t0: float, sock_dir: Path
    ) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.sock_dir = sock_dir
        self.echo = echo
        self.t0 = t0
        self.lines: list[str] = []
        self.entered_at: float | None = None
        self.entered = threading.Event()

    def run(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            self.entered.set()  # nothing will ever come: release anyone waiting
            return
        # QEMU is connected: the socket's directory is not needed any more. Removed now,
        # it cannot outlive a `dock2uni run` killed with SIGKILL.
        shutil.rmtree(self.sock_dir, ignore_errors=True)
        buf = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    self._line(raw.decode("utf-8", "replace").rstrip("\r"))
        if buf:
            self._line(buf.decode("utf-8", "replace"))
        self.entered.set()

    def _line(self, line: str) -> None:
        self.lines.append(line)
        if line.startswith("D2U:ENTER") and self.entered_at is None:
            self.entered_at = time.monotonic() - self.t0
            self.entered.set()
        if self.echo is not None and not line.startswith("D2U:"):
            self.echo.write(line + "\n")
            self.echo.flush()


def errno_name(err: int) -> str:
    """ENOEXEC rather than 8: people and search engines know the names."""
    return errno.errorcode.get(err, f"errno {err}")


def signal_name(sig: int) -> str:
    try:
        return f"{signal.Signals(sig).name} (signal {sig})"
    except ValueError:
        return f"signal {sig}"


HINTS = {
    "timeout": "Raise --timeout, or check why the program does not end (--strace logs its "
    "syscalls).",
    "crash": "Run it with --strace to see the syscalls before the crash; `dock2uni audit` "
    "lists what the library OS lacks.",
    "execfail": "Check the program name and the image's PATH (`dock2uni inspect IMAGE`).",
    "panic": "This is a library OS bug: re-run with --strace and report the output.",
    "config": "Check -u against the image's /etc/passwd and /etc/group, and -w, --tmpfs "
    "and the -v/--mount destinations against its directories.",
    "reset": "This is a library OS bug: re-run with --strace and report the output.",
    "qemu-error": "Check --mem and --accel (--accel tcg always works); --debug shows the "
    "QEMU command line.",
    "stopped": "The application did not exit after the stop signal: check that it handles "
    "SIGTERM (or the image's StopSignal), or raise --stop-timeout.",
}


def hint_for(status: str) -> str | None:
    """What to do after a run that ended with ``status`` (None: the program's own exit)."""
    return HINTS.get(status)


def _marker(line: str) -> tuple[int, str, str | None, int] | None:
    """(exit code, status, cause, value written to isa-debug-exit) of a marker line."""
    if m := _EXIT_RE.match(line):
        code = int(m.group(1))
        return code, "exit", None, code
    if m := _CRASH_RE.match(line):
        sig = int(m.group(1))
        return 128 + sig, "crash", f"application crashed: {signal_name(sig)}{m.group(2)}", 128 + sig
    if m := _EXECFAIL_RE.match(line):
        err = int(m.group(1))
        code = EXIT_NOTFOUND if err == ENOENT else EXIT_NOEXEC
        what = "not found" if err == ENOENT else f"cannot be executed ({errno_name(err)})"
        return code, "execfail", f"program {m.group(2)} {what}", code
    if m := _PANIC_RE.match(line):
        # A run option the image cannot honour (-u, -w, --tmpfs): the kernel's word for it
        # leads the message (docs/console-protocol.md); not a library OS bug.
        if m.group(1).startswith("d2u."):
            return EXIT_FAILURE, "config", m.group(1), EXIT_FAILURE
        return EXIT_FAILURE, "panic", f"library OS panic: {m.group(1)}", EXIT_FAILURE
    return None


def _debug_exit_status(value: int) -> int:
    """QEMU's exit status after the guest writes value to isa-debug-exit."""
    return ((value << 1) | 1) & 0xFF


def classify(
    lines: Sequence[str], qemu_status: int | None, timed_out: bool
) -> tuple[int, str, str | None]:
    """(exit code, status, cause) from the log markers and QEMU's own status."""
    if timed_out:
        return EXIT_TIMEOUT, "timeout", "the guest was still running at --timeout and was stopped"
    for line in reversed(lines):
        marker = _marker(line)
        # Only the kernel reaches isa-debug-exit: a marker counts when QEMU's status
        # is the value the kernel writes after it, so a forged line followed by a
        # reset (status 0) or another ending is not believed (docs/console-protocol.md).
        if marker is not None and _debug_exit_status(marker[3]) == qemu_status:
            return marker[0], marker[1], marker[2]
    if qemu_status == 0:
        return (
            EXIT_FAILURE,
            "reset",
            "the guest reset itself (triple fault) before reporting an exit",
        )
    tail = " | ".join(lines[-3:]) if lines else "no output from the library OS"
    return EXIT_FAILURE, "qemu-error", f"QEMU exited with status {qemu_status}: {tail}"


def boot(
    image: Path,
    options: RunOptions,
    ctx: Context,
    *,
    accel: str,
    stdout: BinaryIO,
    stderr: TextIO,
    stdin: BinaryIO | None = None,
    guest_stderr: BinaryIO | None = None,
    reservation: Reservation | None = None,
) -> RunResult:
    """Boot once with a fixed accelerator; stream COM1 to ``stdout``, COM3 (the program's
    stderr, without a tty) to ``guest_stderr`` (default: ``stdout``) and, once the program
    runs, ``stdin`` to COM1. ``reservation`` holds the published host ports: those QEMU
    binds until it is about to, the tcp listeners we serve while it runs (forward.py)."""
    meta = read_metadata(image)
    mem = options.mem or image_mem(meta)
    check_memory_fits(image, dataclasses.replace(options, mem=mem), meta)
    sock_dir = Path(tempfile.mkdtemp(prefix="d2u-run-"))
    err_read, err_write = os.pipe() if not options.tty else (-1, -1)
    # COM4: the signal proxy's pipe; QEMU reads the read end, we keep the write end.
    sig_read, sig_write = os.pipe() if options.forward_signals else (-1, -1)
    proxy: SignalProxy | None = None
    try:
        sock_path = sock_dir / "log.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(sock_path))
            server.listen(1)
            argv = qemu_argv(
                image,
                accel=accel,
                mem=mem,
                log_socket=sock_path,
                cmdline=kernel_cmdline(
                    options, interactive=stdin is not None, hostsig=sig_read >= 0
                ),
                initrd=options.initrd,
                stderr_path=f"/proc/self/fd/{err_write}" if err_write >= 0 else None,
                hostsig_path=f"/proc/self/fd/{sig_read}" if sig_read >= 0 else None,
                network_args=options.network.qemu_args(),
                volume_args=volume_qemu_args(options.mounts),
            )
            argv += list(options.extra_qemu)
            ctx.log_debug("qemu: " + " ".join(argv))
            if reservation is not None:
                reservation.release()  # QEMU binds the published ports itself
            t0 = time.monotonic()
            reader = _LogReader(server, stderr if options.echo_log else None, t0, sock_dir)
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    pass_fds=tuple(fd for fd in (err_write, sig_read) if fd >= 0)
                    + options.pass_fds,
                    # Safe with our threads: the child only calls prctl, getppid, setpgid.
                    preexec_fn=functools.partial(_die_with, os.getpid()),  # noqa: PLW1509
                )
            except OSError as exc:
                if sig_write >= 0:
                    os.close(sig_write)
                raise RunError(
                    f"cannot start QEMU: {exc.strerror or exc}",
                    hint="Check that qemu-system-x86_64 runs (`make setup` installs it).",
                ) from None
            finally:
                for fd in (err_write, sig_read):
                    if fd >= 0:
                        os.close(fd)  # QEMU holds them now; its exit ends our read side
            # The published tcp ports: we listen, QEMU's hostfwd gets each connection.
            forwarder = Forwarder(reservation.take_routes() if reservation else [])
            watcher = watch(proc)  # kills QEMU on a fatal message (qemu_stderr.py)
            reader.start()
            if sig_write >= 0:
                proxy = SignalProxy(
                    sig_write,
                    reader.entered,
                    stop_timeout=options.stop_timeout,
                    stop_signal=options.stop_signal,
                )
            if stdin is not None:
                _start_feeder(stdin, proc, reader.entered, escaped=not options.tty)
            try:
                outputs = [(proc.stdout.fileno() if proc.stdout else -1, stdout)]
                if err_read >= 0:
                    outputs.append((err_read, guest_stderr or stdout))
                with forwarding(proxy):
                    timed_out = _pump(proc, outputs, options.timeout, t0, proxy, stop=options.stop)
                qemu_err = watcher.finish()
            finally:
                forwarder.close()
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                for pipe in (proc.stdout, proc.stderr):
                    if pipe:
                        pipe.close()
            reader.join(timeout=5)
    finally:
        if proxy is not None:
            proxy.close()
        if err_read >= 0:
            os.close(err_read)
        shutil.rmtree(sock_dir, ignore_errors=True)
    status = None if timed_out else proc.returncode
    code, kind, cause = classify(reader.lines, status, timed_out)
    hint = None
    if kind == "qemu-error" and qemu_err.strip():
        cause = f"QEMU failed (status {status}): {qemu_err.decode(errors='replace').strip()[-400:]}"
        if b"host forwarding rule" in qemu_err:  # taken between our check and QEMU's bind
            hint = (
                "A published host port was taken just before QEMU bound it: run again, "
                "or publish on another host port (-p OTHER:GUEST)."
            )
    if kind == "panic" and cause is not None and "out of memory" in cause:
        # Not a bug but too little memory for what the kernel sets up before the program
        # (the file tree of a large rootfs): say what to change.
        hint = f"Give the guest more memory than {mem >> 20} MiB (--mem)."
    if proxy is not None and proxy.kill_reason is not None and kind != "exit":
        code, kind = EXIT_KILLED, "stopped"
        cause = f"{proxy.kill_reason}: the guest was stopped (QEMU killed)"
        hint = proxy.kill_hint
    elif proxy is not None and kind == "crash" and code - 128 in proxy.forwarded:
        # The signal we forwarded took its default action (terminate): the application's
        # own ending, reported as a shell and `docker run` report it, without an error.
        kind, cause = "signaled", None
    if watcher.fatal is not None:  # the hypervisor failed: say so, never a timeout
        code, kind = EXIT_ACCEL, "accel-error"
        cause, hint = fatal_cause(watcher.fatal, accel)
        ctx.log_debug("QEMU's message:\n" + qemu_err.decode(errors="replace").rstrip())
    return RunResult(
        exit_code=code,
        status=kind,
        cause=cause,
        accel=accel,
        log=reader.lines,
        seconds=time.monotonic() - t0,
        seconds_to_enter=reader.entered_at,
        qemu_status=status,
        hint=hint,
    )


EOT = b"\x04"  # ^D: the console's end of file


PIPE_ESC = b"\xff"  # without a tty: 0xff 0xff is the byte 0xff, 0xff 0x00 end of file


def _start_feeder(
    source: BinaryIO, proc: subprocess.Popen[bytes], entered: threading.Event, *, escaped: bool
) -> None:
    """Copy ``source`` to COM1, starting only when the program is entered: the 16550
    drops bytes that arrive before the kernel has set up its FIFO. A serial line has no
    end of its own (docs/console-protocol.md): on a tty one ^D (EOT) follows the end of
    ``source``, which the console reads as end of file, as a terminal does; without a
    tty (``escaped``) every 0xff is doubled and 0xff 0x00 marks the end, so any byte
    passes."""

    def feed() -> None:
        entered.wait()
        assert proc.stdin is not None
        try:
            while chunk := os.read(source.fileno(), 65536):
                if escaped:
                    chunk = chunk.replace(PIPE_ESC, PIPE_ESC + PIPE_ESC)
                proc.stdin.write(chunk)
                proc.stdin.flush()
            proc.stdin.write(PIPE_ESC + b"\0" if escaped else EOT)
            proc.stdin.flush()
        except (OSError, ValueError):
            pass  # the guest exited and closed its end: nothing more to forward
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    threading.Thread(target=feed, daemon=True).start()


def _pump(
    proc: subprocess.Popen[bytes],
    outputs: list[tuple[int, BinaryIO]],
    timeout: float | None,
    t0: float,
    proxy: SignalProxy | None = None,
    *,
    stop: threading.Event | None = None,
) -> bool:
    """Copy QEMU's output pipes (fd -> sink: COM1 on QEMU's stdout, COM3 on a pipe of its
    own) until QEMU has closed them all by exiting; kill QEMU at the deadline or once
    ``stop`` is set (True: timed out) or when the signal proxy says so (a second SIGINT,
    --stop-timeout)."""
    sinks = dict(outputs)
    deadline = None if timeout is None else t0 + timeout
    wake = [proxy.wake_r] if proxy is not None else []
    while sinks:
        now = time.monotonic()
        if proxy is not None and proxy.check(now) is not None:
            proc.kill()
            return False
        ends = [d for d in (deadline, proxy.stop_deadline if proxy else None) if d is not None]
        wait = None if not ends else max(min(ends) - now, 0.0)
        if stop is not None:
            wait = STOP_POLL if wait is None else min(wait, STOP_POLL)
        if (deadline is not None and now >= deadline) or (stop is not None and stop.is_set()):
            proc.kill()
            return True
        # A forwarded signal writes to the proxy's wake-up pipe: the deadlines are looked
        # at again (a stop signal sets one, a second SIGINT kills at once).
        ready, _, _ = select.select(list(sinks) + wake, [], [], wait)
        for fd in ready:
            if fd in wake:
                assert proxy is not None
                proxy.drain_wake()
                continue
            chunk = os.read(fd, 65536)
            if not chunk:  # QEMU closed it: it has exited
                del sinks[fd]
                continue
            try:
                sinks[fd].write(chunk)
                sinks[fd].flush()
            except BrokenPipeError:
                # The reader went away (`| head`): stop as a program killed by SIGPIPE.
                raise Stopped(signal.SIGPIPE) from None
            except OSError as exc:
                raise RunError(
                    f"cannot write the guest's output: {errno_name(exc.errno or 0)}",
                    hint="Check where stdout and stderr go (a full disk, a closed file).",
                ) from None
    return False


def image_mem(meta: Mapping[str, Any]) -> int:
    """Guest RAM the image asks for (link.recommended_mem), or 128 MiB for older images."""
    return int(meta.get("recommended_mem", 128 << 20))


PROBE_EXEC = "/.dock2uni-kvm-probe"  # absent on purpose: the kernel reports EXECFAIL


def probe_image(ctx: Context) -> Path:
    """A tiny guest whose program is missing: the kernel boots, then reports EXECFAIL (127).
    (The accelerator probe, which runs a real program, is accel.probe_image.)"""
    libos = ensure_libos(ctx)
    stamp = max((libos / a).stat().st_mtime_ns for a in ("entry.o", "libos.a", "link.ld"))
    out = subdir(ctx.cache_dir, "probe") / f"kvm-probe-{stamp}.uni"
    if is_regular(out):
        return out
    plan = Plan.tiny(PROBE_EXEC, (), "probe")
    with work_dir(ctx) as tmp:
        work = Path(tmp)
        store = ContentStore(work / "store")
        linked = link_elf(plan, [("/", DirNode())], store, work, ctx)
        meta = {"probe": True, "recommended_mem": recommended_mem(0)}
        add_metadata(linked.elf, meta, work / "probe.uni")
        os.replace(work / "probe.uni", out)  # replaces, never follows, what is at ``out``
    return out


def select_accel(requested: str, ctx: Context) -> str:
    """kvm or tcg for auto|kvm|tcg; ``auto`` uses KVM only where the probe program runs
    under it (accel.py)."""
    from dock2uni.accel import AccelUsageError, choose

    try:
        choice = choose(requested, ctx)
    except AccelUsageError as exc:
        raise RunError(str(exc), hint="Use auto, kvm or tcg.") from None
    ctx.log_debug(f"accelerator: {choice.accel} ({choice.reason})")
    return choice.accel


def _with_rootfs(image: Path, meta: Mapping[str, Any], options: RunOptions) -> RunOptions:
    """Check the rootfs is there: an image written by `convert --initrd` boots an empty
    filesystem without its .cpio, which would surface as a puzzling "program not found"."""
    if options.initrd is not None:
        if not options.initrd.is_file():
            raise RunError(
                f"the initrd {options.initrd} does not exist",
                hint="Pass the .cpio that `convert --initrd` wrote next to the image.",
            )
        return options
    rootfs = meta.get("rootfs")
    if isinstance(rootfs, dict) and rootfs.get("embedded") is False:
        cpio = image.with_name(image.name + ".cpio")
        if not cpio.is_file():
            raise RunError(
                f"{image} keeps its root filesystem in {cpio}, which does not exist",
                hint="Copy the .cpio that `convert --initrd` wrote next to the image, "
                "or pass --initrd PATH.",
            )
        return dataclasses.replace(options, initrd=cpio)
    return options


def _with_stop_signal(meta: Mapping[str, Any], options: RunOptions) -> RunOptions:
    """The image's StopSignal (kept in its metadata) also arms --stop-timeout when forwarded."""
    stop = meta.get("stop_signal")
    if options.stop_signal is not None or not isinstance(stop, str):
        return options
    return dataclasses.replace(options, stop_signal=signal_number(stop))


# The kernel is loaded at 1 MiB; past everything loaded it needs at least room for its
# page tables and heap and the program's first pages (the least any fixture needed:
# about 1.3 MiB, docs/benchmarks.md). With less the guest cannot even report why it
# failed (a triple fault before the first log line), so `run` refuses first and says
# how much to give.
LOAD_BASE = 1 << 20
MIN_FREE_MEM = 1 << 20


def check_memory_fits(image: Path, options: RunOptions, meta: Mapping[str, Any]) -> None:
    """RunError when --mem cannot hold what the guest loads (kernel, rootfs, initrd)."""
    kernel, rootfs = loaded_sizes(image)
    initrd = options.initrd.stat().st_size if options.initrd is not None else 0
    loaded = LOAD_BASE + kernel + rootfs + initrd
    need = loaded + MIN_FREE_MEM
    mem = options.mem or 0
    if mem >= need:
        return
    mib = 1 << 20
    raise RunError(
        f"--mem {mem // mib} MiB is too small for this image: its kernel and files take "
        f"{(loaded + mib - 1) // mib} MiB of guest memory once loaded",
        hint=f"Give it at least {(need + mib - 1) // mib} MiB (--mem); the image recommends "
        f"{image_mem(meta) // mib} MiB.",
    )


def _with_volumes(
    image: Path, meta: Mapping[str, Any], options: RunOptions, *, dry_run: bool
) -> RunOptions:
    """``options.volumes`` and the image's VOLUMEs as host directories (made and filled
    from the image now, unless ``dry_run``), after any ``mounts`` given already."""
    # A library caller giving its own d2u.vol word (extra_cmdline) numbers its own devices:
    # volumes of ours would collide with its tags.
    own = any(w.startswith("d2u.vol=") for w in options.extra_cmdline)
    declared = image_volumes(dict(meta)) if options.image_volumes and not own else ()
    covered = [*options.tmpfs, *(m.target for m in options.mounts)]
    check_count(len(options.mounts), options.volumes, declared, covered)
    if not options.volumes and not declared:
        return options
    if own:
        raise RunError(
            "RunOptions.volumes cannot be combined with a d2u.vol word in extra_cmdline",
            hint="Give every volume one way: volumes/mounts, or extra_qemu + extra_cmdline.",
        )
    made = resolve_volumes(
        options.volumes,
        image=image,
        initrd=options.initrd,
        declared=declared,
        covered=covered,
        store=VolumeStore(options.data_dir),
        dry_run=dry_run,
    )
    # Parents before children, as Docker sorts mounts: /data before /data/logs.
    mounts = sorted([*options.mounts, *made], key=lambda m: (m.target.count("/"), m.target))
    return dataclasses.replace(options, volumes=(), mounts=tuple(mounts))


def prepare(
    image: Path, options: RunOptions, ctx: Context, *, dry_run: bool = False
) -> tuple[RunOptions, str, Reservation]:
    """What a boot of ``image`` needs settled first: the rootfs, memory, stop signal, the
    volumes (made and filled from the image), the accelerator and the published host
    ports (chosen, checked, and held by the returned reservation until QEMU binds them).
    Raises before anything starts."""
    # Refuses files that are not dock2uni images before QEMU starts, and sizes the guest.
    meta = read_metadata(image)
    options = _with_rootfs(image, meta, options)
    if options.mem is None:
        options = dataclasses.replace(options, mem=image_mem(meta))
    check_memory_fits(image, options, meta)
    options = _with_stop_signal(meta, options)
    options = _with_volumes(image, meta, options, dry_run=dry_run)
    try:
        network, reservation, skipped = resolve(options.network, meta)
    except BaseException:
        remove_anonymous(options.mounts, VolumeStore(options.data_dir))  # no run: none kept
        raise
    for port in skipped:
        ctx.note(f"dock2uni: -P: exposed port {port} not published (QEMU forwards tcp and udp)")
    try:
        accel = select_accel(options.accel, ctx)
    except BaseException:
        reservation.close()
        remove_anonymous(options.mounts, VolumeStore(options.data_dir))
        raise
    return dataclasses.replace(options, network=network), accel, reservation


# What stands for the per-run paths in `run --dry-run`'s command (docs/networking-run.md).
DRY_RUN_LOG = Path("<run-dir>/log.sock")
DRY_RUN_COM3 = "/proc/self/fd/<com3-pipe>"
DRY_RUN_COM4 = "/proc/self/fd/<com4-pipe>"


def dry_run_argv(
    image: Path, options: RunOptions, ctx: Context, *, interactive: bool = False
) -> tuple[list[str], tuple[Published, ...]]:
    """The QEMU command `run` would start, and the ports it would publish; nothing boots.
    The per-run paths are placeholders (DRY_RUN_*); the ports chosen are released."""
    options, accel, reservation = prepare(image, options, ctx, dry_run=True)
    reservation.close()
    argv = qemu_argv(
        image,
        accel=accel,
        mem=options.mem or 0,
        log_socket=DRY_RUN_LOG,
        cmdline=kernel_cmdline(options, interactive=interactive, hostsig=options.forward_signals),
        initrd=options.initrd,
        stderr_path=None if options.tty else DRY_RUN_COM3,
        hostsig_path=DRY_RUN_COM4 if options.forward_signals else None,
        network_args=options.network.qemu_args(),
        volume_args=volume_qemu_args(options.mounts),
    )
    return argv, options.network.published


def run_image(
    image: Path,
    options: RunOptions,
    ctx: Context,
    *,
    stdout: BinaryIO,
    stderr: TextIO,
    stdin: BinaryIO | None = None,
    guest_stderr: BinaryIO | None = None,
    on_published: Callable[[Sequence[Published]], None] | None = None,
) -> RunResult:
    """Boot ``image`` (auto-selecting the accelerator) and report how it ended;
    ``on_published`` hears the published ports (host ports chosen) before QEMU starts."""
    options, accel, reservation = prepare(image, options, ctx)
    store = VolumeStore(options.data_dir)
    try:
        if on_published is not None and options.network.published:
            on_published(options.network.published)
        with store.in_use(m.name for m in options.mounts if m.name is not None):
            return boot(
                image,
                options,
                ctx,
                accel=accel,
                stdout=stdout,
                stderr=stderr,
                stdin=stdin,
                guest_stderr=guest_stderr,
                reservation=reservation,
            )
    finally:
        reservation.close()
        if options.remove_anonymous:
            remove_anonymous(options.mounts, store)
