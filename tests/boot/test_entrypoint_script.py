"""An entrypoint script in the style of the official images, as `docker run` runs it.

The entrypoint-script fixture (fixtures/entrypoint.py) is Debian with a
/docker-entrypoint.sh that runs /docker-entrypoint.d/*.sh, then ``exec "$@"``. Each case
converts the image (with no flags, or with the Entrypoint/Cmd a user would give), boots
it, and compares stdout and the exit code with `docker run` of the same image on a real
(private) dockerd. The exec-only cases need execve alone: a #! script, dash, env and
coreutils, all dynamic, replace one another. Running the entrypoint's scripts needs fork
(command substitution): ``test_full_entrypoint_script_needs_fork`` passes once processes
can be created (issue 10).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures import dockersave
from fixtures.build import fixture_layout

from dock2uni.acquire import AcquireOptions
from dock2uni.context import Context
from dock2uni.pipeline import convert_image
from dock2uni.runspec import Overrides
from dock2uni.support import load_support_table
from tests.boot.conftest import Booted
from tests.conftest import need
from tests.infra.dockerd import Dockerd, private_dockerd, unavailable_reason

pytestmark = pytest.mark.boot
TAG = "entrypoint-script:latest"


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    """A private dockerd with the fixture loaded (skips, or fails under DOCK2UNI_REQUIRE_DOCKER)."""
    reason = unavailable_reason()
    if reason:
        need("docker", reason)
    members = dockersave.docker25_members(fixture_layout("entrypoint-script"), "latest", TAG)
    archive = dockersave.write_tar(tmp_path_factory.mktemp("save") / "image.tar", members)
    with private_dockerd() as daemon:
        daemon.docker("load", "-i", str(archive))
        yield daemon


def docker_run(dockerd: Dockerd, entrypoint: tuple[str, ...], cmd: tuple[str, ...]) -> str:
    args = ["run", "--rm", "--network", "none"]
    if entrypoint:
        args += ["--entrypoint", entrypoint[0]]
    args += [TAG, *entrypoint[1:], *cmd]
    return dockerd.docker(*args).stdout


def converted_run(
    boot_ctx: Context,
    boot: object,
    tmp_path: Path,
    entrypoint: tuple[str, ...] = (),
    cmd: tuple[str, ...] = (),
) -> Booted:
    uni = tmp_path / "image.uni"
    overrides = Overrides(entrypoint=entrypoint or None, cmd=cmd or None)
    source = f"oci:{fixture_layout('entrypoint-script')}:latest"
    convert_image(source, uni, AcquireOptions(), boot_ctx, overrides=overrides)
    return boot(uni)  # type: ignore[operator,no-any-return]


EXEC_ONLY = {
    # a #! script (the kernel starts dash) that execs env, which execs printenv
    "script-exec-env": (("/usr/local/bin/exec-only.sh",), ("printenv", "STAGE", "GREETING")),
    # dash -c with exec: dynamic dash replaced by dynamic coreutils
    "sh-c-exec": (("/bin/sh", "-c"), ("exec /bin/echo dash replaced by echo, pid $$",)),
    # a chain: dash -> env -> dash -> printenv, each an exec
    "sh-exec-chain": (("/bin/sh", "-c"), ('exec env A=1 /bin/sh -c "exec printenv A GREETING"',)),
}


@pytest.mark.parametrize("case", sorted(EXEC_ONLY))
def test_exec_only_entrypoint_like_docker_run(
    case: str, dockerd: Dockerd, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """Programs replacing one another with execve print what they print under docker run."""
    entrypoint, cmd = EXEC_ONLY[case]
    want = docker_run(dockerd, entrypoint, cmd)
    got = converted_run(boot_ctx, boot, tmp_path, entrypoint, cmd)
    assert got.result.status == "exit" and got.result.exit_code == 0, got.describe()
    assert got.stdout.decode() == want, got.describe()


def test_full_entrypoint_script_needs_fork(
    dockerd: Dockerd, boot_ctx: Context, boot: object, tmp_path: Path
) -> None:
    """The image as it is (no flags): the entrypoint runs /docker-entrypoint.d/*.sh (command
    substitution, external commands: fork), then exec "$@" runs the Cmd as pid 1."""
    want = docker_run(dockerd, (), ())
    assert "command: pid 1, GREETING=hello, app.conf: greeting=hello" in want
    got = converted_run(boot_ctx, boot, tmp_path)
    assert got.result.status == "exit" and got.result.exit_code == 0, got.describe()
    assert got.stdout.decode() == want, got.describe()


def test_entrypoint_loop_links_every_family(boot_ctx: Context, tmp_path: Path) -> None:
    """The scripts of /docker-entrypoint.d are found at run time ("$f"): the programs they
    run cannot be analysed, so every family is linked and the plan says why; with the
    exec-only entrypoint every command is named and the analysed families suffice."""
    source = f"oci:{fixture_layout('entrypoint-script')}:latest"
    _, plan, _ = convert_image(source, tmp_path / "a.uni", AcquireOptions(), boot_ctx)
    assert plan.families == load_support_table().families
    assert "named only at run time" in plan.families_reason, plan.families_reason
    overrides = Overrides(entrypoint=("/bin/sh", "-c"), cmd=("exec /bin/echo hi",))
    _, plan, _ = convert_image(
        source, tmp_path / "b.uni", AcquireOptions(), boot_ctx, overrides=overrides
    )
    # dash's own execs are the commands it names (echo, which cannot exec): no exec reason
    assert "execute other programs" not in plan.families_reason, plan.families_reason
    assert "run time" not in plan.families_reason, plan.families_reason
