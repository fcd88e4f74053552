"""The image's StopSignal survives conversion: run spec -> plan -> .uni metadata -> inspect."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dock2uni.convert_report import metadata_json, metadata_text
from dock2uni.link import add_metadata
from dock2uni.plan import plan
from dock2uni.run import RunOptions, _with_stop_signal
from dock2uni.runspec import run_spec
from dock2uni.sigproxy import signal_number
from dock2uni.support import load_support_table
from dock2uni.uni import read_metadata
from tests.unit.test_runspec import BASE, make_image


def test_plan_keeps_the_stop_signal(tmp_path: Path) -> None:
    spec = run_spec(make_image(tmp_path, {"Cmd": ["app"], "StopSignal": "SIGQUIT"}, BASE))
    the_plan = plan(spec, load_support_table(), syscalls=None, hostname="h")
    assert the_plan.stop_signal == "SIGQUIT"
    spec = run_spec(make_image(tmp_path / "b", {"Cmd": ["app"]}, BASE))
    assert plan(spec, load_support_table(), syscalls=None, hostname="h").stop_signal is None


def test_the_metadata_round_trip_shows_it(tmp_path: Path) -> None:
    """Written into the .uni's meta section (objcopy, as the link stage does), read back,
    shown by `inspect IMAGE.uni` in text and JSON, and used by `run` as a stop signal."""
    if shutil.which("objcopy") is None:
        pytest.fail("objcopy (binutils) is missing: `make setup` installs it")
    elf = tmp_path / "kernel.elf"
    src = tmp_path / "k.c"
    src.write_text("void _start(void) { for (;;) ; }\n")
    subprocess.run(
        ["gcc", "-nostdlib", "-static", "-o", str(elf), str(src)], check=True, capture_output=True
    )
    out = tmp_path / "app.uni"
    add_metadata(elf, {"argv": ["/app"], "stop_signal": "SIGQUIT"}, out)
    meta = read_metadata(out)
    assert meta["stop_signal"] == "SIGQUIT"
    assert "Stop signal: SIGQUIT" in metadata_text(meta)
    assert metadata_json(meta)["stop_signal"] == "SIGQUIT"
    assert _with_stop_signal(meta, RunOptions()).stop_signal == 3
    # An image without one (or from before it was kept) shows a dash and adds none.
    assert "Stop signal: -" in metadata_text({"argv": ["/app"]})
    assert _with_stop_signal({}, RunOptions()).stop_signal is None


@pytest.mark.parametrize(
    ("text", "number"),
    [("SIGQUIT", 3), ("SIGTERM", 15), ("9", 9), ("SIGRTMIN+3", 37), ("SIGNOPE", None), ("", None)],
)
def test_signal_names_and_numbers(text: str, number: int | None) -> None:
    """The forms runspec accepts (a name, a number, SIGRTMIN+N) as Linux numbers them."""
    assert signal_number(text) == number
