"""The systems dock2uni is measured against: a Linux microVM, Docker, and the QEMU floor."""
