"""`dock2uni audit` and `support-matrix` as CI runs them: formats on stdout, gate exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from fixtures.build import fixture_layout
from fixtures.ocibuild import Image, Layer, write_layout

D2U = [sys.executable, "-m", "dock2uni"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def musl_source() -> str:
    return f"oci:{fixture_layout('hello-static-musl')}:latest"


def audit(source: str, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*D2U, "audit", source, "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_json_report_validates_and_gate_never_exits_0(musl_source: str, tmp_path: Path) -> None:
    """--format json --fail-on never: exit 0, stdout is one document valid against our schema."""
    proc = audit(musl_source, "--format", "json", "--fail-on", "never", cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    schema = json.loads(
        resources.files("dock2uni").joinpath("schemas/audit-report.schema.json").read_text()
    )
    jsonschema.validate(report, schema)
    assert report["syscalls"] == sorted(report["syscalls"])
    assert {"write", "writev"} & set(report["syscalls"]) and "exit_group" in report["syscalls"]


SHIMMED = re.compile(r"^SHIM\(\s*\d+,\s*([a-z_0-9]+),", re.M)
UNSHIMMED_PROGRAM = r"""
#include <sys/syscall.h>
#include <unistd.h>
int main(void) { return (int)syscall(SYS_kexec_load, 0, 0, 0, 0) == 0; }
"""


def _shimmed() -> set[str]:
    """The syscalls the shim tables name at all, read from shims/**/*.def (not by dock2uni)."""
    return {m for f in (REPO / "shims").rglob("*.def") for m in SHIMMED.findall(f.read_text())}


@pytest.fixture(scope="module")
def unshimmed_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image whose only program calls kexec_load, which no shim table names."""
    assert "kexec_load" not in _shimmed()  # the premise, checked against the tables
    root = tmp_path_factory.mktemp("unshimmed-root")
    (root / "bin").mkdir()
    src = root.parent / "kexec.c"
    src.write_text(UNSHIMMED_PROGRAM)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(root / "bin/kexec"), str(src)], check=True)
    dest = tmp_path_factory.mktemp("unshimmed-oci") / "layout"
    image = Image(layers=[Layer.from_directory(root)], config={"Cmd": ["/bin/kexec"]})
    write_layout(dest, {"latest": image})
    return f"oci:{dest}:latest"


def test_gate_fails_with_exit_20_when_something_is_unsupported(
    unshimmed_source: str, tmp_path: Path
) -> None:
    """An image calling a syscall no shim table names: the default gate and --fail-on
    partial exit 20, --fail-on never exits 0; the expectation comes from the .def files."""
    default = audit(unshimmed_source, cache=tmp_path)
    assert default.returncode == 20, default.stdout + default.stderr
    assert "fails --fail-on unsupported" in default.stderr
    assert "kexec_load" in default.stdout
    partial = audit(unshimmed_source, "--fail-on", "partial", cache=tmp_path)
    assert partial.returncode == 20, partial.stderr
    never = audit(unshimmed_source, "--fail-on", "never", cache=tmp_path)
    assert never.returncode == 0, never.stderr


def test_gate_passes_when_every_syscall_is_shimmed(musl_source: str, tmp_path: Path) -> None:
    """The musl hello's syscalls are all in the shim tables: the default gate exits 0."""
    report = json.loads(
        audit(musl_source, "-f", "json", "--fail-on", "never", cache=tmp_path).stdout
    )
    assert set(report["syscalls"]) <= _shimmed()  # judged here from the .def files
    default = audit(musl_source, cache=tmp_path)
    assert default.returncode == 0, default.stderr


def test_sarif_and_markdown_formats(musl_source: str, tmp_path: Path) -> None:
    """SARIF 2.1.0 and Markdown (for $GITHUB_STEP_SUMMARY) come out on stdout."""
    sarif = json.loads(
        audit(musl_source, "-f", "sarif", "--fail-on", "never", cache=tmp_path).stdout
    )
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "dock2uni"
    md = audit(musl_source, "-f", "markdown", "--fail-on", "never", cache=tmp_path)
    assert md.returncode == 0 and md.stdout.startswith("#")


def test_support_matrix_json_lists_the_table() -> None:
    """support-matrix --format json prints every entry of the .def tables."""
    proc = subprocess.run(
        [*D2U, "support-matrix", "--format", "json"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    text = json.dumps(doc)
    assert '"write"' in text and '"FULL"' in text


def test_complete_gives_the_upper_bound_and_gates_on_it(musl_source: str, tmp_path: Path) -> None:
    """--complete: a 'complete' object beside the reachable set, and --fail-on judges the
    worse of the two verdicts."""
    plain = audit(musl_source, "-f", "json", "--fail-on", "never", cache=tmp_path)
    full = audit(musl_source, "-f", "json", "--fail-on", "never", "--complete", cache=tmp_path)
    assert plain.returncode == 0 and full.returncode == 0, full.stderr
    report, bound = json.loads(plain.stdout), json.loads(full.stdout)["complete"]
    assert json.loads(plain.stdout)["complete"] is None
    assert set(report["syscalls"]) <= set(bound["syscalls"])
    assert bound["reachable_count"] == len(report["syscalls"])
    assert set(bound["beyond_reachable"]) == set(bound["syscalls"]) - set(report["syscalls"])
    gated = audit(musl_source, "--complete", "--fail-on", "partial", cache=tmp_path)
    assert gated.returncode == (0 if bound["verdict"] == "supported" else 20), gated.stderr
    assert "Upper bound (--complete)" in gated.stdout
