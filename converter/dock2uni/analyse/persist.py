"""Whole-image analysis cache: a finished Analysis as JSON, keyed by everything it depends on.

The per-file caches (cache.py) make a warm analysis cheap, but the closure and the
reachability walk over every library still cost about half a second; a warm audit
of an image already analysed reads this file instead. The key covers the image
(manifest digest), the run spec, and the source code of the analysis itself, so a
change to any of them is a miss rather than a stale answer.

The JSON round trip is driven by the dataclasses' own type hints (frozen
dataclasses of str/int/bool/None, tuples, dicts), never by pickle: a cache file
is data, and loading it cannot run code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import types
import typing
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from dock2uni import __version__
from dock2uni.analyse.model import Analysis
from dock2uni.fs.cachedir import open_regular, subdir

T = TypeVar("T")
MAX_ENTRY_BYTES = 256 << 20  # an image's analysis; far larger than any seen (a few MiB)
_CODE_DIRS = ("analyse", "elf", "unpack", "fs")  # what an analysis result depends on


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts, tuples to lists, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from ``to_jsonable`` output; ValueError if it does not fit."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in get_args(tp):
            return None
        inner = [a for a in get_args(tp) if a is not type(None)]
        return from_jsonable(inner[0], data)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object for {tp.__name__}")
        kwargs = {
            name: from_jsonable(hint, data[name]) for name, hint in _fields(tp) if name in data
        }
        return tp(**kwargs)
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(data, list):
            raise ValueError("expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_jsonable(args[0], d) for d in data)
        return tuple(from_jsonable(a, d) for a, d in zip(args, data, strict=True))
    if origin in (dict, Mapping):
        _, value_type = get_args(tp)
        if not isinstance(data, dict):
            raise ValueError("expected an object")
        return {k: from_jsonable(value_type, v) for k, v in data.items()}
    if tp in (str, int, float, bool) and not isinstance(data, tp):
        raise ValueError(f"expected {tp.__name__}")
    return data


@cache
def _fields(tp: type) -> tuple[tuple[str, Any], ...]:
    """(name, resolved type) of a dataclass's init fields; resolving hints is slow, so once."""
    hints = get_type_hints(tp)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(tp) if f.init)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the analysis source files: a code change invalidates every cached result."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(__version__.encode())
    for sub in _CODE_DIRS:
        for path in sorted((root / sub).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def cache_key(manifest_digest: str, programs: Sequence[tuple[str, str]], spec_json: Any) -> str:
    doc = {"code": code_digest(), "image": manifest_digest, "programs": programs, "spec": spec_json}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def load(cache_dir: Path, key: str) -> Analysis | None:
    """The cached Analysis for ``key``, or None (absent, unreadable or not fitting)."""
    path = cache_dir / "analysis" / "images" / f"{key}.json"
    try:
        with open_regular(path) as f:  # no symlink, no FIFO: the cache is untrusted
            data = json.loads(f.read(MAX_ENTRY_BYTES + 1))
        result: Analysis = from_jsonable(Analysis, data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return result


def save(cache_dir: Path, key: str, analysis: Analysis) -> None:
    """Write atomically (temp file + rename); a cache that cannot be written is skipped."""
    folder = subdir(cache_dir, "analysis", "images")  # a symlink there: OutputError
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            # dumps, not dump: json.dump streams through the pure-Python encoder (5x slower)
            out.write(json.dumps(to_jsonable(analysis), separators=(",", ":")))
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        return
