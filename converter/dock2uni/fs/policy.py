"""Which of the image's files go into the unikernel's rootfs, and what is dropped and why.

The default policy keeps everything a program could read at run time and drops
what only people and package managers read: documentation, man and info pages,
message catalogues of locales the image does not configure, and package-manager
state. ``full`` keeps everything. Every dropped path is counted per rule so the
converter can say what it left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dock2uni.fs.tree import DirNode, FileNode, Node, Tree

POLICIES = ("default", "full")

# (rule name, path prefixes); a prefix matches the directory itself and below.
_DROP_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "documentation",
        (
            "/usr/share/doc",
            "/usr/local/share/doc",
            "/usr/share/lintian",
            "/usr/share/bug",
            "/usr/share/gtk-doc",
            "/usr/share/help",
        ),
    ),
    (
        "manual pages",
        ("/usr/share/man", "/usr/local/share/man", "/usr/share/info", "/usr/local/share/info"),
    ),
    (
        "package-manager state",
        (
            "/var/lib/apt/lists",
            "/var/cache/apt",
            "/var/lib/dpkg",
            "/var/cache/debconf",
            "/var/log/apt",
            "/var/log/dpkg.log",
            "/lib/apk/db",
            "/var/cache/apk",
            "/var/lib/rpm",
            "/var/cache/dnf",
            "/var/cache/yum",
        ),
    ),
)
_LOCALE_DIRS = ("/usr/share/locale", "/usr/local/share/locale")
_ALWAYS_KEEP_LOCALES = {"C", "C.UTF-8", "C.utf8", "POSIX", "locale.alias"}


@dataclass
class Dropped:
    """What one rule removed."""

    entries: int = 0
    bytes: int = 0


@dataclass(frozen=True, kw_only=True)
class Selection:
    """The entries to write, in order, and what each rule dropped."""

    entries: tuple[tuple[str, Node], ...]
    dropped: Mapping[str, Dropped] = field(default_factory=dict)
    # The closure policy's reason for each kept entry: path -> (category, detail).
    reasons: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the closure policy's scans did, for the report

    @property
    def dropped_total(self) -> Dropped:
        total = Dropped()
        for d in self.dropped.values():
            total.entries += d.entries
            total.bytes += d.bytes
        return total


def configured_locales(env: Mapping[str, str]) -> set[str]:
    """Locale names the image's environment selects (LANG, LC_*, LANGUAGE)."""
    names: set[str] = set()
    for key, value in env.items():
        if key == "LANG" or key.startswith("LC_"):
            names.add(value)
        elif key == "LANGUAGE":
            names.update(v for v in value.split(":") if v)
    out: set[str] = set()
    for name in names:
        base = name.split(".")[0].split("@")[0]
        out.update({name, base, base.split("_")[0]})
    return out


def _locale_rule(path: str, keep: set[str]) -> bool:
    """True if path is a message catalogue of a locale the image does not use."""
    for root in _LOCALE_DIRS:
        if path.startswith(root + "/"):
            locale = path[len(root) + 1 :].split("/", 1)[0]
            return locale not in keep and locale not in _ALWAYS_KEEP_LOCALES
    return False


def _rule_for(path: str, keep_locales: set[str]) -> str | None:
    for rule, prefixes in _DROP_RULES:
        for prefix in prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return rule
    if _locale_rule(path, keep_locales):
        return "unconfigured locales"
    return None


def drop_rule(path: str, keep_locales: set[str]) -> str | None:
    """The default policy's rule that drops ``path`` (documentation, ...), or None."""
    return _rule_for(path, keep_locales)


def select(tree: Tree, *, policy: str, env: Mapping[str, str]) -> Selection:
    """Apply ``policy`` to the tree; directories of dropped subtrees are dropped too."""
    if policy not in POLICIES:
        raise ValueError(f"unknown rootfs policy {policy!r}")
    if policy == "full":
        return Selection(entries=tuple(tree.walk()))
    keep_locales = configured_locales(env)
    dropped: dict[str, Dropped] = {}
    kept: list[tuple[str, Node]] = []
    skip_prefix: str | None = None
    for path, node in tree.walk():
        if skip_prefix and path.startswith(skip_prefix):
            parent_rule = _rule_for(skip_prefix.rstrip("/"), keep_locales) or "?"
            _count(dropped, parent_rule, node)
            continue
        skip_prefix = None
        rule = _rule_for(path, keep_locales)
        if rule is None:
            kept.append((path, node))
            continue
        _count(dropped, rule, node)
        if isinstance(node, DirNode):
            skip_prefix = path + "/"
    return Selection(entries=tuple(kept), dropped=dropped)


def _count(dropped: dict[str, Dropped], rule: str, node: Node) -> None:
    d = dropped.setdefault(rule, Dropped())
    d.entries += 1
    if isinstance(node, FileNode):
        d.bytes += node.size
