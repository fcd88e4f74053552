"""Fuzz harness: run one parser on generated inputs for a fixed time, report executions and crashes.

Built on Hypothesis (generation, shrinking a crash to a minimal input, replaying it
from the printed seed). A target is a function of one generated value; it may raise
the project's documented errors (``Dock2UniError`` subclasses, each with its exit code)
or nothing. Any other exception is a crash: the test fails with Hypothesis's minimal
falsifying example. The budget per target is ``DOCK2UNI_FUZZ_SECONDS`` (default 4 s,
the CI tier); ``make fuzz`` sets it higher. Hypothesis has no wall-clock budget of
its own, so ``fuzz`` runs it in rounds of ``batch`` examples until the time is up.

The strategies mutate real seeds (fixture documents, layers, archives, ELF files) the
way coverage-less fuzzers do: bit flips, interesting integers, insertions, deletions,
truncation, splices; ``json_mutants`` also mutates JSON structurally (a random subtree
replaced by a generated value, a key dropped), so parsers see well-formed but hostile
documents and not only syntax errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dock2uni.errors import Dock2UniError

T = TypeVar("T")

INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF)  # fmt: skip


def budget() -> float:
    return float(os.environ.get("DOCK2UNI_FUZZ_SECONDS", "4"))


@st.composite
def byte_mutants(draw: st.DrawFn, seeds: Sequence[bytes], max_ops: int = 8) -> bytes:
    """A seed with up to ``max_ops`` byte-level mutations (or spliced with another seed)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, max_ops))):
        op = draw(st.integers(0, 6))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == 0 and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif op == 2:
            del data[pos : pos + draw(st.integers(1, 512))]
        elif op == 3 and data:
            data[pos] = draw(st.sampled_from((0, 1, 0x7F, 0x80, 0xFF, ord("0"), ord("/"))))
        elif op == 4:
            width, fmt = draw(st.sampled_from(((2, "<H"), (4, "<I"), (8, "<Q"), (4, ">I"))))
            value = draw(st.sampled_from(INTERESTING)) & ((1 << (8 * width)) - 1)
            data[pos : pos + width] = struct.pack(fmt, value)
        elif op == 5:
            del data[pos:]
        else:
            other = draw(st.sampled_from(seeds))
            cut = draw(st.integers(0, len(other)))
            data[pos:] = other[cut:]
    return bytes(data)


def _json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, numbers at their edges included (huge, negative, 1e999 as inf)."""
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.sampled_from([0, -1, 2**63, 2**64, 1e999, -1e999, 0.5])
        | st.text(max_size=40)
        | st.sampled_from(["sha256:" + "0" * 64, "", "\ud800", "../../etc", "/", "a" * 300])
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner),
        max_leaves=12,
    )


JSON_VALUES = _json_values()  # built once: a strategy is validated on first use


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def json_mutants(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A seed JSON document with structural mutations, serialised (sometimes byte-mutated)."""
    doc = json.loads(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        value = draw(JSON_VALUES)
        if not path:
            doc = value
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        elif isinstance(parent, list) and draw(st.booleans()):
            parent.append(value)  # lists grow: repeated entries, long lists
        else:
            parent[path[-1]] = value
    if draw(st.integers(0, 9)) == 0:
        nest = draw(st.integers(1, 200_000))
        return b"[" * nest + b"]" * nest
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        data = draw(byte_mutants([data], max_ops=3))
    return data


def fuzz(
    name: str,
    strategy: st.SearchStrategy[T],
    target: Callable[[T], object],
    *,
    capsys: pytest.CaptureFixture[str],
    batch: int = 100,
    seconds: float | None = None,
) -> int:
    """Run ``target`` on values of ``strategy`` for the budget; return the executions.

    Documented errors are fine; anything else fails (after Hypothesis shrank it). The
    summary line goes to the terminal even when pytest captures output (CI logs)."""
    limit = budget() if seconds is None else seconds
    count = [0]

    @settings(
        max_examples=batch,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(value: T) -> None:
        count[0] += 1
        with contextlib.suppress(Dock2UniError):
            target(value)

    start = time.monotonic()
    crashed = True
    try:
        while time.monotonic() - start < limit:
            one()
        crashed = False
    finally:
        took = time.monotonic() - start
        with capsys.disabled():
            print(
                f"\nfuzz {name}: {count[0]} executions in {took:.1f} s, "
                f"{1 if crashed else 0} crash(es)"
            )
    return count[0]
