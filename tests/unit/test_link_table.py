"""The generated syscall table (link.image_config_c): the plan's syscalls, or whole families."""

from __future__ import annotations

import dataclasses
import re

from dock2uni.link import image_config_c
from dock2uni.plan import Plan
from dock2uni.support import load_support_table


def _plan(syscalls: tuple[str, ...] | None) -> Plan:
    return dataclasses.replace(Plan.tiny("/p", ("fs", "io", "proc"), "test"), syscalls=syscalls)


def test_a_planned_set_names_only_its_handlers_and_errnos() -> None:
    """Each planned syscall is one row (a handler, or a SHIM_ERR line's errno); no family
    table is named, so the link pulls in nothing else."""
    text = image_config_c(_plan(("exit_group", "mount", "write")))
    rows = re.findall(r"^\t\{(\d+), SHIM_LEVEL_(\w+), (\w+), (\w+)\}, /\* (\w+) \*/$", text, re.M)
    assert rows == [
        ("1", "FULL", "0", "sys_write", "write"),
        ("165", "ERR", "EPERM", "0", "mount"),
        ("231", "FULL", "0", "sys_exit_group", "exit_group"),
    ]
    assert "shim_family_" not in text and ".count = 3," in text
    assert "long sys_write(const struct shim_args *a);" in text


def test_the_bitmap_marks_what_the_library_os_has_and_the_image_left_out() -> None:
    """image_unlinked_syscalls: every .def number but the planned ones."""
    text = image_config_c(_plan(("exit_group", "write")))
    words = re.search(r"image_unlinked_syscalls\[8\] = \{(.*)\};", text)
    assert words is not None
    bits = [int(w.strip().removesuffix("ul"), 16) for w in words.group(1).split(",")]
    left_out = {i * 64 + b for i, w in enumerate(bits) for b in range(64) if w >> b & 1}
    everything = {e.nr for e in load_support_table().entries}
    assert left_out == everything - {1, 231}


def test_an_incomplete_set_links_whole_families() -> None:
    """syscalls None (the analysis may have missed calls): the families' own tables."""
    text = image_config_c(_plan(None))
    assert "&shim_family_fs," in text and "&shim_family_proc," in text
    assert "image_entries" not in text and "image_unlinked_syscalls" not in text
