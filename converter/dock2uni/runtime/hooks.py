"""config.json hooks (runtime spec config.md "POSIX-platform Hooks"): argv exactly ``args``,
environment exactly ``env``, the container state JSON on stdin. Docker's networking
is a prestart hook (libnetwork-setkey), which reads the init pid from that state."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from typing import Any

from dock2uni.runtime.errors import OciError
from dock2uni.runtime.log import RuntimeLog
from dock2uni.runtime.spec import Hook

DEFAULT_TIMEOUT = 60.0


def run_hooks(
    stage: str, hooks: Mapping[str, tuple[Hook, ...]], state: Mapping[str, Any], log: RuntimeLog
) -> None:
    """Run every hook of ``stage`` in order; the first failure is an OciError."""
    for hook in hooks.get(stage, ()):
        log.debug(f"hook {stage}: {hook.path} {list(hook.args)}")
        try:
            proc = subprocess.run(
                list(hook.args),
                executable=hook.path,
                input=json.dumps(state).encode(),
                env=dict(e.split("=", 1) for e in hook.env if "=" in e),
                capture_output=True,
                timeout=hook.timeout or DEFAULT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OciError(f"{stage} hook {hook.path} did not finish in time") from None
        except OSError as exc:
            raise OciError(f"{stage} hook {hook.path} cannot run: {exc.strerror}") from None
        if proc.returncode != 0:
            output = (proc.stderr or proc.stdout).decode(errors="replace").strip()[-300:]
            raise OciError(
                f"{stage} hook {hook.path} failed with exit status {proc.returncode}: {output}"
            )
