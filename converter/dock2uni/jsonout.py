"""The envelope of every JSON document dock2uni prints (inspect, convert, audit,
support-matrix): one ``schema_version`` key, first, and ``volatile``, the keys whose
values differ between two runs on the same input (timings), so a script that compares
outputs knows what to ignore (docs/json-output.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

SCHEMA_VERSION = 1  # bumped only when a key changes meaning or goes away
LEGACY_KEYS = ("schemaVersion",)  # what older .uni metadata called it


def document(
    body: Mapping[str, Any], *, volatile: Sequence[str] = (), version: int = SCHEMA_VERSION
) -> dict[str, Any]:
    """``body`` with ``schema_version`` first and ``volatile`` last; any version key of
    its own (a .uni file's ``schemaVersion``) is dropped, so there is exactly one."""
    doc: dict[str, Any] = {"schema_version": version}
    doc.update((k, v) for k, v in body.items() if k not in LEGACY_KEYS and k != "schema_version")
    doc["volatile"] = list(volatile)
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    """Indented JSON and a final newline, as every command prints it."""
    return json.dumps(doc, indent=2) + "\n"
