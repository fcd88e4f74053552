"""Runner shared by the one-program cost benchmarks (thread_cost.py, process_cost.py).

A static program in bench/guest/ runs as ``PROGRAM all`` and prints one ``OP VALUE`` line
per operation; it is measured as the unikernel's program, as /init of the Linux microVM
on the same QEMU and accelerator, and in a container on a private dockerd (``docker run
--rm --network none``), the three interleaved. Each benchmark keeps its own operations,
table and goals; this module has what they had twice: parsing the figures, the exit
codes of each peer, the runners and the measurement itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench import guests, unikernel
from bench.boot_time import docker_peer
from bench.config import Config
from bench.peers import docker, linux_microvm
from bench.qemu import GuestTiming, time_guest
from bench.report import Result
from bench.stats import Metrics, Samples, interleaved
from bench.timing import spawn_and_wait
from dock2uni.run import classify

UNIKERNEL = "dock2uni unikernel"
LINUX = "Linux microVM (bzImage)"
DOCKER = "docker run --rm (host kernel)"
PARTIAL = 3  # the programs' exit when some modes failed
_LINUX_INIT_EXIT = re.compile(rb"Attempted to kill init! exitcode=0x([0-9a-fA-F]+)")


@dataclass(frozen=True)
class CostProgram:
    """One cost program: its name, its operations in order, the line that proves it ran."""

    name: str  # bench/guest/<name>.c
    ops: Mapping[str, str]  # operation -> what it measures
    # time_guest takes an unusual QEMU status (the exit 3 of a partial run) as a QEMU
    # failure unless the program printed something: the first operation's name.
    marker: bytes

    def parse(self, output: bytes, code: int) -> Metrics:
        """The figures among other console output. Exit 3 means some modes printed "MODE
        failed: ..." instead: their figure is missing (None) and the others count; any
        other exit is a failed run."""
        names = "|".join(re.escape(op) for op in self.ops)
        line = re.compile(rf"^({names}) (\d+(?:\.\d+)?)\s*$".encode(), re.MULTILINE)
        text = output.replace(b"\r", b"")
        found = {op.decode(): float(v) for op, v in line.findall(text)}
        if code not in (0, PARTIAL) or not found or (code == 0 and len(found) < len(self.ops)):
            raise RuntimeError(f"{self.name} exited {code}: {output[-300:]!r}")
        return {op: found.get(op) for op in self.ops}


def unikernel_code(timing: GuestTiming) -> int:
    """The program's exit code, read as `dock2uni run` reads it; raises on any other end."""
    lines = timing.log.decode(errors="replace").splitlines()
    code, status, cause = classify(lines, timing.status, False)
    if status != "exit":
        raise RuntimeError(f"guest {status}, exit {code}: {cause}; COM1 {timing.output[-200:]!r}")
    return code


def linux_code(timing: GuestTiming) -> int:
    """/init's exit code from the panic its exit causes (the status word's high byte)."""
    found = _LINUX_INIT_EXIT.search(timing.output)
    if found is None:
        raise RuntimeError(f"no init exit code on the console: {timing.output[-200:]!r}")
    word = int(found.group(1), 16)
    if word & 0x7F:  # killed by a signal, not an exit
        raise RuntimeError(f"/init was killed by signal {word & 0x7F}")
    return word >> 8


def qemu_runner(
    program: CostProgram,
    make_argv: Callable[[Path], list[str]],
    exit_code: Callable[[GuestTiming], int],
) -> Callable[[], Metrics]:
    """One boot running `PROGRAM all`."""

    def run() -> Metrics:
        timing = time_guest(make_argv, marker=program.marker, timeout=900)
        return program.parse(timing.output, exit_code(timing))

    return run


def docker_runner(program: CostProgram, peer: docker.DockerPeer, tag: str) -> Callable[[], Metrics]:
    """One `docker run --rm --network none TAG PROGRAM all`."""

    def run() -> Metrics:
        argv = ["docker", "run", "--rm", "--network", "none", tag, guests.GUEST_PATH + program.name]
        done = spawn_and_wait(
            [*argv, "all"], marker=b"", t0=time.monotonic(), timeout=600, env=peer.env
        )
        if done.timed_out:
            raise TimeoutError("docker run still running after 600 s")
        return program.parse(done.output, done.status)

    return run


def measure(
    program: CostProgram,
    config: Config,
    result: Result,
    *,
    accel: str,
    layout: Path,
    initrd: Callable[[], Path],
) -> tuple[dict[str, Samples], dict[str, str]]:
    """The three peers interleaved ``config.repeat`` times: (samples, skipped peers with
    why). ``layout`` is the OCI image (the unikernel's and the container's), ``initrd``
    makes the Linux microVM's initramfs; the conditions go into ``result``."""
    mem = config.guest_mem
    skipped: dict[str, str] = {}
    peers: dict[str, Callable[[], Metrics]] = {}
    try:
        image = unikernel.convert(f"oci:{layout}:latest", program.name)
        peers[UNIKERNEL] = qemu_runner(
            program,
            unikernel.argv_for(
                image, accel=accel, mem=mem, cmd=[guests.GUEST_PATH + program.name, "all"]
            ),
            unikernel_code,
        )
        peers[UNIKERNEL]()  # a failing first boot means "not measured yet", with its reason
    except (RuntimeError, TimeoutError) as exc:
        peers.pop(UNIKERNEL, None)
        skipped[UNIKERNEL] = f"the unikernel does not run {program.name} yet: {str(exc)[:300]}"
    vmlinuz = linux_microvm.kernel()
    result.conditions["Linux kernel"] = vmlinuz.name
    peers[LINUX] = qemu_runner(
        program,
        linux_microvm.argv_for(vmlinuz, initrd(), accel=accel, mem=mem, init_args=["all"]),
        linux_code,
    )
    with docker_peer(skipped) as daemon:
        if daemon is not None:
            result.conditions["docker"] = f"dockerd {daemon.version} (private daemon)"
            try:
                tag = daemon.load(layout, f"d2u-bench/{program.name}:latest")
                peers[DOCKER] = docker_runner(program, daemon, tag)
            except Exception as exc:  # a broken daemon must not stop the guests' figures
                skipped[DOCKER] = f"docker load failed: {str(exc)[:200]}"
        samples = interleaved(peers, config.repeat, label=result.name)
    result.raw = {
        "samples": {n: s.to_json() for n, s in samples.items()},
        "skipped": skipped,
    }
    return samples, skipped
