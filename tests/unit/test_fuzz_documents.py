"""Fuzz: index, manifest and config JSON documents, and the run spec read from a config."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from dock2uni.context import Context, Limits
from dock2uni.errors import Dock2UniError
from dock2uni.model import DEFAULT_PLATFORM, Descriptor
from dock2uni.oci.documents import (
    document_kind,
    load_json,
    parse_config,
    parse_layers_and_config,
    resolve_image,
    root_from_bytes,
    select_manifest,
)
from dock2uni.runspec import run_spec
from tests.fuzzing import fuzz, json_mutants
from tests.imagetree import HostImage, unpacked_from

pytestmark = pytest.mark.fuzz

REPO = Path(__file__).resolve().parents[2]
OCI = REPO / "build" / "fixtures" / "oci"
CTX = Context(cache_dir=Path("/nonexistent/dock2uni-fuzz"), limits=Limits(), quiet=True)


def seeds() -> list[bytes]:
    """Every index, manifest and config of the fixture layouts (real documents)."""
    out = []
    for layout in sorted(OCI.iterdir()):
        out.append((layout / "index.json").read_bytes())
        for blob in sorted((layout / "blobs" / "sha256").iterdir()):
            if blob.stat().st_size < 64 << 10 and blob.read_bytes()[:1] == b"{":
                out.append(blob.read_bytes())
    assert len(out) > 10
    return out


def parse_any(data: bytes) -> None:
    """What an image source does with a document it got: every parser that may see it."""
    try:
        doc = load_json(data, what="doc", ctx=CTX)
    finally:
        parse_config_too(data)
    kind = document_kind(doc, hint=None, what="doc")
    if kind == "index":
        select_manifest(doc, wanted=DEFAULT_PLATFORM, what="index", ctx=CTX)
    else:
        parse_layers_and_config(doc, what="manifest", ctx=CTX)


def parse_config_too(data: bytes) -> None:
    with contextlib.suppress(Dock2UniError):
        parse_config(data, n_layers=1, wanted=DEFAULT_PLATFORM, what="config", ctx=CTX)


class _Docs:
    """A content source answering every request with the next document (no digests:
    the fuzzer reaches the parsers behind the digest check)."""

    def __init__(self, docs: list[bytes]) -> None:
        self.docs = docs

    def read_document(self, desc: Descriptor, *, what: str) -> bytes:
        return self.docs.pop(0) if self.docs else b"{}"

    def layer_opener(self, desc: Descriptor) -> Any:
        return lambda: None


def test_fuzz_documents(capsys: pytest.CaptureFixture[str]) -> None:
    runs = fuzz("documents", json_mutants(seeds()), parse_any, capsys=capsys)
    assert runs > 0


def test_fuzz_resolve_image(capsys: pytest.CaptureFixture[str]) -> None:
    """index -> manifest -> config as resolve_image walks them, each one mutated."""
    from hypothesis import strategies as st

    docs = json_mutants(seeds())

    def walk(chain: list[bytes]) -> None:
        root = root_from_bytes(chain[0], media_type=None, what="root")
        resolve_image(
            _Docs(chain[1:]),  # type: ignore[arg-type]
            root,
            wanted=DEFAULT_PLATFORM,
            source_name="fuzz",
            transport="oci",
            reference=None,
            ctx=CTX,
        )

    fuzz("resolve_image", st.lists(docs, min_size=1, max_size=4), walk, capsys=capsys)


def test_fuzz_run_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config's Entrypoint, Cmd, Env, User, WorkingDir, ExposedPorts, StopSignal."""
    img = HostImage(tmp_path / "store")
    img.add_bytes("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:7:8::/home:/bin/sh\n")
    img.add_bytes("/etc/group", b"root:x:0:\napp:x:8:\n")
    img.add_bytes("/bin/app", b"\x7fELF" + b"\0" * 60)
    config = {
        "Entrypoint": ["/bin/app"],
        "Cmd": ["-v"],
        "Env": ["PATH=/bin", "A=1"],
        "User": "app:app",
        "WorkingDir": "/srv",
        "ExposedPorts": {"80/tcp": {}},
        "StopSignal": "SIGTERM",
    }
    config_seeds = [json.dumps(config).encode(), json.dumps({**config, "User": "7"}).encode()]

    def spec(data: bytes) -> None:
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            return  # a byte-mutated seed: load_json's job, fuzzed above
        if isinstance(doc, dict):
            run_spec(unpacked_from(img, doc))

    fuzz("run_spec", json_mutants(config_seeds), spec, capsys=capsys)
