"""Where the project's own trees live; nothing else hard-codes a path.

dock2uni runs from a checkout (``pip install -e .``): the library OS sources,
the shim tables and the build output are found relative to the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIMS = REPO / "shims"
LIBOS = REPO / "libos"
BUILD = Path(os.environ.get("DOCK2UNI_BUILD", str(REPO / "build")))
LIBOS_BUILD = BUILD / "libos"  # libos.a, shims.a, boot objects, link.ld (make -C libos)
LINUX_UNISTD = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
