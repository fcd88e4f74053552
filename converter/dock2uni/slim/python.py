"""The python modules a python program imports, found by a static scan of the sources.

The scan starts from what CPython imports at start-up (``encodings`` and the codecs
of the usual file-system encodings, ``site`` and what it tries: ``sitecustomize``,
``usercustomize``; ``os.py``, the landmark ``getpath`` uses to find the standard
library; ``runpy`` for ``-m``) and from the entry code: the script, ``-c CODE`` or
``-m MODULE``. It follows ``import`` and ``from ... import`` transitively through
the interpreter's ``sys.path`` inside the image (script directory or working
directory, PYTHONPATH, the standard library, lib-dynload, site- and
dist-packages). In the entry code every import counts; in the modules it reaches,
only the statements run at import time (module level, class bodies, ``if`` and
``try`` blocks), not imports inside functions: that is what keeps the set small,
and what it cannot see (docs/slim.md). Each module keeps its source, its
``__pycache__`` entry for the interpreter's optimisation level, and for an
extension module its ELF closure.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dock2uni.analyse.ldcache import read_file
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, Tree
from dock2uni.slim.keep import Keeper

MAX_SOURCE_BYTES = 8 << 20
MAX_MODULES = 5000
# Imports inside functions are followed in the entry code (depth 0) and in the modules
# down to this depth: collections.Counter.most_common imports heapq in its body.
FUNCTION_DEPTH = 1
STARTUP_DEPTH = FUNCTION_DEPTH + 1  # start-up modules: only what importing them runs
PYTHON_NAME = re.compile(r"python(\d)(?:\.(\d+))?$")
STARTUP = ("encodings", "encodings.aliases", "encodings.utf_8", "encodings.latin_1",
           "encodings.ascii", "os", "codecs", "io", "abc", "stat", "_collections_abc",
           "posixpath", "genericpath")  # fmt: skip
SITE = ("site", "_sitebuiltins", "sitecustomize", "usercustomize")
INTERACTIVE = ("readline", "rlcompleter")
# Codecs a kept module looks up by name at run time (encodings' search function imports
# them): CPython's socket module encodes and decodes host names with "idna"
# (socket.getfqdn, gethostbyaddr: http.server calls them at start-up).
CODECS_BY_NAME = {"_socket": ("encodings.idna",), "socket": ("encodings.idna",)}
# CPython's mimetypes.knownfiles, when the image's mimetypes.py does not spell it literally.
MIMETYPES_KNOWNFILES = ("/etc/mime.types", "/etc/httpd/mime.types", "/etc/httpd/conf/mime.types",
    "/etc/apache/mime.types", "/etc/apache2/mime.types", "/usr/local/etc/httpd/conf/mime.types",
    "/usr/local/lib/netscape/mime.types", "/usr/local/etc/mime.types")  # fmt: skip
_IMPORT_LINE = re.compile(
    r"^\s*(?:from\s+([.\w]+)\s+import\s+([\w, ()*]+)|import\s+([\w., ]+))", re.M
)


def is_python(path: str) -> bool:
    return PYTHON_NAME.match(posixpath.basename(path)) is not None


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """What the python command line asks for."""

    code: str | None = None  # -c CODE
    module: str | None = None  # -m MODULE
    script: str | None = None  # a script path
    no_site: bool = False  # -S
    ignore_env: bool = False  # -E or -I
    optimize: int = 0  # -O, -OO
    interactive: bool = False  # no code, module or script (the REPL), or -i


def parse_argv(argv: Sequence[str]) -> Invocation:
    """Read CPython's options up to the code, module or script that ends them."""
    no_site = ignore_env = interactive = False
    optimize = 0
    code = module = script = None
    i = 1
    while i < len(argv) and code is None and module is None:
        arg = argv[i]
        if arg in {"-", "--"} or not arg.startswith("-"):
            if arg == "--" and i + 1 < len(argv):
                script = argv[i + 1]
            elif arg not in {"-", "--"}:
                script = arg
            break
        j = 1
        while j < len(arg) and not arg.startswith("--"):
            ch = arg[j]
            if ch in "cmWX":
                value = arg[j + 1 :]
                if not value:
                    i += 1
                    value = argv[i] if i < len(argv) else ""
                if ch == "c":
                    code = value
                elif ch == "m":
                    module = value
                break
            no_site = no_site or ch == "S"
            ignore_env = ignore_env or ch in "EI"
            optimize += ch == "O"
            interactive = interactive or ch == "i"
            j += 1
        i += 1
    return Invocation(
        code=code,
        module=module,
        script=script,
        no_site=no_site,
        ignore_env=ignore_env,
        optimize=optimize,
        interactive=interactive or (code is None and module is None and script is None),
    )


@dataclass
class _Found:
    """Where one module is: its file, and whether it is a package or an extension."""

    path: str
    package: bool = False
    extension: bool = False


@dataclass
class PythonScan:
    """The scan's state: the interpreter's path list and the modules found so far."""

    tree: Tree
    store: ContentStore
    keeper: Keeper
    keep_elf: Callable[[str, str], None]
    version: str
    sys_path: list[str]
    pyc_tag: str
    seen: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)

    def find(self, name: str) -> _Found | None:
        parts = name.split(".")
        dirs = self.sys_path
        found: _Found | None = None
        for i, part in enumerate(parts):
            found = self._find_in(dirs, part)
            if found is None:
                return None
            if i < len(parts) - 1:
                if not found.package:
                    return None
                dirs = [posixpath.dirname(found.path)]
        return found

    def _find_in(self, dirs: Iterable[str], part: str) -> _Found | None:
        for directory in dirs:
            node = self.tree.lookup(directory)
            if not isinstance(node, DirNode):
                continue
            sub = self.tree.lookup(f"{directory}/{part}")
            if isinstance(sub, DirNode):
                init = f"{directory}/{part}/__init__.py"
                if isinstance(self.tree.lookup(init), FileNode):
                    return _Found(init, package=True)
            if isinstance(self.tree.lookup(f"{directory}/{part}.py"), FileNode):
                return _Found(f"{directory}/{part}.py")
            for child in sorted(node.children):
                if child.startswith(part + ".") and _is_extension(child, part):
                    return _Found(f"{directory}/{child}", extension=True)
            if isinstance(sub, DirNode):  # a namespace package (no __init__.py)
                return _Found(f"{directory}/{part}/__init__.py", package=True)
        return None

    def scan(self, roots: Iterable[tuple[str, str, int]]) -> None:
        """Keep every module reachable from ``roots`` ((module name, why, depth)),
        breadth first, so each module is read at the smallest depth it has."""
        todo = deque(sorted(roots, key=lambda r: r[2]))
        while todo and len(self.seen) < MAX_MODULES:
            name, why, depth = todo.popleft()
            parts = name.split(".")
            for k in range(1, len(parts) + 1):  # importing a.b.c imports a and a.b first
                todo.extend(self._visit(".".join(parts[:k]), why, depth))

    def _visit(self, name: str, why: str, depth: int) -> list[tuple[str, str, int]]:
        if name in self.seen or name in self.missing or not name:
            return []
        found = self.find(name)
        if found is None:
            self.missing.add(name)
            return []
        self.seen.add(name)
        detail = f"module {name}, {why}"
        if found.extension:
            self.keeper.path(found.path, "python-module", detail)
            self.keep_elf(found.path, detail)
            return []
        if not self.keeper.path(found.path, "python-module", detail):
            if found.package:  # a namespace package: its directory
                self.keeper.path(posixpath.dirname(found.path), "python-module", detail)
            return []
        self._keep_pyc(found.path, detail)
        source = self.read_source(found.path)
        if source is None:
            return []
        package = name if found.package else name.rpartition(".")[0]
        calls = depth <= FUNCTION_DEPTH
        found_names = imports_of(source, package, everywhere=calls)
        return [(m, f"imported by {name}", depth + 1) for m in found_names]

    def _keep_pyc(self, source: str, detail: str) -> None:
        directory, base = posixpath.split(source)
        stem = base[: -len(".py")]
        self.keeper.path(f"{directory}/__pycache__/{stem}.{self.pyc_tag}", "python-module", detail)

    def read_source(self, path: str) -> str | None:
        raw = read_file(self.tree, self.store, path, MAX_SOURCE_BYTES)
        return None if raw is None else raw.decode("utf-8", "replace")


def _is_extension(filename: str, part: str) -> bool:
    rest = filename[len(part) :]
    return rest == ".so" or (rest.startswith(".") and rest.endswith(".so") and rest.count(".") == 2)


def imports_of(source: str, package: str, *, everywhere: bool) -> list[str]:
    """Module names ``source`` imports; ``package`` resolves relative imports. Without
    ``everywhere``, imports inside function bodies are not counted."""
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # hostile nesting too
        return _imports_by_regex(source, package)
    out: list[str] = []
    stack: list[ast.AST] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            if base is not None:
                if base:
                    out.append(base)
                out += [f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Call) and _constant_import(node):
            arg = node.args[0]
            assert isinstance(arg, ast.Constant)
            out.append(str(arg.value))
        if not everywhere and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _constant_import(node: ast.Call) -> bool:
    """``__import__("x")`` or ``importlib.import_module("x")`` with a literal name."""
    func = node.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    return (
        name in ("__import__", "import_module")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and not node.args[0].value.startswith(".")
    )


def _absolute(module: str, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def _imports_by_regex(source: str, package: str) -> list[str]:
    """A fallback for sources this host's parser refuses (a newer python's syntax)."""
    out: list[str] = []
    for m in _IMPORT_LINE.finditer(source):
        if m.group(1):
            dots = len(m.group(1)) - len(m.group(1).lstrip("."))
            base = _absolute(m.group(1).lstrip("."), dots, package)
            if base:
                out.append(base)
        elif m.group(3):
            out += [w.split(" as ")[0].strip() for w in m.group(3).split(",") if w.strip()]
    return out


def stdlib_of(tree: Tree, interpreter: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(prefix, X.Y) of the standard library the interpreter finds, by its landmark os.py."""
    real = tree.realpath(interpreter) or interpreter
    m = PYTHON_NAME.match(posixpath.basename(real))
    prefixes = [posixpath.dirname(posixpath.dirname(real))]
    if env.get("PYTHONHOME"):
        prefixes.insert(0, env["PYTHONHOME"].split(":")[0])
    for prefix in prefixes:
        lib = tree.lookup(f"{prefix}/lib")
        if not isinstance(lib, DirNode):
            continue
        names = sorted(lib.children, reverse=True)
        if m and m.group(2):
            names = [f"python{m.group(1)}.{m.group(2)}"]
        for name in names:
            if re.fullmatch(r"python3\.\d+", name) and isinstance(
                tree.lookup(f"{prefix}/lib/{name}/os.py"), FileNode
            ):
                return prefix, name.removeprefix("python")
    return None


def keep_python(
    keeper: Keeper,
    store: ContentStore,
    *,
    interpreter: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    workdir: str,
    keep_elf: Callable[[str, str], None],
) -> str:
    """Keep what the python command ``argv`` imports; a one-line summary of what was done."""
    tree = keeper.tree
    found = stdlib_of(tree, interpreter, env)
    if found is None:
        return f"{interpreter}: no standard library with os.py found; python modules not scanned"
    prefix, version = found
    inv = parse_argv(argv)
    stdlib = f"{prefix}/lib/python{version}"
    first = workdir
    if inv.script:
        script = inv.script if inv.script.startswith("/") else posixpath.join(workdir, inv.script)
        first = posixpath.dirname(tree.realpath(script) or script)
    path_env = [] if inv.ignore_env else [p for p in env.get("PYTHONPATH", "").split(":") if p]
    site_dirs = [
        f"{prefix}/local/lib/python{version}/dist-packages",
        f"{prefix}/lib/python3/dist-packages",
        f"{prefix}/lib/python{version}/dist-packages",
        f"{prefix}/lib/python{version}/site-packages",
        f"/usr/local/lib/python{version}/site-packages",
    ]
    sys_path = [first, *path_env, stdlib, f"{stdlib}/lib-dynload"]
    if not inv.no_site:
        sys_path += [d for d in dict.fromkeys(site_dirs) if tree.lookup(d) is not None]
    optimize = inv.optimize or (0 if inv.ignore_env else _int(env.get("PYTHONOPTIMIZE")))
    tag = f"cpython-{version.replace('.', '')}" + (f".opt-{optimize}" if optimize else "") + ".pyc"
    scan = PythonScan(
        tree=tree, store=store, keeper=keeper, keep_elf=keep_elf,
        version=version, sys_path=sys_path, pyc_tag=tag,
    )  # fmt: skip
    keeper.path(f"{stdlib}/lib-dynload", "python-module", "the interpreter's exec_prefix landmark")
    late = STARTUP_DEPTH
    roots: list[tuple[str, str, int]] = [(m, "imported at start-up", late) for m in STARTUP]
    if not inv.no_site:
        roots += [(m, "imported by site at start-up", late) for m in SITE]
        roots += [(m, why, late) for m, why in _pth_roots(keeper, store, sys_path)]
    if inv.interactive:
        roots += [(m, "imported by the interactive prompt", late) for m in INTERACTIVE]
    entry = ""
    if inv.code is not None:
        entry, what = inv.code, "the -c code"
    elif inv.module:
        roots += [
            ("runpy", "runs -m", late),
            (inv.module, "the -m module", 0),
            (f"{inv.module}.__main__", "the -m package's __main__", 0),
        ]
    elif inv.script:
        script = inv.script if inv.script.startswith("/") else posixpath.join(workdir, inv.script)
        raw = read_file(tree, store, script, MAX_SOURCE_BYTES)
        entry, what = (raw or b"").decode("utf-8", "replace"), inv.script
    if entry:
        roots += [(m, f"imported by {what}", 1) for m in imports_of(entry, "", everywhere=True)]
    scan.scan(roots)
    implied = [
        (codec, f"the codec {user} looks up by name", late)
        for user, codecs in sorted(CODECS_BY_NAME.items())
        if user in scan.seen
        for codec in codecs
    ]
    if implied:
        scan.scan(implied)
    data = _keep_module_data(scan)
    return (
        f"python {version}: {len(scan.seen)} modules kept from a static import scan "
        f"({len(scan.missing)} imported names not found: builtin or absent)"
        + (f"; {data}" if data else "")
    )


def _keep_module_data(scan: PythonScan) -> str:
    """Files a kept module reads at import or first use by fixed paths: ``mimetypes``
    reads each of its ``knownfiles`` that exists at ``init()`` (http.server's guess_type)."""
    if "mimetypes" not in scan.seen:
        return ""
    found = scan.find("mimetypes")
    source = scan.read_source(found.path) if found and not found.extension else None
    known = _knownfiles(source or "") or MIMETYPES_KNOWNFILES
    kept = [
        p
        for p in known
        if scan.keeper.path(p, "python-module", "mimetypes reads it at init() (knownfiles)")
    ]
    return f"mimetypes: {', '.join(kept) or 'none of its knownfiles in the image'}"


def _knownfiles(source: str) -> list[str]:
    """The literal ``knownfiles = [...]`` list of the image's own mimetypes.py."""
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    for node in module.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "knownfiles" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            return [
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value[:1] == "/"
            ]
    return []


def _pth_roots(
    keeper: Keeper, store: ContentStore, sys_path: Sequence[str]
) -> list[tuple[str, str]]:
    """site reads every .pth file of the site directories, and runs their import lines."""
    out: list[tuple[str, str]] = []
    for directory in sys_path:
        if not directory.endswith(("-packages",)):
            continue
        node = keeper.tree.lookup(directory)
        if not isinstance(node, DirNode):
            continue
        for name in sorted(node.children):
            if not name.endswith(".pth"):
                continue
            path = f"{directory}/{name}"
            keeper.path(path, "python-module", "a .pth file site reads at start-up")
            raw = read_file(keeper.tree, store, path, 1 << 20) or b""
            for line in raw.decode("utf-8", "replace").splitlines():
                if line.startswith(("import ", "import\t")):
                    out += [
                        (m, f"imported by {path}") for m in imports_of(line, "", everywhere=True)
                    ]
    return out


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 1 if text else 0
