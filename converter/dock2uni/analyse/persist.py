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
from collections.abc import Callable, Mapping, Sequence
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
    return _converter(tp)(data)


@cache
def _converter(tp: Any) -> Callable[[Any], Any]:
    """The function that rebuilds values of ``tp``, made once per type: a warm load walks
    ~10^5 values, and inspecting the type hints at each of them cost most of its time."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        nullable = type(None) in get_args(tp)
        inner = _converter(next(a for a in get_args(tp) if a is not type(None)))

        def union(data: Any) -> Any:
            return None if data is None and nullable else inner(data)

        return union
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        fields: list[tuple[str, Callable[[Any], Any]]] = []

        def dataclass(data: Any) -> Any:
            if not isinstance(data, dict):
                raise ValueError(f"expected an object for {tp.__name__}")
            if not fields:  # resolved at first use: a dataclass may refer to itself
                fields.extend((name, _converter(hint)) for name, hint in _fields(tp))
            return tp(**{name: conv(data[name]) for name, conv in fields if name in data})

        return dataclass
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])

            def homogeneous(data: Any) -> Any:
                if not isinstance(data, list):
                    raise ValueError("expected a list")
                return tuple(item(d) for d in data)

            return homogeneous
        items = [_converter(a) for a in args]

        def fixed(data: Any) -> Any:
            if not isinstance(data, list):
                raise ValueError("expected a list")
            return tuple(conv(d) for conv, d in zip(items, data, strict=True))

        return fixed
    if origin in (dict, Mapping):
        value = _converter(get_args(tp)[1])

        def mapping(data: Any) -> Any:
            if not isinstance(data, dict):
                raise ValueError("expected an object")
            return {k: value(v) for k, v in data.items()}

        return mapping
    if tp in (str, int, float, bool):

        def scalar(data: Any) -> Any:
            if not isinstance(data, tp):
                raise ValueError(f"expected {tp.__name__}")
            return data

        return scalar
    return lambda data: data


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
