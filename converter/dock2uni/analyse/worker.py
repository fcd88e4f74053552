"""A worker process that builds code summaries: ``python -m dock2uni.analyse.worker``.

Reads a JSON list of jobs (host file, facts, layout) on stdin and writes one JSON line
per job (the summary, or an error) on stdout. A subprocess rather than multiprocessing,
so the parent's ``__main__`` (the CLI, a test runner, a script) is never re-imported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dock2uni.analyse.disasm import summarise
from dock2uni.elf.facts import ElfFacts, ElfLayout


def run_job(job: list[Any]) -> dict[str, Any]:
    file, facts, layout = job
    summary = summarise(Path(file), ElfFacts.from_json(facts), ElfLayout.from_json(layout))
    return summary.to_json()


def main() -> None:
    jobs = json.loads(sys.stdin.read())
    for job in jobs:
        try:
            msg: dict[str, Any] = {"ok": run_job(job)}
        except Exception as exc:
            msg = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
