"""Settings of one benchmark run (from bench.run's command line)."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20


@dataclass(frozen=True)
class Config:
    """How many repetitions, and the guest memory every QEMU guest gets."""

    repeat: int = 10
    guest_mem: int = 128 * MiB  # the same -m for the unikernel, Linux and the floor
