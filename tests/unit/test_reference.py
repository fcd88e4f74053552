"""Image reference normalisation and rejection of bad references (catalogue items 1-3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dock2uni.acquire import AcquireOptions, acquire
from dock2uni.context import Context
from dock2uni.errors import InvalidReferenceError
from dock2uni.oci.reference import parse_reference
from dock2uni.oci.sources import parse_source

HEX = "0123456789abcdef" * 4  # 64 lower-case hex digits


@pytest.mark.parametrize(
    ("text", "expected", "api_host"),
    [
        ("alpine", "docker.io/library/alpine:latest", "registry-1.docker.io"),
        ("library/alpine", "docker.io/library/alpine:latest", "registry-1.docker.io"),
        ("docker.io/alpine", "docker.io/library/alpine:latest", "registry-1.docker.io"),
        ("index.docker.io/alpine:3", "docker.io/library/alpine:3", "registry-1.docker.io"),
        ("user/app:v1.2_x-y", "docker.io/user/app:v1.2_x-y", "registry-1.docker.io"),
        ("localhost/x", "localhost/x:latest", "localhost"),
        ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000"),
        ("LOCALHOST/x", "LOCALHOST/x:latest", "LOCALHOST"),
        ("Registry/app", "Registry/app:latest", "Registry"),
        ("example.com/a/b/c:1", "example.com/a/b/c:1", "example.com"),
        ("[::1]:5000/app:1", "[::1]:5000/app:1", "[::1]:5000"),
        ("localhost:5000", "docker.io/library/localhost:5000", "registry-1.docker.io"),
        ("a__b/c.d-e--f", "docker.io/a__b/c.d-e--f:latest", "registry-1.docker.io"),
        (f"app@sha256:{HEX}", f"docker.io/library/app@sha256:{HEX}", "registry-1.docker.io"),
        (f"r.io/app:1@sha256:{HEX}", f"r.io/app:1@sha256:{HEX}", "r.io"),
        (
            f"app@sha512:{HEX * 2}",
            f"docker.io/library/app@sha512:{HEX * 2}",
            "registry-1.docker.io",
        ),
        ("app:" + "t" * 128, "docker.io/library/app:" + "t" * 128, "registry-1.docker.io"),
    ],
)
def test_normalisation(text: str, expected: str, api_host: str) -> None:
    """References normalise like distribution/reference (docker.io/library/, :latest)."""
    ref = parse_reference(text)
    assert str(ref) == expected
    assert ref.api_host == api_host


def test_digest_wins_over_tag() -> None:
    """name:tag@digest keeps both, but the manifest is fetched by digest."""
    ref = parse_reference(f"r.io/app:1@sha256:{HEX}")
    assert ref.tag == "1"
    assert ref.manifest_ref == f"sha256:{HEX}"


BAD_REFERENCES = [
    "",  # empty
    " alpine",  # leading whitespace
    "alp ine",  # inner whitespace
    "Alpine",  # upper-case repository (Docker Hub)
    "r.io/Team/app",  # upper-case path component
    "app:" + "t" * 129,  # tag of 129 characters
    "app:",  # empty tag
    "app:-x",  # tag may not start with '-'
    "app:caf\u00e9",  # non-ASCII tag (Go's \w is ASCII)
    "app@",  # empty digest
    f"app@sha256:{HEX.upper()}",  # upper-case hex
    "app@sha256:../../../etc/passwd",  # path in a digest
    f"app@md5:{HEX[:32]}",  # unsupported algorithm
    f"app@sha256:{HEX[:63]}",  # one hex digit short
    f"app@sha512:{HEX}",  # sha512 needs 128 hex digits
    f"app@{HEX}",  # no algorithm
    "localhost:5000/",  # no repository
    "r.io//app",  # empty path component
    "r.io/app/",  # trailing slash
    "-host.io/app",  # host starting with '-'
    "http://r.io/app",  # a URL, not a reference
    "app..x",  # consecutive separators
    "r.io/" + "a" * 260,  # name longer than 255 characters
]


@pytest.mark.parametrize("text", BAD_REFERENCES)
def test_bad_reference(
    text: str, ctx: Context, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each malformed reference is InvalidReferenceError (exit 9) before any I/O."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert type(info.value) is InvalidReferenceError and info.value.exit_code == 9
    if text:
        # Through the whole acquire stage: fails on the reference, writes nothing.
        with pytest.raises(InvalidReferenceError) as info:
            acquire(parse_source(f"docker://{text}"), AcquireOptions(), ctx)
        assert type(info.value) is InvalidReferenceError and info.value.exit_code == 9
    assert list(cache_dir.iterdir()) == []
    assert list((tmp_path / "cwd").iterdir()) == []


@pytest.mark.parametrize("text", ["", "docker://"])
def test_empty_source(text: str) -> None:
    """An empty SOURCE or a bare docker:// is InvalidReferenceError."""
    with pytest.raises(InvalidReferenceError) as info:
        parse_source(text)
    assert info.value.exit_code == 9


def test_message_is_bounded() -> None:
    """A huge bad reference is not echoed whole into the error message."""
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference("A" * 100_000)
    assert len(info.value.message) < 500
