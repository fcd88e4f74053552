"""The library OS's syscall support table, parsed from ``shims/<family>/<family>.def``.

The .def files are the one source of truth: the C build includes them as
X-macros to make the dispatch tables, and this strict parser reads the same
lines for the plan (which families to link), the audit and the generated
docs/support-matrix.md. Grammar (docs/shims.md), one entry per line:

    SHIM(nr, name, FULL|PARTIAL|STUB, handler, "note")
    SHIM_ERR(nr, name, ERRNO, "note")

Blank lines and one-line comments (``/* ... */`` or ``// ...``) are allowed;
any other line is an error, never skipped. One kind of comment is read by the audit
only (the C build ignores it): how a failing call is really used by its callers,

    /* audit: name fallback "reason" */        the callers handle its failure by a
                                               documented fallback (glibc and rseq)
    /* audit: name signal-return "reason" */   only reached by returning from a signal
                                               handler the program installs
    /* audit: name container "reason" */       a Docker container refuses it too (the
                                               default seccomp profile or capabilities),
                                               so the program already copes with the error

so the audit counts such a call as partial instead of unsupported (audit/report.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dock2uni.errors import BuildError
from dock2uni.paths import SHIMS

LEVELS = ("FULL", "PARTIAL", "STUB", "ERR")

_SHIM = re.compile(
    r'SHIM\(\s*(\d+)\s*,\s*(\w+)\s*,\s*(FULL|PARTIAL|STUB)\s*,\s*(\w+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)'
)
_SHIM_ERR = re.compile(
    r'SHIM_ERR\(\s*(\d+)\s*,\s*(\w+)\s*,\s*(E[A-Z0-9]+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)'
)
_COMMENT = re.compile(r"(/\*.*\*/|//.*)")
_AUDIT = re.compile(
    r'/\*\s*audit:\s*(\w+)\s+(fallback|signal-return|container)\s+"((?:[^"\\]|\\.)*)"\s*\*/'
)
AUDIT_KINDS = ("fallback", "signal-return", "container")


@dataclass(frozen=True, kw_only=True)
class AuditNote:
    """How callers use a call that fails here (a ``/* audit: ... */`` line)."""

    name: str
    kind: str  # fallback, signal-return or container
    reason: str
    source: str


@dataclass(frozen=True, kw_only=True)
class ShimEntry:
    """One syscall the library OS knows, and how well."""

    nr: int
    name: str
    level: str  # FULL, PARTIAL, STUB or ERR
    family: str
    handler: str | None  # None for ERR entries
    errno: str | None  # for ERR entries
    note: str
    source: str  # file:line, for error messages

    @property
    def works(self) -> bool:
        """FULL or PARTIAL: the call does its job (maybe with limits)."""
        return self.level in ("FULL", "PARTIAL")


@dataclass(frozen=True, kw_only=True)
class SupportTable:
    """All entries of all families, indexed by number and by name."""

    entries: tuple[ShimEntry, ...]
    families: tuple[str, ...]
    family_notes: dict[str, str]
    audit_notes: dict[str, AuditNote] = field(default_factory=dict)  # by syscall name

    def by_nr(self) -> dict[int, ShimEntry]:
        return {e.nr: e for e in self.entries}

    def by_name(self) -> dict[str, ShimEntry]:
        return {e.name: e for e in self.entries}

    def families_for(self, names: Iterable[str]) -> tuple[str, ...]:
        """The families that implement any of ``names``, in table order."""
        idx = self.by_name()
        wanted = {idx[n].family for n in names if n in idx}
        return tuple(f for f in self.families if f in wanted)


class DefSyntaxError(BuildError):
    """A .def line that the strict grammar does not accept."""


def _unescape(note: str) -> str:
    return note.replace('\\"', '"').replace("\\\\", "\\")


def parse_audit_notes(text: str, *, filename: str) -> list[AuditNote]:
    """The ``/* audit: name kind "reason" */`` lines of one .def text."""
    notes = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line.startswith("/*") or not re.match(r"/\*\s*audit:", line):
            continue
        m = _AUDIT.fullmatch(line)
        if m is None:
            raise DefSyntaxError(
                f"{filename}:{lineno}: cannot parse {line[:120]!r}",
                hint='Write /* audit: NAME fallback|signal-return|container "reason" */ '
                "(docs/shims.md).",
            )
        name, kind, reason = m.groups()
        notes.append(
            AuditNote(name=name, kind=kind, reason=_unescape(reason), source=f"{filename}:{lineno}")
        )
    return notes


def parse_def(text: str, *, family: str, filename: str) -> tuple[list[ShimEntry], str]:
    """Parse one family's .def text; return its entries and its header comment."""
    entries: list[ShimEntry] = []
    header = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        where = f"{filename}:{lineno}"
        line = raw.strip()
        if not line:
            continue
        m = _SHIM.fullmatch(line) or _SHIM_ERR.fullmatch(line)
        if m is None:
            stripped = _COMMENT.sub("", line).strip()
            if stripped:
                raise DefSyntaxError(
                    f"{where}: cannot parse {raw.strip()[:120]!r}",
                    hint='Each line is SHIM(nr, name, LEVEL, handler, "note"), '
                    'SHIM_ERR(nr, name, ERRNO, "note"), a comment or blank (docs/shims.md).',
                )
            if not header and line.startswith("/*"):
                header = line.removeprefix("/*").removesuffix("*/").strip()
            continue
        if m.re is _SHIM:
            nr, name, level, handler, note = m.groups()
            entry = ShimEntry(
                nr=int(nr),
                name=name,
                level=level,
                family=family,
                handler=handler,
                errno=None,
                note=_unescape(note),
                source=where,
            )
        else:
            nr, name, err, note = m.groups()
            entry = ShimEntry(
                nr=int(nr),
                name=name,
                level="ERR",
                family=family,
                handler=None,
                errno=err,
                note=_unescape(note),
                source=where,
            )
        entries.append(entry)
    return entries, header


def load_support_table(shims_dir: Path = SHIMS) -> SupportTable:
    """Read every ``shims/<family>/<family>.def``; reject duplicates across files."""
    entries: list[ShimEntry] = []
    families: list[str] = []
    notes: dict[str, str] = {}
    seen: dict[int, ShimEntry] = {}
    audit_notes: dict[str, AuditNote] = {}
    for path in sorted(shims_dir.glob("*/*.def")):
        family = path.parent.name
        if path.stem != family:
            raise DefSyntaxError(f"{path}: a family's table must be named {family}.def")
        text = path.read_text()
        fam_entries, header = parse_def(text, family=family, filename=str(path))
        for note in parse_audit_notes(text, filename=str(path)):
            audit_notes[note.name] = note
        for e in fam_entries:
            if e.nr in seen:
                raise DefSyntaxError(
                    f"{e.source}: syscall {e.nr} ({e.name}) is already defined at "
                    f"{seen[e.nr].source}"
                )
            seen[e.nr] = e
        families.append(family)
        notes[family] = header
        entries.extend(fam_entries)
    entries.sort(key=lambda e: e.nr)
    return SupportTable(
        entries=tuple(entries),
        families=tuple(families),
        family_notes=notes,
        audit_notes=audit_notes,
    )
