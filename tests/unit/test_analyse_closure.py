"""The dependency closure follows the dynamic loader's rules inside the image, never the host."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dock2uni.analyse.cache import FileAnalyser
from dock2uni.analyse.closure import Closure, compute_closure
from dock2uni.analyse.ldcache import ld_so_conf_dirs, parse_ld_cache
from tests.conftest import need
from tests.imagetree import HostImage, image_with

LIB_A = "int a(void) { return 1; }\n"
LIB_B = "int a(void); int b(void) { return a() + 1; }\n"
PROG = '#include <pwd.h>\nint b(void);\nint main(void) { getpwnam("nobody"); return b(); }\n'


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """libd2ua.so.1, libd2ub.so.1 (needs a) and prog (needs b, RUNPATH $ORIGIN/../lib)."""
    d = tmp_path_factory.mktemp("libs")
    for name, text in (("a.c", LIB_A), ("b.c", LIB_B), ("prog.c", PROG)):
        (d / name).write_text(text)

    def cc(*args: str) -> None:
        subprocess.run(["gcc", *args], cwd=d, check=True, capture_output=True)

    cc("-shared", "-fPIC", "-Wl,-soname,libd2ua.so.1", "-o", "libd2ua.so.1", "a.c")
    cc(
        "-shared",
        "-fPIC",
        "-Wl,-soname,libd2ub.so.1",
        "-o",
        "libd2ub.so.1",
        "b.c",
        "-L.",
        "-l:libd2ua.so.1",
    )
    cc(
        "-o",
        "prog",
        "prog.c",
        "-L.",
        "-l:libd2ub.so.1",
        "-Wl,-rpath,$ORIGIN/../lib",
        "-Wl,--enable-new-dtags",
        "-Wl,--allow-shlib-undefined",
    )
    arm = bytearray((d / "libd2ua.so.1").read_bytes())
    arm[18:20] = (183).to_bytes(2, "little")  # e_machine = aarch64
    (d / "arm-libd2ua.so.1").write_bytes(bytes(arm))
    return {p.name: p for p in d.iterdir()}


def base_image(libs: dict[str, Path], tmp: Path) -> HostImage:
    img = image_with({"/app/bin/prog": libs["prog"]}, tmp / "store")
    img.add_bytes("/app/lib/libd2ub.so.1", libs["libd2ub.so.1"].read_bytes())
    return img


def closure_of(
    img: HostImage, tmp: Path, env: dict[str, str] | None = None, program: str = "/app/bin/prog"
) -> Closure:
    with FileAnalyser(img.tree, img.store, tmp / "cache") as files:
        return compute_closure(
            img.tree, img.store, [(program, "main")], env or {}, files.load_facts
        )


def test_runpath_origin_and_ld_library_path(libs: dict[str, Path], tmp_path: Path) -> None:
    """$ORIGIN/../lib finds libd2ub, LD_LIBRARY_PATH finds libd2ua, the cache finds libc."""
    img = base_image(libs, tmp_path)
    img.add_bytes("/opt/a/libd2ua.so.1", libs["libd2ua.so.1"].read_bytes())
    closure = closure_of(img, tmp_path, {"LD_LIBRARY_PATH": "/opt/a"})
    by_name = {e.requested: e for e in closure.entries}
    assert by_name["libd2ub.so.1"].found_via == "runpath"
    assert by_name["libd2ub.so.1"].path == "/app/lib/libd2ub.so.1"
    assert by_name["libd2ua.so.1"].found_via == "LD_LIBRARY_PATH"
    assert by_name["libc.so.6"].status == "ok"
    assert by_name["libc.so.6"].found_via in ("ld.so.cache", "default path")
    assert by_name["/lib64/ld-linux-x86-64.so.2"].role == "interpreter"
    assert closure.entries[0].role == "main" and not closure.missing


def test_missing_library_is_reported_with_its_user(libs: dict[str, Path], tmp_path: Path) -> None:
    """Without LD_LIBRARY_PATH libd2ua is missing, needed by libd2ub."""
    closure = closure_of(base_image(libs, tmp_path), tmp_path)
    (missing,) = closure.missing
    assert missing.requested == "libd2ua.so.1" and missing.status == "missing"
    assert missing.needed_by == ("/app/lib/libd2ub.so.1",)


def test_wrong_architecture_candidate_is_skipped(libs: dict[str, Path], tmp_path: Path) -> None:
    """An aarch64 libd2ua earlier in the path is skipped (and noted); the x86-64 one is used."""
    img = base_image(libs, tmp_path)
    img.add_bytes("/opt/arm/libd2ua.so.1", libs["arm-libd2ua.so.1"].read_bytes())
    img.add_bytes("/opt/a/libd2ua.so.1", libs["libd2ua.so.1"].read_bytes())
    closure = closure_of(img, tmp_path, {"LD_LIBRARY_PATH": "/opt/arm:/opt/a"})
    entry = next(e for e in closure.entries if e.requested == "libd2ua.so.1")
    assert entry.path == "/opt/a/libd2ua.so.1"
    assert entry.note and "wrong-arch" in entry.note
    only_arm = base_image(libs, tmp_path / "2")
    only_arm.add_bytes("/opt/arm/libd2ua.so.1", libs["arm-libd2ua.so.1"].read_bytes())
    closure = closure_of(only_arm, tmp_path / "2", {"LD_LIBRARY_PATH": "/opt/arm"})
    (bad,) = closure.missing
    assert bad.status == "wrong-arch"


def test_loader_is_resolved_in_the_image_not_on_the_host(
    libs: dict[str, Path], tmp_path: Path
) -> None:
    """PT_INTERP is looked up in the tree: an image without a loader reports it missing."""
    img = HostImage(tmp_path / "store")
    img.add_bytes("/app/bin/prog", libs["prog"].read_bytes())
    closure = closure_of(img, tmp_path)
    interp = next(e for e in closure.entries if e.role == "interpreter")
    assert interp.status == "missing"
    assert interp.requested == "/lib64/ld-linux-x86-64.so.2"


def test_absolute_symlinks_stay_inside_the_image(libs: dict[str, Path], tmp_path: Path) -> None:
    """/lib64/ld-linux-x86-64.so.2 -> /opt/ld.so is followed from the image root."""
    img = HostImage(tmp_path / "store")
    img.add_bytes("/app/bin/prog", libs["prog"].read_bytes())
    loader = Path("/lib64/ld-linux-x86-64.so.2").resolve()
    img.add_bytes("/opt/ld.so", loader.read_bytes())
    img.add_symlink("/lib64/ld-linux-x86-64.so.2", "/opt/ld.so")
    closure = closure_of(img, tmp_path)
    interp = next(e for e in closure.entries if e.role == "interpreter")
    assert interp.status == "ok" and interp.path == "/opt/ld.so"


def test_ld_so_conf_without_cache_warns(libs: dict[str, Path], tmp_path: Path) -> None:
    """A library only in an ld.so.conf directory is found, with a 'run ldconfig' warning."""
    img = base_image(libs, tmp_path)
    img.add_bytes("/etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n")
    img.add_bytes("/etc/ld.so.conf.d/d2u.conf", b"# ours\n/opt/conf\n")
    img.add_bytes("/opt/conf/libd2ua.so.1", libs["libd2ua.so.1"].read_bytes())
    assert ld_so_conf_dirs(img.tree, img.store) == ["/opt/conf"]
    closure = closure_of(img, tmp_path)
    entry = next(e for e in closure.entries if e.requested == "libd2ua.so.1")
    assert entry.status == "ok" and entry.found_via == "ld.so.conf (not cached)"
    assert any("ldconfig" in w for w in closure.warnings)


def test_host_ld_so_cache_parses() -> None:
    """The glibc ld.so.cache format is read: libc.so.6 maps to a multiarch path."""
    cache = parse_ld_cache(Path("/etc/ld.so.cache").read_bytes())
    assert cache is not None and cache["libc.so.6"].endswith("/libc.so.6")
    assert parse_ld_cache(b"not a cache") is None


def test_nss_modules_are_likely_dlopen(libs: dict[str, Path], tmp_path: Path) -> None:
    """getpwnam + 'passwd: files d2u' in nsswitch.conf -> libnss_d2u.so.2 as a dlopen."""
    img = base_image(libs, tmp_path)
    img.add_bytes("/opt/a/libd2ua.so.1", libs["libd2ua.so.1"].read_bytes())
    img.add_bytes("/etc/nsswitch.conf", b"passwd: files d2u\ngroup: files gone\n")
    img.add_bytes("/usr/lib/x86_64-linux-gnu/libnss_d2u.so.2", libs["libd2ua.so.1"].read_bytes())
    closure = closure_of(img, tmp_path, {"LD_LIBRARY_PATH": "/opt/a"})
    nss = next(e for e in closure.entries if e.path.endswith("libnss_d2u.so.2"))
    assert nss.role == "dlopen" and nss.note and "NSS" in nss.note
    assert any("libnss_gone.so.2" in w for w in closure.warnings)


def test_python_extension_modules_are_likely_dlopen(tmp_path: Path) -> None:
    """For a python entrypoint, lib-dynload modules (and their libraries) are dlopen entries."""
    python = Path("/usr/bin/python3.11")
    if not python.exists():
        need("hosttool", "Debian python3.11 is not installed")
    img = image_with({"/usr/bin/python3.11": python}, tmp_path / "store")
    dynload = Path("/usr/lib/python3.11/lib-dynload")
    module = next(dynload.glob("_json.cpython-*.so"))
    img.add(str(module))
    closure = closure_of(img, tmp_path, program="/usr/bin/python3.11")
    entry = next(e for e in closure.entries if e.path.endswith(module.name))
    assert entry.role == "dlopen" and "python extension" in (entry.note or "")


ICONV_PROG = (
    '#include <iconv.h>\nint main(void) { return iconv_open("UTF-16", "UTF-8") == (iconv_t)-1; }\n'
)
GCONV = "/usr/lib/x86_64-linux-gnu/gconv"


@pytest.fixture(scope="module")
def iconv_prog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("iconv")
    (d / "prog.c").write_text(ICONV_PROG)
    subprocess.run(["gcc", "-o", "prog", "prog.c"], cwd=d, check=True, capture_output=True)
    return d / "prog"


def test_gconv_modules_named_by_configuration_are_likely_dlopen(
    libs: dict[str, Path], iconv_prog: Path, tmp_path: Path
) -> None:
    """iconv_open: every module a gconv-modules file names (relative to the gconv
    directory, ``.so`` appended; gconv-modules.d/*.conf too; GCONV_PATH first) is a dlopen
    entry with its reason; a module named nowhere is not; a named one the image lacks is
    a warning."""
    module = libs["libd2ua.so.1"].read_bytes()
    img = image_with({"/usr/bin/prog": iconv_prog}, tmp_path / "store")
    img.add_bytes(
        f"{GCONV}/gconv-modules",
        b"# from to module cost\nalias UTF16// UTF-16//\n"
        b"module\tD2U-A//\tINTERNAL\tD2UA\t1\nmodule INTERNAL D2U-A// D2UA 1\n"
        b"module INTERNAL GONE// GONE 1 # comment\n",
    )
    img.add_bytes(f"{GCONV}/gconv-modules.d/extra.conf", b"module X// INTERNAL sub/D2UB.so 2\n")
    img.add_bytes(f"{GCONV}/gconv-modules.d/README", b"module X// INTERNAL NOTREAD 2\n")
    img.add_bytes("/opt/gconv/gconv-modules", b"module Y// INTERNAL /opt/mods/D2UC 1\n")
    for name in ("D2UA.so", "sub/D2UB.so", "NOTREAD.so", "UNNAMED.so"):
        img.add_bytes(f"{GCONV}/{name}", module)
    img.add_bytes("/opt/mods/D2UC.so", module)
    closure = closure_of(img, tmp_path, {"GCONV_PATH": "/opt/gconv"}, program="/usr/bin/prog")
    notes = {e.path: e.note for e in closure.entries if e.role == "dlopen"}
    assert (
        notes.get(f"{GCONV}/D2UA.so") == "gconv module named in gconv-modules, used by iconv_open"
    )
    assert notes.get(f"{GCONV}/sub/D2UB.so") == (
        "gconv module named in gconv-modules.d/extra.conf, used by iconv_open"
    )
    assert (notes.get("/opt/mods/D2UC.so") or "").startswith("gconv module named in")
    assert f"{GCONV}/NOTREAD.so" not in notes and f"{GCONV}/UNNAMED.so" not in notes
    assert any(f"{GCONV}/GONE.so" in w for w in closure.warnings), closure.warnings


def test_gconv_modules_without_configuration_are_all_analysed(
    libs: dict[str, Path], iconv_prog: Path, tmp_path: Path
) -> None:
    """Only gconv-modules.cache (not read): every module of the directory is analysed."""
    img = image_with({"/usr/bin/prog": iconv_prog}, tmp_path / "store")
    img.add_bytes(f"{GCONV}/gconv-modules.cache", b"\x24\x03\x01\x20")
    img.add_bytes(f"{GCONV}/D2UA.so", libs["libd2ua.so.1"].read_bytes())
    closure = closure_of(img, tmp_path, program="/usr/bin/prog")
    entry = next(e for e in closure.entries if e.path == f"{GCONV}/D2UA.so")
    assert entry.role == "dlopen" and (entry.note or "").startswith(f"gconv module of {GCONV}")
