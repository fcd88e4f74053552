"""``python -m bench.run [NAME...] [--repeat N]``: run benchmarks, write JSON, print markdown.

Each benchmark writes build/bench/results-<name>.json (machine, conditions,
tables, goals and every raw sample) and its markdown tables go to stdout and to
build/bench/results-<name>.md. Without names, all of them run, in the order below.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from types import ModuleType

from bench import machine
from bench.config import Config
from bench.paths import BENCH

BENCHMARKS = (
    "inspect_time",
    "boot_time",
    "image_size",
    "syscall_cost",
    "thread_cost",
    "process_cost",
    "audit_time",
    "audit_accuracy",
    "net_serve",
    "convert_speed",
    "runtime_start",
)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"bench.{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--repeat", type=int, default=10, help="repetitions per measurement")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    config = Config(repeat=args.repeat)
    host = machine.describe()
    print(f"## Machine\n\n{machine.markdown(host)}")
    for name in args.names or BENCHMARKS:
        started = time.monotonic()
        print(f"bench: running {name}", file=sys.stderr, flush=True)
        result = _module(name).run(config)
        result.conditions["wall time of this benchmark"] = f"{time.monotonic() - started:.0f} s"
        out = result.write_json(BENCH, host)
        text = result.markdown()
        out.with_suffix(".md").write_text(f"## Machine\n\n{machine.markdown(host)}\n{text}")
        print(text, flush=True)
        print(f"bench: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
