"""Per-file analysis results cached by content digest under ``<cache>/analysis``.

Two kinds, both JSON: ``facts/<hex>.json`` (ElfFacts, small) and ``code/<hex>.json``
(the disassembly summary, the expensive part). A second audit of the same or a related
image finds libc, the loader and every shared library already summarised and only does
reachability. Entries carry a format version; a stale or corrupt entry is ignored and
rebuilt. Writes go to a temporary name and are renamed into place. The cache is
untrusted (docs/security.md): every directory is made and checked by fs/cachedir.py (a
symlink where a directory belongs is an OutputError, never a write elsewhere), entries
are read with ``O_NOFOLLOW`` and at most ``MAX_ENTRY_BYTES``, and a malformed one (bad
JSON, deep nesting, wrong types) is a miss.

``FileAnalyser`` is what the stage uses: header check, LIEF in its sandboxed child for
files not cached, and summaries (built in parallel worker processes when there are
several big ones).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dock2uni.analyse.disasm import SUMMARY_VERSION, Summary, summarise
from dock2uni.elf.facts import PF_X, PT_LOAD, SHF_EXECINSTR, ElfFacts, ElfLayout
from dock2uni.elf.header import check_file
from dock2uni.elf.lief_adapter import LiefSession
from dock2uni.errors import ElfError
from dock2uni.fs.cachedir import open_regular, subdir
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import FileNode, Tree

FACTS_VERSION = 2
PARALLEL_MIN_BYTES = 1 << 20  # below this much code, a worker pool costs more than it saves
MAX_ENTRY_BYTES = 64 << 20  # a summary of the largest library seen is a few MiB


def _hex(digest: str) -> str:
    return digest.split(":", 1)[-1]


class AnalysisCache:
    """JSON documents under ``root`` keyed by content digest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()

    def _path(self, kind: str, digest: str) -> Path:
        h = _hex(digest)
        return self.root / kind / h[:2] / f"{h}.json"

    def get(self, kind: str, digest: str, version: int) -> dict[str, Any] | None:
        path = self._path(kind, digest)
        try:
            with open_regular(path) as f:
                raw = f.read(MAX_ENTRY_BYTES + 1)
            if len(raw) > MAX_ENTRY_BYTES:
                return None
            data = json.loads(raw)
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("format") != version:
            return None
        body = data.get("body")
        return body if isinstance(body, dict) else None

    def put(self, kind: str, digest: str, version: int, body: dict[str, Any]) -> None:
        path = self._path(kind, digest)
        if path.parent not in self._made:
            # checked once per process: a symlink here is an OutputError, not a write elsewhere
            subdir(self.root.parent, self.root.name, kind, path.parent.name)
            self._made.add(path.parent)
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                # dumps, not dump: json.dump streams through the pure-Python encoder
                f.write(json.dumps({"format": version, "body": body}, separators=(",", ":")))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _summarise_job(args: tuple[str, dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    file, facts, layout = args
    return summarise(Path(file), ElfFacts.from_json(facts), ElfLayout.from_json(layout)).to_json()


class FileAnalyser:
    """Facts and code summaries for files of one image, through the cache."""

    def __init__(self, tree: Tree, store: ContentStore, cache_dir: Path, *, jobs: int = 2) -> None:
        self.tree = tree
        self.store = store
        self.cache = AnalysisCache(cache_dir / "analysis")
        self.jobs = jobs
        self.layouts: dict[str, ElfLayout] = {}  # by digest, only for files parsed this run
        self.facts_by_digest: dict[str, ElfFacts] = {}
        self.stats = {"facts_cached": 0, "facts_parsed": 0, "code_cached": 0, "code_built": 0}
        self.lief = LiefSession()

    def __enter__(self) -> FileAnalyser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lief.close()

    def digest_of(self, path: str) -> str | None:
        node = self.tree.lookup(path)
        return node.digest if isinstance(node, FileNode) else None

    def load_facts(self, paths: Sequence[str]) -> dict[str, ElfFacts | ElfError]:
        """Facts for image paths (canonical); failures are ElfError values, never raised."""
        out: dict[str, ElfFacts | ElfError] = {}
        todo: list[tuple[str, Path]] = []
        digests: dict[str, str] = {}
        for path in paths:
            digest = self.digest_of(path)
            if digest is None:
                continue
            digests[path] = digest
            if digest in self.facts_by_digest:
                out[path] = self.facts_by_digest[digest]
                continue
            cached = self.cache.get("facts", digest, FACTS_VERSION)
            if cached is not None:
                try:
                    facts = ElfFacts.from_json(cached)
                except (TypeError, ValueError, KeyError):
                    facts = None
                if facts is not None:
                    self.facts_by_digest[digest] = facts
                    out[path] = facts
                    self.stats["facts_cached"] += 1
                    continue
            host = self.store.path(digest)
            try:
                check_file(host, path=path)
            except ElfError as exc:
                out[path] = exc
                continue
            todo.append((path, host))
        if todo:
            parsed = self.lief.parse(todo)
            for path, result in parsed.items():
                if isinstance(result, ElfError):
                    out[path] = result
                    continue
                digest = digests[path]
                self.facts_by_digest[digest] = result.facts
                self.layouts[digest] = result.layout
                self.cache.put("facts", digest, FACTS_VERSION, result.facts.to_json())
                out[path] = result.facts
                self.stats["facts_parsed"] += 1
        return out

    def summaries(self, paths: Sequence[str]) -> dict[str, Summary | ElfError]:
        """Code summaries for analysable image paths, from the cache or built now."""
        out: dict[str, Summary | ElfError] = {}
        build: list[tuple[str, str]] = []
        for path in paths:
            digest = self.digest_of(path)
            if digest is None:
                continue
            cached = self.cache.get("code", digest, SUMMARY_VERSION)
            if cached is not None:
                try:
                    out[path] = Summary.from_json(cached)
                    self.stats["code_cached"] += 1
                    continue
                except (KeyError, TypeError, ValueError):
                    pass
            build.append((path, digest))
        need_layout = [(p, d) for p, d in build if d not in self.layouts]
        if need_layout:
            parsed = self.lief.parse([(p, self.store.path(d)) for p, d in need_layout])
            for path, digest in need_layout:
                result = parsed.get(path)
                if result is None or isinstance(result, ElfError):
                    out[path] = result or ElfError(f"unparseable ELF: {path}")
                else:
                    self.layouts[digest] = result.layout
                    self.facts_by_digest.setdefault(digest, result.facts)
        build = [(p, d) for p, d in build if d in self.layouts]
        jobs = [
            (
                str(self.store.path(d)),
                self.facts_by_digest[d].to_json(),
                _layout_json(self.layouts[d]),
            )
            for _p, d in build
        ]
        weights = [_code_bytes(self.layouts[d]) for _p, d in build]
        results: list[dict[str, Any] | BaseException]
        if self.jobs > 1 and len(jobs) > 1 and sum(weights) >= PARALLEL_MIN_BYTES:
            results = self._parallel(jobs, weights)
        else:
            results = []
            for job in jobs:
                try:
                    results.append(_summarise_job(job))
                except Exception as exc:
                    results.append(exc)
        for (path, digest), res in zip(build, results, strict=True):
            if isinstance(res, BaseException):
                out[path] = ElfError(f"cannot disassemble {path}: {type(res).__name__}: {res}")
                continue
            self.cache.put("code", digest, SUMMARY_VERSION, res)
            out[path] = Summary.from_json(res)
            self.stats["code_built"] += 1
        return out

    def _parallel(
        self, jobs: list[tuple[str, dict[str, Any], dict[str, Any]]], weights: list[int]
    ) -> list[dict[str, Any] | BaseException]:
        """Split the jobs over ``self.jobs`` worker processes, balanced by code size
        (disassembly time follows the executable bytes, not the file size: python3.11
        is 6.8 MB for 2.1 s of work, libcrypto 4.7 MB for 2.0 s)."""
        order = sorted(range(len(jobs)), key=lambda i: -weights[i])
        shares: list[list[int]] = [[] for _ in range(self.jobs)]
        loads = [0] * self.jobs
        for i in order:
            w = loads.index(min(loads))
            shares[w].append(i)
            loads[w] += weights[i]
        procs = []
        for share in shares:
            if not share:
                continue
            proc = subprocess.Popen(
                [sys.executable, "-s", "-m", "dock2uni.analyse.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps([jobs[i] for i in share]).encode())
            proc.stdin.close()
            procs.append((proc, share))
        results: list[dict[str, Any] | BaseException] = [RuntimeError("not run")] * len(jobs)
        for proc, share in procs:
            assert proc.stdout is not None
            lines = proc.stdout.read().splitlines()
            proc.stdout.close()
            rc = proc.wait()
            for i, line in zip(share, lines, strict=False):
                msg = json.loads(line)
                results[i] = msg["ok"] if "ok" in msg else RuntimeError(msg["error"])
            for i in share[len(lines) :]:
                results[i] = RuntimeError(f"summary worker died (status {rc})")
        return results


def _code_bytes(layout: ElfLayout) -> int:
    """Executable bytes the sweep will disassemble (sections, else PF_X segments)."""
    code = sum(size for _n, _a, _o, size, flags, _t in layout.sections if flags & SHF_EXECINSTR)
    if code:
        return code
    return sum(
        filesz
        for p_type, flags, _o, _v, filesz, _m in layout.segments
        if p_type == PT_LOAD and flags & PF_X
    )


def _layout_json(layout: ElfLayout) -> dict[str, Any]:
    return {
        "sections": layout.sections,
        "segments": layout.segments,
        "relocations": layout.relocations,
        "functions": layout.functions,
        "names": layout.names,
        "dynamic": {str(k): v for k, v in layout.dynamic.items()},
    }
