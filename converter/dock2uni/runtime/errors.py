"""The runtime's one error type: a message for the engine (it quotes it) and a hint for people."""

from __future__ import annotations


class OciError(Exception):
    """A command failed; runc-compatible callers match some phrases of ``message``
    (``does not exist``, ``container not running``, ``executable file not found``), so
    those words are kept for exactly their meaning (docs/oci-runtime.md)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
