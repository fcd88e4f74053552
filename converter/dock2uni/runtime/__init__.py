"""dock2uni-runtime: an OCI runtime (runc's command line) that boots a container's bundle as a
unikernel under QEMU, for Docker, containerd and Kubernetes. Design: docs/oci-runtime.md."""
