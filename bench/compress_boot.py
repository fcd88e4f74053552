"""Boot-time cost of the compressed rootfs: the python closure image with and without it.

Converts the python fixture with ``--rootfs closure`` (compressed, the default) and
``--rootfs closure --no-compress``, then runs each with ``dock2uni run --debug`` RUNS
times, alternating, and reads the guest's run time from the ``accelerator ..., N s``
line (boot, the decode of the files python uses, ``python3 -c``, exit). Reproduce:
``DOCK2UNI_ACCEL=tcg .venv/bin/python -m bench.compress_boot`` (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys

from bench.paths import dock2uni_cli, fixture_layout
from bench.unikernel import convert

RUNS = 9
CODE = "import base64, collections, re; print(base64.b64encode(b'hi').decode())"
TIME = re.compile(r"accelerator \w+, ([0-9.]+) s, status exit")


def main() -> int:
    source = f"oci:{fixture_layout('python')}:latest"
    cmd = ["--cmd", json.dumps(["python3", "-c", CODE]), "--rootfs", "closure"]
    images = {
        "compressed": convert(source, "compress-boot-packed", *cmd),
        "raw": convert(source, "compress-boot-raw", *cmd, "--no-compress"),
    }
    times: dict[str, list[float]] = {k: [] for k in images}
    for _ in range(RUNS):
        for kind, image in images.items():
            proc = subprocess.run(
                [dock2uni_cli(), "run", "--debug", str(image)],
                capture_output=True,
                text=True,
                check=False,
            )
            m = TIME.search(proc.stderr)
            if proc.returncode != 0 or m is None:
                print(f"bench.compress_boot: {kind} failed: {proc.stderr[-400:]}", file=sys.stderr)
                return 1
            times[kind].append(float(m.group(1)))
    for kind, got in times.items():
        print(
            f"{kind}: median {statistics.median(got):.3f} s, fastest {min(got):.3f} s "
            f"({RUNS} runs: {' '.join(f'{t:.2f}' for t in got)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
