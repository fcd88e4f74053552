"""Image sizes under the default and the closure rootfs policy, for every fixture (issue 14).

Each fixture is converted twice with ``dock2uni convert`` (``--rootfs default`` and
``--rootfs closure``, the fixture's own command; python with ``-c``, issue 14's goal
case) and the sizes are read from the .uni files and their metadata (``sizes``,
``sizes.breakdown``). Reproduce: ``.venv/bin/python -m bench.run image_size``.
"""

from __future__ import annotations

import json

from bench import unikernel
from bench.paths import fixture_layout
from bench.report import Result, Table
from bench.stats import fmt_bytes

FIXTURES = (
    "hello-static-musl", "hello-static-glibc", "hello-dynamic-glibc", "busybox", "coreutils",
    "coreutils-trixie", "python", "nginx", "redis", "lighttpd", "memcached", "curl", "openssl",
    "perl", "sqlite", "jq", "rsync", "ripgrep", "ninja", "glib", "go-hello",
)  # fmt: skip
# The command line the goal names: "python3 -c" (the fixture's own Cmd is the bare REPL).
CMD = {"python": ["python3", "-c", "print('hello')"]}
GOALS = {"python": ("python3 -c image at most 20 MB", 20_000_000),
         "nginx": ("nginx image at most 10 MB", 10_000_000)}  # fmt: skip


def _convert(fixture: str, policy: str) -> tuple[int, dict[str, int], int]:
    """(.uni file bytes, sizes.breakdown, rootfs entries) of one conversion."""
    extra = ["--rootfs", policy]
    if fixture in CMD:
        extra += ["--cmd", json.dumps(CMD[fixture])]
    uni = unikernel.convert(f"oci:{fixture_layout(fixture)}:latest", f"{policy}-{fixture}", *extra)
    meta = unikernel.inspect_json(uni)
    return uni.stat().st_size, meta["sizes"]["breakdown"], meta["rootfs"]["entries"]


def policies_table(result: Result) -> Table:
    table = Table(
        title="Default vs closure rootfs policy (.uni file size; closure split by kind of file)",
        columns=["image", "default", "closure", "closure / default", "closure entries",
                 "kernel", "binaries", "libraries", "other files"],
    )  # fmt: skip
    raw: dict[str, object] = {}
    for fixture in FIXTURES:
        full, _, full_entries = _convert(fixture, "default")
        slim, parts, entries = _convert(fixture, "closure")
        raw[fixture] = {"default": full, "default_entries": full_entries, "closure": slim,
                        "closure_entries": entries, "closure_breakdown": parts}  # fmt: skip
        name = fixture + (" (`" + " ".join(CMD[fixture]) + "`)" if fixture in CMD else "")
        table.rows.append(
            [name, fmt_bytes(full), fmt_bytes(slim), f"{slim / full:.0%}", str(entries),
             fmt_bytes(parts["kernel"]), fmt_bytes(parts["binaries"]),
             fmt_bytes(parts["libraries"]), fmt_bytes(parts["other"])]
        )  # fmt: skip
        if fixture in GOALS:
            goal, limit = GOALS[fixture]
            verdict = "met" if slim <= limit else "not met"
            result.goals.append((goal, f"{verdict} ({slim / 1e6:.1f} MB with --rootfs closure)"))
    result.raw["policies"] = raw
    table.notes.append(
        "Sizes are the .uni files (kernel + embedded rootfs + metadata). The closure policy "
        "keeps what the command can reach (docs/slim.md); gconv modules (8 MB) stay whenever "
        "a kept library calls iconv_open (libstdc++ in redis, libunistring under curl)."
    )
    return table
