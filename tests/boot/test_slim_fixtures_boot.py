"""--slim and --rootfs closure on the fixtures test_slim_boot.py and test_slim_traced.py
do not boot: each runs its workload exactly as the full image does (under QEMU).

One `convert --slim` per fixture boots the full image (traced: the reference) and the
slim image (verification); a spy on slim/traced.py's run_workload (the real one runs)
gives the test both outcomes, so it checks the reference itself (exit code and what
the output holds) and compares the slim outcome with it. The closure image is then
linked for the same command; when its rootfs keeps exactly the slim image's paths, the
verified boot already ran that rootfs, otherwise it boots once more and must give the
reference outcome too. The fixtures whose entrypoint script runs the scripts of
/docker-entrypoint.d (entrypoint-script, nginx-official, redis-official's gosu), whose
configuration runs perl through include_shell (lighttpd) or that serve their working
directory (python-official) are here too: the closure keeps what they name (docs/slim.md).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.runspec import Overrides
from dock2uni.slim import traced
from dock2uni.slim.traced import SlimOptions
from dock2uni.slim.workload import Outcome, Workload, difference, run_workload, workloads
from dock2uni.uni import read_metadata

pytestmark = pytest.mark.boot

MEMCACHED_PROBE = "tcp://:11211/set%20k%200%200%205%0D%0Ahello%0D%0Aget%20k%0D%0Aquit%0D%0A"


@dataclass(frozen=True)
class Case:
    """A fixture's workload and what its full image must do with it."""

    cmd: str | None = None  # convert --cmd for both policies; None: the image's own
    probe: str | None = None  # --slim-probe: a server
    holds: bytes = b""  # in stdout (a server: in its probe's answer)
    exit_code: int = 0


CASES: dict[str, Case] = {
    "getent": Case(holds=b"root:x:0:0:root:/root:/bin/bash\n"),
    "iconv": Case(cmd="iconv -f UTF-8 -t ISO-8859-1 /etc/debian_version", holds=b"12."),
    "openssl": Case(holds=b"OpenSSL 3.0"),
    "perl": Case(holds=b"hello\n"),
    "ripgrep": Case(holds=b"/etc/passwd:1:root:x:0:0:root:/root:/bin/bash\n"),
    "rsync": Case(cmd="rsync -a --itemize-changes /etc/ /tmp/c/", holds=b">f+++++++++ passwd\n"),
    "pamtester": Case(holds=b"pamtester: account management done.\n"),
    "go-hello": Case(holds=b"http: hello from go-hello, GET /hello\n"),
    "go-threads": Case(holds=b"go-threads: done\n"),
    "glib": Case(cmd="gio cat /etc/debian_version", holds=b"12."),
    "ninja": Case(cmd="ninja -t list", holds=b"ninja subtools:\n"),
    # The scripts of /docker-entrypoint.d and what they run; the Cmd's `sh -c` text.
    "entrypoint-script": Case(holds=b"10-greet: hello from 10-greet.sh as 0\n"),
    "curl": Case(holds=b"curl 7."),
    "sasl": Case(holds=b"Installed and properly configured"),
    "python-stdlib": Case(
        cmd="python3 -c 'import json, queue; print(json.dumps([queue.Queue().qsize()]))'",
        holds=b"[0]\n",
    ),
    "hello-static-glibc": Case(holds=b"hello from dock2uni\n"),
    "hello-static-musl": Case(holds=b"hello from dock2uni\n"),
    "hello-static-pie": Case(holds=b"hello from dock2uni\n"),
    "multiarch": Case(holds=b"hello from dock2uni\n"),  # the linux/amd64 manifest's hello
    "coreutils-trixie": Case(holds=b" tmp\n"),  # ls -l / with glibc 2.41
    "debian": Case(
        cmd="bash -c 'v=$(cat /etc/debian_version); echo \"debian $v\"'", holds=b"debian 12."
    ),
    "memcached": Case(
        cmd="memcached -u root", probe=MEMCACHED_PROBE, holds=b"VALUE k 0 5\r\nhello\r\nEND\r\n"
    ),
    # lighttpd.conf's include_shell runs perl scripts (their modules, /etc/mime.types).
    "lighttpd": Case(probe="http://:80/", holds=b"</html>"),
    "alpine-shaped": Case(probe="http://:8080/", holds=b"hello from busybox httpd\n"),
    # The entrypoint renders /etc/nginx/templates into conf.d with envsubst.
    "nginx-official": Case(probe="http://:80/", holds=b"<h1>Welcome to nginx!</h1>"),
    "nginx-serve": Case(probe="http://:80/", holds=b"<h1>Welcome to nginx!</h1>"),
    # http.server serves its working directory; mimetypes reads /etc/mime.types.
    "python-official": Case(probe="http://:8000/", holds=b"<p>served by python3 -m http.server"),
    # The entrypoint chowns /data (its working directory) and re-runs itself through gosu.
    "redis-official": Case(
        probe="tcp://:6379/SET%20k%20v%0D%0AGET%20k%0D%0AQUIT%0D%0A", holds=b"$1\r\nv\r\n"
    ),
    "distroless-shaped": Case(probe="http://:8080/", holds=b"hello from a distroless-shaped"),
}


def _workload(case: Case) -> Workload:
    """The image's command (convert's --cmd is the case's), probed when a server."""
    (work,) = workloads([], [case.probe] if case.probe else [])
    return work


def _check_reference(name: str, case: Case, ref: Outcome) -> None:
    """The full image's outcome is the expected one, not merely the same as another's."""
    if case.probe:
        # Stopped once it answered (a server does not exit by itself).
        assert ref.status == "timeout", (name, ref.cause, ref.log[-20:])
        ((status, body),) = ref.probes
        assert status in (0, 200) and case.holds in body, (name, status, body[:300])
        return
    assert ref.status == "exit" and ref.exit_code == case.exit_code, (name, ref.cause, ref.stderr)
    assert case.holds in ref.stdout, (name, ref.stdout[:500], ref.stderr[-500:])


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Outcome]]:
    """The outcomes of convert --slim's boots, in order (the real run_workload runs)."""
    seen: list[Outcome] = []
    real: Callable[..., Outcome] = traced.run_workload

    def spy(*args: Any, **kw: Any) -> Outcome:
        got = real(*args, **kw)
        seen.append(got)
        return got

    monkeypatch.setattr(traced, "run_workload", spy)
    yield seen


@pytest.mark.parametrize("name", sorted(CASES))
def test_slim_and_closure_run_like_the_full_image(
    name: str, boot_ctx: Context, accel: str, spied: list[Outcome], tmp_path: Path
) -> None:
    case = CASES[name]
    work = _workload(case)
    source = f"oci:{fixture_layout(name)}:latest"
    # Both policies convert the same command (`convert --cmd`), so their closures agree.
    cmd = tuple(shlex.split(case.cmd)) if case.cmd else None
    overrides = Overrides(cmd=cmd) if cmd else None
    slim_uni = tmp_path / f"{name}-slim.uni"
    convert_image(
        source, slim_uni, AcquireOptions(), boot_ctx, rootfs_policy="slim", overrides=overrides,
        slim=SlimOptions(workloads=(work,), timeout=300),
    )  # fmt: skip
    ref, verified = spied  # the traced full image, then the slim image
    _check_reference(name, case, ref)
    assert difference(ref, verified) is None, difference(ref, verified)
    slim_meta = read_metadata(slim_uni)
    assert slim_meta["slim"]["verified"] is True

    closure_uni = tmp_path / f"{name}-closure.uni"
    convert_image(
        source, closure_uni, AcquireOptions(), boot_ctx, rootfs_policy="closure",
        overrides=overrides,
    )  # fmt: skip
    closure_meta = read_metadata(closure_uni)
    kept, slim_kept = closure_meta["rootfs"]["kept"], slim_meta["rootfs"]["kept"]
    assert all(why for why in kept.values()), kept
    assert set(kept) <= set(slim_kept), sorted(set(kept) - set(slim_kept))[:10]
    if set(kept) == set(slim_kept):
        return  # the same rootfs booted as the slim image's verification
    got = run_workload(closure_uni, work, boot_ctx, accel=accel, timeout=300, fstrace=False)
    assert difference(ref, got) is None, (name, difference(ref, got))
