"""Test helpers that start and drive real infrastructure (registry, dockerd, QEMU)."""
