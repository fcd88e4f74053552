"""--rootfs closure on every fixture image: what it keeps, why, and what it drops.

Selection only (nothing boots; tests/boot/test_slim_boot.py boots a few): for each
fixture the closure must keep the program and every library the loader will map, a
reason for every entry, the files the fixture's command needs (nginx's configuration,
ninja's build file, python's start-up modules), and must be much smaller than the
default policy's rootfs. Builds the fixture images on first use (fixtures/build.py).
"""

from __future__ import annotations

import pytest
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.analyse import analyse
from dock2uni.context import Context
from dock2uni.fs.policy import select
from dock2uni.fs.tree import FileNode
from dock2uni.pipeline import inspect_image
from dock2uni.plan import plan
from dock2uni.slim import closure_selection
from dock2uni.slim.keep import CATEGORIES
from dock2uni.slim.report import cpio_size
from dock2uni.support import load_support_table

# fixture -> {path: reason category} that the closure must keep.
EXPECTED: dict[str, dict[str, str]] = {
    "hello-static-musl": {"/usr/local/bin/hello": "program"},
    "hello-dynamic-glibc": {"/usr/lib64/ld-linux-x86-64.so.2": "symlink", "/lib64": "symlink"},
    "busybox": {"/bin/busybox": "program", "/bin/ls": "symlink", "/etc/passwd": "system-file"},
    "coreutils": {"/bin/ls": "program", "/usr": "command-line"},
    "python": {
        "/usr/lib/python3.11/os.py": "python-module",
        "/usr/lib/python3.11/encodings/utf_8.py": "python-module",
        "/usr/lib/locale/C.utf8/LC_CTYPE": "system-file",
    },
    "nginx": {
        "/etc/nginx/nginx.conf": "config",
        "/etc/nginx/mime.types": "config",
        "/var/log/nginx": "config",
        "/var/lib/nginx": "config",
        "/var/www/html/index.nginx-debian.html": "config",
    },
    "redis": {"/usr/bin/redis-check-rdb": "program", "/var/lib/redis": "directory"},
    # include_shell runs perl scripts: perl, their modules from @INC, the file one opens
    "lighttpd": {
        "/etc/lighttpd/lighttpd.conf": "config",
        "/etc/lighttpd/conf-enabled/99-unconfigured.conf": "symlink",  # an included link
        "/etc/lighttpd/conf-available/99-unconfigured.conf": "config",
        "/usr/bin/perl": "program",
        "/usr/lib/x86_64-linux-gnu/perl-base/Socket.pm": "perl-module",
        "/usr/lib/x86_64-linux-gnu/perl-base/auto/Socket/Socket.so": "config",
        "/etc/mime.types": "config",
        "/var/www/html/index.lighttpd.html": "config",
    },
    # the scripts of the directory the entrypoint loops over, and what they run
    "entrypoint-script": {
        "/docker-entrypoint.d/10-greet.sh": "program",
        "/docker-entrypoint.d/30-disabled.sh": "program",
        "/usr/bin/id": "program",
        "/usr/bin/cat": "program",  # in the Cmd's sh -c text, run by exec "$@"
    },
    "nginx-official": {
        "/docker-entrypoint.d/20-envsubst-on-templates.sh": "program",
        "/usr/bin/envsubst": "program",
        "/etc/nginx/templates/default.conf.template": "config",  # read as nginx conf
        "/etc/nginx/nginx.conf": "config",
        "/usr/share/nginx/html/index.html": "config",  # root, in the template
        "/etc/nginx/templates": "script-path",  # ${...:-/etc/nginx/templates}
    },
    "redis-official": {"/usr/local/bin/gosu": "program", "/data/redis.conf": "workdir"},
    "ninja": {"/usr/bin/ninja": "program"},  # /src is not in the image: the workload adds it
    "rsync": {"/etc/passwd": "command-line", "/etc/debian_version": "command-line"},
    "ripgrep": {"/etc/debian_version": "command-line"},
    "openssl": {"/usr/lib/ssl/openssl.cnf": "system-file"},
    "perl": {"/usr/bin/perl": "program"},
    "jq": {"/usr/bin/jq": "program"},
    "sqlite": {"/usr/bin/sqlite3": "program"},
    "curl": {"/usr/bin/curl": "program"},
    "memcached": {"/usr/bin/memcached": "program"},
    "glib": {"/usr/bin/gio": "program"},
    "go-hello": {"/usr/local/bin/go-hello": "program", "/tmp": "directory"},
    # http.server: socket.getfqdn decodes host names with the idna codec (a lookup by name)
    "python-official": {
        "/usr/lib/python3.11/encodings/idna.py": "python-module",
        "/home/app/site/index.html": "workdir",  # http.server serves its working directory
        "/etc/mime.types": "python-module",  # mimetypes.init() reads it
    },
    "alpine-shaped": {"/www/index.html": "command-line"},  # httpd -h /www, in sh -c's text
    "pamtester": {"/etc/pam.d/other": "system-file", "/etc/pam.d/common-account": "system-file"},
}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    return Context(cache_dir=tmp_path_factory.mktemp("slim-cache"), quiet=True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_closure_keeps_what_the_command_needs(name: str, ctx: Context) -> None:
    inspected = inspect_image(f"oci:{fixture_layout(name)}:latest", AcquireOptions(), ctx)
    tree, store = inspected.unpacked.tree, inspected.unpacked.store
    analysis = analyse(inspected.unpacked, inspected.spec, ctx)
    the_plan = plan(inspected.spec, load_support_table(), syscalls=None, hostname="t")
    sel = closure_selection(
        tree, store, inspected.spec, analysis, argv=the_plan.argv,
        exec_path=the_plan.exec_path, workdir=the_plan.workdir, uid=the_plan.uid,
    )  # fmt: skip
    paths = [p for p, _ in sel.entries]
    kept = set(paths)
    assert paths[0] == "/" and len(paths) == len(kept)
    for path in paths:  # every entry has a reason of a known category, and its parent
        assert sel.reasons[path][0] in CATEGORIES and sel.reasons[path][1], path
        assert path == "/" or (path.rpartition("/")[0] or "/") in kept, path
    # The program and everything the loader maps for it (not the likely dlopens: some,
    # like libidn2 or unimported python modules, are left out on purpose).
    assert the_plan.exec_path in kept or tree.realpath(the_plan.exec_path) in kept
    for e in analysis.closure.entries:
        loaded = e.status == "ok" and e.role in ("main", "exec-target", "interpreter", "needed")
        if loaded and not any(e.path in n for n in sel.notes):
            assert e.path in kept, (e.path, e.role, e.needed_by)
    for path, category in EXPECTED[name].items():
        assert path in kept, path
        assert sel.reasons[path][0] == category, (path, sel.reasons[path])
    default = select(tree, policy="default", env=inspected.spec.env_map())
    small, big = cpio_size(sel.entries), cpio_size(default.entries)
    assert small <= big
    if big > 20 << 20:  # Debian-based images: at least 2.5x smaller
        assert small * 5 < big * 2, (small, big)
    # What was dropped is accounted for, by rule, to the byte.
    kept_files = {id(n): n.size for _, n in sel.entries if isinstance(n, FileNode)}
    assert sum(d.bytes for d in sel.dropped.values()) + sum(kept_files.values()) == tree.stats()[1]
