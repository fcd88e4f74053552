"""Hostile image content (issue 15, findings 8, 9): a clean error and exit code, no traceback."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from fixtures.ocibuild import Image, Layer, write_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context, Limits
from dock2uni.errors import Dock2UniError, ElfError, InvalidImageError
from dock2uni.fs.tree import FileNode
from dock2uni.link import c_string
from dock2uni.pipeline import convert_image, inspect_image
from dock2uni.runspec import run_spec
from tests.unit.test_runspec import BASE, GROUP, PASSWD, make_image

REPO = Path(__file__).resolve().parents[2]
MUSL = REPO / "build" / "fixtures" / "oci" / "hello-static-musl"
HUGE = "9" * 5000  # over Python's 4,300-digit int() limit


@pytest.mark.parametrize("user", ["²", "١٢", HUGE, f"0:{HUGE}", "-1", "0:-5", "4294967295"])
def test_odd_numeric_users_are_invalid_images(tmp_path: Path, user: str) -> None:
    """Finding 8: "²" passes isdigit() and fails int(); 5,000 digits hit Python's limit."""
    with pytest.raises(InvalidImageError):
        run_spec(make_image(tmp_path, {"Cmd": ["app"], "User": user}, BASE))


@pytest.mark.parametrize(
    ("passwd", "group", "user"),
    [
        ("app:x:abc:0::/:/bin/sh\n", GROUP, "app"),
        ("app:x:0:abc::/:/bin/sh\n", GROUP, "app"),
        (f"app:x:{HUGE}:0::/:/bin/sh\n", GROUP, "app"),
        (f"app:x:0:{HUGE}::/:/bin/sh\n", GROUP, "app"),
        ("app:x:-1:0::/:/bin/sh\n", GROUP, "app"),  # finding 9: a negative uid
        ("app:x:99999999999:0::/:/bin/sh\n", GROUP, "app"),  # finding 9: a huge uid
        ("app:x:5:²::/:/bin/sh\n", GROUP, "5"),
        (PASSWD, "grp:x:zz:\n", "0:grp"),
        (PASSWD, f"grp:x:{HUGE}:\n", "0:grp"),
    ],
)
def test_bad_ids_in_the_images_passwd_or_group(
    tmp_path: Path, passwd: str, group: str, user: str
) -> None:
    """Non-numeric, negative, huge ids in the image's own files: exit 10 before any C."""
    files = {**BASE, "/etc/passwd": passwd.encode(), "/etc/group": group.encode()}
    with pytest.raises(InvalidImageError) as err:
        run_spec(make_image(tmp_path, {"Cmd": ["app"], "User": user}, files))
    assert err.value.exit_code == 10


def test_huge_exposed_ports_are_warned_about(tmp_path: Path) -> None:
    config = {"Cmd": ["app"], "ExposedPorts": {f"{HUGE}/tcp": {}, "80": {}}}
    spec = run_spec(make_image(tmp_path, config, BASE))
    assert spec.exposed_ports == ("80/tcp",)
    assert any("exposed port" in w for w in spec.warnings)


@pytest.mark.parametrize(
    "config",
    [
        {"Entrypoint": ["/usr/bin/app", "\ud800"]},
        {"Cmd": ["/usr/bin/app"], "Env": ["A=\ud800"]},
        {"Cmd": ["/usr/bin/app"], "WorkingDir": "/srv/\udfff"},
        {"Cmd": ["/usr/bin/app"], "User": "\ud800"},
    ],
)
def test_lone_surrogates_are_invalid_images(tmp_path: Path, config: dict[str, Any]) -> None:
    """Finding 8: JSON's "\\ud800" decodes to a str nothing can encode."""
    with pytest.raises(InvalidImageError):
        run_spec(make_image(tmp_path, config, BASE))


def test_c_string_keeps_surrogate_escaped_bytes() -> None:
    """Bytes a non-UTF-8 command line gives (U+DC80-U+DCFF) still reach the image."""
    assert c_string("a\udcffb") == '"a\\377b"'


# ------------------------------------------------------------------ convert


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    cache = tmp_path_factory.mktemp("musl-cache")
    ctx = Context(cache_dir=cache, limits=Limits(), quiet=True)
    inspected = inspect_image(f"oci:{MUSL}", AcquireOptions(), ctx)
    assert inspected.spec.exec_path is not None
    node = inspected.unpacked.tree.lookup(inspected.spec.exec_path)
    assert isinstance(node, FileNode)
    return inspected.unpacked.store.read(node.digest)


def convert(tmp_path: Path, hello: bytes, config: dict[str, Any], passwd: bytes) -> None:
    layer = Layer().dir("etc").file("etc/passwd", passwd).file("hello", hello, mode=0o755)
    layout = tmp_path / "layout"
    write_layout(layout, {"latest": Image(layers=[layer], config=config)})
    ctx = Context(cache_dir=tmp_path / "cache", limits=Limits(), quiet=True)
    convert_image(f"oci:{layout}:latest", tmp_path / "out.uni", AcquireOptions(), ctx)


def patched(program: bytes, offset: int, fmt: str, value: int) -> bytes:
    raw = bytearray(program)
    struct.pack_into(fmt, raw, offset, value)
    return bytes(raw)


@pytest.mark.parametrize(
    "kind", ["4-byte", "32-bit", "big-endian", "arm64", "core", "relocatable", "garbage"]
)
def test_convert_refuses_a_main_program_it_cannot_start(
    tmp_path: Path, program: bytes, kind: str
) -> None:
    """Finding 9: only a 64-bit little-endian x86-64 executable or shared object links."""
    hello = {
        "4-byte": b"\x7fELF",
        "32-bit": patched(program, 4, "<B", 1),
        "big-endian": patched(program, 5, "<B", 2),
        "arm64": patched(program, 18, "<H", 183),
        "core": patched(program, 16, "<H", 4),
        "relocatable": patched(program, 16, "<H", 1),
        "garbage": b"\x7fELF" + bytes(range(256)) * 4,
    }[kind]
    with pytest.raises(ElfError) as err:
        convert(tmp_path, hello, {"Entrypoint": ["/hello"]}, b"root:x:0:0::/:/bin/sh\n")
    assert err.value.exit_code == 13
    assert not (tmp_path / "out.uni").exists()


@pytest.mark.parametrize(
    ("config", "passwd"),
    [
        ({"Entrypoint": ["/hello"], "User": "app"}, b"app:x:99999999999:0::/:/bin/sh\n"),
        ({"Entrypoint": ["/hello"], "User": "app"}, b"app:x:-1:0::/:/bin/sh\n"),
        ({"Entrypoint": ["/hello", "\ud800"]}, b"root:x:0:0::/:/bin/sh\n"),
        ({"Entrypoint": ["/hello"], "Env": ["X=\ud800"]}, b"root:x:0:0::/:/bin/sh\n"),
        ({"Entrypoint": ["/hello"], "WorkingDir": "/\ud800"}, b"root:x:0:0::/:/bin/sh\n"),
    ],
)
def test_convert_stops_bad_users_and_text_before_the_c_compiler(
    tmp_path: Path, program: bytes, config: dict[str, Any], passwd: bytes
) -> None:
    """Finding 9: a huge or negative uid, or unencodable text, is exit 10, not 14 or 1."""
    with pytest.raises(Dock2UniError) as err:
        convert(tmp_path, program, config, passwd)
    assert type(err.value) is InvalidImageError and err.value.exit_code == 10
