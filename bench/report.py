"""A benchmark's result: markdown tables for people, a JSON file with every raw sample."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Table:
    """One markdown table with the notes that explain it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"#### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"* {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
        }


@dataclass
class Result:
    """What one benchmark produced: tables, goals, the conditions and the raw data."""

    name: str
    tables: list[Table] = field(default_factory=list)
    goals: list[tuple[str, str]] = field(default_factory=list)  # (goal, "met: ..."/"not met: ...")
    conditions: dict[str, Any] = field(default_factory=dict)  # accelerator, QEMU, repeat...
    raw: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        parts = [f"### {self.name}", ""]
        if self.conditions:
            parts.append(
                "Conditions: " + "; ".join(f"{k}: {v}" for k, v in self.conditions.items()) + "\n"
            )
        parts += [t.markdown() for t in self.tables]
        if self.goals:
            parts.append("Goals:\n\n" + "".join(f"* {g}: **{v}**\n" for g, v in self.goals))
        return "\n".join(parts)

    def write_json(self, directory: Path, machine: dict[str, Any]) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        out = directory / f"results-{self.name}.json"
        doc = {
            "benchmark": self.name,
            "machine": machine,
            "conditions": self.conditions,
            "goals": [{"goal": g, "verdict": v} for g, v in self.goals],
            "tables": [t.to_json() for t in self.tables],
            "raw": self.raw,
        }
        out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
        return out
