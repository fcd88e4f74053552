"""--rootfs closure, one rule at a time, on small hand-made trees (converter/dock2uni/slim).

Each test builds the files a rule is about, with a closure standing in for the
analysis's result (the analysis itself is tested in test_analyse_closure.py), and
checks both sides: the rule keeps what it names, with its reason, and the files it
does not name are dropped.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from dock2uni.analyse.closure import Closure, ClosureEntry
from dock2uni.analyse.model import Analysis
from dock2uni.elf.facts import ElfFacts, Symbol
from dock2uni.fs.cpio import write_cpio
from dock2uni.fs.policy import Selection
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode, Tree, split_path
from dock2uni.runspec import RunSpec, UserSpec
from dock2uni.slim import closure_selection
from dock2uni.slim.nginx import glob
from dock2uni.slim.python import imports_of, parse_argv
from dock2uni.slim.report import cpio_size, rootfs_report

LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
LOADER = "/usr/lib64/ld-linux-x86-64.so.2"


class Image:
    """A tree and its content store, filled by path."""

    def __init__(self, tmp: Path) -> None:
        self.tree = Tree()
        self.store = ContentStore(tmp / "store")

    def _dir(self, path: str) -> DirNode:
        node = self.tree.root
        for comp in split_path(path):
            child = node.children.setdefault(comp, DirNode())
            assert isinstance(child, DirNode)
            node = child
        return node

    def file(self, path: str, data: bytes = b"x", mode: int = 0o644) -> Image:
        parent, _, name = path.rpartition("/")
        digest = self.store.put_bytes(data)
        self._dir(parent).children[name] = FileNode(size=len(data), digest=digest, mode=mode)
        return self

    def link(self, path: str, target: str) -> Image:
        parent, _, name = path.rpartition("/")
        self._dir(parent).children[name] = SymlinkNode(target=target)
        return self

    def dir(self, path: str) -> Image:
        self._dir(path)
        return self


def facts(*, imports: tuple[str, ...] = (), needed: tuple[str, ...] = ()) -> ElfFacts:
    return ElfFacts(
        elf_class=64,
        machine=62,
        elf_type="DYN",
        kind="shared",
        entry=0,
        needed=needed,
        imports=tuple(Symbol(name=n) for n in imports),
        libc="glibc",
    )


def entry(path: str, role: str, *, by: tuple[str, ...] = (), **kw: object) -> ClosureEntry:
    return ClosureEntry(
        path=path,
        requested=str(kw.pop("requested", path)),
        role=role,
        needed_by=by,
        facts=facts(**kw),  # type: ignore[arg-type]
        found_via=str(kw.get("found_via", "direct")),
    )


def base(img: Image, program: str = "/usr/bin/app") -> Image:
    """A merged-/usr glibc image with one dynamic program."""
    img.link("/lib", "usr/lib").link("/lib64", "usr/lib64").link("/bin", "usr/bin")
    img.file(program, b"\x7fELF program", 0o755).file(LIBC, b"\x7fELF libc")
    img.file(LOADER, b"\x7fELF ld.so").link("/usr/lib/x86_64-linux-gnu/libc.so", "libc.so.6")
    img.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n").file("/etc/group", b"root:x:0:\n")
    img.file("/etc/ld.so.cache", b"cache").dir("/root").dir("/tmp")
    img.file("/usr/share/doc/app/README", b"documentation").file("/opt/unrelated/big", b"y" * 5000)
    return img


def closure(
    program: str = "/usr/bin/app", *extra: ClosureEntry, imports: tuple[str, ...] = ()
) -> Closure:
    return Closure(
        entries=(
            entry(program, "main", imports=imports),
            entry(LOADER, "interpreter", by=(program,), requested="/lib64/ld-linux-x86-64.so.2"),
            entry(LIBC, "needed", by=(program,), requested="libc.so.6"),
            *extra,
        ),
        libc="glibc",
    )


def spec(
    argv: tuple[str, ...], exec_path: str, *, env: tuple[str, ...] = (), workdir: str = "/"
) -> RunSpec:
    return RunSpec(
        argv=argv,
        entrypoint_argc=0,
        env=("PATH=/usr/local/bin:/usr/bin:/bin", *env),
        workdir=workdir,
        workdir_exists=True,
        user=UserSpec(text="", uid=0, gid=0, name="root", home="/root"),
        exposed_ports=(),
        stop_signal=None,
        exec_path=exec_path,
        exec_realpath=exec_path,
        exec_kind="elf",
    )


def select(
    img: Image, clo: Closure, argv: tuple[str, ...], exec_path: str, **kw: object
) -> Selection:
    the_spec = spec(argv, exec_path, **kw)  # type: ignore[arg-type]
    analysis = Analysis(
        argv=argv, exec_path=exec_path, exec_kind="elf", programs=(exec_path,), closure=clo
    )
    return closure_selection(
        img.tree, img.store, the_spec, analysis,
        argv=argv, exec_path=exec_path, workdir=the_spec.workdir, uid=0,
    )  # fmt: skip


def kept(sel: Selection) -> dict[str, tuple[str, str]]:
    return dict(sel.reasons)


def test_program_and_elf_closure_with_the_symlinks_on_their_paths(tmp_path: Path) -> None:
    img = base(Image(tmp_path))
    sel = select(img, closure(), ("app",), "/usr/bin/app")
    k = kept(sel)
    assert k["/usr/bin/app"][0] == "program"
    assert k[LIBC] == ("library", "DT_NEEDED libc.so.6 of /usr/bin/app")
    assert k[LOADER][0] == "library" and k["/lib64"][0] == "symlink"  # PT_INTERP's own path
    assert k["/etc/ld.so.cache"][0] == "loader-config"
    assert k["/lib"][0] == "symlink" and k["/usr/lib/x86_64-linux-gnu/libc.so"][0] == "symlink"
    assert {"/etc/passwd", "/etc/group", "/root", "/tmp"} <= set(k)
    assert "/opt/unrelated/big" not in k and "/usr/share/doc/app/README" not in k
    assert sel.dropped["outside the closure"].bytes == 5000
    assert sel.dropped["documentation"].entries >= 1
    # Every kept path's parent is kept, entries are in walk order (parents first).
    paths = [p for p, _ in sel.entries]
    assert paths == sorted(paths, key=split_path) and paths[0] == "/"
    assert all(p == "/" or p.rpartition("/")[0] or "/" in paths for p in paths)
    out = io.BytesIO()
    assert cpio_size(sel.entries) == write_cpio(sel.entries, out, img.store) == len(out.getvalue())


def test_nss_modules_named_by_nsswitch_conf_are_kept_with_their_reason(tmp_path: Path) -> None:
    nss = "/usr/lib/x86_64-linux-gnu/libnss_db.so.2"
    img = base(Image(tmp_path)).file("/etc/nsswitch.conf", b"passwd: files db\n").file(nss)
    img.file("/usr/lib/x86_64-linux-gnu/libnss_other.so.2")
    module = ClosureEntry(
        path=nss, requested=nss, role="dlopen", found_via="dlopen",
        note="NSS module for passwd (nsswitch.conf), used by getpwnam", facts=facts(),
    )  # fmt: skip
    k = kept(
        select(
            img, closure("/usr/bin/app", module, imports=("getpwnam",)), ("app",), "/usr/bin/app"
        )
    )
    assert k["/etc/nsswitch.conf"][0] == "system-file"
    assert k[nss] == ("dlopen", "NSS module for passwd (nsswitch.conf), used by getpwnam")
    assert "/usr/lib/x86_64-linux-gnu/libnss_other.so.2" not in k


def test_localtime_keeps_the_zoneinfo_file_it_points_to(tmp_path: Path) -> None:
    img = base(Image(tmp_path)).file("/usr/share/zoneinfo/Europe/Paris", b"TZif2 paris")
    img.file("/usr/share/zoneinfo/Asia/Tokyo", b"TZif2 tokyo").link(
        "/etc/localtime", "/usr/share/zoneinfo/Europe/Paris"
    )
    k = kept(select(img, closure(), ("app",), "/usr/bin/app"))
    assert k["/etc/localtime"][0] == "symlink"
    assert k["/usr/share/zoneinfo/Europe/Paris"][0] == "system-file"
    assert "/usr/share/zoneinfo/Asia/Tokyo" not in k


def test_tz_environment_names_a_zone(tmp_path: Path) -> None:
    img = base(Image(tmp_path)).file("/usr/share/zoneinfo/Asia/Tokyo", b"TZif2 tokyo")
    k = kept(select(img, closure(), ("app",), "/usr/bin/app", env=("TZ=Asia/Tokyo",)))
    assert k["/usr/share/zoneinfo/Asia/Tokyo"] == ("system-file", "the zone TZ=Asia/Tokyo names")


@pytest.mark.parametrize("linked", [True, False])
def test_ca_certificates_only_when_a_tls_library_is_linked(tmp_path: Path, linked: bool) -> None:
    ssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
    img = (
        base(Image(tmp_path)).file(ssl).file("/usr/share/ca-certificates/mozilla/Root.crt", b"PEM")
    )
    img.link("/etc/ssl/certs/Root.pem", "/usr/share/ca-certificates/mozilla/Root.crt")
    img.link("/etc/ssl/certs/1a2b3c4d.0", "Root.pem").file(
        "/etc/ssl/certs/ca-certificates.crt", b"PEMS"
    )
    img.file("/etc/ssl/openssl.cnf", b"[openssl_init]")
    extra = (entry(ssl, "needed", by=("/usr/bin/app",), requested="libssl.so.3"),) if linked else ()
    k = kept(select(img, closure("/usr/bin/app", *extra), ("app",), "/usr/bin/app"))
    certs = {"/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/1a2b3c4d.0",
             "/usr/share/ca-certificates/mozilla/Root.crt", "/etc/ssl/openssl.cnf"}  # fmt: skip
    if linked:
        assert certs <= set(k)
        assert "libssl.so.3 is linked" in k["/etc/ssl/certs/ca-certificates.crt"][1]
    else:
        assert not certs & set(k)


@pytest.mark.parametrize("calls_iconv", [True, False])
def test_gconv_modules_only_when_iconv_open_is_called(tmp_path: Path, calls_iconv: bool) -> None:
    gconv = "/usr/lib/x86_64-linux-gnu/gconv"
    img = (
        base(Image(tmp_path))
        .file(f"{gconv}/gconv-modules", b"module")
        .file(f"{gconv}/UTF-16.so", b"\x7fELF")
    )
    imports = ("iconv_open",) if calls_iconv else ("puts",)
    k = kept(select(img, closure(imports=imports), ("app",), "/usr/bin/app"))
    assert (f"{gconv}/UTF-16.so" in k) is calls_iconv
    assert (f"{gconv}/gconv-modules" in k) is calls_iconv
    if calls_iconv:
        assert "iconv_open" in k[f"{gconv}/UTF-16.so"][1]


def test_terminfo_for_curses_and_locale_for_lang(tmp_path: Path) -> None:
    tinfo = "/usr/lib/x86_64-linux-gnu/libtinfo.so.6"
    img = base(Image(tmp_path)).file(tinfo).file("/usr/share/terminfo/x/xterm", b"ti")
    img.file("/usr/share/terminfo/w/wy50", b"ti").file("/usr/lib/locale/C.utf8/LC_CTYPE", b"ct")
    img.file("/usr/lib/locale/de_DE.utf8/LC_CTYPE", b"de")
    extra = entry(tinfo, "needed", by=("/usr/bin/app",), requested="libtinfo.so.6")
    k = kept(
        select(img, closure("/usr/bin/app", extra), ("app",), "/usr/bin/app", env=("LANG=C.UTF-8",))
    )
    assert (
        k["/usr/share/terminfo/x/xterm"][0] == "system-file"
        and "/usr/share/terminfo/w/wy50" not in k
    )
    assert k["/usr/lib/locale/C.utf8/LC_CTYPE"][0] == "system-file"
    assert "/usr/lib/locale/de_DE.utf8/LC_CTYPE" not in k


NGINX_CONF = b"""
load_module modules/ngx_mod_echo.so;
user www-data;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
http {
    include mime.types;   # relative to the configuration's directory
    include /etc/nginx/conf.d/*.conf;
    access_log "/var/log/nginx/access.log";
    server { root /var/www/html; location /x { alias /srv/x/; } }
}
"""


def test_nginx_configuration_includes_globs_and_named_files(tmp_path: Path) -> None:
    nginx = "/usr/sbin/nginx"
    img = base(Image(tmp_path), nginx)
    img.file(nginx, b"\x7fELF --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf "
             b"--http-client-body-temp-path=/var/lib/nginx/body "
             b"--error-log-path=/var/log/nginx/error.log\0")  # fmt: skip
    img.file("/etc/nginx/nginx.conf", NGINX_CONF).file("/etc/nginx/mime.types", b"types {}")
    img.file("/etc/nginx/conf.d/a.conf", b"include snippets/extra.conf;").file(
        "/etc/nginx/conf.d/b.conf", b""
    )
    img.file("/etc/nginx/conf.d/c.conf.disabled", b"").file(
        "/etc/nginx/snippets/extra.conf", b"gzip on;"
    )
    img.file("/etc/nginx/unused.conf", b"").file(
        "/usr/share/nginx/modules/ngx_mod_echo.so", b"\x7fELF"
    )
    img.file("/var/www/html/index.html", b"<h1>hi</h1>").file("/srv/x/a.txt", b"a")
    img.dir("/var/log/nginx").dir("/var/lib/nginx/body").dir("/run").file("/var/www/other/x", b"no")
    k = kept(select(img, closure(nginx), ("nginx", "-g", "daemon off;"), nginx))
    for path in ("/etc/nginx/nginx.conf", "/etc/nginx/mime.types", "/etc/nginx/conf.d/a.conf",
                 "/etc/nginx/conf.d/b.conf", "/etc/nginx/snippets/extra.conf",
                 "/usr/share/nginx/modules/ngx_mod_echo.so", "/var/log/nginx", "/var/lib/nginx",
                 "/run", "/var/www/html/index.html", "/srv/x/a.txt"):  # fmt: skip
        assert k[path][0] in ("config", "directory"), path
    assert "include /etc/nginx/conf.d/*.conf" in k["/etc/nginx/conf.d/a.conf"][1]
    assert "/etc/nginx/conf.d/c.conf.disabled" not in k and "/etc/nginx/unused.conf" not in k
    assert "/var/www/other/x" not in k
    assert glob_names(img, "/etc/nginx/conf.d/*.conf") == ["a.conf", "b.conf"]


def glob_names(img: Image, pattern: str) -> list[str]:
    from dock2uni.slim.keep import Keeper

    return [p.rsplit("/", 1)[1] for p in glob(Keeper(img.tree), pattern)]


def test_nginx_dash_c_names_another_configuration(tmp_path: Path) -> None:
    nginx = "/usr/sbin/nginx"
    img = base(Image(tmp_path), nginx).file("/etc/nginx/nginx.conf", b"")
    img.file("/srv/conf/site.conf", b"include parts/*.conf;").file("/srv/conf/parts/one.conf", b"")
    k = kept(select(img, closure(nginx), ("nginx", "-c", "/srv/conf/site.conf"), nginx))
    assert k["/srv/conf/site.conf"][0] == "config" and k["/srv/conf/parts/one.conf"][0] == "config"
    assert "/etc/nginx/nginx.conf" not in k


ENGINE = "/usr/lib/x86_64-linux-gnu/engines-3/padlock.so"


def dlopened(path: str, note: str) -> ClosureEntry:
    """A likely dlopen of the analysis, with its note."""
    return dataclasses.replace(entry(path, "dlopen"), found_via="dlopen", note=note)


LIBGCC_S = "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"


@pytest.mark.parametrize(
    ("conf", "engine", "unwinder"),
    [
        (b"http { server { root /srv; } }", False, False),
        (b"ssl_engine padlock; http {}", True, False),
        (b"http { server { ssl_certificate_key engine:padlock:k1; } }", True, False),
        (b"thread_pool io threads=4; http {}", False, True),
        (b"http { server { aio threads; } }", False, True),
    ],
)
def test_nginx_keeps_engines_and_libgcc_s_only_when_its_configuration_loads_them(
    tmp_path: Path, conf: bytes, engine: bool, unwinder: bool
) -> None:
    """nginx calls ENGINE_by_id for ssl_engine and engine: keys only, and pthread_exit
    (for which glibc loads libgcc_s) in thread pools only: otherwise both are left out,
    and the notes say why."""
    nginx = "/usr/sbin/nginx"
    img = base(Image(tmp_path), nginx).file("/etc/nginx/nginx.conf", conf)
    img.file(ENGINE, b"\x7fELF engine").file(LIBGCC_S, b"\x7fELF libgcc_s")
    clo = closure(
        nginx,
        dlopened(ENGINE, "OpenSSL engine (named by -engine or openssl.cnf), used by ENGINE_by_id"),
        dlopened(LIBGCC_S, "glibc loads it for stack unwinding (pthread_exit)"),
        imports=("ENGINE_by_id", "pthread_exit"),
    )
    sel = select(img, clo, ("nginx", "-c", "/etc/nginx/nginx.conf"), nginx)
    assert (ENGINE in kept(sel), LIBGCC_S in kept(sel)) == (engine, unwinder)
    assert any(ENGINE in n and "no ssl_engine" in n for n in sel.notes) != engine
    assert any(LIBGCC_S in n and "no thread_pool" in n for n in sel.notes) != unwinder


def test_openssl_cnf_naming_engines_keeps_them_for_nginx(tmp_path: Path) -> None:
    nginx = "/usr/sbin/nginx"
    img = base(Image(tmp_path), nginx).file("/etc/nginx/nginx.conf", b"http {}")
    img.file(ENGINE, b"\x7fELF engine")
    img.file("/usr/lib/ssl/openssl.cnf", b"[openssl_init]\nengines = engine_section\n")
    note = "OpenSSL engine (named by -engine or openssl.cnf), used by ENGINE_by_id"
    clo = closure(nginx, dlopened(ENGINE, note))
    assert ENGINE in kept(select(img, clo, ("nginx",), nginx))


def python_image(img: Image) -> Image:
    lib = "/usr/lib/python3.11"
    base(img, "/usr/bin/python3.11").link("/usr/bin/python3", "python3.11")
    for name, src in {
        "os.py": b"import abc\nimport sys\n", "abc.py": b"", "site.py": b"import os\n",
        "codecs.py": b"", "io.py": b"import abc\n", "stat.py": b"",
        "posixpath.py": b"import genericpath\n",
        "genericpath.py": b"", "_collections_abc.py": b"", "_sitebuiltins.py": b"",
        "encodings/__init__.py": b"import codecs\nfrom . import aliases\n",
        "encodings/aliases.py": b"",
        "encodings/utf_8.py": b"import codecs\n", "encodings/cp1252.py": b"",
        "collections/__init__.py": b"import keyword\ndef most_common():\n    import heapq\n",
        "keyword.py": b"", "heapq.py": b"def f():\n    import bisect\n", "bisect.py": b"",
        "json/__init__.py": b"from .decoder import JSONDecoder\n",
        "json/decoder.py": b"import re\n",
        "re/__init__.py": b"", "unused.py": b"", "hashlib.py": b"import _hashlib\n",
    }.items():  # fmt: skip
        img.file(f"{lib}/{name}", src)
        if name.endswith(".py") and "/" not in name:
            img.file(f"{lib}/__pycache__/{name[:-3]}.cpython-311.pyc", b"pyc")
            img.file(f"{lib}/__pycache__/{name[:-3]}.cpython-311.opt-1.pyc", b"pyc1")
    img.file(f"{lib}/lib-dynload/_hashlib.cpython-311-x86_64-linux-gnu.so", b"\x7fELF")
    img.file("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", b"\x7fELF crypto")
    return img


def python_closure() -> Closure:
    ext = "/usr/lib/python3.11/lib-dynload/_hashlib.cpython-311-x86_64-linux-gnu.so"
    crypto = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
    return closure(
        "/usr/bin/python3.11",
        ClosureEntry(path=ext, requested=ext, role="dlopen", found_via="dlopen",
                     note="python extension module (imported on demand)", facts=facts()),
        entry(crypto, "dlopen", by=(ext,), requested="libcrypto.so.3"),
    )  # fmt: skip


def test_python_import_scan(tmp_path: Path) -> None:
    img = python_image(Image(tmp_path))
    code = "import collections, json\nprint(1)"
    k = kept(select(img, python_closure(), ("python3", "-c", code), "/usr/bin/python3"))
    lib = "/usr/lib/python3.11"
    assert k[f"{lib}/os.py"][0] == "python-module"  # start-up (and getpath's landmark)
    assert k[f"{lib}/encodings/utf_8.py"][0] == "python-module"
    assert k[f"{lib}/json/__init__.py"][1] == "module json, imported by the -c code"
    assert f"{lib}/json/decoder.py" in k and f"{lib}/re/__init__.py" in k  # relative, transitive
    assert f"{lib}/heapq.py" in k  # inside a function of a module the code imports
    assert f"{lib}/bisect.py" not in k  # inside a function two imports away: not followed
    assert f"{lib}/__pycache__/os.cpython-311.pyc" in k
    assert f"{lib}/__pycache__/os.cpython-311.opt-1.pyc" not in k
    assert f"{lib}/unused.py" not in k and f"{lib}/encodings/cp1252.py" not in k
    # The extension module and its library only when something imports it.
    assert "/usr/lib/x86_64-linux-gnu/libcrypto.so.3" not in k
    k = kept(select(img, python_closure(), ("python3", "-c", "import hashlib"), "/usr/bin/python3"))
    assert k["/usr/lib/x86_64-linux-gnu/libcrypto.so.3"][1].endswith(
        "of /usr/lib/python3.11/lib-dynload/_hashlib.cpython-311-x86_64-linux-gnu.so"
    )


def test_python_command_lines() -> None:
    assert parse_argv(["python3", "-u", "-c", "x=1", "arg"]).code == "x=1"
    assert parse_argv(["python3", "-OOm", "http.server"]).module == "http.server"
    inv = parse_argv(["python3", "-S", "app.py", "-c"])
    assert (inv.script, inv.no_site, inv.interactive) == ("app.py", True, False)
    assert parse_argv(["python3"]).interactive
    assert sorted(
        imports_of("from .a import b\nimport c.d as e\n", "pkg.sub", everywhere=False)
    ) == ["c.d", "pkg.sub.a", "pkg.sub.a.b"]
    assert imports_of("def f():\n import x\n", "", everywhere=False) == []
    assert imports_of("match = 1\nimport y ;; (", "", everywhere=False) == ["y"]  # regex fallback


def test_command_line_paths_and_shell_commands(tmp_path: Path) -> None:
    img = base(Image(tmp_path)).file("/data/in/a.txt", b"a").file("/data/in/sub/b.txt", b"b")
    img.file("/data/other.txt", b"o").file("/usr/bin/helper", b"\x7fELF", 0o755)
    img.link("/usr/bin/alias-of-app", "app").file("/srv/app.conf", b"conf")
    k = kept(
        select(
            img, closure(), ("app", "--config=/srv/app.conf", "/data/in", "root"), "/usr/bin/app"
        )
    )
    assert k["/data/in/sub/b.txt"] == ("command-line", "named on the command line (/data/in)")
    assert k["/srv/app.conf"][0] == "command-line" and "/data/other.txt" not in k
    assert k["/usr/bin/alias-of-app"] == ("symlink", "another name of /usr/bin/app")
    sh = spec(("/bin/sh", "-c", "FOO=1 exec helper --x | app"), "/usr/bin/app")
    sh = RunSpec(**{**sh.__dict__, "shell_form": True})
    analysis = Analysis(argv=sh.argv, exec_path="/usr/bin/app", exec_kind="elf", closure=closure())
    sel = closure_selection(
        img.tree,
        img.store,
        sh,
        analysis,
        argv=sh.argv,
        exec_path="/usr/bin/app",
        workdir="/",
        uid=0,
    )
    assert sel.reasons["/usr/bin/helper"][0] == "program"


def test_libidn2_is_left_out_and_said_so(tmp_path: Path) -> None:
    idn = "/usr/lib/x86_64-linux-gnu/libidn2.so.0.3.8"
    img = base(Image(tmp_path)).file(idn, b"\x7fELF idn")
    likely = ClosureEntry(
        path=idn, requested=idn, role="dlopen", found_via="dlopen",
        note="named in libc.so.6's strings (a likely dlopen)", facts=facts(),
    )  # fmt: skip
    sel = select(img, closure("/usr/bin/app", likely), ("app",), "/usr/bin/app")
    assert idn not in sel.reasons
    assert any("libidn2" in n and "AI_IDN" in n for n in sel.notes)


def test_report_counts_reasons_and_directories(tmp_path: Path) -> None:
    img = base(Image(tmp_path))
    sel = select(img, closure(), ("app",), "/usr/bin/app")
    report = rootfs_report(img.tree, sel)
    assert report["kept_by_reason"]["library"]["bytes"] == len(b"\x7fELF libc") + len(
        b"\x7fELF ld.so"
    )
    assert report["dropped_by_directory"]["/opt/unrelated"] == {"entries": 1, "bytes": 5000}
    assert report["kept"]["/usr/bin/app"].startswith("program: ")
    assert all(": " in why for why in report["kept"].values())


def test_add_file_keeps_a_path_the_rules_cannot_know(tmp_path: Path) -> None:
    img = base(Image(tmp_path)).file("/srv/templates/a.html", b"a").file("/srv/templates/b/c", b"c")
    the_spec = spec(("app",), "/usr/bin/app")
    analysis = Analysis(argv=("app",), exec_path="/usr/bin/app", exec_kind="elf", closure=closure())
    sel = closure_selection(
        img.tree, img.store, the_spec, analysis, argv=("app",), exec_path="/usr/bin/app",
        workdir="/", uid=0, add_files=("/srv/templates", "/nonexistent"),
    )  # fmt: skip
    assert sel.reasons["/srv/templates/b/c"] == ("added", "--add-file")
    assert "--add-file /nonexistent: not in the image" in sel.notes
    assert "/srv/templates/b/c" not in kept(select(img, closure(), ("app",), "/usr/bin/app"))


def test_hostile_python_source_falls_back_to_the_line_scan() -> None:
    deep = "import a\nx = " + "+".join(["1"] * 100_000) + "\nfrom b import c\n"  # RecursionError
    assert sorted(imports_of(deep, "", everywhere=True)) == ["a", "b"]
