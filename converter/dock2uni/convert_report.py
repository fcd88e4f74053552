"""Summaries of a built unikernel: after `convert`, and for `inspect IMAGE.uni`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dock2uni.inspect_report import human_size
from dock2uni.jsonout import LEGACY_KEYS, document
from dock2uni.link import LinkResult


def convert_json(linked: LinkResult) -> dict[str, Any]:
    """What `convert --format json` prints: the output paths and the image's metadata."""
    meta = {k: v for k, v in linked.metadata.items() if k not in LEGACY_KEYS}
    return document(
        {
            "output": str(linked.output),
            "initrd": str(linked.initrd) if linked.initrd else None,
            "metadata": meta,
        }
    )


def metadata_json(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What `inspect IMAGE.uni --format json` prints: the metadata the file carries."""
    return document(meta)


def metadata_text(meta: Mapping[str, Any]) -> str:
    """A .uni file's metadata laid out for a terminal."""
    sizes = meta.get("sizes", {})
    rootfs = meta.get("rootfs", {})
    rows = [
        ("Source", meta.get("source", "-")),
        ("Digest", meta.get("digest", "-")),
        ("Platform", meta.get("platform", "-")),
        ("Command", " ".join(meta.get("argv", []))),
        ("Executable", meta.get("exec_path", "-")),
        ("Workdir", meta.get("workdir", "-")),
        ("Stop signal", meta.get("stop_signal") or "-"),
        ("Families", ", ".join(meta.get("families", [])) or "-"),
        ("Kernel", human_size(int(sizes.get("kernel", 0)))),
        (
            "Rootfs",
            f"{human_size(int(sizes.get('rootfs', 0)))}, {rootfs.get('entries', '?')} entries"
            f" ({rootfs.get('policy', '?')} policy, "
            f"{'embedded' if rootfs.get('embedded', True) else 'separate initrd'})",
        ),
        ("Memory", human_size(int(meta.get("recommended_mem", 0))) + " recommended"),
    ]
    lines = [f"{k + ':':<13}{v}" for k, v in rows]
    for rule, d in sorted(rootfs.get("dropped", {}).items()):
        lines.append(f"  dropped {rule}: {d['entries']} entries, {human_size(d['bytes'])}")
    missing = meta.get("missing_syscalls") or []
    if missing:
        lines.append("Missing syscalls: " + ", ".join(missing))
    return "\n".join(lines) + "\n"


def convert_text(linked: LinkResult) -> str:
    """Summary printed after a successful `convert`."""
    head = f"wrote {linked.output}"
    if linked.initrd:
        head += f" and {linked.initrd}"
    return head + "\n" + metadata_text(linked.metadata)
