"""Files that libc and common libraries read at start-up or on common paths.

glibc and musl read the user and group databases, the name-service configuration,
the resolver's files and the time zone on common paths (getpwuid for a prompt,
localtime for a log line, getaddrinfo for a bind address). TLS libraries read CA
certificates and their configuration, iconv reads gconv modules, curses reads
terminfo, PAM reads its service stacks and its modules' configuration, and setlocale
reads the locale the environment names. Each rule applies
only when its trigger is in the program's ELF closure.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping

from dock2uni.analyse.closure import Closure
from dock2uni.analyse.ldcache import read_file
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode, Tree
from dock2uni.slim.keep import Keeper

LIBC_FILES = (
    ("/etc/passwd", "user database (getpwuid, getpwnam)"),
    ("/etc/group", "group database (getgrgid, initgroups)"),
    ("/etc/nsswitch.conf", "name-service switch configuration"),
    ("/etc/hosts", "host names (getaddrinfo, gethostbyname)"),
    ("/etc/resolv.conf", "DNS resolver configuration"),
    ("/etc/host.conf", "resolver options"),
    ("/etc/gai.conf", "getaddrinfo address sorting"),
    ("/etc/services", "service names (getservbyname)"),
    ("/etc/protocols", "protocol names (getprotobyname)"),
    ("/etc/localtime", "local time zone (localtime, strftime)"),
    ("/etc/timezone", "the time zone's name"),
    ("/etc/hostname", "the host name"),
)
LOADER_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.preload")
LOADER_DIRS = ("/etc/ld.so.conf.d",)
MUSL_PATH = "/etc/ld-musl-x86_64.path"
TLS_LIBS = re.compile(r"^lib(ssl|crypto|gnutls|nss3|mbedtls|wolfssl)\b")
TLS_PATHS = (
    ("/etc/ssl", True),  # certs/ (hash links into /usr/share/ca-certificates), openssl.cnf
    ("/usr/lib/ssl", True),  # OpenSSL's OPENSSLDIR on Debian: links into /etc/ssl
    ("/etc/pki/tls", True),
    ("/etc/ca-certificates.conf", False),
)
GCONV_DIRS = ("/usr/lib/x86_64-linux-gnu/gconv", "/usr/lib/gconv", "/usr/lib64/gconv")
PAM_LIB = re.compile(r"^libpam\.so")
# What libpam and its common modules read: the service's stack in /etc/pam.d (the service
# is named at run time by pam_start, and stacks @include each other: the whole directory),
# the modules' configuration in /etc/security, pam_unix's shadow files and login.defs,
# pam_env's /etc/environment, pam_shells' /etc/shells, pam_securetty's /etc/securetty.
PAM_PATHS = (
    ("/etc/pam.conf", False),
    ("/etc/pam.d", True),
    ("/etc/security", True),
    ("/etc/login.defs", False),
    ("/etc/shadow", False),
    ("/etc/gshadow", False),
    ("/etc/environment", False),
    ("/etc/shells", False),
    ("/etc/securetty", False),
)
CURSES_LIBS = re.compile(r"^lib(tinfo|ncurses|ncursesw|tic)\.so")
TERMINFO_DIRS = ("/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo", "/usr/lib/terminfo")
# Terminals a container is commonly run under (docker run -t sets TERM=xterm).
COMMON_TERMS = ("dumb", "linux", "vt100", "vt102", "vt220", "ansi", "xterm", "xterm-256color",
                "xterm-color", "screen", "screen-256color", "tmux", "tmux-256color")  # fmt: skip
LOCALE_DIRS = ("/usr/lib/locale", "/usr/lib64/locale", "/usr/share/i18n/locales")
MSG_DIRS = ("/usr/share/locale", "/usr/local/share/locale")
# Image paths (never the host's): scratch and runtime directories programs expect.
DEFAULT_TMP_DIRS = ("/tmp", "/var/tmp", "/run", "/var/run", "/dev")  # noqa: S108


def closure_names(closure: Closure) -> set[str]:
    """The file names (and sonames) of every library in the closure."""
    names: set[str] = set()
    for e in closure.entries:
        if e.status == "ok":
            names.add(posixpath.basename(e.path))
            names.add(e.requested)
            if e.facts is not None and e.facts.soname:
                names.add(e.facts.soname)
    return names


def closure_imports(closure: Closure) -> set[str]:
    """Undefined symbols of every binary of the closure (what they can call)."""
    return {s.name for e in closure.entries if e.facts is not None for s in e.facts.imports}


def keep_libc_files(keeper: Keeper, closure: Closure) -> None:
    """The databases and configuration files every program of the image's libc reads."""
    for path, why in LIBC_FILES:
        keeper.path(path, "system-file", why)
    libc = closure.libc or "glibc"
    if libc == "musl":
        keeper.path(MUSL_PATH, "loader-config", "musl's library search path")
    else:
        for path in LOADER_FILES:
            keeper.path(path, "loader-config", "the dynamic loader's configuration")
        for path in LOADER_DIRS:
            keeper.path(path, "loader-config", "included by /etc/ld.so.conf", recursive=True)
    zone = keeper.tree.realpath("/etc/localtime")
    if zone is not None:
        keeper.path(zone, "system-file", "the zoneinfo file /etc/localtime points to")
        _keep_posixrules(keeper, zone)


def _keep_posixrules(keeper: Keeper, zone: str) -> None:
    """glibc reads posixrules from the zoneinfo root for TZ strings without rules."""
    if "/zoneinfo/" in zone:
        root = zone.split("/zoneinfo/", 1)[0] + "/zoneinfo"
        keeper.path(f"{root}/posixrules", "system-file", "glibc's default rules for POSIX TZ")


def keep_tz_env(keeper: Keeper, env: Mapping[str, str]) -> None:
    """TZ=Area/City in the environment names a zoneinfo file."""
    tz = env.get("TZ", "").lstrip(":")
    if not tz or ("/" not in tz and not tz.isalpha()):
        return
    candidates = [tz] if tz.startswith("/") else [f"/usr/share/zoneinfo/{tz}"]
    for path in candidates:
        keeper.path(path, "system-file", f"the zone TZ={tz} names")


def keep_tls(keeper: Keeper, closure: Closure) -> None:
    """CA certificates and the TLS library's configuration, when one is linked."""
    libs = sorted(n for n in closure_names(closure) if TLS_LIBS.match(n))
    if not libs:
        return
    why = f"CA certificates and TLS configuration ({libs[0]} is linked)"
    for path, recursive in TLS_PATHS:
        keeper.path(path, "system-file", why, recursive=recursive)


def keep_pam(keeper: Keeper, closure: Closure) -> None:
    """PAM's configuration, when libpam is linked (its modules are the analysis's dlopens)."""
    libs = sorted(n for n in closure_names(closure) if PAM_LIB.match(n))
    if not libs:
        return
    why = f"PAM configuration ({libs[0]} is linked)"
    for path, recursive in PAM_PATHS:
        keeper.path(path, "system-file", why, recursive=recursive)


def keep_gconv(keeper: Keeper, closure: Closure) -> None:
    """glibc's gconv modules and their configuration, when a kept binary calls iconv."""
    callers = sorted(
        posixpath.basename(e.path)
        for e in closure.entries
        if e.facts is not None and any(s.name == "iconv_open" for s in e.facts.imports)
    )
    if not callers:
        return
    for directory in GCONV_DIRS:
        if isinstance(keeper.tree.lookup(directory), DirNode):
            keeper.path(
                directory,
                "system-file",
                f"gconv modules: {', '.join(callers[:3])} call iconv_open, which may load any",
                recursive=True,
            )
            return


def keep_terminfo(keeper: Keeper, closure: Closure, env: Mapping[str, str]) -> None:
    """terminfo entries of common terminals (and $TERM), when curses is linked."""
    if not any(CURSES_LIBS.match(n) for n in closure_names(closure)):
        return
    terms = [*COMMON_TERMS, *([env["TERM"]] if env.get("TERM") else [])]
    for directory in TERMINFO_DIRS:
        for term in terms:
            if not term or "/" in term:
                continue
            keeper.path(
                f"{directory}/{term[0]}/{term}",
                "system-file",
                f"terminfo entry for TERM={term} (curses is linked)",
            )


def locale_names(env: Mapping[str, str]) -> list[str]:
    """Locale names the environment selects, with glibc's normalised spellings."""
    values = [v for k, v in env.items() if k in ("LANG", "LC_ALL") or k.startswith("LC_")]
    out: list[str] = []
    for value in values:
        if not value or value in ("C", "POSIX") or "/" in value:
            continue
        lang, _, rest = value.partition(".")
        charset, _, modifier = rest.partition("@")
        norm = re.sub(r"[^a-z0-9]", "", charset.lower())
        for name in (value, f"{lang}.{norm}" if charset else lang, lang):
            full = name + (f"@{modifier}" if modifier and "@" not in name else "")
            for n in (name, full):
                if n not in out:
                    out.append(n)
    return out


def keep_locales(keeper: Keeper, env: Mapping[str, str], programs: Iterable[str]) -> None:
    """The compiled locale LANG/LC_* name, and its message catalogues for the programs."""
    names = locale_names(env)
    if not names:
        return
    why = f"the locale {names[0]} the environment selects"
    for directory in LOCALE_DIRS:
        keeper.path(f"{directory}/locale-archive", "system-file", why)
        for name in names:
            keeper.path(f"{directory}/{name}", "system-file", why, recursive=True)
    keeper.path("/usr/share/locale/locale.alias", "system-file", "locale name aliases")
    domains = {"libc", *(posixpath.basename(p) for p in programs)}
    for root in MSG_DIRS:
        for name in names:
            for domain in sorted(domains):
                keeper.path(
                    f"{root}/{name}/LC_MESSAGES/{domain}.mo",
                    "system-file",
                    f"{domain}'s messages in {name}",
                )


def home_of(tree: Tree, store: ContentStore, uid: int, env: Mapping[str, str]) -> str | None:
    """$HOME of the environment, else the user's home directory in /etc/passwd."""
    if env.get("HOME"):
        return env["HOME"]
    raw = read_file(tree, store, "/etc/passwd", 1 << 20) or b""
    for line in raw.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[2] == str(uid):
            return fields[5] or None
    return "/root" if uid == 0 else None


def keep_run_dirs(keeper: Keeper, workdir: str, home: str | None) -> None:
    """The working directory, HOME and the scratch directories programs expect."""
    keeper.path(workdir, "directory", "the working directory")
    if home:
        keeper.path(home, "directory", "HOME")
    for path in DEFAULT_TMP_DIRS:
        node = keeper.tree.lookup(path, follow=False)
        if isinstance(node, DirNode | SymlinkNode):
            keeper.path(path, "directory", "scratch or runtime directory programs expect")


def is_regular(tree: Tree, path: str) -> bool:
    return isinstance(tree.lookup(path), FileNode)
