"""Summaries of a built unikernel: after `convert`, and for `inspect IMAGE.uni`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dock2uni.inspect_report import human_size
from dock2uni.jsonout import LEGACY_KEYS, document
from dock2uni.link import LinkResult
from dock2uni.support import load_support_table


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


def _linked(meta: Mapping[str, Any]) -> str:
    """What the image's syscall table holds (docs/per-image-link.md)."""
    names = meta.get("syscalls")
    if names is None:
        return "every handler of these families"
    return f"{len(names)} linked, the ones the program can reach"


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
        ("Ports", ", ".join(meta.get("exposed_ports") or []) or "-"),
        ("Volumes", ", ".join(meta.get("volumes") or []) or "-"),
        ("Families", ", ".join(meta.get("families", [])) or "-"),
        ("Syscalls", _linked(meta)),
        ("Kernel", human_size(int(sizes.get("kernel", 0)))),
        (
            "Rootfs",
            f"{human_size(int(sizes.get('rootfs', 0)))}, {rootfs.get('entries', '?')} entries"
            f" ({rootfs.get('policy', '?')} policy, "
            f"{'embedded' if rootfs.get('embedded', True) else 'separate initrd'})",
        ),
        ("Compression", _compression(meta)),
        ("Memory", human_size(int(meta.get("recommended_mem", 0))) + " recommended"),
    ]
    lines = [f"{k + ':':<13}{v}" for k, v in rows]
    for rule, d in sorted(rootfs.get("dropped", {}).items()):
        lines.append(f"  dropped {rule}: {d['entries']} entries, {human_size(d['bytes'])}")
    lines += report_lines(meta)
    missing = meta.get("missing_syscalls") or []
    if missing:
        # Failures an audit note says the callers expect (a fallback; refused in a
        # container too) are listed apart: they are not a risk (pipeline.warn_missing).
        notes = load_support_table().audit_notes
        risky = [n for n in missing if n not in notes]
        expected = [n for n in missing if n in notes]
        text = ", ".join(risky) if risky else "none unexpected"
        if expected:
            text += "; failing as their callers expect: " + ", ".join(expected)
        lines.append("Missing syscalls: " + text)
    return "\n".join(lines) + "\n"


def _compression(meta: Mapping[str, Any]) -> str:
    """Stored vs. uncompressed rootfs bytes (docs/rootfs-compression.md)."""
    sizes = meta.get("sizes", {})
    if not meta.get("rootfs", {}).get("compressed"):
        return "none (files stored raw)"
    stored, raw = int(sizes.get("rootfs", 0)), int(sizes.get("rootfs_uncompressed", 0))
    packed = int(sizes.get("rootfs_packed_bytes", 0))
    return (
        f"LZ4, {human_size(stored)} stored for {human_size(raw)} uncompressed "
        f"({human_size(packed)} of files decoded on first use)"
    )


SUGGEST_BELOW = 0.5  # suggest --rootfs closure when it would be under half the rootfs
SHOWN_DIRECTORIES = 5


def _counts(d: Mapping[str, int]) -> str:
    return f"{d.get('entries', 0)} entries, {human_size(int(d.get('bytes', 0)))}"


def report_lines(meta: Mapping[str, Any]) -> list[str]:
    """The size breakdown, what was kept and dropped where, and the closure suggestion."""
    lines: list[str] = []
    parts = meta.get("sizes", {}).get("breakdown")
    if parts:
        lines.append(
            "Sizes:      "
            + ", ".join(f"{k.replace('_', ' ')} {human_size(int(v))}" for k, v in parts.items())
        )
    rootfs = meta.get("rootfs", {})
    if rootfs.get("kept_by_reason"):
        lines.append("Kept by reason:")
        lines += [f"  {k}: {_counts(d)}" for k, d in rootfs["kept_by_reason"].items()]
    for key, title in (("kept_by_directory", "Kept"), ("dropped_by_directory", "Dropped")):
        dirs = list(rootfs.get(key, {}).items())
        if dirs:
            lines.append(f"{title} by directory (largest {min(len(dirs), SHOWN_DIRECTORIES)}):")
            lines += [f"  {k}: {_counts(d)}" for k, d in dirs[:SHOWN_DIRECTORIES]]
    lines += [f"Note: {n}" for n in rootfs.get("notes", [])]
    slim = meta.get("slim")
    if isinstance(slim, dict):  # convert --slim (docs/slim.md)
        lines.append(
            f"Slim:       verified: same outputs as the full image for "
            f"{'; '.join(slim.get('workloads', []))} ({slim.get('traced_paths', 0)} paths traced)"
        )
    estimate = rootfs.get("closure_estimate")
    total = int(meta.get("sizes", {}).get("rootfs", 0))
    if estimate and total and estimate["bytes"] < SUGGEST_BELOW * total:
        lines.append(
            f"Slimmer:    --rootfs closure would give a {human_size(estimate['bytes'])} rootfs "
            f"({100 * estimate['bytes'] // total}% of this one, {estimate['entries']} entries), "
            "less in the image since its files are compressed; see docs/slim.md"
        )
    return lines


def explain_lines(meta: Mapping[str, Any]) -> str:
    """Every kept path with its reason (--explain); only the closure policy records them."""
    kept = meta.get("rootfs", {}).get("kept")
    if not kept:
        return (
            f"(the {meta.get('rootfs', {}).get('policy', '?')} policy keeps every file no rule "
            "drops; --rootfs closure records a reason per file)\n"
        )
    return "".join(f"{path}  {why}\n" for path, why in kept.items())


def convert_text(linked: LinkResult, *, explain: bool = False) -> str:
    """Summary printed after a successful `convert` (with every kept path if ``explain``)."""
    head = f"wrote {linked.output}"
    if linked.initrd:
        head += f" and {linked.initrd}"
    text = head + "\n" + metadata_text(linked.metadata)
    return text + (explain_lines(linked.metadata) if explain else "")
