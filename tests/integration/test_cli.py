"""The CLI as users and CI scripts see it: output streams, JSON, exit codes, error lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fixtures.build import fixture_layout
from fixtures.ocibuild import Image, Layer, write_layout

D2U = [sys.executable, "-m", "dock2uni"]


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*D2U, *args, "--cache-dir", str(cache)], capture_output=True, text=True, check=False
    )


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A two-layer OCI layout with a shell-script entrypoint and a user."""
    base = (
        Layer()
        .dir("etc")
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
        .file("etc/group", "root:x:0:\napp:x:1000:\n")
        .dir("bin")
        .file("bin/sh", b"\x7fELF" + b"\0" * 60, mode=0o755)
    )
    app = Layer().dir("app").file("app/start.sh", "#!/bin/sh\nexec echo hi\n", mode=0o755)
    image = Image(
        layers=[base, app],
        config={
            "Entrypoint": ["/app/start.sh"],
            "Cmd": ["--serve"],
            "Env": ["A=1"],
            "User": "app",
            "WorkingDir": "/app",
            "ExposedPorts": {"8080/tcp": {}},
        },
    )
    dest = tmp_path / "layout"
    write_layout(dest, {"latest": image})
    return dest


def test_inspect_json_goes_to_stdout_only_and_is_complete(layout: Path, tmp_path: Path) -> None:
    """--format json: one JSON document on stdout, nothing else; the documented keys are there."""
    proc = run_cli("inspect", f"oci:{layout}:latest", "--format", "json", cache=tmp_path / "c")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["argv"] == ["/app/start.sh", "--serve"]
    assert doc["exec"]["kind"] == "script" and doc["exec"]["interpreter"] == ["/bin/sh"]
    assert doc["user"] == {"text": "app", "uid": 1000, "gid": 1000, "name": "app"}
    assert doc["workdir"] == "/app" and doc["exposed_ports"] == ["8080/tcp"]
    assert doc["platform"] == "linux/amd64" and len(doc["layers"]) == 2
    assert doc["digest"].startswith("sha256:") and doc["files"] >= 6
    assert "A=1" in doc["env"]


def test_inspect_text_is_for_people(layout: Path, tmp_path: Path) -> None:
    """The text form names the command, the script interpreter and the layers."""
    proc = run_cli("inspect", f"oci:{layout}", cache=tmp_path / "c")
    assert proc.returncode == 0, proc.stderr
    assert "/app/start.sh --serve" in proc.stdout
    assert "interpreter /bin/sh" in proc.stdout and "Layers (2)" in proc.stdout


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("oci:/nonexistent/dir", 3),
        ("Upper/Case:tag", 9),
        ("docker-daemon:", 9),
        ("name@sha256:../../etc/passwd", 9),
    ],
)
def test_errors_are_two_lines_and_a_specific_exit_code(
    source: str, code: int, tmp_path: Path
) -> None:
    """Each error: 'error:' line, 'hint:' line, the class's exit code, no traceback."""
    proc = run_cli("inspect", source, cache=tmp_path / "c")
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("dock2uni: error: ")
    assert lines[1].startswith("dock2uni: hint: ")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    """Unknown options and bad option values are usage errors."""
    assert run_cli("inspect", "x", "--bogus", cache=tmp_path).returncode == 2
    assert run_cli("inspect", "x", "--tls-verify=maybe", cache=tmp_path).returncode == 2
    assert run_cli("inspect", "x", "--format", "xml", cache=tmp_path).returncode == 2


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    """--debug adds the traceback to the two lines."""
    proc = run_cli("inspect", "oci:/nonexistent/dir", "--debug", cache=tmp_path)
    assert proc.returncode == 3 and "Traceback" in proc.stderr


def test_version() -> None:
    """--version prints the version and exits 0."""
    proc = subprocess.run([*D2U, "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("dock2uni ")


def test_usage_errors_of_run_and_credentials_exit_2(tmp_path: Path) -> None:
    """An invalid --accel or --creds is a usage error (2), not a run or reference failure."""
    image = tmp_path / "x.uni"
    image.write_bytes(b"")
    for args in (
        ("run", str(image), "--accel", "foo"),
        ("inspect", "oci:/nonexistent", "--creds", "nocolon"),
        ("audit", "oci:/nonexistent", "--creds", ":secret"),
    ):
        proc = run_cli(*args, cache=tmp_path / "c")
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_convert_into_a_missing_directory_is_an_output_error(layout: Path, tmp_path: Path) -> None:
    """convert -o into a directory that does not exist fails at once and creates nothing."""
    out = tmp_path / "no" / "such" / "dir" / "x.uni"
    proc = run_cli("convert", f"oci:{layout}", "-o", str(out), cache=tmp_path / "c")
    assert proc.returncode == 15, proc.stderr
    assert "does not exist" in proc.stderr and "dock2uni: hint:" in proc.stderr
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("how", ["option", "variable"])
def test_a_relative_cache_directory_gives_the_same_audit(how: str, tmp_path: Path) -> None:
    """--cache-dir cb and DOCK2UNI_CACHE=rc1 are resolved against the working directory once:
    the audit analyses the program (it reported "unparseable ELF", partial, exit 0 before)."""
    layout = fixture_layout("hello-static-glibc")
    args = [*D2U, "audit", f"oci:{layout}", "--format", "json", "--fail-on", "never"]
    env = dict(os.environ)
    env.pop("DOCK2UNI_CACHE", None)
    if how == "option":
        args += ["--cache-dir", "cb"]
    else:
        env["DOCK2UNI_CACHE"] = "rc1"
    proc = subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] in ("supported", "partial"), doc["verdict_reasons"]
    assert len(doc["syscall_details"]) > 20
    assert (tmp_path / ("cb" if how == "option" else "rc1")).is_dir()


def test_a_fixture_that_boots_passes_the_default_gate(tmp_path: Path) -> None:
    """hello-static-glibc boots in `make demo`; its audit must pass --fail-on unsupported
    (rseq and rt_sigreturn failed it before), naming why those two are partial."""
    layout = fixture_layout("hello-static-glibc")
    proc = run_cli(
        "audit", f"oci:{layout}", "--format", "json", "--fail-on", "unsupported", cache=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    by = {s["name"]: s for s in json.loads(proc.stdout)["syscall_details"]}
    assert by["rseq"]["status"] == "partial" and "fall back" in by["rseq"]["note"]


@pytest.mark.parametrize("command", ["inspect", "run"])
def test_a_missing_local_looking_image_is_not_found_at_once(command: str, tmp_path: Path) -> None:
    """`nosuch.uni` or `./x` is a path, never a Docker Hub name to retry for seconds."""
    for name in ("nosuch.uni", "./nosuch"):
        started = time.monotonic()
        proc = run_cli(command, name, cache=tmp_path / "c")
        assert proc.returncode == 3, proc.stderr
        assert "no such file" in proc.stderr and "--insecure" not in proc.stderr
        assert time.monotonic() - started < 5


def test_a_file_that_is_not_a_unikernel_gets_the_archive_hint(tmp_path: Path) -> None:
    """`inspect image.tar` names the transport to write instead."""
    tar = tmp_path / "image.tar"
    tar.write_bytes(b"not an elf")
    proc = run_cli("inspect", str(tar), cache=tmp_path / "c")
    assert proc.returncode == 9 and f"docker-archive:{tar}" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("inspect",),
        ("inspect", "x", "--bogus"),
        ("support-matrix", "--format", "sarif"),
        ("run", "x.uni", "--mem", "lots"),
    ],
)
def test_usage_errors_are_two_lines_like_every_error(args: tuple[str, ...], tmp_path: Path) -> None:
    """Usage errors too: `dock2uni: error:` and a hint naming the command's --help, exit 2."""
    proc = run_cli(*args, cache=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("dock2uni: error: "), proc.stderr
    assert lines[1].startswith("dock2uni: hint: ") and "--help" in lines[1]


def test_support_matrix_help_offers_only_what_it_prints() -> None:
    """support-matrix --help does not offer sarif, which it would then reject."""
    proc = subprocess.run([*D2U, "support-matrix", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "markdown" in proc.stdout and "sarif" not in proc.stdout


def test_every_json_output_has_one_schema_version(layout: Path, tmp_path: Path) -> None:
    """inspect, audit and support-matrix: `schema_version` first and once, `volatile` listing
    keys present in the document (convert and inspect IMAGE.uni: tests/boot)."""
    glibc = fixture_layout("hello-static-glibc")
    outputs = {
        "inspect": run_cli("inspect", f"oci:{layout}", "-f", "json", cache=tmp_path),
        "audit": run_cli("audit", f"oci:{glibc}", "-f", "json", cache=tmp_path),
        "support-matrix": subprocess.run(
            [*D2U, "support-matrix", "-f", "json"], capture_output=True, text=True, check=False
        ),
    }
    for name, proc in outputs.items():
        assert proc.returncode == 0, (name, proc.stderr)
        doc = json.loads(proc.stdout)
        assert next(iter(doc)) == "schema_version" and doc["schema_version"] == 1, name
        assert "schemaVersion" not in proc.stdout, name
        assert set(doc["volatile"]) <= set(doc), name
    assert json.loads(outputs["audit"].stdout)["volatile"] == ["timings"]


def test_the_analysis_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    """On a terminal, audit shows what it analyses while it does; on a pipe, nothing."""
    layout = fixture_layout("hello-static-glibc")
    args = [*D2U, "audit", f"oci:{layout}", "--cache-dir", str(tmp_path), "--fail-on", "never"]
    leader, follower = os.openpty()
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            args, stdout=subprocess.DEVNULL, stderr=follower, timeout=300, check=False
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    assert proc.returncode == 0
    assert b"analysing /usr/local/bin/hello" in seen
    piped = run_cli("audit", f"oci:{layout}", "--fail-on", "never", cache=tmp_path)
    assert "analysing" not in piped.stderr
