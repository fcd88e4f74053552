"""Config -> run spec: Docker's Entrypoint/Cmd/Env/User/WorkingDir rules inside the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dock2uni.errors import InvalidImageError
from dock2uni.fs.tree import DirNode, FileNode, SymlinkNode
from dock2uni.runspec import Overrides, parse_shebang, run_spec
from dock2uni.unpack import UnpackedImage
from tests.imagetree import HostImage, unpacked_from

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:102:nginx:/var/www:/sbin/nologin\n"
GROUP = "root:x:0:\nwww:x:33:\nnginx:x:102:\n"


def make_image(
    tmp_path: Path, config: dict[str, Any], files: dict[str, bytes | str]
) -> UnpackedImage:
    """An UnpackedImage holding ``files`` (str values are symlink targets)."""
    img = HostImage(tmp_path / "store")
    for path, value in files.items():
        parts = path.strip("/").split("/")
        node = img.tree.root
        for comp in parts[:-1]:
            child = node.children.setdefault(comp, DirNode())
            assert isinstance(child, DirNode)
            node = child
        if isinstance(value, str):
            node.children[parts[-1]] = SymlinkNode(target=value)
        else:
            digest = img.store.put_bytes(value)
            node.children[parts[-1]] = FileNode(mode=0o755, size=len(value), digest=digest)
    return unpacked_from(img, config)


ELF = b"\x7fELF" + b"\0" * 60
BASE = {"/etc/passwd": PASSWD.encode(), "/etc/group": GROUP.encode(), "/usr/bin/app": ELF}


def test_entrypoint_plus_cmd_and_path_lookup(tmp_path: Path) -> None:
    """argv = Entrypoint + Cmd; a bare argv[0] is found through PATH inside the image."""
    img = make_image(tmp_path, {"Entrypoint": ["app"], "Cmd": ["--port", "80"]}, BASE)
    spec = run_spec(img)
    assert spec.argv == ("app", "--port", "80")
    assert spec.entrypoint_argc == 1
    assert spec.exec_path == "/usr/bin/app" and spec.exec_kind == "elf"
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in spec.env


def test_entrypoint_override_drops_image_cmd(tmp_path: Path) -> None:
    """Like docker run --entrypoint, a new Entrypoint resets the image's Cmd."""
    img = make_image(tmp_path, {"Entrypoint": ["app"], "Cmd": ["x"]}, BASE)
    spec = run_spec(img, Overrides(entrypoint=("/usr/bin/app", "-v")))
    assert spec.argv == ("/usr/bin/app", "-v")
    spec = run_spec(img, Overrides(cmd=("y",)))
    assert spec.argv == ("app", "y")


def test_empty_entrypoint_resets_and_no_command_is_an_error(tmp_path: Path) -> None:
    """Entrypoint [""] means none; no command at all is a clear error."""
    img = make_image(tmp_path, {"Entrypoint": [""], "Cmd": ["/usr/bin/app"]}, BASE)
    assert run_spec(img).argv == ("/usr/bin/app",)
    with pytest.raises(InvalidImageError) as err:
        run_spec(make_image(tmp_path / "b", {"Entrypoint": None, "Cmd": None}, BASE))
    assert err.value.exit_code == 10


def test_shell_form_string_and_script_interpreter(tmp_path: Path) -> None:
    """A bare-string Cmd is shell form; a #! script reports its interpreter."""
    files = {**BASE, "/bin/sh": ELF, "/start.sh": b"#!/bin/sh -e\nexec app\n"}
    spec = run_spec(make_image(tmp_path, {"Cmd": "echo hi"}, files))
    assert spec.argv == ("/bin/sh", "-c", "echo hi") and spec.shell_form
    spec = run_spec(make_image(tmp_path / "b", {"Entrypoint": ["/start.sh"]}, files))
    assert spec.exec_kind == "script" and spec.interpreter == ("/bin/sh", "-e")
    assert parse_shebang(b"#!/usr/bin/env  python3 -u\n") == ("/usr/bin/env", "python3 -u")


def test_env_merge_overrides_and_bad_entries(tmp_path: Path) -> None:
    """Overrides replace same-named keys; entries without '=' are warned about."""
    img = make_image(tmp_path, {"Cmd": ["app"], "Env": ["A=1", "B=2", "JUNK"]}, BASE)
    spec = run_spec(img, Overrides(env=("B=3", "C=4")))
    env = spec.env_map()
    assert (env["A"], env["B"], env["C"]) == ("1", "3", "4")
    assert any("JUNK" in w for w in spec.warnings)


@pytest.mark.parametrize(
    ("user", "uid", "gid", "name"),
    [
        ("", 0, 0, "root"),
        ("nginx", 101, 102, "nginx"),
        ("1000", 1000, 0, None),
        ("1000:33", 1000, 33, None),
        ("nginx:www", 101, 33, "nginx"),
        ("101", 101, 102, "nginx"),
    ],
)
def test_user_forms(tmp_path: Path, user: str, uid: int, gid: int, name: str | None) -> None:
    """User as name, uid, name:group, uid:gid, resolved via the image's passwd/group."""
    spec = run_spec(make_image(tmp_path, {"Cmd": ["app"], "User": user}, BASE))
    assert (spec.user.uid, spec.user.gid, spec.user.name) == (uid, gid, name)


@pytest.mark.parametrize("user", ["ghost", "4294967296", "0:-1", "0:nogroup"])
def test_bad_users_are_rejected(tmp_path: Path, user: str) -> None:
    """Unknown names and out-of-range ids are errors (containerd CVE-2024-40635)."""
    with pytest.raises(InvalidImageError):
        run_spec(make_image(tmp_path, {"Cmd": ["app"], "User": user}, BASE))


def test_workdir_is_contained_and_missing_one_warned(tmp_path: Path) -> None:
    """A relative or escaping WorkingDir stays inside the image root."""
    spec = run_spec(make_image(tmp_path, {"Cmd": ["app"], "WorkingDir": "../../srv"}, BASE))
    assert spec.workdir == "/srv" and not spec.workdir_exists
    assert any("/srv" in w for w in spec.warnings)


def test_ports_and_stop_signal(tmp_path: Path) -> None:
    """ExposedPorts normalised to PORT/proto; bad ones warned; StopSignal kept."""
    config = {
        "Cmd": ["app"],
        "ExposedPorts": {"80/tcp": {}, "53/udp": {}, "8080": {}, "65536/tcp": {}, "1-2/tcp": {}},
        "StopSignal": "SIGRTMIN+3",
    }
    spec = run_spec(make_image(tmp_path, config, BASE))
    assert spec.exposed_ports == ("53/udp", "80/tcp", "8080/tcp")
    assert len([w for w in spec.warnings if "exposed port" in w]) == 2
    assert spec.stop_signal == "SIGRTMIN+3"


def test_missing_program_and_symlinked_program(tmp_path: Path) -> None:
    """argv[0] absent is reported as missing; a symlink is followed inside the image."""
    files = {**BASE, "/bin/app2": "/usr/bin/app"}
    spec = run_spec(make_image(tmp_path, {"Cmd": ["nothere"]}, files))
    assert spec.exec_kind == "missing" and spec.exec_path is None
    spec = run_spec(make_image(tmp_path / "b", {"Cmd": ["/bin/app2"]}, files))
    assert spec.exec_path == "/bin/app2" and spec.exec_realpath == "/usr/bin/app"


@pytest.mark.parametrize(
    ("user", "groups"),
    [
        ("", (0, 4)),  # root is listed in adm
        ("nginx", (102, 4, 33)),  # the primary gid first, then memberships in file order
        ("101", (102, 4, 33)),
        ("nginx:root", (0,)),  # an explicit group: no memberships (runc)
        ("1000", (0,)),  # not in passwd: no name to look up
    ],
)
def test_supplementary_groups_as_docker_sets_them(
    tmp_path: Path, user: str, groups: tuple[int, ...]
) -> None:
    group = "root:x:0:\nadm:x:4:root,nginx\nwww:x:33:nginx\nnginx:x:102:nginx\n"
    files = {**BASE, "/etc/group": group.encode()}
    spec = run_spec(make_image(tmp_path, {"Cmd": ["app"], "User": user}, files))
    assert spec.user.groups == groups
