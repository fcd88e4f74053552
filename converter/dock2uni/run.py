"""Stage run: boot a .uni image under QEMU microvm and report like `docker run`.

The application's tty (COM1) streams to our stdout byte for byte; the library
OS log (COM2, a Unix socket we listen on) is parsed for the markers of
docs/console-protocol.md, its other lines go to stderr. The exit code is the
application's, or 124 (timeout), 125 (QEMU or library OS failure), 126/127
(program not executable / not found), 128+S (crash with signal S).
Tests and benchmarks boot through this module too, so everybody boots the same way.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from dock2uni.context import Context
from dock2uni.errors import RunError
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode
from dock2uni.link import add_metadata, ensure_libos, link_elf, recommended_mem, work_dir
from dock2uni.plan import Plan
from dock2uni.uni import read_metadata

QEMU = "qemu-system-x86_64"
ACCELS = ("auto", "kvm", "tcg")
EXIT_TIMEOUT = 124
EXIT_FAILURE = 125
EXIT_NOEXEC = 126
EXIT_NOTFOUND = 127
ENOENT = 2

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
    strace: bool = False
    initrd: Path | None = None  # the rootfs as a separate file (convert --initrd)
    echo_log: bool = True  # copy library OS log lines to stderr


@dataclass
class RunResult:
    """How the guest ended."""

    exit_code: int
    status: str  # exit, crash, timeout, panic, execfail, reset, qemu-error
    cause: str | None
    accel: str
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seconds_to_enter: float | None = None  # until D2U:ENTER (the app starts)
    qemu_status: int | None = None


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise RunError(f"{QEMU} is not installed", hint="Install QEMU: `make setup` does it.")
    return path


def b64_nul_joined(items: Sequence[str]) -> str:
    """Encoding of argument lists on the kernel command line (docs/console-protocol.md)."""
    raw = b"\0".join(s.encode("utf-8", "surrogateescape") for s in items)
    return base64.b64encode(raw).decode("ascii")


def kernel_cmdline(options: RunOptions) -> str:
    words = [f"epoch={int(time.time())}", f"seed={os.urandom(16).hex()}"]
    if options.strace:
        words.append("strace=1")
    if options.cmd is not None:
        words.append(f"d2u.cmd={b64_nul_joined(options.cmd)}")
    if options.env:
        words.append(f"d2u.env={b64_nul_joined(options.env)}")
    return " ".join(words)


def qemu_argv(
    image: Path, *, accel: str, mem: int, log_socket: Path, cmdline: str, initrd: Path | None
) -> list[str]:
    """The QEMU command line for one boot (documented in docs/console-protocol.md)."""
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
    if initrd is not None:
        argv += ["-initrd", str(initrd)]
    return argv


class _LogReader(threading.Thread):
    """Reads the library OS log from COM2, line by line."""

    def __init__(self, server: socket.socket, echo: TextIO | None, t0: float) -> None:
        super().__init__(daemon=True)
        self.server = server
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


def _marker(line: str) -> tuple[int, str, str | None, int] | None:
    """(exit code, status, cause, value written to isa-debug-exit) of a marker line."""
    if m := _EXIT_RE.match(line):
        code = int(m.group(1))
        return code, "exit", None, code
    if m := _CRASH_RE.match(line):
        sig = int(m.group(1))
        return 128 + sig, "crash", f"application crashed: signal {sig}{m.group(2)}", 128 + sig
    if m := _EXECFAIL_RE.match(line):
        err = int(m.group(1))
        code = EXIT_NOTFOUND if err == ENOENT else EXIT_NOEXEC
        what = "not found" if err == ENOENT else f"cannot be executed (errno {err})"
        return code, "execfail", f"program {m.group(2)} {what}", code
    if m := _PANIC_RE.match(line):
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
) -> RunResult:
    """Boot once with a fixed accelerator; stream COM1 to ``stdout`` and, once the
    program runs, ``stdin`` to its tty."""
    mem = options.mem or image_mem(read_metadata(image))
    with tempfile.TemporaryDirectory(prefix="d2u-run-") as sock_dir:
        sock_path = Path(sock_dir) / "log.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(sock_path))
            server.listen(1)
            argv = qemu_argv(
                image,
                accel=accel,
                mem=mem,
                log_socket=sock_path,
                cmdline=kernel_cmdline(options),
                initrd=options.initrd,
            )
            ctx.log_debug("qemu: " + " ".join(argv))
            t0 = time.monotonic()
            reader = _LogReader(server, stderr if options.echo_log else None, t0)
            reader.start()
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                raise RunError(f"cannot start QEMU: {exc}") from None
            if stdin is not None:
                _start_feeder(stdin, proc, reader.entered)
            try:
                timed_out = _pump(proc, stdout, options.timeout, t0)
                qemu_err = proc.stderr.read() if proc.stderr else b""
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                for pipe in (proc.stdout, proc.stderr):
                    if pipe:
                        pipe.close()
            reader.join(timeout=5)
    status = None if timed_out else proc.returncode
    code, kind, cause = classify(reader.lines, status, timed_out)
    if kind == "qemu-error" and qemu_err.strip():
        cause = f"QEMU failed (status {status}): {qemu_err.decode(errors='replace').strip()[-400:]}"
    return RunResult(
        exit_code=code,
        status=kind,
        cause=cause,
        accel=accel,
        log=reader.lines,
        seconds=time.monotonic() - t0,
        seconds_to_enter=reader.entered_at,
        qemu_status=status,
    )


EOT = b"\x04"  # ^D: the console's end of file


def _start_feeder(
    source: BinaryIO, proc: subprocess.Popen[bytes], entered: threading.Event
) -> None:
    """Copy ``source`` to the guest's tty, starting only when the program is entered:
    the 16550 drops bytes that arrive before the kernel has set up its FIFO. At the end
    of ``source`` one ^D (EOT) follows, which the console reads as end of file, as a
    terminal does: a serial line has no end of its own (docs/console-protocol.md)."""

    def feed() -> None:
        entered.wait()
        assert proc.stdin is not None
        try:
            while chunk := os.read(source.fileno(), 65536):
                proc.stdin.write(chunk)
                proc.stdin.flush()
            proc.stdin.write(EOT)
            proc.stdin.flush()
        except (OSError, ValueError):
            pass  # the guest exited and closed its end: nothing more to forward
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    threading.Thread(target=feed, daemon=True).start()


def _pump(
    proc: subprocess.Popen[bytes], stdout: BinaryIO, timeout: float | None, t0: float
) -> bool:
    """Copy QEMU's stdout (COM1) until it exits; kill it at the deadline. True if timed out."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = None if timeout is None else t0 + timeout
    while True:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            proc.kill()
            return True
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:  # QEMU closed its stdout: it has exited
            return False
        stdout.write(chunk)
        stdout.flush()


def image_mem(meta: Mapping[str, Any]) -> int:
    """Guest RAM the image asks for (link.recommended_mem), or 128 MiB for older images."""
    return int(meta.get("recommended_mem", 128 << 20))


PROBE_TIMEOUT = 5.0  # seconds: a working KVM boots the probe in well under one
PROBE_EXEC = "/.dock2uni-kvm-probe"  # absent on purpose: the kernel reports EXECFAIL


def _probe_key() -> str:
    """What a cached probe verdict depends on: this boot of the host, QEMU, /dev/kvm."""
    parts = []
    for path in ("/proc/sys/kernel/random/boot_id",):
        try:
            parts.append(Path(path).read_text().strip())
        except OSError:
            parts.append("?")
    for path in (shutil.which(QEMU) or "", "/dev/kvm"):
        try:
            st = os.stat(path)
            parts.append(f"{path}:{st.st_mtime_ns}:{st.st_ctime_ns}")
        except OSError:
            parts.append(f"{path}:missing")
    return "|".join(parts)


def probe_image(ctx: Context) -> Path:
    """A tiny guest that takes the real kernel's whole boot path, then exits at once."""
    libos = ensure_libos(ctx)
    stamp = max((libos / a).stat().st_mtime_ns for a in ("entry.o", "libos.a", "link.ld"))
    out = ctx.cache_dir / "probe" / f"kvm-probe-{stamp}.uni"
    if out.exists():
        return out
    plan = Plan(
        families=(),
        families_reason="probe",
        missing=(),
        argv=(PROBE_EXEC,),
        entrypoint_argc=1,
        exec_path=PROBE_EXEC,
        env=(),
        workdir="/",
        uid=0,
        gid=0,
        hostname="probe",
        rootfs_policy="full",
    )
    with work_dir(ctx) as tmp:
        work = Path(tmp)
        store = ContentStore(work / "store")
        linked = link_elf(plan, [("/", DirNode())], store, work, ctx)
        out.parent.mkdir(parents=True, exist_ok=True)
        add_metadata(linked.elf, {"probe": True, "recommended_mem": recommended_mem(0)}, out)
    return out


def kvm_works(ctx: Context) -> bool:
    """Boot the probe under KVM with a short timeout; the verdict is cached per host boot."""
    cache = ctx.cache_dir / "kvm-probe.txt"
    key = _probe_key()
    try:
        cached_key, verdict = cache.read_text().rsplit("\n", 1)
        if cached_key == key:
            return verdict == "kvm"
    except (OSError, ValueError):
        pass
    try:
        result = boot(
            probe_image(ctx),
            RunOptions(timeout=PROBE_TIMEOUT, echo_log=False),
            ctx,
            accel="kvm",
            stdout=io.BytesIO(),
            stderr=io.StringIO(),
        )
        ok = result.status == "execfail"
    except RunError:
        ok = False
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(f"{key}\n{'kvm' if ok else 'tcg'}")
    return ok


def select_accel(requested: str, ctx: Context) -> str:
    """kvm or tcg: ``auto`` uses KVM only if the probe guest really boots under it."""
    if requested not in ACCELS:
        raise RunError(f"unknown accelerator {requested!r}", hint="Use auto, kvm or tcg.")
    if requested == "tcg":
        return "tcg"
    usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
    if requested == "kvm":
        if not usable:
            raise RunError("/dev/kvm is missing or not accessible", hint="Use --accel tcg.")
        return "kvm"
    if not usable:
        return "tcg"
    accel = "kvm" if kvm_works(ctx) else "tcg"
    ctx.log_debug(f"accelerator: {accel} (auto)")
    return accel


def run_image(
    image: Path,
    options: RunOptions,
    ctx: Context,
    *,
    stdout: BinaryIO,
    stderr: TextIO,
    stdin: BinaryIO | None = None,
) -> RunResult:
    """Boot ``image`` (auto-selecting the accelerator) and report how it ended."""
    # Refuses files that are not dock2uni images before QEMU starts, and sizes the guest.
    meta = read_metadata(image)
    if options.mem is None:
        options = dataclasses.replace(options, mem=image_mem(meta))
    accel = select_accel(options.accel, ctx)
    return boot(image, options, ctx, accel=accel, stdout=stdout, stderr=stderr, stdin=stdin)
