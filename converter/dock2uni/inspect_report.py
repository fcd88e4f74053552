"""`dock2uni inspect SOURCE`: the image summary as stable JSON or as text for people.

The JSON keys are a contract for scripts (docs/inspect.md): new keys may be
added, existing ones never change meaning.
"""

from __future__ import annotations

from typing import Any

from dock2uni.jsonout import document
from dock2uni.pipeline import Inspected

SCHEMA_VERSION = 1


def inspect_json(result: Inspected) -> dict[str, Any]:
    """The machine-readable summary of an inspected image."""
    image = result.unpacked.image
    spec = result.spec
    files, total = result.unpacked.tree.stats()
    return document(
        {
            "source": image.source,
            "transport": image.transport,
            "reference": image.reference,
            "digest": image.manifest_digest,
            "index_digest": image.index_digest,
            "config_digest": image.config_digest,
            "media_type": image.manifest_media_type,
            "platform": str(image.platform),
            "argv": list(spec.argv),
            "entrypoint": list(spec.argv[: spec.entrypoint_argc]),
            "cmd": list(spec.argv[spec.entrypoint_argc :]),
            "exec": {
                "path": spec.exec_path,
                "realpath": spec.exec_realpath,
                "kind": spec.exec_kind,
                "interpreter": list(spec.interpreter),
                "shell_form": spec.shell_form,
            },
            "env": list(spec.env),
            "workdir": spec.workdir,
            "user": {
                "text": spec.user.text,
                "uid": spec.user.uid,
                "gid": spec.user.gid,
                "name": spec.user.name,
            },
            "exposed_ports": list(spec.exposed_ports),
            "volumes": list(spec.volumes),
            "stop_signal": spec.stop_signal,
            "layers": [
                {
                    "digest": layer.digest,
                    "diff_id": layer.diff_id,
                    "media_type": layer.media_type,
                    "compression": layer.compression,
                    "size": layer.compressed_size,
                    "uncompressed_size": layer.uncompressed_size,
                    "entries": layer.entries,
                }
                for layer in result.unpacked.layers
            ],
            "files": files,
            "total_size": total,
            "warnings": list(spec.warnings),
        },
        version=SCHEMA_VERSION,
    )


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def inspect_text(result: Inspected) -> str:
    """The same summary laid out for a terminal."""
    doc = inspect_json(result)
    ex = doc["exec"]
    kind = ex["kind"]
    if kind == "script":
        kind = f"script, interpreter {' '.join(ex['interpreter'])}"
    user = doc["user"]
    user_text = f"{user['uid']}:{user['gid']}" + (f" ({user['name']})" if user["name"] else "")
    rows = [
        ("Source", doc["source"]),
        ("Reference", doc["reference"] or "-"),
        ("Digest", doc["digest"]),
        ("Platform", doc["platform"]),
        ("Command", " ".join(_quote(a) for a in doc["argv"])),
        ("Executable", f"{ex['path'] or 'NOT FOUND'} ({kind})"),
        ("Workdir", doc["workdir"]),
        ("User", user_text),
        ("Ports", ", ".join(doc["exposed_ports"]) or "-"),
        ("Volumes", ", ".join(doc["volumes"]) or "-"),
        ("Stop signal", doc["stop_signal"] or "-"),
        ("Files", f"{doc['files']} entries, {human_size(doc['total_size'])}"),
    ]
    lines = [f"{k + ':':<13}{v}" for k, v in rows]
    lines.append("Env:")
    lines.extend(f"  {e}" for e in doc["env"])
    lines.append(f"Layers ({len(doc['layers'])}):")
    for layer in doc["layers"]:
        lines.append(
            f"  {layer['digest'][:19]}  {human_size(layer['size']):>10} {layer['compression']:<4}"
            f" -> {human_size(layer['uncompressed_size']):>10}  {layer['entries']} entries"
        )
    for w in doc["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines) + "\n"


def _quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "-_./:=@%+," for c in arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"
