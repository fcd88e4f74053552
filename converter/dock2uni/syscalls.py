"""The Linux x86-64 syscall table (number <-> name), read from the system's kernel headers.

The table comes from Debian's linux-libc-dev (``asm/unistd_64.h``), which the C
toolchain needs anyway; the library OS build generates its name table from the
same file, so the converter, the audit and the kernel agree on every number.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from dock2uni.errors import BuildError
from dock2uni.paths import LINUX_UNISTD

_DEFINE = re.compile(r"#define\s+__NR_(\w+)\s+(\d+)\s*$")


def parse_unistd(text: str) -> dict[int, str]:
    """Map number -> name from the text of asm/unistd_64.h."""
    table: dict[int, str] = {}
    for line in text.splitlines():
        m = _DEFINE.match(line.strip())
        if m:
            table[int(m.group(2))] = m.group(1)
    return table


@lru_cache(maxsize=1)
def linux_table(path: Path = LINUX_UNISTD) -> dict[int, str]:
    """number -> name for every x86-64 syscall the installed headers know."""
    try:
        return parse_unistd(path.read_text())
    except OSError as exc:
        raise BuildError(
            f"cannot read the Linux syscall table {path}: {exc.strerror}",
            hint="Install Debian's linux-libc-dev (`make setup` does).",
        ) from None


@lru_cache(maxsize=1)
def numbers_by_name() -> dict[str, int]:
    return {name: nr for nr, name in linux_table().items()}


def name_of(nr: int) -> str:
    return linux_table().get(nr, f"syscall_{nr}")
