"""dock2uni: convert container images into bootable unikernels, and audit them."""

__version__ = "0.1.0"
