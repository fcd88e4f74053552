"""`dock2uni volume ls|create|rm|inspect|prune`: dock2uni's volumes, as `docker volume` shows them.

The volumes live in the data directory (volstore.py); a volume a `dock2uni run` is
using cannot be removed ("volume is in use"), as with Docker.
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Annotated

import typer

from dock2uni.errors import RunError
from dock2uni.volstore import VolumeStore
from dock2uni.volumes import VOLUME_NAME_RE

volume_app = typer.Typer(
    name="volume",
    help="Manage the volumes `run -v NAME:DEST` uses (in $DOCK2UNI_DATA/volumes).",
    no_args_is_help=True,
    add_completion=False,
)


@volume_app.command("create")
def create(
    name: Annotated[
        str | None, typer.Argument(help="[default: 64 random hex digits]", show_default=False)
    ] = None,
) -> None:
    """Create a volume (empty: it is filled from the image at its first use)."""
    if name is None:
        name = secrets.token_hex(32)
    elif not VOLUME_NAME_RE.fullmatch(name):
        raise typer.BadParameter(
            f"{name!r} includes invalid characters for a local volume name, only "
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed',
            param_hint="NAME",
        )
    VolumeStore().create(name)
    print(name)


@volume_app.command("ls")
def ls(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the names.")] = False,
) -> None:
    """List the volumes."""
    volumes = VolumeStore().list()
    if quiet:
        for info in volumes:
            print(info.name)
        return
    print(f"{'DRIVER':<10}VOLUME NAME")
    for info in volumes:
        print(f"{'local':<10}{info.name}")


@volume_app.command("inspect")
def inspect(names: Annotated[list[str], typer.Argument(help="Volume names.")]) -> None:
    """Show volumes as `docker volume inspect` does (JSON)."""
    store = VolumeStore()
    out = []
    for name in names:
        info = store.info(name) if VOLUME_NAME_RE.fullmatch(name) else None
        if info is None:
            raise RunError(f"no such volume: {name}", hint="`dock2uni volume ls` lists them.")
        out.append(info.as_json())
    sys.stdout.write(json.dumps(out, indent=4) + "\n")


@volume_app.command("rm")
def rm(names: Annotated[list[str], typer.Argument(help="Volume names.")]) -> None:
    """Remove volumes and their data (not one a run is using)."""
    store = VolumeStore()
    for name in names:
        store.remove(name)
        print(name)


@volume_app.command("prune")
def prune(
    all_volumes: Annotated[
        bool, typer.Option("--all", "-a", help="Named volumes too, not only anonymous ones.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not ask.")] = False,
) -> None:
    """Remove the volumes no run is using: anonymous ones (Docker 23's default), or all."""
    what = "all" if all_volumes else "all anonymous"
    if not force and not typer.confirm(
        f"WARNING! This will remove {what} local volumes not used by at least one "
        "container.\nAre you sure you want to continue?"
    ):
        raise typer.Exit(0)
    store = VolumeStore()
    removed, reclaimed = [], 0
    for info in store.list():
        if not (all_volumes or info.anonymous):
            continue
        size = store.size(info.name)
        try:
            store.remove(info.name)
        except RunError:
            continue  # in use: kept, as Docker keeps it
        removed.append(info.name)
        reclaimed += size
    if removed:
        print("Deleted Volumes:")
        for name in removed:
            print(name)
        print()
    print(f"Total reclaimed space: {reclaimed}B")
