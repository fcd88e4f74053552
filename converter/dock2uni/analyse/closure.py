"""The dependency closure of a program inside the image, found with the dynamic loader's rules.

glibc order for a DT_NEEDED name without a slash: the requester's DT_RPATH (only if it
has no DT_RUNPATH) and the executable's, LD_LIBRARY_PATH from the image's environment,
the requester's DT_RUNPATH, ``/etc/ld.so.cache``, then the default directories
(Debian: /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib, /usr/lib). musl:
LD_LIBRARY_PATH, RPATH/RUNPATH, ``/etc/ld-musl-x86_64.path`` or /lib:/usr/local/lib:/usr/lib.
``$ORIGIN``, ``$LIB`` and ``$PLATFORM`` are expanded; candidates of another class or
machine are skipped (and reported) as ld.so does; every path is resolved inside the
image tree, so an absolute symlink never reaches the host's files.

Libraries a program is likely to ``dlopen`` (NSS modules named in nsswitch.conf,
``libgcc_s`` for thread cancellation, python's extension modules when the program is
python, PAM modules, SASL mechanisms, OpenSSL providers and engines when their
loaders are imported, glibc's gconv modules named by its gconv-modules configuration
when ``iconv_open`` is imported, libraries a dlopen caller names as a C string, and
plugins: any shared object of the image with an unversioned undefined
symbol the main program defines, when something in the closure imports ``dlopen``) are
added with role ``dlopen``: analysed, but never called hard dependencies.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from dock2uni.analyse.ldcache import (
    MAX_CACHE_BYTES,
    ld_so_conf_dirs,
    musl_path_dirs,
    parse_ld_cache,
    read_file,
)
from dock2uni.analyse.plugins import MAX_PLUGIN_CANDIDATES, plugins_of, shared_objects
from dock2uni.elf.facts import EM_X86_64, ElfFacts, machine_name
from dock2uni.elf.header import check_file
from dock2uni.errors import ElfError
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, Tree

GLIBC_DEFAULT_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib")
MUSL_DEFAULT_DIRS = ("/lib", "/usr/local/lib", "/usr/lib")
GLIBC_LIB = "lib/x86_64-linux-gnu"  # what Debian's ld.so substitutes for $LIB
MAX_EXTENSION_MODULES = 400
NSS_FUNCTIONS = frozenset(
    {
        "getpwnam",
        "getpwnam_r",
        "getpwuid",
        "getpwuid_r",
        "getpwent",
        "getpwent_r",
        "getgrnam",
        "getgrnam_r",
        "getgrgid",
        "getgrgid_r",
        "getgrent",
        "getgrouplist",
        "initgroups",
        "getspnam",
        "getspnam_r",
        "getaddrinfo",
        "getnameinfo",
        "gethostbyname",
        "gethostbyname2",
        "gethostbyname_r",
        "gethostbyname2_r",
        "gethostbyaddr",
        "gethostbyaddr_r",
        "getservbyname",
        "getservbyname_r",
        "getservbyport",
        "getprotobyname",
        "getprotobynumber",
        "getnetgrent",
        "innetgr",
        "getlogin",
        "getlogin_r",
        "cuserid",
    }
)
NSS_BUILTIN_SINCE_2_34 = frozenset({"files", "dns"})
_DLOPENERS = frozenset({"dlopen", "dlmopen", "__libc_dlopen_mode"})
# A file name of a library as a C string: dlopen("libidn2.so.0", ...).
_LIB_STRING = re.compile(rb"(?<=\0)(lib[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*\.so(?:\.\d+)*)(?=\0)")
MAX_STRINGS_SCAN = 256 << 20
# Libraries that dlopen every module of a directory named by convention: (imports that
# load them, directories, what they are).
MODULE_DIRS: tuple[tuple[frozenset[str], tuple[str, ...], str], ...] = (
    (
        frozenset({"pam_start", "pam_start_confdir"}),
        ("/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security"),
        "PAM module (pam.d names which ones run)",
    ),
    (
        frozenset({"sasl_server_init", "sasl_client_init"}),
        ("/usr/lib/x86_64-linux-gnu/sasl2", "/usr/lib/sasl2"),
        "SASL mechanism (libsasl2 loads every plugin of its directory)",
    ),
    (
        frozenset({"OSSL_PROVIDER_load", "OSSL_PROVIDER_try_load"}),
        ("/usr/lib/x86_64-linux-gnu/ossl-modules", "/usr/lib/ossl-modules"),
        "OpenSSL provider (named by -provider or openssl.cnf)",
    ),
    (
        frozenset({"ENGINE_by_id", "ENGINE_load_builtin_engines", "ENGINE_load_dynamic"}),
        ("/usr/lib/x86_64-linux-gnu/engines-3", "/usr/lib/engines-3"),
        "OpenSSL engine (named by -engine or openssl.cnf)",
    ),
)
LIBGCC_S_USERS = frozenset(
    {"pthread_cancel", "pthread_exit", "backtrace", "__libc_unwind_link_get"}
)
# gconv: glibc loads the modules its configuration names when iconv_open asks for a charset.
GCONV_USERS = frozenset({"iconv_open"})
GCONV_DIRS = ("/usr/lib/x86_64-linux-gnu/gconv", "/usr/lib/gconv", "/usr/lib64/gconv")
MAX_GCONV_CONF_BYTES = 4 << 20
_PYTHON = re.compile(r"python(\d(\.\d+)?)?$")
FactsLoader = Callable[[Sequence[str]], Mapping[str, "ElfFacts | ElfError"]]


@dataclass(frozen=True, kw_only=True)
class ClosureEntry:
    """One program or library of the closure (or one that is missing)."""

    path: str  # canonical path inside the image; the requested name when missing
    requested: str  # as named: the program path, the PT_INTERP string or the DT_NEEDED name
    role: str  # main, exec-target, interpreter, needed, dlopen
    needed_by: tuple[str, ...] = ()
    status: str = "ok"  # ok, missing, wrong-arch, unparseable, not-elf
    found_via: str | None = None  # direct, rpath, LD_LIBRARY_PATH, runpath, ld.so.cache, ...
    note: str | None = None
    facts: ElfFacts | None = None
    digest: str | None = None

    @property
    def analysable(self) -> bool:
        return self.status == "ok" and self.facts is not None and self.facts.is_x86_64


@dataclass(frozen=True, kw_only=True)
class Closure:
    """All binaries the programs load (and likely dlopen), in load order."""

    entries: tuple[ClosureEntry, ...]
    warnings: tuple[str, ...] = ()
    libc: str | None = None  # glibc or musl, from the main program's loader
    errors: tuple[tuple[str, str], ...] = ()  # (path, message) of files that failed to parse

    def by_path(self) -> dict[str, ClosureEntry]:
        return {e.path: e for e in self.entries}

    @property
    def missing(self) -> tuple[ClosureEntry, ...]:
        return tuple(e for e in self.entries if e.status != "ok")


@dataclass
class _Work:
    entries: dict[str, ClosureEntry] = field(default_factory=dict)  # by canonical path
    order: list[str] = field(default_factory=list)
    by_soname: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


class _Resolver:
    """Finds files by the loader's rules inside one image."""

    def __init__(
        self, tree: Tree, store: ContentStore, env: Mapping[str, str], libc: str | None
    ) -> None:
        self.tree = tree
        self.store = store
        self.libc = libc
        self.ld_library_path = [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
        raw = read_file(tree, store, "/etc/ld.so.cache", MAX_CACHE_BYTES)
        self.cache = parse_ld_cache(raw) if raw else None
        self.cache_present = raw is not None
        self.conf_dirs = ld_so_conf_dirs(tree, store)
        self.musl_dirs = musl_path_dirs(tree, store) if libc == "musl" else None
        self._checked: dict[str, str] = {}

    def check(self, path: str) -> tuple[str | None, str]:
        """(canonical path or None, verdict): verdict is ok, wrong-arch: ..., not-elf, missing."""
        real = self.tree.realpath(path)
        if real is None or not isinstance(self.tree.lookup(real), FileNode):
            return None, "missing"
        if real not in self._checked:
            node = self.tree.lookup(real)
            assert isinstance(node, FileNode)
            try:
                header = check_file(self.store.path(node.digest), path=real)
            except ElfError as exc:
                self._checked[real] = "not-elf: " + exc.message
            else:
                if header.elf_class != 64 or header.machine != EM_X86_64:
                    self._checked[real] = (
                        f"wrong-arch: ELF{header.elf_class} {machine_name(header.machine)}"
                    )
                else:
                    self._checked[real] = "ok"
        return real, self._checked[real]

    def expand(self, entry: str, origin: str) -> str:
        out = entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
        if self.libc != "musl":
            out = out.replace("${LIB}", GLIBC_LIB).replace("$LIB", GLIBC_LIB)
            out = out.replace("${PLATFORM}", "x86_64").replace("$PLATFORM", "x86_64")
        return out

    def search_dirs(
        self, requester: ClosureEntry, main: ClosureEntry | None
    ) -> list[tuple[str, str]]:
        """(directory, how) in the loader's order for names requested by ``requester``."""
        facts = requester.facts
        origin = posixpath.dirname(requester.path)
        dirs: list[tuple[str, str]] = []
        if facts is None:
            return dirs
        if self.libc == "musl":
            dirs += [(d, "LD_LIBRARY_PATH") for d in self.ld_library_path]
            for p in (*facts.rpath, *facts.runpath):
                dirs.append((self.expand(p, origin), "rpath"))
            if self.musl_dirs is not None:
                dirs += [(d, "/etc/ld-musl-x86_64.path") for d in self.musl_dirs]
            else:
                dirs += [(d, "default path") for d in MUSL_DEFAULT_DIRS]
            return dirs
        if not facts.runpath:
            dirs += [(self.expand(p, origin), "rpath") for p in facts.rpath]
            if (
                main is not None
                and main is not requester
                and main.facts is not None
                and not main.facts.runpath
            ):
                main_origin = posixpath.dirname(main.path)
                dirs += [
                    (self.expand(p, main_origin), "rpath of the program") for p in main.facts.rpath
                ]
        dirs += [(d, "LD_LIBRARY_PATH") for d in self.ld_library_path]
        dirs += [(self.expand(p, origin), "runpath") for p in facts.runpath]
        return dirs

    def find(
        self, name: str, requester: ClosureEntry, main: ClosureEntry | None
    ) -> tuple[str | None, str, list[str]]:
        """(canonical path, how found, notes about skipped candidates)."""
        notes: list[str] = []
        if "/" in name:
            real, verdict = self.check(name)
            if verdict == "ok":
                return real, "direct", notes
            return None, "", [f"{name}: {verdict}"]
        tried: set[str] = set()

        def attempt(directory: str, how: str) -> str | None:
            candidate = posixpath.join(directory, name)
            if candidate in tried:
                return None
            tried.add(candidate)
            real, verdict = self.check(candidate)
            if verdict == "ok":
                return real
            if real is not None:
                notes.append(f"{candidate} skipped ({verdict})")
            return None

        for directory, how in self.search_dirs(requester, main):
            found = attempt(directory, how)
            if found:
                return found, how, notes
        if self.libc != "musl":
            if self.cache and name in self.cache:
                real, verdict = self.check(self.cache[name])
                if verdict == "ok":
                    return real, "ld.so.cache", notes
                notes.append(f"ld.so.cache entry {self.cache[name]} is stale ({verdict})")
            for directory in GLIBC_DEFAULT_DIRS:
                found = attempt(directory, "default path")
                if found:
                    return found, "default path", notes
            for directory in self.conf_dirs:
                found = attempt(directory, "ld.so.conf")
                if found:
                    why = "is not in" if self.cache_present else "has no"
                    notes.append(
                        f"found only through /etc/ld.so.conf, but the image {why} "
                        "/etc/ld.so.cache entry for it: run ldconfig in the image"
                    )
                    return found, "ld.so.conf (not cached)", notes
        return None, "", notes


def compute_closure(
    tree: Tree,
    store: ContentStore,
    programs: Sequence[tuple[str, str]],
    env: Mapping[str, str],
    load: FactsLoader,
) -> Closure:
    """Closure of ``programs`` ((image path, role) pairs); ``load`` parses files to facts."""
    work = _Work()
    roots: list[ClosureEntry] = []
    for path, role in programs:
        real = tree.realpath(path) or path
        roots.append(ClosureEntry(path=real, requested=path, role=role))
    _load_level(work, tree, roots, load)
    main = work.entries.get(roots[0].path) if roots else None
    libc = _libc_of(main)
    resolver = _Resolver(tree, store, env, libc)

    pending: list[ClosureEntry] = [work.entries[r.path] for r in roots if r.path in work.entries]
    _expand(work, tree=tree, resolver=resolver, pending=pending, main=main, load=load)

    dlopen = _likely_dlopen(
        work,
        tree=tree,
        store=store,
        resolver=resolver,
        main=main,
        programs=programs,
        env=env,
        load=load,
    )
    if dlopen:
        _load_level(work, tree, dlopen, load)
        _expand(
            work,
            tree=tree,
            resolver=resolver,
            pending=[work.entries[e.path] for e in dlopen if e.path in work.entries],
            main=main,
            load=load,
        )
    entries = tuple(work.entries[p] for p in work.order)
    return Closure(
        entries=entries, warnings=tuple(work.warnings), libc=libc, errors=tuple(work.errors)
    )


def _libc_of(main: ClosureEntry | None) -> str | None:
    if main is None or main.facts is None:
        return None
    return main.facts.libc


def _load_level(work: _Work, tree: Tree, new: Sequence[ClosureEntry], load: FactsLoader) -> None:
    """Parse the new entries' files and record them in load order."""
    fresh = [e for e in new if e.path not in work.entries]
    loaded = load([e.path for e in fresh if e.status == "ok"]) if fresh else {}
    for e in fresh:
        entry = e
        node = tree.lookup(e.path)
        digest = node.digest if isinstance(node, FileNode) else None
        if e.status == "ok":
            result = loaded.get(e.path)
            if isinstance(result, ElfFacts):
                entry = replace(e, facts=result, digest=digest)
                if result.soname:
                    work.by_soname.setdefault(result.soname, e.path)
            elif isinstance(result, ElfError):
                entry = replace(e, status="unparseable", note=result.message, digest=digest)
                work.errors.append((e.path, result.message))
            else:
                entry = replace(e, status="missing", note="not a regular file in the image")
        work.entries[e.path] = entry
        work.order.append(e.path)


def _expand(
    work: _Work,
    *,
    tree: Tree,
    resolver: _Resolver,
    pending: list[ClosureEntry],
    main: ClosureEntry | None,
    load: FactsLoader,
) -> None:
    """Breadth-first over PT_INTERP and DT_NEEDED, one LIEF batch per level."""
    resolved: dict[tuple[str, str], str] = {}
    while pending:
        level: list[ClosureEntry] = []
        level_paths: dict[str, int] = {}
        for requester in pending:
            facts = requester.facts
            if facts is None or requester.status != "ok":
                continue
            wanted: list[tuple[str, str]] = []
            if facts.interp and requester.role in ("main", "exec-target"):
                wanted.append((facts.interp, "interpreter"))
            role = "dlopen" if requester.role == "dlopen" else "needed"
            wanted += [(n, role) for n in facts.needed]
            for name, wrole in wanted:
                path, how, notes = _locate(
                    work,
                    resolver=resolver,
                    name=name,
                    requester=requester,
                    main=main,
                    resolved=resolved,
                )
                if path is None:
                    key = f"missing:{name}"
                    existing = work.entries.get(key)
                    if existing is None:
                        wrong = [n for n in notes if "wrong-arch" in n]
                        entry = ClosureEntry(
                            path=key,
                            requested=name,
                            role=wrole,
                            needed_by=(requester.path,),
                            status="wrong-arch" if wrong else "missing",
                            note="; ".join(notes) or "not found in any search directory",
                        )
                        work.entries[key] = entry
                        work.order.append(key)
                    else:
                        work.entries[key] = replace(
                            existing, needed_by=(*existing.needed_by, requester.path)
                        )
                    continue
                if path in work.entries:
                    old = work.entries[path]
                    if requester.path not in old.needed_by:
                        work.entries[path] = replace(
                            old, needed_by=(*old.needed_by, requester.path)
                        )
                    continue
                if path in level_paths:
                    i = level_paths[path]
                    level[i] = replace(level[i], needed_by=(*level[i].needed_by, requester.path))
                    continue
                note = "; ".join(notes) or None
                level_paths[path] = len(level)
                level.append(
                    ClosureEntry(
                        path=path,
                        requested=name,
                        role=wrole,
                        needed_by=(requester.path,),
                        found_via=how,
                        note=note,
                    )
                )
                for n in notes:
                    if "ld.so.conf" in n:
                        work.warnings.append(f"{name}: {n}")
        _load_level(work, tree, level, load)
        pending = [work.entries[e.path] for e in level]


def _locate(
    work: _Work,
    *,
    resolver: _Resolver,
    name: str,
    requester: ClosureEntry,
    main: ClosureEntry | None,
    resolved: dict[tuple[str, str], str],
) -> tuple[str | None, str, list[str]]:
    if "/" not in name and name in work.by_soname:
        return work.by_soname[name], "already loaded", []
    key = (
        name,
        requester.path
        if requester.facts and (requester.facts.rpath or requester.facts.runpath)
        else "",
    )
    if key in resolved:
        return resolved[key], "already loaded", []
    path, how, notes = resolver.find(name, requester, main)
    if path is not None:
        resolved[key] = path
    return path, how, notes


def _likely_dlopen(
    work: _Work,
    *,
    tree: Tree,
    store: ContentStore,
    resolver: _Resolver,
    main: ClosureEntry | None,
    programs: Sequence[tuple[str, str]],
    env: Mapping[str, str],
    load: FactsLoader,
) -> list[ClosureEntry]:
    """Libraries the programs will probably dlopen, each with the reason."""
    out: list[ClosureEntry] = []
    seen: set[str] = set(work.entries)
    loaded = [e for e in work.entries.values() if e.facts is not None]
    imported = {s.name for e in loaded if e.facts is not None for s in e.facts.imports}
    glibc_version = _glibc_version(loaded)

    def add(path: str, why: str) -> None:
        real, verdict = resolver.check(path)
        if real is None or real in seen:
            return
        seen.add(real)
        if verdict != "ok":
            work.warnings.append(f"likely dlopen of {path} would fail: {verdict}")
            return
        out.append(
            ClosureEntry(path=real, requested=path, role="dlopen", found_via="dlopen", note=why)
        )

    def find_lib(name: str) -> str | None:
        requester = main or ClosureEntry(path="/", requested="/", role="main")
        path, _how, _notes = resolver.find(name, requester, main)
        return path

    if resolver.libc == "glibc" and imported & NSS_FUNCTIONS:
        users = sorted(imported & NSS_FUNCTIONS)[:3]
        for service, databases in _nss_services(tree, store).items():
            builtin = glibc_version is None or glibc_version >= (2, 34)
            if service in NSS_BUILTIN_SINCE_2_34 and builtin:
                continue
            lib = f"libnss_{service}.so.2"
            found = find_lib(lib)
            if found:
                add(
                    found,
                    f"NSS module for {', '.join(databases)} (nsswitch.conf), "
                    f"used by {', '.join(users)}",
                )
            else:
                work.warnings.append(
                    f"nsswitch.conf names '{service}' for {', '.join(databases)} but {lib} is "
                    "not in the image: glibc skips it"
                )
    if resolver.libc == "glibc" and imported & LIBGCC_S_USERS:
        found = find_lib("libgcc_s.so.1")
        unwinders = ", ".join(sorted(imported & LIBGCC_S_USERS))
        if found:
            add(found, f"glibc loads it for stack unwinding ({unwinders})")
        else:
            work.warnings.append(
                f"{unwinders} need libgcc_s.so.1 at run time (glibc dlopens it) and the image "
                "has none: thread cancellation or exit would abort"
            )
    for loaders, dirs, what in MODULE_DIRS:
        if imported & loaders:
            why = f"{what}, used by {', '.join(sorted(imported & loaders)[:3])}"
            for path in _modules_in(tree, dirs)[:MAX_EXTENSION_MODULES]:
                add(path, why)
    if resolver.libc != "musl" and imported & GCONV_USERS:
        callers = ", ".join(sorted(imported & GCONV_USERS))
        named, directory = _gconv_modules(tree, store, env)
        gconv = [(p, f"gconv module named in {conf}, used by {callers}") for p, conf in named]
        if not named and directory is not None:
            # Nothing to read (only gconv-modules.cache, or no configuration): any module
            # of the directory may be named, so every one is analysed.
            why = f"gconv module of {directory} (no gconv-modules to read), used by {callers}"
            gconv = [(p, why) for p in _modules_in(tree, (directory,))]
        absent = [p for p, _why in gconv if resolver.check(p)[0] is None]
        gconv = [(p, why) for p, why in gconv if resolver.check(p)[0] is not None]
        for module, why in gconv[:MAX_EXTENSION_MODULES]:
            add(module, why)
        if len(gconv) > MAX_EXTENSION_MODULES:
            work.warnings.append(
                f"{len(gconv)} gconv modules named; only the first "
                f"{MAX_EXTENSION_MODULES} were analysed"
            )
        if absent:
            more = ", ..." if len(absent) > 3 else ""
            work.warnings.append(
                f"gconv-modules names {len(absent)} module(s) the image lacks "
                f"({', '.join(absent[:3])}{more}): iconv_open fails for their character sets"
            )
    if _is_python(main, programs):
        modules = _python_extension_modules(tree)
        for path in modules[:MAX_EXTENSION_MODULES]:
            add(path, "python extension module (imported on demand)")
        if len(modules) > MAX_EXTENSION_MODULES:
            work.warnings.append(
                f"{len(modules)} python extension modules found; only the first "
                f"{MAX_EXTENSION_MODULES} were analysed"
            )
    for e in loaded:
        if e.facts is None or e.digest is None or not _can_dlopen(e.facts):
            continue
        for name in _named_libraries(store, e.digest):
            found = find_lib(name)
            if found:
                add(found, f"named in {posixpath.basename(e.path)}'s strings (a likely dlopen)")
    if main is not None and main.facts is not None and "dlopen" in imported:
        candidates = [p for p in shared_objects(tree) if p not in seen]
        plugins = plugins_of(main.facts, candidates[:MAX_PLUGIN_CANDIDATES], tree, store, load)
        for path in plugins[:MAX_EXTENSION_MODULES]:
            add(path, f"analysed as a plugin of {main.path}")
        if len(plugins) > MAX_EXTENSION_MODULES:
            work.warnings.append(
                f"{len(plugins)} shared objects are plugins of {main.path}; only the first "
                f"{MAX_EXTENSION_MODULES} were analysed"
            )
        if len(candidates) > MAX_PLUGIN_CANDIDATES:
            work.warnings.append(
                f"{len(candidates)} shared objects outside the closure; only the first "
                f"{MAX_PLUGIN_CANDIDATES} were checked for the plugin pattern"
            )
    return out


def _can_dlopen(facts: ElfFacts) -> bool:
    """The binary calls dlopen (libc has its own, for NSS, libidn2, libgcc_s)."""
    return facts.soname == "libc.so.6" or any(s.name in _DLOPENERS for s in facts.imports)


def _named_libraries(store: ContentStore, digest: str) -> list[str]:
    """Library file names (``libidn2.so.0``) spelled out as NUL-terminated strings."""
    data = store.read(digest, MAX_STRINGS_SCAN)
    return sorted({m.decode() for m in _LIB_STRING.findall(data)})


def _modules_in(tree: Tree, dirs: Sequence[str]) -> list[str]:
    """The shared objects directly inside the first of ``dirs`` that exists, sorted."""
    for directory in dirs:
        node = tree.lookup(directory)
        if isinstance(node, DirNode):
            return [
                f"{directory}/{name}"
                for name in sorted(node.children)
                if re.search(r"\.so(\.\d+)*$", name)
            ]
    return []


def _glibc_version(loaded: Sequence[ClosureEntry]) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    for e in loaded:
        if e.facts is None or e.facts.soname != "libc.so.6":
            continue
        for sym in e.facts.exports:
            m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", sym.version or "")
            if m:
                v = (int(m.group(1)), int(m.group(2)))
                best = v if best is None or v > best else best
    return best


def _nss_services(tree: Tree, store: ContentStore) -> dict[str, list[str]]:
    """service -> databases, from the image's /etc/nsswitch.conf (glibc's default if absent)."""
    raw = read_file(tree, store, "/etc/nsswitch.conf", 1 << 20)
    services: dict[str, list[str]] = {}
    if raw is None:
        return {"files": ["passwd", "group", "hosts"], "dns": ["hosts"]}
    for raw_line in raw.decode("utf-8", "replace").splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        database, _, rest = line.partition(":")
        for word in rest.split():
            if word.startswith("[") or not re.fullmatch(r"[A-Za-z0-9_-]+", word):
                continue
            services.setdefault(word, []).append(database.strip())
    return services


def _gconv_modules(
    tree: Tree, store: ContentStore, env: Mapping[str, str]
) -> tuple[list[tuple[str, str]], str | None]:
    """(module path, configuration file naming it) for every gconv module glibc's
    configuration names, in the order read, and glibc's own gconv directory (None if the
    image has none).

    glibc reads ``gconv-modules`` and then ``gconv-modules.d/*.conf`` in each directory
    of ``GCONV_PATH`` and in its own directory (or ``gconv-modules.cache``, which
    ``iconvconfig`` builds from the same files). A line ``module FROM TO FILE [COST]``
    names ``FILE``, relative to that directory unless absolute, with ``.so`` appended
    unless it ends so already."""
    default = next((d for d in GCONV_DIRS if isinstance(tree.lookup(d), DirNode)), None)
    dirs = [d.rstrip("/") for d in env.get("GCONV_PATH", "").split(":") if d.startswith("/")]
    if default is not None:
        dirs.append(default)
    out: dict[str, str] = {}
    for directory in dict.fromkeys(dirs):
        confs = [f"{directory}/gconv-modules"]
        sub = tree.lookup(f"{directory}/gconv-modules.d")
        if isinstance(sub, DirNode):
            confs += [
                f"{directory}/gconv-modules.d/{name}"
                for name in sorted(sub.children)
                if name.endswith(".conf") and len(name) > len(".conf")
            ]
        for conf in confs:
            raw = read_file(tree, store, conf, MAX_GCONV_CONF_BYTES)
            if raw is None:
                continue
            shown = conf[len(directory) + 1 :] if directory == default else conf
            for line in raw.decode("utf-8", "replace").splitlines():
                words = line.split("#", 1)[0].split()
                if len(words) < 4 or words[0] != "module":
                    continue
                name = words[3]
                path = posixpath.normpath(name if name.startswith("/") else f"{directory}/{name}")
                if not path.endswith(".so"):
                    path += ".so"
                out.setdefault(path, shown)
    return list(out.items()), default


def _is_python(main: ClosureEntry | None, programs: Sequence[tuple[str, str]]) -> bool:
    names = [posixpath.basename(p) for p, _ in programs]
    if main is not None:
        names.append(posixpath.basename(main.path))
        if main.facts and main.facts.soname and main.facts.soname.startswith("libpython"):
            return True
        if main.facts and any(n.startswith("libpython") for n in main.facts.needed):
            return True
    return any(_PYTHON.match(n) for n in names)


def _python_extension_modules(tree: Tree) -> list[str]:
    """Every CPython extension module in the usual places of the image, sorted."""
    roots: list[str] = []
    for base in ("/usr/lib", "/usr/local/lib"):
        node = tree.lookup(base)
        if not isinstance(node, DirNode):
            continue
        for name in sorted(node.children):
            if re.fullmatch(r"python3(\.\d+)?", name):
                for sub in ("lib-dynload", "site-packages", "dist-packages"):
                    roots.append(f"{base}/{name}/{sub}")
    out: list[str] = []
    for root in roots:
        for path, node in tree.walk(root):
            if (
                isinstance(node, FileNode)
                and path.endswith(".so")
                and (".cpython-" in path or path.endswith(".abi3.so") or "lib-dynload" in path)
            ):
                out.append(path)
    return out
