"""The image filesystem: in-memory tree, content store and writers."""
