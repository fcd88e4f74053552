"""convert --slim's workloads: what runs in the traced boot and again in the verification boot.

A workload is one boot of the image. ``--slim-cmd 'ARGS'`` runs ARGS (split like a
shell's words, no expansion) in place of the image's Cmd, as `dock2uni run IMAGE --
ARGS` does (the Entrypoint stays; without one, ARGS[0] is the program, searched in
PATH); ``--slim-cmd ''`` is the image's own command. Without --slim-cmd the image's
own command is the one workload. stdin is at end of file. ``--slim-probe
http://:PORT/PATH`` (a GET) and ``tcp://:PORT/BYTES`` (percent-encoded bytes sent on one
connection, the answer read until the server closes it) are made against a server
workload (the image's command, or the first --slim-cmd) once it answers on PORT; then
the server is stopped. An outcome is the exit code, stdout and stderr, and each probe's
status and body; verification compares them exactly (for a probed server, how it ended
and the answers: its output is a log with times).
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import shlex
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dock2uni.context import Context
from dock2uni.errors import SlimError
from dock2uni.run import RunOptions, RunResult, run_image

PROBE_READY_POLL = 0.5  # seconds between attempts while the server starts
PROBE_REQUEST_TIMEOUT = 30.0


class WorkloadUsageError(ValueError):
    """A malformed --slim-cmd or --slim-probe (the CLI makes it a usage error)."""

    def __init__(self, message: str, option: str = "--slim-probe") -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class Probe:
    """One request against the guest's PORT: an HTTP GET of ``path``, or (kind "tcp")
    ``send`` written on a TCP connection and the answer read until the server closes it."""

    port: int
    path: str  # with the query, as sent (http); the percent-encoded bytes (tcp)
    kind: str = "http"
    send: bytes = b""

    def __str__(self) -> str:
        if self.kind == "tcp":
            return f"tcp://:{self.port}{self.path}"
        return f"http://:{self.port}{self.path}"

    def request(self) -> str:
        """What the workload's description says it does."""
        return f"GET {self}" if self.kind == "http" else f"send {self}"


@dataclass(frozen=True)
class Workload:
    cmd: tuple[str, ...] | None  # None: the image's own command
    probes: tuple[Probe, ...] = ()

    def __str__(self) -> str:
        what = "the image's command" if self.cmd is None else shlex.join(self.cmd)
        return what + "".join(f" + {p.request()}" for p in self.probes)


@dataclass(frozen=True)
class Outcome:
    """What a workload did: compared byte for byte between the full and the slim image."""

    exit_code: int
    status: str
    cause: str | None
    stdout: bytes
    stderr: bytes
    probes: tuple[tuple[int, bytes], ...]  # (HTTP status, body) per probe; tcp: (0, answer)
    log: tuple[str, ...]


def parse_cmd(text: str) -> tuple[str, ...] | None:
    """--slim-cmd's words; '' is the image's own command."""
    if not text.strip():
        return None
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        raise WorkloadUsageError(f"{text!r}: {exc}", "--slim-cmd") from None


def parse_probe(text: str) -> Probe:
    """``http://:PORT/PATH`` or ``tcp://:PORT/BYTES`` (BYTES percent-encoded, e.g.
    ``PING%0D%0AQUIT%0D%0A``); a host, if given, must be localhost: the guest's port."""
    url = urllib.parse.urlsplit(text)
    if url.scheme not in ("http", "tcp"):
        raise WorkloadUsageError(f"{text!r}: expected http://:PORT/PATH or tcp://:PORT/BYTES")
    if url.hostname not in (None, "", "localhost", "127.0.0.1"):
        raise WorkloadUsageError(
            f"{text!r}: the host is the guest: leave it out ({url.scheme}://:PORT/)"
        )
    try:
        port = url.port
    except ValueError:
        port = None
    if port is None or not 0 < port < 65536:
        raise WorkloadUsageError(f"{text!r}: give the guest's port, e.g. {url.scheme}://:80/")
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    if url.scheme == "http":
        return Probe(port, path)
    send = urllib.parse.unquote_to_bytes(path[1:])
    if not send:
        raise WorkloadUsageError(f"{text!r}: give the bytes to send, e.g. tcp://:6379/PING%0D%0A")
    return Probe(port, path, kind="tcp", send=send)


def workloads(cmds: Sequence[str], probes: Sequence[str]) -> tuple[Workload, ...]:
    """The boots --slim-cmd and --slim-probe ask for (see the module docstring)."""
    parsed = [parse_cmd(c) for c in cmds] or [None]
    reqs = tuple(parse_probe(p) for p in probes)
    if not reqs:
        return tuple(Workload(c) for c in parsed)
    return (Workload(parsed[0], reqs), *(Workload(c) for c in parsed[1:]))


def run_workload(
    image: Path,
    work: Workload,
    ctx: Context,
    *,
    accel: str,
    timeout: float,
    fstrace: bool,
    mem: int | None = None,
) -> Outcome:
    """Boot ``image`` once for ``work`` (traced or not; ``mem`` bytes of guest memory, by
    default the image's recommendation) and collect its outcome."""
    # No volumes for the image's VOLUMEs: their files are traced where the image has them.
    options = RunOptions(
        mem=mem,
        accel=accel,
        timeout=timeout,
        cmd=work.cmd,
        echo_log=False,
        fstrace=fstrace,
        image_volumes=False,
    )
    out, err = io.BytesIO(), io.BytesIO()
    if not work.probes:
        result = run_image(image, options, ctx, stdout=out, stderr=io.StringIO(), guest_stderr=err)
        return _outcome(result, out, err, ())
    return _run_probed(image, work, options, ctx, out=out, err=err, timeout=timeout)


def _outcome(
    result: RunResult, out: io.BytesIO, err: io.BytesIO, probes: tuple[tuple[int, bytes], ...]
) -> Outcome:
    return Outcome(
        exit_code=result.exit_code,
        status=result.status,
        cause=result.cause,
        stdout=out.getvalue(),
        stderr=err.getvalue(),
        probes=probes,
        log=tuple(result.log),
    )


def _network_module() -> Any:
    """`dock2uni run -p`'s networking (dock2uni.network), where this build has it."""
    try:
        return importlib.import_module("dock2uni.network")
    except ModuleNotFoundError:
        raise SlimError(
            "--slim-probe needs guest networking (`dock2uni run -p`), which this dock2uni "
            "does not have yet",
            hint="Trace a command-line workload with --slim-cmd instead.",
        ) from None


def _run_probed(
    image: Path,
    work: Workload,
    options: RunOptions,
    ctx: Context,
    *,
    out: io.BytesIO,
    err: io.BytesIO,
    timeout: float,
) -> Outcome:
    """Boot the server with the probes' ports published, GET each probe once the server
    answers, and let the boot end at ``timeout`` (the server does not exit by itself)."""
    net = _network_module()
    ports = sorted({p.port for p in work.probes})
    specs = tuple(net.PortSpec("127.0.0.1", None, port, "tcp") for port in ports)
    stop = threading.Event()
    fields: dict[str, Any] = {"network": net.Network(mode="user", ports=specs), "stop": stop}
    options = dataclasses.replace(options, **fields)
    published: dict[int, int] = {}
    ready = threading.Event()

    def on_published(items: Sequence[Any]) -> None:
        published.update({p.guest_port: p.host_port for p in items})
        ready.set()

    box: list[RunResult] = []
    kwargs: dict[str, Any] = {"on_published": on_published}

    def boot() -> None:
        box.append(
            run_image(
                image, options, ctx, stdout=out, stderr=io.StringIO(), guest_stderr=err, **kwargs
            )
        )
        ready.set()

    thread = threading.Thread(target=boot, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    ready.wait(timeout)
    answers = tuple(
        ask(p, published.get(p.port, p.port), deadline, thread.is_alive) for p in work.probes
    )
    stop.set()  # the answers are in: the server need not run until the timeout
    thread.join(max(deadline - time.monotonic(), 0) + 30)
    if not box:
        raise SlimError(f"the probed boot of {image} did not end", hint="Raise --slim-timeout.")
    return _outcome(box[0], out, err, answers)


def ask(probe: Probe, port: int, deadline: float, alive: Callable[[], bool]) -> tuple[int, bytes]:
    """``probe``'s answer from a server published on 127.0.0.1:``port``, retried while it is
    not listening yet, as long as ``alive()`` and until ``deadline`` (time.monotonic)."""
    if probe.kind == "tcp":
        return _exchange(port, probe.send, deadline, alive)
    return _get(f"http://127.0.0.1:{port}{probe.path}", deadline, alive)


def _exchange(
    port: int, send: bytes, deadline: float, alive: Callable[[], bool]
) -> tuple[int, bytes]:
    """(0, what the server answered to ``send`` before closing the connection). Refused,
    reset, or closed without a byte: the server is not listening yet (the published port
    accepts before the guest does), so try again."""
    while True:
        got = bytearray()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=PROBE_REQUEST_TIMEOUT) as s:
                s.sendall(send)
                while chunk := s.recv(65536):
                    got += chunk
        except OSError:
            if got:  # it answered, then the connection failed: that is its answer
                return 0, bytes(got) + b"(connection error)"
        else:
            if got:
                return 0, bytes(got)
        if time.monotonic() > deadline or not alive():
            return -1, b"(no answer)"
        time.sleep(PROBE_READY_POLL)


def _get(url: str, deadline: float, alive: Callable[[], bool]) -> tuple[int, bytes]:
    """(status, body) of GET url, retrying while the server is not listening yet."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=PROBE_REQUEST_TIMEOUT) as resp:  # noqa: S310
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())
        except OSError:
            if time.monotonic() > deadline or not alive():
                return -1, b"(no answer)"
            time.sleep(PROBE_READY_POLL)


def difference(full: Outcome, slim: Outcome) -> str | None:
    """What differs between the full image's outcome and the slim one's, or None."""
    if (full.exit_code, full.status) != (slim.exit_code, slim.status):
        why = f" ({slim.cause})" if slim.cause else ""
        tail = slim.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        said = f"; its stderr ends {tail[0][:200]!r}" if tail else ""
        return (
            f"exit code {slim.exit_code} ({slim.status}){why} instead of "
            f"{full.exit_code} ({full.status}){said}"
        )
    # A server's own output is its log, with times and client ports: with probes, the
    # answers are what is compared.
    streams = () if full.probes else (
        ("stdout", full.stdout, slim.stdout), ("stderr", full.stderr, slim.stderr)
    )  # fmt: skip
    for name, a, b in streams:
        if a != b:
            return f"{name} differs: {_first_difference(a, b)}"
    for i, ((sa, ba), (sb, bb)) in enumerate(zip(full.probes, slim.probes, strict=True)):
        if sa != sb:
            got = "no answer" if sb < 0 else f"HTTP status {sb}"
            return f"probe {i + 1}: {got} instead of {'no answer' if sa < 0 else sa}"
        if ba != bb:
            what = "answer" if sa == 0 else "body"
            return f"probe {i + 1}: {what} differs: {_first_difference(ba, bb)}"
    return None


def _first_difference(a: bytes, b: bytes) -> str:
    def show(v: bytes | None) -> str:
        return "(nothing)" if v is None else repr(v.decode("utf-8", "replace")[:160])

    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else None
        y = lb[i] if i < len(lb) else None
        if x != y:
            return f"line {i + 1} is {show(y)}, the full image printed {show(x)}"
    return "the same lines, different line endings"
