"""--rootfs closure's rules for what scripts and configurations run, on small hand-made trees.

The entrypoint script's directories (the official images' /docker-entrypoint.d loops),
the Cmd its ``exec "$@"`` runs, the working directory's files, mimetypes' knownfiles,
lighttpd's configuration and the perl scripts its include_shell runs: each rule keeps
what it names with its reason, leaves the rest out, and stays bounded on hostile input
(a script naming ``/``, thousands of files, include loops, a perl ``use`` cycle).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dock2uni.analyse.commands import MAX_DIR_PROGRAMS, entrypoint_commands, literal_paths
from dock2uni.analyse.model import Analysis
from dock2uni.fs.policy import Selection
from dock2uni.runspec import RunSpec
from dock2uni.slim import closure_selection
from dock2uni.slim.lighttpd import read_config
from dock2uni.slim.perl import uses
from tests.unit.test_slim_rules import Image, base, closure, kept, python_closure, python_image
from tests.unit.test_slim_rules import spec as elf_spec

SH = "/usr/bin/dash"


def shell_image(img: Image) -> Image:
    base(img, SH).link("/usr/bin/sh", "dash")
    for tool in ("envsubst", "find", "sort", "cat", "id", "gosu", "unused"):
        img.file(f"/usr/bin/{tool}", b"\x7fELF " + tool.encode(), 0o755)
    return img


def script_spec(argv: tuple[str, ...], *, workdir: str = "/") -> RunSpec:
    """An entrypoint script run by /bin/sh (as runspec.py makes it for a #! script)."""
    return dataclasses.replace(
        elf_spec(argv, "/bin/sh", workdir=workdir),
        exec_path=argv[0],
        exec_realpath=argv[0],
        exec_kind="script",
        interpreter=("/bin/sh",),
    )


def select_script(img: Image, argv: tuple[str, ...], *, workdir: str = "/") -> Selection:
    the_spec = script_spec(argv, workdir=workdir)
    plan_argv = ("/bin/sh", *argv)
    analysis = Analysis(argv=argv, exec_path=SH, exec_kind="script", closure=closure(SH))
    return closure_selection(
        img.tree, img.store, the_spec, analysis,
        argv=plan_argv, exec_path="/bin/sh", workdir=workdir, uid=0,
    )  # fmt: skip


ENTRY = b"""#!/bin/sh
set -e
PATH="/usr/local/bin:/usr/bin:/bin"
for f in /docker-entrypoint.d/*.sh; do "$f"; done
find "/docker-entrypoint.d/" -follow -type f -print | sort -V
exec "$@"
"""
ENVSUBST = b"""#!/bin/sh
template_dir="${TEMPLATE_DIR:-/etc/app/templates}"
for t in "$template_dir"/*.template; do envsubst < "$t" > "/etc/app/conf.d/$(basename "$t")"; done
"""


def test_entrypoint_directory_scripts_their_programs_and_paths(tmp_path: Path) -> None:
    img = shell_image(Image(tmp_path))
    img.file("/entry.sh", ENTRY, 0o755)
    img.file("/docker-entrypoint.d/20-envsubst.sh", ENVSUBST, 0o755)
    img.file("/docker-entrypoint.d/30-sourced.envsh", b"id -u\n")
    img.file("/docker-entrypoint.d/README", b"cat is not a command here\n")
    img.file("/etc/app/templates/a.conf.template", b"listen ${PORT};\n").dir("/etc/app/conf.d")
    img.file("/etc/app/other.conf", b"not named")
    sel = select_script(img, ("/entry.sh", "sh", "-c", "cat /etc/app/conf.d/a.conf; $CMD"))
    k = kept(sel)
    assert "entrypoint: the scripts of /docker-entrypoint.d scanned" in " ".join(sel.notes)
    assert k["/docker-entrypoint.d/20-envsubst.sh"][0] == "program"
    assert k["/docker-entrypoint.d/30-sourced.envsh"][0] == "program"
    assert k["/docker-entrypoint.d/README"][0] == "script-path"  # the directory, whole
    for tool in ("envsubst", "find", "sort", "id", "cat"):  # cat: the Cmd's sh -c text
        assert k[f"/usr/bin/{tool}"][0] == "program", tool
    assert k["/etc/app/templates/a.conf.template"][0] == "script-path"  # ${X:-/dir}
    assert "/usr/bin/unused" not in k and "/etc/app/other.conf" not in k
    # PATH="...": a search list, not directories the script reads
    assert k.get("/usr/local/bin", ("",))[0] != "script-path"


def test_script_paths_are_bounded(tmp_path: Path) -> None:
    """A script naming / keeps no tree; a directory of thousands of files keeps its own
    entries only (and says so), and its scripts are scanned up to a bound."""
    img = shell_image(Image(tmp_path))
    img.file("/entry.sh", b"#!/bin/sh\nls / /proc/x /dev/null\nfor f in /many/*; do .; done\n")
    for i in range(2500):
        img.file(f"/many/d{i // 100}/f{i:04}", b"data")
    sel = select_script(img, ("/entry.sh",))
    k = kept(sel)
    assert "/opt/unrelated/big" not in k  # `/` is not the whole image
    assert k["/many/d0"][0] == "script-path" and "/many/d0/f0000" not in k
    assert any("/many" in n and "over 2000 entries" in n for n in sel.notes), sel.notes
    cmds = entrypoint_commands(img.tree, img.store, script_spec(("/entry.sh",)))
    assert cmds is not None and cmds.paths == ["/many"]


def test_script_directories_that_name_each_other_end(tmp_path: Path) -> None:
    """A script in a directory naming its own directory (and one naming the other's):
    a visited set and the depth bound end the scan."""
    img = shell_image(Image(tmp_path))
    img.file("/entry.sh", b"#!/bin/sh\nrun-parts /a\n", 0o755)
    img.file("/a/1.sh", b"#!/bin/sh\nfor f in /a/*.sh /b/*.sh; do $f; done\nfind /x\n", 0o755)
    img.file("/b/2.sh", b"#!/bin/sh\nrun-parts /a\nsort /b/2.sh\n", 0o755)
    k = kept(select_script(img, ("/entry.sh",)))
    assert k["/a/1.sh"][0] == "program" and k["/b/2.sh"][0] == "program"
    assert k["/usr/bin/find"][0] == "program" and k["/usr/bin/sort"][0] == "program"


def test_literal_paths_of_a_shell_text() -> None:
    text = (
        'X="${D:-/etc/t}" # /not/this\n# /nor/this\nPATH=/usr/bin:/bin cat /etc/a.conf\n'
        "for f in /d/*.sh /e/x?.sh; do :; done; echo /proc/1 /dev/null / $HOME/x\n"
    )
    assert literal_paths(text) == ["/etc/t", "/not/this", "/etc/a.conf", "/d", "/e"]


def test_a_path_after_a_closing_quote_is_not_absolute() -> None:
    """`"$dir"/x` goes on from a variable: no `/x`. A quote that opens a word (after a
    space or `=`) starts one; a quote glued to what is before it (`"a""/e"` is `a/e`),
    an escaped quote or one inside single quotes does not."""
    text = (
        'cp "$src"/app.conf "$dir"/x \'$d\'/y "/etc/a" --c="/etc/b" \\"/etc/c\n'
        'echo \'it"s\' /etc/d; echo "a""/etc/e" "${P:-x}"/etc/f\n'
    )
    assert literal_paths(text) == ["/etc/a", "/etc/b", "/etc/d"]


def test_compiled_programs_of_a_looped_directory(tmp_path: Path) -> None:
    """`for f in /hooks/*; do "$f"; done`: an executable ELF file there runs too (it is
    analysed like any program the script runs); a data file or a non-executable ELF does
    not, and a directory of many programs is followed up to a bound, with a note."""
    img = shell_image(Image(tmp_path))
    img.file("/entry.sh", b'#!/bin/sh\nfor f in /hooks/*; do "$f"; done\nls /bins\n', 0o755)
    img.file("/hooks/10-compiled", b"\x7fELF hook", 0o755)
    img.file("/hooks/20-lib.so", b"\x7fELF not run", 0o644)
    img.file("/hooks/README", b"text", 0o755)
    for i in range(40):
        img.file(f"/bins/b{i:02}", b"\x7fELF b", 0o755)
    cmds = entrypoint_commands(img.tree, img.store, script_spec(("/entry.sh",)))
    assert cmds is not None
    assert "/hooks/10-compiled" in cmds.programs
    assert "/hooks/20-lib.so" not in cmds.programs and "/hooks/README" not in cmds.programs
    bins = [p for p in cmds.programs if p.startswith("/bins/")]
    assert len(bins) == MAX_DIR_PROGRAMS
    assert f"the programs of /bins past {MAX_DIR_PROGRAMS}" in cmds.dynamic
    assert kept(select_script(img, ("/entry.sh",)))["/hooks/10-compiled"][0] == "program"


def test_redis_style_entrypoint_keeps_its_wrapper(tmp_path: Path) -> None:
    """`exec gosu redis "$0" "$@"`: gosu runs too (it then execs the script again)."""
    img = shell_image(Image(tmp_path))
    img.file("/entry.sh", b'#!/bin/sh\nfind . -exec cat {} +\nexec gosu app "$0" "$@"\n', 0o755)
    k = kept(select_script(img, ("/entry.sh", "id")))
    assert k["/usr/bin/gosu"][0] == "program" and k["/usr/bin/cat"][0] == "program"


def test_working_directory_files(tmp_path: Path) -> None:
    img = base(Image(tmp_path)).file("/app/main.cfg", b"c").file("/app/static/i.html", b"i")
    sel = closure_selection(
        img.tree, img.store, elf_spec(("app",), "/usr/bin/app", workdir="/app"),
        Analysis(argv=("app",), exec_path="/usr/bin/app", exec_kind="elf", closure=closure()),
        argv=("app",), exec_path="/usr/bin/app", workdir="/app", uid=0,
    )  # fmt: skip
    assert sel.reasons["/app/static/i.html"] == ("workdir", "in the working directory")
    # `/` as the working directory keeps its entries, not the image
    assert "/opt/unrelated/big" not in kept(select_script(base(Image(tmp_path / "b")), ("/x",)))
    for i in range(2100):
        img.file(f"/app/many/f{i}", b"x")
    sel = closure_selection(
        img.tree, img.store, elf_spec(("app",), "/usr/bin/app", workdir="/app"),
        Analysis(argv=("app",), exec_path="/usr/bin/app", exec_kind="elf", closure=closure()),
        argv=("app",), exec_path="/usr/bin/app", workdir="/app", uid=0,
    )  # fmt: skip
    assert "/app/many" in sel.reasons and "/app/many/f0" not in sel.reasons
    assert any("working directory /app has over 2000" in n for n in sel.notes), sel.notes


def test_mimetypes_keeps_its_knownfiles(tmp_path: Path) -> None:
    img = python_image(Image(tmp_path))
    lib = "/usr/lib/python3.11"
    img.file(f"{lib}/mimetypes.py", b'import os\nknownfiles = ["/etc/mime.types", "/srv/m.t"]\n')
    img.file("/etc/mime.types", b"text/html html\n").file("/srv/m.t", b"x")
    img.file("/etc/apache2/mime.types", b"not in this mimetypes.py's list")
    code = ("python3", "-c", "import mimetypes")
    k = kept(closure_selection_py(img, code))
    assert k["/etc/mime.types"] == ("python-module", "mimetypes reads it at init() (knownfiles)")
    assert "/srv/m.t" in k and "/etc/apache2/mime.types" not in k
    assert "/etc/mime.types" not in kept(closure_selection_py(img, ("python3", "-c", "1")))


def closure_selection_py(img: Image, argv: tuple[str, ...]) -> Selection:
    the_spec = elf_spec(argv, "/usr/bin/python3")
    analysis = Analysis(
        argv=argv, exec_path="/usr/bin/python3", exec_kind="elf", closure=python_closure()
    )
    return closure_selection(
        img.tree, img.store, the_spec, analysis,
        argv=argv, exec_path="/usr/bin/python3", workdir="/", uid=0,
    )  # fmt: skip


LIGHTTPD = "/usr/sbin/lighttpd"
LIGHTTPD_CONF = b"""
var.base = "/srv"
server.modules = ( "mod_access", "mod_dirlisting" )
server.document-root = var.base + "/www"   # a value joined with +
server.errorlog = "/var/log/lighttpd/error.log"
server.upload-dirs = ( "/var/cache/lighttpd/uploads" )
server.port = 80
alias.url = ( "/docs/" => "/srv/docs/" )
server.pid-file = env.PIDFILE   # only known at run time
include "conf.d/*.conf"         # relative to the main configuration's directory
include_shell "/usr/share/lighttpd/ipv6.pl " + server.port
$HTTP["host"] == "x" { ssl.pemfile = "/etc/ssl/x.pem" }
"""
PERL_SCRIPT = b"""#!/usr/bin/perl -w
use strict;
use Socket;
open F, "/etc/mime.types" or die;
my @x = glob("/etc/lighttpd/conf-enabled/*.conf");
=pod
use Pod::Only;
=cut
__END__
use After::End;
"""


def lighttpd_image(img: Image) -> Image:
    base(img, LIGHTTPD).link("/usr/bin/sh", "dash").file(SH, b"\x7fELF dash", 0o755)
    img.file(LIGHTTPD, b"\x7fELF lighttpd\0/usr/lib/lighttpd\0", 0o755)
    img.file("/usr/lib/lighttpd/mod_dirlisting.so", b"\x7fELF m").file(
        "/usr/lib/lighttpd/mod_unused.so", b"\x7fELF u"
    )
    img.file("/etc/lighttpd/lighttpd.conf", LIGHTTPD_CONF)
    img.file("/etc/lighttpd/conf.d/a.conf", b'include "/etc/lighttpd/conf.d/b.conf"\n')
    img.file("/etc/lighttpd/conf.d/b.conf", b'include "conf.d/a.conf"\n')  # a loop
    img.file("/srv/www/index.html", b"i").file("/srv/docs/d.txt", b"d").file("/srv/no", b"n")
    img.file("/var/log/lighttpd/keep", b"").dir("/var/cache/lighttpd/uploads")
    img.file("/etc/ssl/x.pem", b"pem").file("/etc/mime.types", b"text/html html\n")
    img.file("/etc/lighttpd/conf-enabled/z.conf", b"")
    img.file("/usr/bin/perl", b"\x7fELF perl\0/usr/share/perl5\0/usr/lib/perl-base\0", 0o755)
    img.file("/usr/share/lighttpd/ipv6.pl", PERL_SCRIPT, 0o755)
    inc = "/usr/lib/perl-base"
    img.file(f"{inc}/strict.pm", b"package strict;\n1;\n")
    img.file(f"{inc}/Socket.pm", b"use strict;\nrequire Exporter;\nXSLoader::load();\n")
    img.file(f"{inc}/Exporter.pm", b"require Exporter::Heavy;\nuse parent -norequire, 'No';\n")
    img.file(f"{inc}/Exporter/Heavy.pm", b"use Exporter;\n")  # a use cycle
    img.file(f"{inc}/auto/Socket/Socket.so", b"\x7fELF xs").file(f"{inc}/Unused.pm", b"1;")
    img.file("/usr/share/perl5/Pod/Only.pm", b"1;").file("/usr/share/perl5/After/End.pm", b"1;")
    return img


def test_lighttpd_configuration_and_its_include_shell(tmp_path: Path) -> None:
    img = lighttpd_image(Image(tmp_path))
    argv = ("lighttpd", "-D", "-f", "/etc/lighttpd/lighttpd.conf")
    sel = closure_selection(
        img.tree, img.store, elf_spec(argv, LIGHTTPD),
        Analysis(argv=argv, exec_path=LIGHTTPD, exec_kind="elf", closure=closure(LIGHTTPD)),
        argv=argv, exec_path=LIGHTTPD, workdir="/", uid=0,
    )  # fmt: skip
    k = kept(sel)
    for path in ("/etc/lighttpd/conf.d/a.conf", "/etc/lighttpd/conf.d/b.conf"):
        assert k[path][0] == "config", path  # the include loop read each file once
    assert k["/usr/lib/lighttpd/mod_dirlisting.so"][0] == "config"
    assert "/usr/lib/lighttpd/mod_unused.so" not in k
    assert k["/srv/www/index.html"][0] == "config" and k["/srv/docs/d.txt"][0] == "config"
    assert "/srv/no" not in k  # var.base + "/www" is /srv/www, not /srv
    assert "/var/cache/lighttpd/uploads" in k and "/var/log/lighttpd" in k
    assert k["/etc/ssl/x.pem"][0] == "config"  # inside a condition block
    assert k[SH][0] == "program" and k["/usr/bin/perl"][0] == "program"  # the shell, #!
    assert k["/usr/share/lighttpd/ipv6.pl"][0] == "program"
    inc = "/usr/lib/perl-base"
    for module in ("strict.pm", "Socket.pm", "Exporter.pm", "Exporter/Heavy.pm"):
        assert k[f"{inc}/{module}"][0] == "perl-module", module
    assert k[f"{inc}/auto/Socket/Socket.so"][0] == "config"  # XSLoader::load
    assert f"{inc}/Unused.pm" not in k and "/usr/share/perl5/Pod/Only.pm" not in k
    assert "/usr/share/perl5/After/End.pm" not in k
    assert k["/etc/mime.types"][0] == "config"  # opened by literal path
    assert k["/etc/lighttpd/conf-enabled/z.conf"][0] == "config"  # a quoted glob
    assert any("lighttpd: 3 configuration file(s)" in n for n in sel.notes), sel.notes


def test_lighttpd_include_loops_end(tmp_path: Path) -> None:
    img = Image(tmp_path)
    img.file("/c/main.conf", b'include "main.conf"\ninclude "/c/*.conf"\ninclude_shell "x"\n')
    conf = read_config(img.tree, img.store, "/c/main.conf")
    assert conf.files == ["/c/main.conf"] and conf.shell == ["x"] and conf.globs == ["/c"]


def test_perl_uses() -> None:
    src = (
        "use strict;\nuse 5.010;\nno warnings 'once';\nuse base qw(A::B C);\n"
        'require "x/y.pl";\nrequire $dynamic;\nuse parent -norequire, "D";\n'
        "sub f { require E::F; }\n=head1 X\nuse G;\n=cut\nuse H;\n__DATA__\nuse I;\n"
    )
    assert uses(src) == ["strict", "warnings", "A::B", "C", "base", "parent", "E::F", "H", "x/y.pl"]


def test_lighttpd_hostile_nesting_is_survived(tmp_path: Path) -> None:
    img = Image(tmp_path)
    deep = b"x = " + b"(" * 20000 + b'"a"' + b")" * 20000 + b'\ninclude "b.conf"\n'
    img.file("/c/main.conf", b'include "deep.conf"\nserver.port = 80\n').file("/c/deep.conf", deep)
    conf = read_config(img.tree, img.store, "/c/main.conf")
    assert conf.files == ["/c/main.conf", "/c/deep.conf"]
    assert ("server.port", "80", "/c/main.conf") in conf.options


def test_any_shell_running_a_text(tmp_path: Path) -> None:
    """`bash -c TEXT` as the command (not the shell form's /bin/sh): its commands count."""
    img = shell_image(Image(tmp_path)).file("/usr/bin/bash", b"\x7fELF bash", 0o755)
    argv = ("bash", "-c", 'v=$(cat /etc/debian_version); echo "debian $v"')
    sel = closure_selection(
        img.tree, img.store, elf_spec(argv, "/usr/bin/bash"),
        Analysis(argv=argv, exec_path="/usr/bin/bash", exec_kind="elf", closure=closure(SH)),
        argv=argv, exec_path="/usr/bin/bash", workdir="/", uid=0,
    )  # fmt: skip
    assert kept(sel)["/usr/bin/cat"][0] == "program"
